/**
 * md_rows (src/hooks/proc-tcp.ts) reads the TCP table whole with `cat` where the image has one, and
 * line by line where it has not (ADR 018): both paths hand the callback the same rows, in the same
 * order, and stop at the same row, under dash, bash and busybox sh. A regular file stands in for
 * /proc/net/tcp (same columns), so no root is needed.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SH_ROWS } from '../../src/hooks/proc-tcp.js';
import { SHELLS } from './netns.js';

const dir = mkdtempSync(join(tmpdir(), 'md-proc-tcp-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const HEADER = '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
const row = (i: number, local: string, remote: string, st: string, timer: string, uid: number) =>
  `${String(i).padStart(4)}: ${local} ${remote} ${st} 00000000:00000000 ${timer} 00000000 ${String(uid).padStart(5)}        0 ${1000 + i} 1 0000000000000000 20 4 30 10 -1`;
/** LISTEN rows first, then ESTABLISHED and TIME_WAIT interleaved, as the kernel lists them. */
function table(n: number): string {
  const rows = [HEADER, row(0, '00000000:1F90', '00000000:0000', '0A', '00:00000000', 1000)];
  for (let i = 1; i <= n; i++) {
    const tw = i % 3 !== 0;
    rows.push(row(i, `0A12C6C6:${tw ? '3A9E' : '1F90'}`, `0112C6C6:${(1024 + i).toString(16).toUpperCase().padStart(4, '0')}`, tw ? '06' : '01', tw ? `03:${(i * 7).toString(16).toUpperCase().padStart(8, '0')}` : '00:00000000', tw ? 0 : 1337));
  }
  return rows.join('\n') + '\n';
}

const file = join(dir, 'tcp');
writeFileSync(file, table(600));
const noCat = join(dir, 'bin-empty');
const withCat = join(dir, 'bin-cat');
spawnSync('mkdir', ['-p', noCat, withCat]);
for (const c of ['/usr/bin/cat', '/bin/cat']) if (existsSync(c) && !existsSync(join(withCat, 'cat'))) symlinkSync(c, join(withCat, 'cat'));

/** Every row the callback saw (LOCAL REMOTE STATE UID TIMER), its status, and the path md_rows took. */
function rows(shell: readonly string[], mdCat: 'y' | 'n' | '', path: string, stopAt = '', tw = 'tw'): { seen: string; code: string; mdCat: string } {
  const script = `${SH_ROWS}
md_cb() { printf '%s|%s|%s|%s|%s\\n' "$1" "$2" "$3" "$4" "$5"; [ -n "$STOP" ] && [ "$2" = "$STOP" ]; }
${mdCat ? `md_cat=${mdCat}` : ''}
md_rows "$TABLE" md_cb ${tw}; echo "status $?"
echo "md_cat=\${md_cat-}."
`;
  const r = spawnSync(shell[0]!, [...shell.slice(1), '-c', script], { encoding: 'utf8', env: { PATH: path, TABLE: file, STOP: stopAt } });
  expect(r.status, r.stderr).toBe(0);
  const lines = r.stdout.trimEnd().split('\n');
  return { seen: lines.slice(0, -2).join('\n'), code: lines.at(-2)!, mdCat: lines.at(-1)! };
}

describe('md_rows: the slurped table and the line-by-line read agree', () => {
  for (const [label, shell] of SHELLS) {
    it(`${label}: the same rows in the same order, whole and stopping at a row`, () => {
      const slow = rows(shell, 'n', noCat);
      expect(slow.code).toBe('status 1');
      expect(slow.seen.split('\n')).toHaveLength(602); // the header and every row
      expect(slow.seen.split('\n')[2]).toBe('0A12C6C6:3A9E|0112C6C6:0401|06|0|03:00000007');
      const fast = rows(shell, 'y', withCat);
      expect(fast.seen).toBe(slow.seen);
      expect(fast.code).toBe('status 1');
      const stop = '0112C6C6:04FF'; // row 255: ESTABLISHED, in the middle of the table
      const slowStop = rows(shell, 'n', noCat, stop);
      const fastStop = rows(shell, 'y', withCat, stop);
      expect(slowStop.code).toBe('status 0');
      expect([fastStop.seen, fastStop.code]).toEqual([slowStop.seen, slowStop.code]);
      expect(fastStop.seen.split('\n').at(-1)).toBe('0A12C6C6:1F90|0112C6C6:04FF|01|1337|00:00000000');
    });
    it(`${label}: without tw, TIME_WAIT rows never reach the callback, on both paths`, () => {
      const slow = rows(shell, 'n', noCat, '', '');
      const fast = rows(shell, 'y', withCat, '', '');
      expect(fast.seen).toBe(slow.seen);
      const seen = slow.seen.split('\n');
      expect(seen).toHaveLength(202); // the header, the listener and the 200 ESTABLISHED rows
      expect(seen.filter((l) => l.split('|')[2] === '06')).toEqual([]);
      expect(rows(shell, 'n', noCat).seen.split('\n').filter((l) => l.split('|')[2] === '06')).toHaveLength(400);
    });
  }
  it('dash and busybox look for cat once; bash needs none', () => {
    expect(rows(SHELLS[0]![1], '', withCat).mdCat).toBe('md_cat=y.');
    expect(rows(SHELLS[0]![1], '', noCat).mdCat).toBe('md_cat=n.');
    expect(rows(SHELLS[1]![1], '', noCat).mdCat).toBe('md_cat=.');
  });
});
