/**
 * Finding the injection template: the istio-sidecar-injector ConfigMap(s) in a file (also inside
 * `kind: List`), their string nodes, and the template inside `data.config` (`templates.sidecar` in
 * current Istio, `template` before). Used by injector-patch and by `istio template --format configmap`.
 */
import { isScalar, Scalar, type Document } from 'yaml';
import { InputError, type SourcePos } from '../errors.js';
import { isRecord } from '../model/workload.js';
import { nodeAt, posAt, type LoadedFile } from '../yaml/load.js';

const isObj = isRecord;
/** Newer Istio puts this placeholder in `template` when the real ones live under `templates`. */
const MISMATCH_PLACEHOLDER = 'Template_Version_And_Istio_Version_Mismatched_Check_Installation';

export interface InjectorDoc {
  index: number;
  name: string;
  /** Path of the ConfigMap inside its document: [] or ['items', i] in a `kind: List`. */
  base: (string | number)[];
  /** Start offset of the ConfigMap in the file (for splicing from the end). */
  start: number;
}

/** The injector ConfigMaps in a file (also inside `kind: List`). Errors clearly when there is none. */
export function findInjectors(loaded: LoadedFile): InjectorDoc[] {
  const out: InjectorDoc[] = [];
  const others: string[] = [];
  const visit = (value: unknown, index: number, base: (string | number)[]) => {
    if (!isObj(value)) return;
    const meta = isObj(value.metadata) ? value.metadata : {};
    const name = typeof meta.name === 'string' ? meta.name : '(unnamed)';
    const kind = String(value.kind ?? '');
    if (kind === 'List' && Array.isArray(value.items)) {
      value.items.forEach((item, i) => visit(item, index, [...base, 'items', i]));
      return;
    }
    if (kind !== 'ConfigMap') {
      others.push(`${kind || 'a document without kind'} ${name}`);
      return;
    }
    const data = isObj(value.data) ? value.data : {};
    if (typeof data.config === 'string' && (/^istio-sidecar-injector/.test(name) || /(^|\n)\s*templates?:/.test(data.config))) {
      const node = nodeAt(loaded.docs[index]!.doc, base);
      out.push({ index, name, base, start: node?.range?.[0] ?? loaded.docs[index]!.doc.range[0] });
    } else {
      others.push(`ConfigMap ${name}`);
    }
  };
  loaded.docs.forEach(({ value }, index) => visit(value, index, []));
  if (out.length === 0) {
    const what = others.length ? `found ${others.slice(0, 3).join(', ')}${others.length > 3 ? ', …' : ''}` : 'the input is empty';
    throw new InputError(
      `not the Istio sidecar injector ConfigMap: expected kind ConfigMap named istio-sidecar-injector[-<rev>] with data.config holding the injection template (kubectl -n istio-system get cm istio-sidecar-injector -o yaml); ${what}`,
      { file: loaded.file, line: 1, col: 1 },
    );
  }
  return out;
}

export function stringNode(doc: Document.Parsed, path: (string | number)[], loaded: LoadedFile, what: string): Scalar<string> {
  const node = nodeAt(doc, path);
  if (!isScalar(node) || typeof node.value !== 'string' || !node.range) {
    const pos = node?.range ? posAt(loaded.file, loaded.lines, node.range[0]) : posAt(loaded.file, loaded.lines, doc.range[0]);
    throw new InputError(`${what}: expected a string`, pos);
  }
  return node as Scalar<string>;
}

/** file:line:col of a line inside a block scalar (best effort: the scalar's first body line + n). */
export function posInScalar(loaded: LoadedFile, node: Scalar, lineInValue: number): SourcePos {
  const p = posAt(loaded.file, loaded.lines, node.range![0]);
  const block = node.type === Scalar.BLOCK_LITERAL || node.type === Scalar.BLOCK_FOLDED;
  return block ? { file: loaded.file, line: p.line + 1 + lineInValue, col: 1 } : p;
}

/** Locate the injection template inside `config`: `templates.sidecar` (newer Istio) or `template`. */
export function templateNode(cfg: Document.Parsed): { node: Scalar<string>; path: string[] } | undefined {
  const sidecar = cfg.getIn(['templates', 'sidecar'], true);
  if (isScalar(sidecar) && typeof sidecar.value === 'string') return { node: sidecar as Scalar<string>, path: ['templates', 'sidecar'] };
  const legacy = cfg.get('template', true);
  if (isScalar(legacy) && typeof legacy.value === 'string' && !legacy.value.includes(MISMATCH_PLACEHOLDER)) {
    return { node: legacy as Scalar<string>, path: ['template'] };
  }
  return undefined;
}
