import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PROXY_UID } from '../../src/istio/facts.js';
import { buildHookRoot, execsPilotAgent, hookArgv, preStopOutcome, type HookRoot } from '../../src/lab/hook-root.js';
import { rootStatus } from '../hooks/netns.js';
import { holdExecCommand, SHELL_APPLETS } from '../../src/hooks/hold.js';

const root = rootStatus();

describe('preStop outcome as the kubelet sees it', () => {
  it('exit 0 completes; a missing program or a non-zero exit is FailedPreStopHook', () => {
    expect(preStopOutcome(0, null, [])).toEqual({ ok: true, detail: 'exit 0' });
    expect(preStopOutcome(127, null, ["chroot: failed to run command '/bin/sh': No such file or directory"])).toEqual({ ok: false, detail: 'FailedPreStopHook: /bin/sh is not in the proxy image' });
    expect(preStopOutcome(1, null, [])).toEqual({ ok: false, detail: 'FailedPreStopHook: exit 1' });
    expect(execsPilotAgent(['/usr/local/bin/pilot-agent', 'request', 'POST', 'drain'])).toBe(true);
    expect(execsPilotAgent(['/bin/sh', '-c', 'pilot-agent request POST drain'])).toBe(false);
  });
});

describe.runIf(!root.ok && root.required)('hook root (required)', () => {
  it('has root', () => {
    throw new Error(`MESHDRAIN_REQUIRE_ROOT_TESTS=1 but ${root.reason}`);
  });
});

describe.skipIf(!root.ok)('hooks see only the proxy image’s tools (mount namespace + chroot, as UID 1337)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'meshdrain-hookroot-'));
  chmodSync(dir, 0o755);
  let def: HookRoot;
  let distroless: HookRoot;
  let withShell: HookRoot;
  beforeAll(async () => {
    def = await buildHookRoot(join(dir, 'default'), 'default');
    distroless = await buildHookRoot(join(dir, 'distroless'), 'distroless');
    withShell = await buildHookRoot(join(dir, 'distroless-shell'), 'distroless', undefined, [{ mountPath: '/meshdrain/bin', applets: SHELL_APPLETS }]);
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (r: HookRoot, argv: string[]) => {
    const [cmd, ...args] = hookArgv(r, PROXY_UID, argv);
    return spawnSync(cmd!, args, { encoding: 'utf8', timeout: 20_000 });
  };

  it('default: sh, netstat, curl and the seed loop’s tools work; the host’s other programs are not there', () => {
    expect(def.missing).toEqual([]);
    const r = run(def, ['/bin/sh', '-c', 'id -u 2>/dev/null || echo no-id; netstat -tln | head -1; curl --version | head -1 | cut -c1-4; command -v node || echo no-node; command -v setpriv || echo no-setpriv; echo n=$(echo a b | wc -w | xargs)']);
    expect(r.stderr).toBe('');
    expect(r.stdout.split('\n')).toEqual(['no-id', 'Active Internet connections (only servers)', 'curl', 'no-node', 'no-setpriv', 'n=2', '']);
    expect(r.status).toBe(0);
  });

  it('runs as the proxy user: it cannot write outside /tmp', () => {
    const r = run(def, ['/bin/sh', '-c', 'echo x > /etc/x 2>/dev/null && echo wrote || echo denied; echo y > /tmp/y && echo tmp-ok']);
    expect(r.stdout).toBe('denied\ntmp-ok\n');
  });

  it('distroless: no shell at all, so a shell hook fails at once like FailedPreStopHook', () => {
    const seed = ['/bin/sh', '-c', 'while [ 1==1 ]; do netstat -tulpn | grep LISTEN | grep :20000; if [ $? -gt 0 ]; then break; fi; sleep 1; done'];
    const t0 = Date.now();
    const r = run(distroless, seed);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(r.status).toBe(127);
    expect(preStopOutcome(r.status, null, r.stderr.split('\n'))).toEqual({ ok: false, detail: 'FailedPreStopHook: /bin/sh is not in the proxy image' });
  });

  it("distroless with meshdrain's shell volume (ADR 085): <mountPath>/sh and its applets run, nothing else is there; without it the hook fails", () => {
    const hold = holdExecCommand({ strategies: [{ kind: 'sleep', ms: 300 }], timeoutMs: 2000, intervalMs: 100 }, { kind: 'init-container', image: 'busybox:1.37.0-musl', mountPath: '/meshdrain/bin' });
    // cat is linked (the hold slurps /proc/net/tcp with it: ADR 084 addendum) and reads the pod's table.
    const probe = [hold[0]!, '-c', 'PATH=/meshdrain/bin:$PATH; sleep 0.1 && date -u +%Y >/dev/null && echo applets-ok; cat /proc/net/tcp | { read -r a b _; [ "$a $b" = "sl local_address" ] && echo cat-ok; }; for p in netstat curl bash head; do command -v $p >/dev/null && echo has-$p; done; test -e /bin/sh && echo has-bin-sh; echo done'];
    const r = run(withShell, probe);
    expect(r.stderr).toBe('');
    expect(withShell.busyboxDirs).toEqual(['/meshdrain/bin']);
    // Debian's busybox, like the image's (defconfig), runs only linked applets: netstat, curl, head are
    // not found. A host busybox built standalone would find them, and the root says so.
    if (withShell.notes.some((n) => /FEATURE_SH_STANDALONE/.test(n))) expect(r.stdout).toMatch(/^applets-ok\ncat-ok\nhas-netstat\n/);
    else expect(r.stdout).toBe('applets-ok\ncat-ok\ndone\n');
    // inject's own hold runs to its end there (exit 0), and fails at once without the volume.
    expect(run(withShell, hold).status).toBe(0);
    const none = run(distroless, hold);
    expect(preStopOutcome(none.status, null, none.stderr.split('\n'))).toEqual({ ok: false, detail: 'FailedPreStopHook: /meshdrain/bin/sh is not in the proxy image' });
  });

  it('leaves no /proc mount behind on the host', () => {
    run(def, ['/bin/sh', '-c', 'test -r /proc/net/tcp && echo ok']);
    const m = spawnSync('findmnt', ['-rn', join(def.dir, 'proc')], { encoding: 'utf8' });
    expect(m.stdout).toBe('');
  });
});
