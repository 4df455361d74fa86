/**
 * Mesh-wide settings that decide how a sidecar shuts down, read from whatever the user has:
 * an IstioOperator, Helm values, the `istio` mesh ConfigMap (data.mesh), the injector ConfigMap
 * (data.values JSON). Every value keeps where it came from, so a finding can point at it.
 */
import { parseDocument } from 'yaml';
import { INJECTOR_BEGIN_MARK } from '../constants.js';
import { InputError } from '../errors.js';
import { PROXY_METADATA } from '../istio/facts.js';
import { readAnnotationBranch, type InstalledCatalog } from '../istio/injector-branch.js';
import { goBool } from '../istio/proxy-config.js';
import { parseDuration } from '../model/duration.js';
import { getPath, isRecord } from '../model/workload.js';
import { parseEmbedded, scalarSource, type LoadedFile } from '../yaml/load.js';
import { innerLocator, locInString, locOf, locOfKey, type Loc, type Path } from './locate.js';
import { numericVersionMessage, parseVersionLoose, type Version } from '../model/version.js';
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
  /**
   * global.proxy.lifecycle set at all (non-empty): Istio's template then writes it instead of its own
   * postStart hold and native drain (injection-template.yaml:215-217 at 86c9f01, #47373).
   */
  lifecycle?: Setting<string[]>;
  /** holdApplicationUntilProxyStarts (values global.proxy, or meshConfig.defaultConfig). */
  holdApplicationUntilProxyStarts?: Setting<boolean>;
  /**
   * Where the template names came from: an injector ConfigMap's data.config lists every template
   * istiod has; Helm values / IstioOperator list only custom ones (Istio's own come with the chart).
   */
  templatesFrom?: 'injector-config' | 'values';
  /** sidecarInjectorWebhook.enableNamespacesByDefault (adds the webhook for unlabelled namespaces). */
  enableNamespacesByDefault?: Setting<boolean>;
  /** The injector's default policy: data.config `policy`, from values global.proxy.autoInject. */
  injectionPolicy?: Setting<'enabled' | 'disabled'>;
  istioVersion?: Setting<Version>;
  /** Custom injection templates by name (sidecarInjectorWebhook.templates, injector data.config templates). */
  templates: Map<string, Setting<string>>;
  /**
   * The templates istiod runs for a pod without `inject.istio.io/templates` (injector data.config
   * `defaultTemplates`, values sidecarInjectorWebhook.defaultTemplates); undefined = Istio's `[sidecar]`.
   */
  defaultTemplates?: Setting<string[]>;
  /**
   * Did an injector ConfigMap's template carry meshdrain's annotation branch (`meshdrain:begin`)?
   * undefined = no injector template seen (then pod annotations that need it are given the benefit of the doubt).
   */
  injectorPatched?: Setting<boolean>;
  /**
   * The catalog that branch installed (istio/injector-branch.ts readAnnotationBranch): the exact preStop
   * each `meshdrain.dev/wait-for` value selects, as istiod will render it (ADR 030, 086).
   */
  injectorCatalog?: Setting<InstalledCatalog>;
  /** Files and documents that were recognised, for --verbose style notes. */
  sources: string[];
}

/** A YAML list of strings as a string[], trimmed; anything else undefined. */
function stringList(v: unknown): string[] | undefined {
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? v.map((x) => x.trim()).filter(Boolean) : undefined;
}

export const emptyMesh = (): MeshSettings => ({ defaultConfig: {}, templates: new Map(), sources: [] });

/** Positions inside a document, or inside a string value that holds YAML/JSON (ConfigMap data). */
interface Where {
  loc(path: Path, key?: boolean): Loc;
  /** The scalar at a path as written (for messages that must quote the user's own text). */
  written?(path: Path): string | undefined;
}

function docWhere(loaded: LoadedFile, doc: Document.Parsed, base: Path): Where {
  return {
    loc: (p, key) => (key ? locOfKey(loaded, doc, [...base, ...p]) : locOf(loaded, doc, [...base, ...p])),
    written: (p) => scalarSource(loaded.text, doc, [...base, ...p])?.written,
  };
}

/** An Istio version (an image tag) YAML read as a number: refused, one line, where it is (exit 2). */
function refuseNumericTag(tag: unknown, where: Where, path: Path, label: string): void {
  if (typeof tag !== 'number') return;
  const at = where.loc(path);
  throw new InputError(numericVersionMessage(label, where.written?.(path) ?? String(tag), tag), { file: at.file, line: at.line, col: at.column });
}

/** A YAML/JSON text stored in a string value: parse it with its own positions and map them back. */
function embedded(loaded: LoadedFile, doc: Document.Parsed, path: Path, text: string, what: string): { value: unknown; where: Where } {
  const inner = parseEmbedded(text, what, (offset) => {
    const at = locInString(loaded, doc, path, offset);
    return { file: at.file, line: at.line, col: at.column };
  });
  const where: Where = { loc: innerLocator(loaded, doc, path, inner.doc), written: (p) => scalarSource(text, inner.doc, p)?.written };
  return { value: inner.value, where };
}

// pilot-agent reads its env flags with Go's strconv.ParseBool ("1", "t", "TRUE" … are true).
const truthy = (v: unknown): boolean => goBool(v) === true;

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
  const lifecycle = getPath(values, ['global', 'proxy', 'lifecycle']);
  if (isRecord(lifecycle) && Object.keys(lifecycle).length > 0) {
    mesh.lifecycle = { value: Object.keys(lifecycle), at: where.loc(['global', 'proxy', 'lifecycle'], true), source: `${source} global.proxy.lifecycle` };
  }
  const holdApp = getPath(values, ['global', 'proxy', 'holdApplicationUntilProxyStarts']);
  if (typeof holdApp === 'boolean') mesh.holdApplicationUntilProxyStarts = { value: holdApp, at: where.loc(['global', 'proxy', 'holdApplicationUntilProxyStarts']), source: `${source} global.proxy.holdApplicationUntilProxyStarts` };
  const dcHold = getPath(values, ['meshConfig', 'defaultConfig', 'holdApplicationUntilProxyStarts']);
  if (typeof dcHold === 'boolean') mesh.holdApplicationUntilProxyStarts = { value: dcHold, at: where.loc(['meshConfig', 'defaultConfig', 'holdApplicationUntilProxyStarts']), source: `${source} meshConfig.defaultConfig` };
  const nsDefault = getPath(values, ['sidecarInjectorWebhook', 'enableNamespacesByDefault']);
  if (typeof nsDefault === 'boolean') mesh.enableNamespacesByDefault = { value: nsDefault, at: where.loc(['sidecarInjectorWebhook', 'enableNamespacesByDefault']), source: `${source} sidecarInjectorWebhook.enableNamespacesByDefault` };
  const autoInject = getPath(values, ['global', 'proxy', 'autoInject']);
  // The injector ConfigMap's data.config `policy` is what istiod reads; values only rendered it.
  if ((autoInject === 'enabled' || autoInject === 'disabled') && !mesh.injectionPolicy?.source.endsWith('config policy')) mesh.injectionPolicy = { value: autoInject, at: where.loc(['global', 'proxy', 'autoInject']), source: `${source} global.proxy.autoInject` };
  const cmd = getPath(values, ['global', 'proxy', 'lifecycle', 'preStop', 'exec', 'command']);
  if (Array.isArray(cmd) && cmd.every((x) => typeof x === 'string')) {
    mesh.lifecyclePreStop = { value: cmd, at: where.loc(['global', 'proxy', 'lifecycle', 'preStop']), source: `${source} global.proxy.lifecycle` };
  }
  const tag = getPath(values, ['global', 'tag']);
  refuseNumericTag(tag, where, ['global', 'tag'], `${source} global.tag`);
  const v = typeof tag === 'string' ? parseVersionLoose(tag) : null;
  if (v) mesh.istioVersion = { value: v, at: where.loc(['global', 'tag']), source: `${source} global.tag` };
  // The injector ConfigMap's data.config `defaultTemplates` is what istiod reads; values only rendered
  // it, and an empty list renders as [sidecar] (istiod-injector-configmap.yaml:31-38).
  const defaults = stringList(getPath(values, ['sidecarInjectorWebhook', 'defaultTemplates']));
  if (defaults?.length && !mesh.defaultTemplates?.source.endsWith('config defaultTemplates')) {
    mesh.defaultTemplates = { value: defaults, at: where.loc(['sidecarInjectorWebhook', 'defaultTemplates']), source: `${source} sidecarInjectorWebhook.defaultTemplates` };
  }
  const templates = getPath(values, ['sidecarInjectorWebhook', 'templates']);
  if (isRecord(templates)) {
    mesh.templatesFrom ??= 'values';
    for (const [name, text] of Object.entries(templates)) {
      if (typeof text === 'string') mesh.templates.set(name, { value: text, at: where.loc(['sidecarInjectorWebhook', 'templates', name], true), source: `${source} sidecarInjectorWebhook.templates.${name}` });
    }
  }
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
      refuseNumericTag(tag, docWhere(loaded, doc, []), ['spec', 'tag'], 'IstioOperator spec.tag');
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
      if (/^istio-sidecar-injector(-.*)?$/.test(name) && typeof data.config === 'string') {
        found++;
        mesh.sources.push(`${loaded.file}: ConfigMap ${name} (injector config)`);
        // data.config is Istio's business: if it does not parse, leave it to istiod and read nothing from it.
        let parsed: ReturnType<typeof embedded> | undefined;
        try {
          parsed = embedded(loaded, doc, ['data', 'config'], data.config, `ConfigMap ${name} data.config`);
        } catch {
          parsed = undefined;
        }
        const { value: cfg, where } = parsed ?? { value: undefined, where: docWhere(loaded, doc, ['data', 'config']) };
        const templates = getPath(cfg, ['templates']);
        const policy = getPath(cfg, ['policy']);
        if (policy === 'enabled' || policy === 'disabled') mesh.injectionPolicy = { value: policy, at: where.loc(['policy']), source: `ConfigMap ${name} config policy` };
        // inject.go:183-184: an empty or missing list is [sidecar].
        const defaults = stringList(getPath(cfg, ['defaultTemplates']));
        if (defaults?.length) mesh.defaultTemplates = { value: defaults, at: where.loc(['defaultTemplates']), source: `ConfigMap ${name} config defaultTemplates` };
        if (isRecord(templates)) {
          // The injector's own list: every template istiod has (pkg/kube/inject/inject.go RunTemplate).
          mesh.templatesFrom = 'injector-config';
          for (const [tname, text] of Object.entries(templates)) {
            if (typeof text === 'string') mesh.templates.set(tname, { value: text, at: where.loc(['templates', tname], true), source: `ConfigMap ${name} config templates.${tname}` });
          }
        }
        const main = typeof getPath(cfg, ['templates', 'sidecar']) === 'string' ? (getPath(cfg, ['templates', 'sidecar']) as string) : typeof getPath(cfg, ['template']) === 'string' ? (getPath(cfg, ['template']) as string) : undefined;
        if (main !== undefined) {
          mesh.injectorPatched = { value: main.includes(INJECTOR_BEGIN_MARK), at: locOf(loaded, doc, ['data', 'config']), source: `ConfigMap ${name} config` };
          const catalog = readAnnotationBranch(main);
          if (catalog) mesh.injectorCatalog = { value: catalog, at: locOf(loaded, doc, ['data', 'config']), source: `ConfigMap ${name} config` };
          else delete mesh.injectorCatalog;
        }
      }
      if (/^istio-sidecar-injector(-.*)?$/.test(name) && typeof data.values === 'string') {
        found++;
        mesh.sources.push(`${loaded.file}: ConfigMap ${name} (injector values)`);
        const { value: vals, where } = embedded(loaded, doc, ['data', 'values'], data.values, `ConfigMap ${name} data.values`);
        readValues(vals, where, `ConfigMap ${name} values`, mesh);
      }
    } else if (kind === undefined && ['meshConfig', 'global', 'pilot', 'defaultConfig', 'sidecarInjectorWebhook'].some((k) => k in value)) {
      found++;
      mesh.sources.push(`${loaded.file}: Helm values`);
      readValues(value, here([]), 'Helm values', mesh);
      if (isRecord(value.defaultConfig)) readProxyConfig(value.defaultConfig, here(['defaultConfig']), 'mesh config defaultConfig', mesh.defaultConfig);
    }
  }
  return found;
}

/**
 * Read mesh settings from files the user named as mesh config (--mesh-config): each must hold some.
 * lint and inject share it (cli/mode-context.ts), so the refusal reads the same.
 */
export function readMeshConfigs(inputs: readonly { file: string; text: string }[], mesh: MeshSettings, load: (text: string, file: string) => LoadedFile): MeshSettings {
  for (const m of inputs) {
    if (readMeshDocuments(load(m.text, m.file), mesh) === 0) {
      throw new InputError('no mesh settings found: expected an IstioOperator, Helm values, the istio mesh ConfigMap or the istio-sidecar-injector ConfigMap', { file: m.file, line: 1, col: 1 });
    }
  }
  return mesh;
}

/**
 * The istio-proxy preStop command a custom injection template adds, read from its text (Go template
 * actions and all): the `command:` list after `preStop:`, as a flow list or `- item` lines.
 * Returns the argv, 'opaque' when the template has a preStop we cannot read, or null when it has none.
 */
export function templatePreStop(text: string): string[] | 'opaque' | null {
  // meshdrain's own template puts the native-sidecar branch first ({{- if <native> }} native drain
  // {{- else }} hold {{- end }}, istio/template.ts); the hold is the classic branch's preStop.
  const native = /\{\{-? if [^}\n]*ativeSidecar[^}\n]*\}\}[\s\S]*?\n[ \t]*\{\{-? else \}\}/.exec(text);
  const classic = native ? text.slice(native.index + native[0].length) : text;
  const at = classic.search(/\bpreStop:/);
  if (at < 0) return null;
  const rest = classic.slice(at).split('\n');
  const cmdLine = rest.findIndex((l) => /^\s*command:/.test(l));
  if (cmdLine < 0 || cmdLine > 4) return 'opaque';
  const item = (raw: string): string | undefined => {
    const t = raw.trim();
    if (t.startsWith('"')) {
      try {
        return JSON.parse(t) as string;
      } catch {
        return undefined;
      }
    }
    if (t.startsWith("'") && t.endsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    return /^[^{}[\]"'#]+$/.test(t) ? t : undefined;
  };
  const flow = /^\s*command:\s*(\[.*\])\s*$/.exec(rest[cmdLine]!);
  if (flow) {
    try {
      const v = JSON.parse(flow[1]!) as unknown;
      return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : 'opaque';
    } catch {
      return 'opaque';
    }
  }
  const argv: string[] = [];
  for (const l of rest.slice(cmdLine + 1)) {
    const m = /^\s*- (.*)$/.exec(l);
    if (!m) break;
    const v = item(m[1]!);
    if (v === undefined) return 'opaque';
    argv.push(v);
  }
  return argv.length ? argv : 'opaque';
}
