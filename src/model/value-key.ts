/**
 * Memo keys for plain JSON values (one hold script in a thousand Deployments is rendered once).
 *
 * `JSON.stringify` of a value that carries a 10 KB script escapes and copies all of it for every pod;
 * here a long string stands as an interned number instead, which costs one hash of the string. Equal
 * values give equal keys; different values, different keys (short strings are written out whole, and
 * one that looks like an interned number is escaped). The table is bounded: when it is reset the
 * generation changes, so a key made before can never equal one made after.
 */
const LONG = 256;
const MAX_INTERNED = 10_000;
let interned = new Map<string, number>();
let generation = 0;

function intern(s: string): number {
  let id = interned.get(s);
  if (id === undefined) {
    if (interned.size >= MAX_INTERNED) {
      interned = new Map();
      generation++;
    }
    id = interned.size;
    interned.set(s, id);
  }
  return id;
}

export function valueKey(value: unknown): string {
  const body = JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v !== 'string') return v;
    if (v.length > LONG) return `\u0000L${intern(v)}`;
    return v.startsWith('\u0000') ? `\u0000S${v}` : v;
  });
  // The generation is read after stringify: interning inside it may have reset the table.
  return `${generation}:${body}`;
}
