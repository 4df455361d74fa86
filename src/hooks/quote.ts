/** Quote a string for POSIX sh: single quotes, with embedded ones closed and escaped. */
export function shQuote(s: string): string {
  if (/^[A-Za-z0-9_\/.:=,+-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
