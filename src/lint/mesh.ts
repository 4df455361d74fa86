/**
 * Mesh-wide settings that decide how a sidecar shuts down, read from whatever the user has:
 * an IstioOperator, Helm values, the `istio` mesh ConfigMap (data.mesh), the injector ConfigMap
 * (data.values JSON). Every value keeps where it came from, so a finding can point at it.
 */
import { parseDocument } from 'yaml';
import { InputError } from '../errors.js';
import { PROXY_METADATA } from '../istio/facts.js';
import { parseDuration } from '../model/duration.js';
import { getPath, isRecord } from '../model/workload.js';
import type { LoadedFile } from '../yaml/load.js';
import { innerLocator, locInString, locOf, locOfKey, type Loc, type Path } from './locate.js';
import { parseVersionLoose, type Version } from './options.js';
import type { Document } from 'yaml';

export interface Setting<T> {
  value: T;
  at: Loc;
  /** Human description of the source: "proxy.istio.io/config annotation", "IstioOperator meshConfig.defaultConfig". */
  source: string;
}

/** The shutdown-relevant part of a ProxyConfig. */
export interface ProxyConfigView {
  terminationDrainMs?: Setting<number>;
  exitOnZero?: Setting<boolean>;
  minimumDrainMs?: Setting<number>;
  imageType?: Setting<string>;
}

export interface MeshSettings {
  defaultConfig: ProxyConfigView;
  /** pilot ENABLE_NATIVE_SIDECARS: true, false or auto. */
  nativeSidecars?: Setting<'true' | 'false' | 'auto'>;
  /** global.variant (e.g. distroless). */
  variant?: Setting<string>;
  /** global.proxy.lifecycle.preStop.exec.command: a preStop every injected proxy gets. */
  lifecyclePreStop?: Setting<string[]>;
  istioVersion?: Setting<Version>;
  /** Files and documents that were recognised, for --verbose style notes. */
  sources: string[];
}

export const emptyMesh = (): MeshSettings => ({ defaultConfig: {}, sources: [] });

/** Positions inside a document, or inside a string value that holds YAML/JSON (ConfigMap data). */
interface Where {
  loc(path: Path, key?: boolean): Loc;
}

function docWhere(loaded: LoadedFile, doc: Document.Parsed, base: Path): Where {
  return { loc: (p, key) => (key ? locOfKey(loaded, doc, [...base, ...p]) : locOf(loaded, doc, [...base, ...p])) };
}

/** A YAML/JSON text stored in a string value: parse it with its own positions and map them back. */
function embedded(loaded: LoadedFile, doc: Document.Parsed, path: Path, text: string, what: string): { value: unknown; where: Where } {
  const inner = parseDocument(text, { prettyErrors: false });
  if (inner.errors.length) {
    const e = inner.errors[0]!;
    const at = locInString(loaded, doc, path, e.pos[0]);
    throw new InputError(`${what}: ${e.message.split('\n')[0]?.replace(/ at line \d+, column \d+.*$/, '')}`, { file: at.file, line: at.line, col: at.column });
  }
  const where: Where = { loc: innerLocator(loaded, doc, path, inner) };
  return { value: inner.toJS(), where };
}

const truthy = (v: unknown): boolean => String(v).toLowerCase() === 'true';

function durationMs(v: unknown, at: Loc, what: string): number {
  try {
    if (typeof v === 'number' || typeof v === 'string') return parseDuration(v, what);
  } catch (e) {
    if (e instanceof InputError) throw new InputError(e.message, { file: at.file, line: at.line, col: at.column });
    throw e;
  }
  throw new InputError(`${what}: expected a duration like 5s, got ${JSON.stringify(v)}`, { file: at.file, line: at.line, col: at.column });
}

/** Read a ProxyConfig object (mesh defaultConfig, annotation, PROXY_CONFIG env) into a view. */
export function readProxyConfig(cfg: unknown, where: Where, source: string, into: ProxyConfigView = {}): ProxyConfigView {
  if (!isRecord(cfg)) return into;
  if (cfg.terminationDrainDuration !== undefined) {
    const at = where.loc(['terminationDrainDuration'], true);
    into.terminationDrainMs = { value: durationMs(cfg.terminationDrainDuration, at, 'terminationDrainDuration'), at, source };
  }
  const meta = cfg.proxyMetadata;
  if (isRecord(meta)) {
    if (meta[PROXY_METADATA.exitOnZero] !== undefined) {
      const at = where.loc(['proxyMetadata', PROXY_METADATA.exitOnZero], true);
      into.exitOnZero = { value: truthy(meta[PROXY_METADATA.exitOnZero]), at, source: `${source} proxyMetadata` };
    }
    if (meta[PROXY_METADATA.minimumDrain] !== undefined) {
      const at = where.loc(['proxyMetadata', PROXY_METADATA.minimumDrain], true);
      into.minimumDrainMs = { value: durationMs(meta[PROXY_METADATA.minimumDrain], at, PROXY_METADATA.minimumDrain), at, source: `${source} proxyMetadata` };
    }
  }
  const imageType = getPath(cfg, ['image', 'imageType']);
  if (typeof imageType === 'string') into.imageType = { value: imageType, at: where.loc(['image', 'imageType']), source };
  return into;
}

/** Helm values (istiod chart), wherever they sit: a values file, IstioOperator spec.values, injector JSON. */
function readValues(values: unknown, where: Where, source: string, mesh: MeshSettings): void {
  if (!isRecord(values)) return;
  const dc = getPath(values, ['meshConfig', 'defaultConfig']);
  if (isRecord(dc)) readProxyConfig(dc, { loc: (p, k) => where.loc(['meshConfig', 'defaultConfig', ...p], k) }, `${source} meshConfig.defaultConfig`, mesh.defaultConfig);
  const native = getPath(values, ['pilot', 'env', 'ENABLE_NATIVE_SIDECARS']);
  if (native !== undefined) {
    const v = String(native).toLowerCase();
    mesh.nativeSidecars = { value: v === 'true' ? 'true' : v === 'false' ? 'false' : 'auto', at: where.loc(['pilot', 'env', 'ENABLE_NATIVE_SIDECARS']), source: `${source} pilot.env` };
  }
  const variant = getPath(values, ['global', 'variant']);
  if (typeof variant === 'string' && variant !== '') mesh.variant = { value: variant, at: where.loc(['global', 'variant']), source: `${source} global.variant` };
  const cmd = getPath(values, ['global', 'proxy', 'lifecycle', 'preStop', 'exec', 'command']);
  if (Array.isArray(cmd) && cmd.every((x) => typeof x === 'string')) {
    mesh.lifecyclePreStop = { value: cmd, at: where.loc(['global', 'proxy', 'lifecycle', 'preStop']), source: `${source} global.proxy.lifecycle` };
  }
  const tag = getPath(values, ['global', 'tag']);
  const v = typeof tag === 'string' ? parseVersionLoose(tag) : null;
  if (v) mesh.istioVersion = { value: v, at: where.loc(['global', 'tag']), source: `${source} global.tag` };
}

/**
 * Read every mesh-settings document in a loaded file into `mesh`. Returns how many documents were
 * recognised; non-mesh documents are ignored (so manifests and mesh config can share a directory).
 */
export function readMeshDocuments(loaded: LoadedFile, mesh: MeshSettings): number {
  let found = 0;
  for (const { doc, value } of loaded.docs) {
    if (!isRecord(value)) continue;
    const kind = value.kind;
    const name = getPath(value, ['metadata', 'name']);
    const here = (base: Path) => docWhere(loaded, doc, base);
    if (kind === 'IstioOperator') {
      found++;
      mesh.sources.push(`${loaded.file}: IstioOperator`);
      const dc = getPath(value, ['spec', 'meshConfig', 'defaultConfig']);
      if (isRecord(dc)) readProxyConfig(dc, here(['spec', 'meshConfig', 'defaultConfig']), 'IstioOperator meshConfig.defaultConfig', mesh.defaultConfig);
      readValues(getPath(value, ['spec', 'values']), here(['spec', 'values']), 'IstioOperator values', mesh);
      const env = getPath(value, ['spec', 'components', 'pilot', 'k8s', 'env']);
      if (Array.isArray(env)) {
        env.forEach((e, i) => {
          if (isRecord(e) && e.name === 'ENABLE_NATIVE_SIDECARS') {
            const v = String(e.value).toLowerCase();
            mesh.nativeSidecars = { value: v === 'true' ? 'true' : v === 'false' ? 'false' : 'auto', at: locOf(loaded, doc, ['spec', 'components', 'pilot', 'k8s', 'env', i]), source: 'IstioOperator pilot env' };
          }
        });
      }
      const tag = getPath(value, ['spec', 'tag']);
      const v = typeof tag === 'string' ? parseVersionLoose(tag) : null;
      if (v) mesh.istioVersion = { value: v, at: locOf(loaded, doc, ['spec', 'tag']), source: 'IstioOperator spec.tag' };
    } else if (kind === 'ConfigMap' && typeof name === 'string') {
      const data = isRecord(value.data) ? value.data : {};
      if (/^istio(-.*)?$/.test(name) && typeof data.mesh === 'string') {
        found++;
        mesh.sources.push(`${loaded.file}: ConfigMap ${name} (mesh)`);
        const { value: m, where } = embedded(loaded, doc, ['data', 'mesh'], data.mesh, `ConfigMap ${name} data.mesh`);
        const dc = getPath(m, ['defaultConfig']);
        if (isRecord(dc)) readProxyConfig(dc, { loc: (p, k) => where.loc(['defaultConfig', ...p], k) }, `ConfigMap ${name} mesh defaultConfig`, mesh.defaultConfig);
      }
      if (/^istio-sidecar-injector(-.*)?$/.test(name) && typeof data.values === 'string') {
        found++;
        mesh.sources.push(`${loaded.file}: ConfigMap ${name} (injector values)`);
        const { value: vals, where } = embedded(loaded, doc, ['data', 'values'], data.values, `ConfigMap ${name} data.values`);
        readValues(vals, where, `ConfigMap ${name} values`, mesh);
      }
    } else if (kind === undefined && ('meshConfig' in value || 'global' in value || 'pilot' in value || 'defaultConfig' in value)) {
      found++;
      mesh.sources.push(`${loaded.file}: Helm values`);
      readValues(value, here([]), 'Helm values', mesh);
      if (isRecord(value.defaultConfig)) readProxyConfig(value.defaultConfig, here(['defaultConfig']), 'mesh config defaultConfig', mesh.defaultConfig);
    }
  }
  return found;
}
