/**
 * The generator without namespaces: validation, hostile values run through real shells, shellcheck
 * on every variant, and the shape of the exec command.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { checkHold, holdExecCommand, renderHoldScript, renderWaitFunction, shellInitCommand } from '../../src/hooks/hold.js';
import { formatStrategy, httpTarget, parseStrategy } from '../../src/hooks/strategy.js';
import type { HoldSpec, ShellSource, WaitStrategy } from '../../src/plan/types.js';
import { runAsync } from '../helpers/cli.js';
import { needTools } from '../helpers/tools.js';

const tmp = mkdtempSync(join(tmpdir(), 'meshdrain-hooktest-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const hold = (strategies: WaitStrategy[], timeoutMs = 0, intervalMs = 200): HoldSpec => ({ strategies, timeoutMs, intervalMs });

describe('parseStrategy / formatStrategy', () => {
  it('round-trips every kind', () => {
    for (const t of ['app-listeners', 'ports=8080,9090', 'http=http://127.0.0.1:8080/healthz?a=1&b=2', 'http=http://[::1]:8080/', 'file=/shared/busy', 'sleep=10s', 'sleep=1m30s', 'sleep=200ms']) {
      expect(formatStrategy(parseStrategy(t))).toBe(t);
    }
  });

  const hostile = [
    "file='; touch /tmp/pwned; '",
    'file=/tmp/$(touch /tmp/pwned)',
    'file=/tmp/`id`',
    'file=/tmp/a b',
    'file=/tmp/../etc/passwd',
    'file=relative/path',
    'file=/tmp/x\n touch /tmp/pwned',
    "http=http://127.0.0.1:8080/'; touch /tmp/pwned; '",
    'http=http://127.0.0.1:8080/$(id)',
    'http=http://127.0.0.1:8080/a;b',
    'http=https://127.0.0.1/',
    'http=http://127.0.0.1:99999/',
    'http=-o/tmp/pwned',
    'ports=8080;touch /tmp/pwned',
    'ports=0',
    'ports=65536',
    'ports=',
    'ports=8080,,9090',
    'sleep=10x',
    'sleep=$(id)',
    'app-listeners=1',
    'nope=1',
  ];
  for (const t of hostile) {
    it(`rejects ${JSON.stringify(t)} with a one-line InputError`, () => {
      let err: unknown;
      try {
        parseStrategy(t);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InputError);
      expect((err as InputError).message).not.toMatch(/\n/);
    });
  }

  it('knows loopback URLs (for the no-client fallback)', () => {
    expect(httpTarget('http://127.0.0.1:8080/x')).toEqual({ host: '127.0.0.1', port: 8080, loopback: true });
    expect(httpTarget('http://localhost/').port).toBe(80);
    expect(httpTarget('http://[::1]:9/').loopback).toBe(true);
    expect(httpTarget('http://10.1.2.3:8080/').loopback).toBe(false);
  });
});

describe('checkHold rejects hostile or broken specs built without the parser (policy, plan)', () => {
  const bad: Array<[string, HoldSpec]> = [
    ['quote in a file path', hold([{ kind: 'file', path: "/tmp/x'; touch /tmp/pwned; '" }])],
    ['URL with a quote', hold([{ kind: 'http', url: "http://127.0.0.1/'$(id)'" }])],
    ['fractional port', hold([{ kind: 'ports', ports: [80.5] }])],
    ['port as a string', hold([{ kind: 'ports', ports: ['8080; id' as unknown as number] }])],
    ['NaN sleep', hold([{ kind: 'sleep', ms: Number.NaN }])],
    ['unknown kind', hold([{ kind: 'exec', cmd: 'id' } as unknown as WaitStrategy])],
    ['no strategies', hold([])],
    ['negative timeout', hold([{ kind: 'app-listeners' }], -1)],
    ['NaN timeout', hold([{ kind: 'app-listeners' }], Number.NaN)],
    ['timeout as code', { strategies: [{ kind: 'app-listeners' }], timeoutMs: '1; id' as unknown as number, intervalMs: 200 }],
    ['zero interval (busy loop)', hold([{ kind: 'app-listeners' }], 1000, 0)],
  ];
  for (const [what, spec] of bad) {
    it(what, () => {
      expect(() => renderHoldScript(spec)).toThrow(InputError);
      expect(() => checkHold(spec)).toThrow(InputError);
    });
  }
  it('rejects a hostile shell mount path', () => {
    const shell: ShellSource = { kind: 'init-container', image: 'busybox', mountPath: "/x'; touch /tmp/pwned; '" };
    expect(() => holdExecCommand(hold([{ kind: 'app-listeners' }]), shell)).toThrow(InputError);
    expect(() => shellInitCommand(shell as ShellSource & { kind: 'init-container' })).toThrow(InputError);
  });
});

/** Run a script under a shell, cwd = a scratch dir; returns the status and what appeared there. */
function runIn(shell: string[], script: string, env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmp, 'run-'));
  const file = join(dir, 'hold.sh');
  writeFileSync(file, script);
  const r = spawnSync(shell[0]!, [...shell.slice(1), file], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 10_000,
    env: { PATH: '/usr/bin:/bin', MESHDRAIN_HOLD_LOG: join(dir, 'log'), ...env },
  });
  return { status: r.status, created: readdirSync(dir).filter((f) => f !== 'hold.sh' && f !== 'log'), log: existsSync(join(dir, 'log')) ? spawnSync('cat', [join(dir, 'log')], { encoding: 'utf8' }).stdout : '' };
}

const SHELLS = [['/usr/bin/dash'], ['/usr/bin/bash'], ['/usr/bin/busybox', 'sh']];

describe('values are inert in real shells', () => {
  needTools('dash', 'bash', 'busybox');
  it('arbitrary file= values: rejected, or passed to [ -e ] verbatim and nothing else happens', () => {
    const canary = join(tmp, 'pwned');
    const piece = fc.constantFrom(';', "'", '"', '$(', ')', '`', '&', '|', '\n', ' ', '*', '..', '/', 'touch ', canary, '\\', '$HOME', '-', '.', 'a', 'Z9');
    fc.assert(
      fc.property(fc.array(piece, { minLength: 1, maxLength: 8 }), (parts) => {
        const path = `/nonexistent-meshdrain/${parts.join('')}`;
        let s: WaitStrategy;
        try {
          s = parseStrategy(`file=${path}`);
        } catch (e) {
          expect(e).toBeInstanceOf(InputError);
          return;
        }
        // Accepted: the path must reach the log unchanged and nothing may be created.
        const r = runIn(['/usr/bin/dash'], renderHoldScript(hold([s])));
        expect(r.status).toBe(0);
        expect(r.created).toEqual([]);
        expect(existsSync(canary)).toBe(false);
        expect(r.log).toContain(`file=${path}: nothing to wait for at start (${path} does not exist)`);
      }),
      { numRuns: 60 },
    );
  });

  for (const shell of SHELLS) {
    it(`${shell.join(' ')}: a URL full of shell characters ('&', '?', '=', '%', '+', '~') stays one word`, () => {
      const url = 'http://127.0.0.1:1/x?a=1&touch=pwned&b=%3B+~x';
      const r = runIn(shell, renderHoldScript(hold([parseStrategy(`http=${url}`)])), { PATH: '/nonexistent' });
      expect(r.status).toBe(0);
      expect(r.created).toEqual([]);
      expect(r.log).toContain(`http=${url}`);
    });
  }
});

describe('shellcheck passes on every generated variant', () => {
  needTools('shellcheck');
  const kinds: WaitStrategy[] = [
    { kind: 'app-listeners' },
    { kind: 'app-connections' },
    { kind: 'ports', ports: [8080, 9090] },
    { kind: 'http', url: 'http://127.0.0.1:8080/healthz?a=1&b=2' },
    { kind: 'http', url: 'http://10.0.0.1/ready' },
    { kind: 'file', path: '/shared/busy' },
    { kind: 'sleep', ms: 1500 },
  ];
  const variants: Array<[string, string]> = [];
  // each kind alone, every pair, and all of them; each as script, exec -c text and embedded function
  const masks = new Set<number>([(1 << kinds.length) - 1]);
  for (let a = 0; a < kinds.length; a++) for (let b = a; b < kinds.length; b++) masks.add((1 << a) | (1 << b));
  for (const mask of masks) {
    const strategies = kinds.filter((_, k) => mask & (1 << k));
    const h = hold(strategies, 23_000, mask % 2 ? 200 : 1000);
    variants.push([`m${mask}.sh`, renderHoldScript(h)]);
    if (strategies.length !== 2) {
      variants.push([`m${mask}-exec.sh`, `#!/bin/sh\n${holdExecCommand(h, { kind: 'init-container', image: 'busybox', mountPath: '/meshdrain-shell' })[2]}`]);
      variants.push([`m${mask}-fn.sh`, `#!/bin/sh\n${renderWaitFunction(h)}meshdrain_wait\n`]);
    }
  }
  // ADR 014: linger and pilot-agent's drain at start
  variants.push(['drain-linger.sh', renderHoldScript({ ...hold([kinds[0]!, kinds[1]!]), lingerMs: 1000, drainAtStart: true })]);
  // the init container's shell copy (distroless proxy, ADR 084)
  variants.push(['init.sh', `#!/bin/sh\n${shellInitCommand({ kind: 'init-container', image: 'busybox', mountPath: '/meshdrain-shell' })[3]}\n`]);
  // the same strategy twice (two ports= and two http=) must not collide
  variants.push(['dup.sh', renderHoldScript(hold([kinds[1]!, { kind: 'ports', ports: [1] }, kinds[2]!, kinds[3]!]))]);

  for (const dialect of ['sh', 'dash', 'bash']) {
    // Not spawnSync: the three runs took 77 s in a row on a loaded machine, past vitest's 60 s worker RPC limit.
    it(`${variants.length} variants, shellcheck -s ${dialect}`, async () => {
      const dir = mkdtempSync(join(tmp, `sc-${dialect}-`));
      const files = variants.map(([name, text]) => {
        writeFileSync(join(dir, name), text);
        return join(dir, name);
      });
      const r = await runAsync('shellcheck', ['-s', dialect, '-S', 'style', ...files]);
      expect(r.stdout + r.stderr).toBe('');
      expect(r.status).toBe(0);
    }, 180_000);
  }
});

describe('output shape', () => {
  needTools('dash', 'bash', 'busybox');
  it("the init container's shell copy runs in every shell: busybox and each applet the hold needs, cat reading the TCP table", () => {
    for (const shell of SHELLS) {
      const dir = mkdtempSync(join(tmp, 'init-'));
      const script = shellInitCommand({ kind: 'init-container', image: 'busybox', mountPath: dir })[3]!;
      const r = spawnSync(shell[0]!, [...shell.slice(1), '-c', script], { encoding: 'utf8' });
      expect(r.status, `${shell.join(' ')}: ${r.stderr}`).toBe(0);
      expect(readdirSync(dir).sort()).toEqual(['busybox', 'cat', 'date', 'sh', 'sleep', 'wget']);
      const cat = spawnSync(join(dir, 'cat'), ['/proc/net/tcp'], { encoding: 'utf8' });
      expect(cat.stdout.split('\n')[0]).toMatch(/^\s*sl\s+local_address/);
    }
  });
  it('renderWaitFunction only defines functions: running it does nothing and prints nothing', () => {
    for (const shell of SHELLS) {
      const r = runIn(shell, renderWaitFunction(hold([{ kind: 'app-listeners' }], 5000)));
      expect(r.status).toBe(0);
      expect(r.log).toBe('');
    }
  });

  it('runs clean under set -u (embeddable in strict scripts), every strategy at once', () => {
    const all = hold(
      ['app-listeners', 'ports=8080', 'http=http://127.0.0.1:1/x?a=1&b=2', 'http=http://192.0.2.1/', 'file=/nonexistent/x', 'sleep=100ms'].map(parseStrategy),
      300,
      100,
    );
    for (const shell of SHELLS) {
      for (const path of ['/usr/bin:/bin', '/nonexistent']) {
        const dir = mkdtempSync(join(tmp, 'u-'));
        const file = join(dir, 'hold.sh');
        writeFileSync(file, renderHoldScript(all));
        const r = spawnSync(shell[0]!, [...shell.slice(1), '-u', file], { encoding: 'utf8', env: { PATH: path, MESHDRAIN_HOLD_LOG: join(dir, 'log') }, timeout: 10_000 });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
      }
    }
  });

  it('every name it defines is md_* or meshdrain_* (safe to embed)', () => {
    const text = renderWaitFunction(hold([{ kind: 'app-listeners' }, { kind: 'http', url: 'http://127.0.0.1/' }, { kind: 'file', path: '/x' }]));
    const fns = [...text.matchAll(/^(\w+)\(\) \{/gm)].map((m) => m[1]);
    const vars = [...text.matchAll(/(?:^\s*|;\s*|\{\s*|then\s+|else\s+|&&\s*|\|\|\s*)(\w+)=/gm)].map((m) => m[1]);
    expect(fns.length).toBeGreaterThan(5);
    for (const n of [...fns, ...vars]) expect(n).toMatch(/^(md_|meshdrain_|PATH$|MESHDRAIN_)/);
  });

  it('holdExecCommand: /bin/sh -c for a normal image; <mount>/sh with PATH for a brought-in shell', () => {
    const h = hold([{ kind: 'app-listeners' }], 23_000);
    const a = holdExecCommand(h);
    const full = renderHoldScript(h);
    expect(a.slice(0, 2)).toEqual(['/bin/sh', '-c']);
    // Shorter (no explanatory comments past the two header lines), and it still says what it is.
    expect(a[2]!.length).toBeLessThan(full.length * 0.9);
    expect(a[2]!.split('\n').slice(0, 2)).toEqual(full.split('\n').slice(0, 2));
    expect(a[2]!.split('\n').slice(2).filter((l) => /^\s*#/.test(l))).toEqual([]);
    const b = holdExecCommand(h, { kind: 'init-container', image: 'busybox:1.36-musl', mountPath: '/meshdrain-shell' });
    expect(b[0]).toBe('/meshdrain-shell/sh');
    expect(b[1]).toBe('-c');
    expect(b[2]!.startsWith('PATH=/meshdrain-shell:$PATH; export PATH\n')).toBe(true);
    expect(shellInitCommand({ kind: 'init-container', image: 'busybox', mountPath: '/meshdrain-shell' })).toEqual([
      '/bin/busybox',
      'sh',
      '-c',
      'cp /bin/busybox /meshdrain-shell/busybox && chmod 0555 /meshdrain-shell/busybox && ln -sf busybox /meshdrain-shell/sh && ln -sf busybox /meshdrain-shell/sleep && ln -sf busybox /meshdrain-shell/date && ln -sf busybox /meshdrain-shell/wget && ln -sf busybox /meshdrain-shell/cat',
    ]);
  });

  it('the embedded exec script behaves exactly like the full script (same exit, same log), in every shell', () => {
    const marker = join(tmp, 'embedded-busy');
    writeFileSync(marker, '');
    // One hold that ends by itself (the sleep is over), one that ends at its timeout (the marker stays).
    const cases: Array<[HoldSpec, RegExp]> = [
      [hold([{ kind: 'sleep', ms: 300 }], 5_000, 100), /end: nothing holds the proxy any more/],
      [hold([{ kind: 'file', path: marker }], 700, 100), /end: timeout 700ms reached while still held by: file=/],
    ];
    // Timestamps, elapsed times and the log file differ run to run; the messages must not.
    const strip = (log: string) =>
      log.replace(/^meshdrain-hold \S+ \+\d+\.\d+s: /gm, '').replace(/after \d+\.\ds/g, 'after Ns').replace(/log to \S+/, 'log to <each run its own file>');
    for (const shell of SHELLS) {
      for (const [h, end] of cases) {
        const full = runIn(shell, renderHoldScript(h));
        const embedded = runIn(shell, holdExecCommand(h)[2]!);
        expect(embedded.status, shell[0]).toBe(0);
        expect(full.status).toBe(0);
        expect(embedded.log).toMatch(end);
        expect(strip(embedded.log)).toBe(strip(full.log));
      }
    }
    rmSync(marker, { force: true });
  });

  it('the scan skips only LISTEN rows it can see; Istio ports are the facts list', () => {
    const text = renderHoldScript(hold([{ kind: 'app-listeners' }]));
    // 15000 = 3A98 ... 15090 = 3AF2 must all be excluded; 15030 (3AB6) must not be.
    expect(text).toMatch(/3A98\|3A99\|3A9A\|3A9C\|3A9E\|3AA0\|3AA1\|3AAC\|3AAD\|3ACD\|3AF2\) return 1/);
    expect(text).not.toMatch(/3AB6/);
  });
});
