/** A minimal PNG reader for screenshots (8-bit RGB/RGBA, not interlaced): enough to look at pixel colours. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateSync } from 'node:zlib';

/** Debian's chromium (or chromium-browser), if installed. */
export const CHROMIUM = ['chromium', 'chromium-browser'].find((c) => spawnSync(c, ['--version'], { encoding: 'utf8' }).status === 0);
export const CHROMIUM_FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars', '--force-device-scale-factor=1'];

/** Run headless chromium with a throw-away profile; its stdout. */
export function runChromium(args: string[]): string {
  if (!CHROMIUM) throw new Error('chromium is not installed (Debian: apt-get install chromium)');
  const profile = mkdtempSync(join(tmpdir(), 'meshdrain-chromium-'));
  try {
    const r = spawnSync(CHROMIUM, [...CHROMIUM_FLAGS, `--user-data-dir=${profile}`, ...args], { encoding: 'utf8', timeout: 90_000 });
    if (r.status !== 0) throw new Error(`chromium exited ${r.status}: ${r.stderr.split('\n').slice(-3).join(' / ')}`);
    return r.stdout;
  } finally {
    rmSync(profile, { recursive: true, force: true });
  }
}

export interface Image {
  width: number;
  height: number;
  /** RGB(A) of a pixel as #rrggbb. */
  hex(x: number, y: number): string;
}

export function readPng(buf: Buffer): Image {
  if (buf.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error('not a PNG');
  let off = 8;
  let width = 0, height = 0, depth = 0, type = 0, interlace = 0;
  const idat: Buffer[] = [];
  while (off < buf.length) {
    const len = buf.readUInt32BE(off);
    const kind = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    if (kind === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8]!;
      type = data[9]!;
      interlace = data[12]!;
    } else if (kind === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  if (depth !== 8 || (type !== 2 && type !== 6) || interlace !== 0) throw new Error(`PNG depth ${depth} colour type ${type} interlace ${interlace} not supported`);
  const bpp = type === 6 ? 4 : 3;
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const px = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const f = raw[y * (stride + 1)]!;
    const src = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? px[y * stride + i - bpp]! : 0;
      const b = y > 0 ? px[(y - 1) * stride + i]! : 0;
      const c = i >= bpp && y > 0 ? px[(y - 1) * stride + i - bpp]! : 0;
      const p = a + b - c;
      const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
      const pred = f === 0 ? 0 : f === 1 ? a : f === 2 ? b : f === 3 ? (a + b) >> 1 : pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      px[y * stride + i] = (src[i]! + pred) & 0xff;
    }
  }
  return {
    width,
    height,
    hex: (x, y) => '#' + px.subarray(y * stride + x * bpp, y * stride + x * bpp + 3).toString('hex'),
  };
}

/**
 * Coloured table cells in a screenshot, counted per colour: bands of pixel rows that cross cells (the
 * cell colour shows on every line, between glyphs too). In a band, most lines are solid above and
 * below the text: there each cell is one run of its colour at least `minWidth` px wide (the lab's
 * matrix cells are ≥ 90 px; its legend's swatches 12 px). Count those, per colour.
 */
export function colouredCells(img: Image, cellColours: readonly string[], minWidth = 60): Record<string, number> {
  const colours = new Set(cellColours);
  const counts: Record<string, number> = {};
  let band: string[] = [];
  const close = () => {
    const freq = new Map<string, number>();
    for (const l of band) if (l) freq.set(l, (freq.get(l) ?? 0) + 1);
    const solid = [...freq].sort((a, b) => b[1] - a[1])[0]?.[0];
    if (solid) for (const c of solid.split(',')) counts[c] = (counts[c] ?? 0) + 1;
    band = [];
  };
  for (let y = 0; y < img.height; y++) {
    const runs: string[] = [];
    let any = false;
    let x = 0;
    while (x < img.width) {
      const c = img.hex(x, y);
      let e = x;
      while (e < img.width && img.hex(e, y) === c) e++;
      if (colours.has(c)) any = true;
      if (colours.has(c) && e - x >= minWidth) runs.push(c);
      x = e;
    }
    if (any) band.push(runs.join(','));
    else close();
  }
  close();
  return counts;
}
