/** yaml/splice: diff plain objects into set-ops, splice them into the source; every other byte stays. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Document, isCollection, isMap, isScalar, isSeq, parse, stringify, visit, type Scalar } from 'yaml';
import { loadDocuments } from '../../src/yaml/load.js';
import { applyEdits, deepEqual, detectIndentSeq, diffValues, type SetOp } from '../../src/yaml/splice.js';

/** Apply ops to the first document of `text` the way inject does. */
function edit(text: string, ops: SetOp[], json = false): string {
  const loaded = loadDocuments(text, 'x.yaml');
  return applyEdits(text, [{ doc: loaded.docs[0]!.doc, ops }], loaded.lines, { indentSeq: detectIndentSeq(text), json });
}

describe('deepEqual', () => {
  it.each([
    [{ a: [1, { b: 'x' }] }, { a: [1, { b: 'x' }] }, true],
    [{ a: 1, b: 2 }, { b: 2, a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [[1, 2], [2, 1], false],
    ['1', 1, false],
    [null, {}, false],
  ])('%j vs %j → %s', (a, b, same) => {
    expect(deepEqual(a, b)).toBe(same);
  });
});

describe('splices, as a property', () => {
  // Text written by yaml's own stringify (block style, literal block scalars for multi-line
  // strings, as Helm and kubectl write them), edited from a to b, parses as b.
  const leaf = fc.oneof(fc.integer(), fc.boolean(), fc.constantFrom('x', 'a b', 'k: v', 'one\ntwo\n', 'one\ntwo', 'c: 2\nd:\n  e: "f"\n', '#', '', null));
  const tree = fc.letrec((tie) => ({
    node: fc.oneof({ depthSize: 'small' }, leaf, fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('node'), { minKeys: 1, maxKeys: 3 }), fc.array(tie('node'), { minLength: 1, maxLength: 2 })),
  })).node;
  const root = fc.dictionary(fc.constantFrom('a', 'b', 'c'), tree, { minKeys: 1, maxKeys: 3 });
  // A null is written `key:` (nothing after the colon, as Helm renders an unset value), `~` or `null`.
  const nullStr = fc.constantFrom('', '~', 'null');
  it.each([true, false])('edited text parses as the edited value (indentSeq %s), also without a final newline', (indentSeq) => {
    fc.assert(
      fc.property(root, root, fc.boolean(), nullStr, (a, b, chop, nul) => {
        const written = stringify(a, { lineWidth: 0, blockQuote: 'literal', indentSeq, nullStr: nul });
        const text = chop ? written.replace(/\n$/, '') : written;
        // Chopping the final newline of a block scalar changes its value: not a case of this property.
        fc.pre(deepEqual(parse(text), a));
        const out = edit(text, diffValues(a, b));
        expect(parse(out)).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });
  it('also with flow collections and trailing comments in the text', () => {
    fc.assert(
      fc.property(root, root, fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }), nullStr, (a, b, flags, nul) => {
        const doc = new Document(a);
        let k = 0;
        visit(doc, {
          Node(_, node) {
            const f = flags[k++ % flags.length]!;
            if (isCollection(node) && node !== doc.contents && f) node.flow = true;
            if (isScalar(node) && f) node.comment = ' note';
          },
        });
        const text = doc.toString({ lineWidth: 0, blockQuote: 'literal', nullStr: nul });
        // An empty null inside a flow sequence (`[ , x ]`) is no YAML: not a case of this property.
        fc.pre(!/[[,]\s*,/.test(text));
        // Nor is a lone one (`[ ]` is an empty sequence).
        fc.pre(deepEqual(parse(text), a));
        const out = edit(text, diffValues(a, b));
        expect(parse(out)).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });
  // b is a with keys and list items taken out (the flags say which), and some leaves changed: the
  // edits are mostly deletions, down to the last key of a map and the last item of a list.
  const flagsArb = fc.array(fc.nat(5), { minLength: 16, maxLength: 16 });
  function prune(v: unknown, flags: number[], k = { i: 0 }): unknown {
    const flag = () => flags[k.i++ % flags.length]!;
    if (Array.isArray(v)) return v.filter(() => flag() > 1).map((x) => prune(x, flags, k));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).filter(() => flag() > 1).map(([key, x]) => [key, prune(x, flags, k)]));
    }
    return flag() === 5 ? 'changed' : v;
  }
  // Lists of named maps (containers): items are deleted by name, the rest edited in place.
  const named = fc.array(fc.record({ name: fc.constantFrom('p', 'q', 'r', 's'), v: tree }), { minLength: 1, maxLength: 3 }).map((xs) => xs.filter((x, i) => xs.findIndex((y) => y.name === x.name) === i));
  const rootWithLists = fc.dictionary(fc.constantFrom('a', 'b', 'c'), fc.oneof(tree, named), { minKeys: 1, maxKeys: 3 });
  it.each([true, false])('deletions: the text keeps parsing as the edited value (indentSeq %s), comments of what stays kept', (indentSeq) => {
    fc.assert(
      fc.property(rootWithLists, flagsArb, fc.boolean(), nullStr, fc.boolean(), (a, flags, chop, nul, commented) => {
        const b = prune(a, flags) as Record<string, unknown>;
        const doc = new Document(a);
        // A comment line above every key, naming its path, and one after every scalar.
        if (commented) {
          const mark = (node: unknown, path: string): void => {
            if (isMap(node)) {
              for (const pair of node.items) {
                const p = `${path}.${String((pair.key as Scalar).value)}`;
                (pair.key as Scalar).commentBefore = ` above ${p}`;
                mark(pair.value, p);
              }
            } else if (isSeq(node)) node.items.forEach((x, i) => mark(x, `${path}.${i}`));
            else if (isScalar(node) && node.value !== null && typeof node.value !== 'string') node.comment = ' after';
          };
          mark(doc.contents, '');
        }
        const written = doc.toString({ lineWidth: 0, blockQuote: 'literal', indentSeq, nullStr: nul });
        const text = chop ? written.replace(/\n$/, '') : written;
        fc.pre(deepEqual(parse(text), a));
        const ops = diffValues(a, b);
        const out = edit(text, ops);
        expect(parse(out)).toEqual(b);
        // A key's comment line goes only with the key, or with a collection it is in that was
        // deleted or replaced whole; every other one stays. (One right after the item before stays
        // too, unless the key is its map's first: it may close that item, see the next test.)
        const dotted = (path: (string | number)[]) => path.map((k) => `.${String(k)}`).join('');
        for (const [, p = ""] of text.matchAll(/# above (\S+)/g)) {
          const taken = ops.some((op) => (op.delete && p === dotted(op.path)) || p.startsWith(`${dotted(op.path)}.`));
          // The whole document replaced (every key gone): the comment above its first key is before it.
          if (taken && ops.some((op) => op.path.length === 0)) continue;
          const kept = out.includes(`# above ${p}\n`) || out.endsWith(`# above ${p}`);
          // A map emptied in a list keeps its item's dash, and the comment yaml wrote after that dash.
          if (taken && new RegExp(`- # above ${p.replace(/\./g, '\\.')}\n`).test(text)) continue;
          if (!taken) expect(kept).toBe(true);
          else if (kept) expect(new RegExp(`\\S[^\\n]*\\n[ -]*# above ${p.replace(/\./g, '\\.')}\\n`).test(text) && !/\.0$/.test(p)).toBe(true);
        }
      }),
      { numRuns: 400 },
    );
  });
  it('deletions in flow collections and JSON keep the rest and stay valid', () => {
    fc.assert(
      fc.property(rootWithLists, flagsArb, fc.boolean(), (a, flags, json) => {
        const b = prune(a, flags);
        const text = json ? JSON.stringify(a, null, 2) + '\n' : stringify(a, { collectionStyle: 'flow', lineWidth: 0 });
        fc.pre(deepEqual(parse(text), a));
        const out = edit(text, diffValues(a, b), json);
        expect(parse(out)).toEqual(b);
        if (json) expect(JSON.parse(out)).toEqual(b);
      }),
      { numRuns: 300 },
    );
  });
  it('deleting the last item of a block list takes its comment lines and its line break, not the comment after the list', () => {
    const text = 'spec:\n  containers:\n  - name: app # the app\n    image: a\n\n  # meshdrain stub\n  - name: istio-proxy\n    image: auto\n  # after the list\n  volumes: []\n';
    const out = edit(text, [{ path: ['spec', 'containers', 1], value: undefined, delete: true }]);
    expect(out).toBe('spec:\n  containers:\n  - name: app # the app\n    image: a\n\n  # after the list\n  volumes: []\n');
  });
  it("a comment right after the item before stays (it may close that item); one after a blank line or under the parent's key goes", () => {
    const text = 'spec:\n  containers:\n  # the app\n  - name: app\n  # end of app\n  - name: b\n\n  # about c\n  - name: c\n  # after the list\n  volumes: []\n';
    expect(edit(text, [{ path: ['spec', 'containers', 1], value: undefined, delete: true }])).toBe(text.replace('  - name: b\n', ''));
    expect(edit(text, [{ path: ['spec', 'containers', 2], value: undefined, delete: true }])).toBe(text.replace('  # about c\n  - name: c\n', ''));
    expect(edit(text, [{ path: ['spec', 'containers', 0], value: undefined, delete: true }])).toBe(text.replace('  # the app\n  - name: app\n', ''));
    expect(edit(text, [{ path: ['spec', 'volumes'], value: undefined, delete: true }])).toBe(text.replace('  volumes: []\n', ''));
  });
  it('deleting the first key of a compact list item moves the next key up; the last key of a map leaves {}', () => {
    expect(edit('l:\n- a: 1\n  b: 2\n', [{ path: ['l', 0, 'a'], value: undefined, delete: true }])).toBe('l:\n- b: 2\n');
    expect(parse(edit('m:\n  a: 1 # c\nn: 2\n', [{ path: ['m', 'a'], value: undefined, delete: true }]))).toEqual({ m: {}, n: 2 });
    expect(edit('m: {a: 1, b: 2}\n', [{ path: ['m', 'a'], value: undefined, delete: true }])).toBe('m: {b: 2}\n');
    expect(edit('m: {a: 1, b: 2}\n', [{ path: ['m', 'b'], value: undefined, delete: true }])).toBe('m: {a: 1}\n');
  });
  it('an empty value (`key:`, `key: # note`) filled in keeps a space after the colon and before the comment', () => {
    const text = 'spec:\n  a: # filled in later\n  b:\n  c: # none\n  d:\n';
    const out = edit(text, [
      { path: ['spec', 'a'], value: { preStop: { sleep: { seconds: 5 } } } },
      { path: ['spec', 'b'], value: 33 },
      { path: ['spec', 'c'], value: 7 },
      { path: ['spec', 'd'], value: { x: 1 } },
    ]);
    expect(parse(out)).toEqual({ spec: { a: { preStop: { sleep: { seconds: 5 } } }, b: 33, c: 7, d: { x: 1 } } });
    expect(out).toContain('  a: # filled in later\n');
    expect(out).toContain('  c: 7 # none\n');
  });

  it('a file without a final newline: several insertions at its end make no blank lines', () => {
    const text = 'spec:\n  template:\n    spec:\n      containers: []';
    const out = edit(text, [
      { path: ['spec', 'template', 'metadata'], value: { annotations: { a: 'b' } } },
      { path: ['spec', 'template', 'spec', 'terminationGracePeriodSeconds'], value: 33 },
    ]);
    expect(out).toBe('spec:\n  template:\n    spec:\n      containers: []\n      terminationGracePeriodSeconds: 33\n    metadata:\n      annotations:\n        a: b\n');
  });
  it('a block scalar value replaced by a longer one stays a block under its key (proxy.istio.io/config merged)', () => {
    const text = 'm:\n  annotations:\n    proxy.istio.io/config: |\n      concurrency: 2\n    other: x\n';
    const merged = 'concurrency: 2\nproxyMetadata:\n  EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true"\n';
    const out = edit(text, [{ path: ['m', 'annotations', 'proxy.istio.io/config'], value: merged }]);
    expect(out).toBe('m:\n  annotations:\n    proxy.istio.io/config: |\n      concurrency: 2\n      proxyMetadata:\n        EXIT_ON_ZERO_ACTIVE_CONNECTIONS: "true"\n    other: x\n');
  });
});

describe('diffValues', () => {
  it('changed values and added keys, at their paths; equal subtrees give nothing', () => {
    expect(diffValues({ a: 1, b: { c: 2, d: 3 } }, { a: 1, b: { c: 5, d: 3, e: 4 } })).toEqual([
      { path: ['b', 'c'], value: 5 },
      { path: ['b', 'e'], value: 4 },
    ]);
    expect(diffValues({ a: [1] }, { a: [1] })).toEqual([]);
  });
  it('arrays of objects are edited item by item, new items appended', () => {
    expect(diffValues({ c: [{ name: 'app' }] }, { c: [{ name: 'app', x: 1 }, { name: 'proxy' }] })).toEqual([
      { path: ['c', 0, 'x'], value: 1 },
      { path: ['c', 1], value: { name: 'proxy' } },
    ]);
  });
  it('arrays of scalars (a command) are replaced whole; a removed key is deleted; a map with no key left is replaced', () => {
    expect(diffValues({ cmd: ['sh', '-c', 'a'] }, { cmd: ['sh', '-c', 'b'] })).toEqual([{ path: ['cmd'], value: ['sh', '-c', 'b'] }]);
    expect(diffValues({ m: { a: 1, b: 2 } }, { m: { a: 1 } })).toEqual([{ path: ['m', 'b'], value: undefined, delete: true }]);
    expect(diffValues({ m: { a: 1 } }, { m: { b: 1 } })).toEqual([{ path: ['m'], value: { b: 1 } }]);
  });
  it('a shorter list of named maps: the missing items deleted by name, the rest edited at their old index', () => {
    expect(diffValues({ c: [{ name: 'app' }, { name: 'istio-proxy' }, { name: 'x', v: 1 }] }, { c: [{ name: 'app' }, { name: 'x', v: 2 }] })).toEqual([
      { path: ['c', 1], value: undefined, delete: true },
      { path: ['c', 2, 'v'], value: 2 },
    ]);
  });
  it('property: applying the ops to a copy of a gives b', () => {
    const leaf = fc.oneof(fc.integer(), fc.string({ maxLength: 3 }), fc.boolean());
    const tree = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.dictionary(fc.constantFrom('a', 'b', 'c'), tie('node'), { maxKeys: 3 })),
    })).node;
    fc.assert(
      fc.property(tree, tree, (a, b) => {
        const ops = diffValues(a, b);
        let out: unknown = structuredClone(a);
        for (const op of ops) {
          if (op.path.length === 0) out = op.value;
          else {
            let p = out as Record<string, unknown>;
            for (const k of op.path.slice(0, -1)) p = p[k as string] as Record<string, unknown>;
            if (op.delete) delete p[op.path.at(-1) as string];
            else p[op.path.at(-1) as string] = op.value;
          }
        }
        expect(out).toEqual(b);
      }),
    );
  });
});

describe('detectIndentSeq', () => {
  it('indentless ("key:\\n- item") vs indented ("key:\\n  - item"); no sequence → indented', () => {
    expect(detectIndentSeq('containers:\n- name: a\n')).toBe(false);
    expect(detectIndentSeq('spec:\n  containers:\n    - name: a\n')).toBe(true);
    expect(detectIndentSeq('a: 1\n')).toBe(true);
  });
});

describe('applyEdits keeps every byte outside the edited nodes', () => {
  const src = `# the web app
apiVersion: apps/v1
kind: Deployment   # keep this comment
metadata: {name: web, labels: {app: web}}
spec:
  template:
    spec:
      terminationGracePeriodSeconds: 30 # default
      containers:
      - name: app
        image: 'app:1'
`;

  it('replaces a scalar in place (its comment stays)', () => {
    expect(edit(src, [{ path: ['spec', 'template', 'spec', 'terminationGracePeriodSeconds'], value: 47 }])).toBe(
      src.replace('terminationGracePeriodSeconds: 30 # default', 'terminationGracePeriodSeconds: 47 # default'),
    );
  });

  it('appends a sequence item in the file\'s own (indentless) style', () => {
    const out = edit(src, [{ path: ['spec', 'template', 'spec', 'containers', 1], value: { name: 'istio-proxy', image: 'auto' } }]);
    expect(out).toBe(`${src}      - name: istio-proxy\n        image: auto\n`);
  });

  it('adds into a flow map in flow style, after its last item', () => {
    const out = edit(src, [{ path: ['metadata', 'annotations'], value: { 'proxy.istio.io/config': '{}' } }]);
    expect(out).toBe(src.replace('labels: {app: web}}', "labels: {app: web}, annotations: {proxy.istio.io/config: \"{}\"}}"));
  });

  it("a flow value replaced by a block ending in a block scalar: the old value's comment stays on its key line, not in the scalar's text", () => {
    const text = 'c:\n  exec:\n    command: ["sleep", "10"]   # mine\n  x: 1\n';
    const out = edit(text, [{ path: ['c', 'exec', 'command'], value: ['/bin/sh', '-c', 'sleep 1\nexec drain\n'] }]);
    expect(out).toBe('c:\n  exec:\n    command:   # mine\n      - /bin/sh\n      - -c\n      - |\n        sleep 1\n        exec drain\n  x: 1\n');
    const v = loadDocuments(out, 'o.yaml').docs[0]!.value as { c: { exec: { command: string[] } } };
    expect(v.c.exec.command[2]).toBe('sleep 1\nexec drain\n');
    // No comment: as before.
    expect(edit('command: [a]\nx: 1\n', [{ path: ['command'], value: ['b', 'c'] }])).toBe('command:\n  - b\n  - c\nx: 1\n');
  });

  it('adds a missing nested key below the deepest existing map', () => {
    const out = edit(src, [{ path: ['spec', 'template', 'metadata', 'annotations', 'a'], value: 'b' }]);
    expect(loadDocuments(out, 'x').docs[0]!.value).toMatchObject({ spec: { template: { metadata: { annotations: { a: 'b' } } } } });
    // Only lines were added: the original lines are all there, in order.
    const added = out.split('\n').filter((l) => !src.split('\n').includes(l));
    expect(added).toEqual(['    metadata:', '      annotations:', '        a: b']);
  });

  it('a CRLF file stays CRLF', () => {
    const crlf = src.replace(/\n/g, '\r\n');
    const out = edit(crlf, [{ path: ['spec', 'template', 'spec', 'containers', 1], value: { name: 'p' } }]);
    expect(out.startsWith(crlf)).toBe(true);
    expect(out.slice(crlf.length)).toBe('      - name: p\r\n');
  });

  it('JSON stays JSON: quoted keys, JSON strings, numbers elsewhere as typed', () => {
    const json = '{\n  "kind": "Pod",\n  "spec": {"x": 1.50, "containers": [{"name": "app"}]}\n}\n';
    const out = edit(json, [{ path: ['spec', 'containers', 1], value: { name: 'istio-proxy', args: ['a b'] } }], true);
    expect(out).toBe('{\n  "kind": "Pod",\n  "spec": {"x": 1.50, "containers": [{"name": "app"}, {"name":"istio-proxy","args":["a b"]}]}\n}\n');
    expect(JSON.parse(out).spec.containers[1]).toEqual({ name: 'istio-proxy', args: ['a b'] });
  });

  it('documents without ops keep every byte', () => {
    const two = `${src}---\n# second\nkind: ConfigMap   # x\n`;
    const loaded = loadDocuments(two, 'x.yaml');
    const out = applyEdits(two, [{ doc: loaded.docs[0]!.doc, ops: [{ path: ['kind'], value: 'StatefulSet' }] }, { doc: loaded.docs[1]!.doc, ops: [] }], loaded.lines, { indentSeq: false });
    expect(out).toBe(two.replace('kind: Deployment', 'kind: StatefulSet'));
  });
});
