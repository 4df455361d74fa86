/**
 * The app's delay as inject writes it (ADR 015), end to end: a policy file with app.shell / shellImage
 * / quiet / maxDelay → inject → the manifest. The wait's exact command, the shell init container,
 * the hold that goes with it, the grace period from the upper bounds, the guessed-sleep fallback said
 * on stderr, bad values with file:line:col, and the written commands through shellcheck and real
 * shells (dash, bash, busybox sh).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { appWaitExecCommand } from '../../src/hooks/app-wait.js';
import { injectText } from '../../src/inject/inject.js';
import { lint } from '../../src/lint/engine.js';
import type { PodTemplate, PodTemplateSite } from '../../src/model/workload.js';
import { podShutdownFacts } from '../../src/plan/facts.js';
import { loadPolicy } from '../../src/policy/load.js';
import { expectInputError } from '../helpers/errors.js';
import { needTools } from '../helpers/tools.js';

type C = { name: string; image?: string; command?: string[]; volumeMounts?: { name: string; mountPath: string }[]; lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } } };
type Spec = { containers: C[]; initContainers?: C[]; volumes?: unknown[]; terminationGracePeriodSeconds?: number };

const DEPLOYMENT = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: web:1\n        ports: [{containerPort: 8080}]\n';
const policyFile = (app: string, proxy = '') => `apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  app:\n${app}${proxy}`;
const run = (policyText: string, src = DEPLOYMENT) => {
  const r = injectText(src, 'd.yaml', { policy: loadPolicy(policyText, 'p.yaml') });
  const tmpl = parse(r.output).spec.template;
  const spec = tmpl.spec as Spec;
  const app = spec.containers.find((c) => c.name === 'web')!;
  // The classic hold travels in the proxy.istio.io/overrides annotation (ADR 061), else on the pod's own istio-proxy.
  const overrides = tmpl.metadata?.annotations?.['proxy.istio.io/overrides'];
  const proxy = (overrides ? (JSON.parse(overrides) as { containers: C[] }).containers.find((c) => c.name === 'istio-proxy') : undefined) ?? spec.containers.find((c) => c.name === 'istio-proxy')!;
  return { r, spec, app, proxy, holdScript: proxy.lifecycle!.preStop!.exec!.command[2]! };
};

describe("a policy's app delay over an earlier run's plain delay (QA 9 item 1): the upgrade path", () => {
  const first = injectText(DEPLOYMENT, 'd.yaml').output; // the guess: sleep 5, grace 33
  const again = (policyText: string, src = first) => injectText(src, 'd.yaml', { policy: loadPolicy(policyText, 'p.yaml') });
  const appOf = (out: string) => (parse(out).spec.template.spec as Spec).containers.find((c) => c.name === 'web')!;
  it('app.shell: true after the guess: the wait replaces the sleep, the grace period grows, as on the unedited file; a third run changes nothing', () => {
    expect(appOf(first).lifecycle?.preStop).toEqual({ sleep: { seconds: 5 } });
    const policy = policyFile('    shell: true\n');
    const r = again(policy);
    const fresh = again(policy, DEPLOYMENT);
    expect(parse(r.output)).toEqual(parse(fresh.output));
    expect(appOf(r.output).lifecycle?.preStop?.exec?.command).toEqual(appOf(fresh.output).lifecycle?.preStop?.exec?.command);
    expect(r.notes.join('\n')).toMatch(/container web's preStop sleep of 5s \(a plain delay, as meshdrain writes one\) gives way to the policy's app delay/);
    const third = again(policy, r.output);
    expect(third.output).toBe(r.output);
    expect(third.notes.join('\n')).not.toMatch(/gives way/);
  });
  it('app.delay: 10s after the guess: sleep 10; then app.delay: 3s keeps the 10 (never shortened) and says how to set it', () => {
    const ten = again(policyFile('    delay: 10s\n'));
    expect(appOf(ten.output).lifecycle?.preStop).toEqual({ sleep: { seconds: 10 } });
    expect(parse(ten.output).spec.template.spec.terminationGracePeriodSeconds).toBe(parse(again(policyFile('    delay: 10s\n'), DEPLOYMENT).output).spec.template.spec.terminationGracePeriodSeconds);
    expect(again(policyFile('    delay: 10s\n'), ten.output).output).toBe(ten.output);
    const three = again(policyFile('    delay: 3s\n'), ten.output);
    expect(appOf(three.output).lifecycle?.preStop).toEqual({ sleep: { seconds: 10 } });
    expect(three.notes.join('\n')).toMatch(/container web keeps its preStop sleep of 10s: the policy's app delay \(3s at most\) is shorter.*containers: \{web: \{sleep: 3s\}\}/);
  });
  it("a preStop of the user's that is more than a delay stays theirs, and so does any delay without a policy decision", () => {
    const mine = DEPLOYMENT.replace("        ports: [{containerPort: 8080}]\n", "        ports: [{containerPort: 8080}]\n        lifecycle: {preStop: {exec: {command: [/bin/sh, -c, 'sleep 5; nginx -s quit']}}}\n");
    const r = again(policyFile('    shell: true\n'), mine);
    expect(appOf(r.output).lifecycle?.preStop?.exec?.command).toEqual(['/bin/sh', '-c', 'sleep 5; nginx -s quit']);
    // No app.delay/app.shell in the policy (the guess): an existing sleep of any length is kept.
    const fifteen = DEPLOYMENT.replace("        ports: [{containerPort: 8080}]\n", "        ports: [{containerPort: 8080}]\n        lifecycle: {preStop: {sleep: {seconds: 15}}}\n");
    expect(appOf(injectText(fifteen, 'd.yaml').output).lifecycle?.preStop).toEqual({ sleep: { seconds: 15 } });
  });
});

describe('inject: the app delay from the policy', () => {
  it("app.shell: true, quiet, maxDelay: the wait in the image's /bin/sh; the grace period counts maxDelay; the hold drains at start", () => {
    const { r, spec, app, holdScript } = run(policyFile('    shell: true\n    quiet: 2s\n    maxDelay: 15s\n'));
    expect(app.lifecycle!.preStop).toEqual({ exec: { command: appWaitExecCommand({ quietMs: 2000, maxMs: 15_000, intervalMs: 200 }) } });
    expect(app.lifecycle!.preStop!.exec!.command[0]).toBe('/bin/sh');
    // 15 (maxDelay) + 20 (app shutdown) + 0.5 (hold linger) + 5 (Istio drain, kept in case /drain fails) + 2 (margin)
    expect(spec.terminationGracePeriodSeconds).toBe(43);
    expect(holdScript).toContain('app-listeners, app-connections');
    expect(holdScript).toContain('release after 500ms with nothing held');
    expect(holdScript).toContain('timeout 36s'); // 43 - 5 - 2
    expect(holdScript).toContain('asked pilot-agent to drain inbound');
    expect(spec.initContainers).toBeUndefined();
    expect(r.notes).toEqual([]);
    // idempotent, and lint reads its own output back as bounded, observed waits
    expect(injectText(r.output, 'd.yaml', { policy: loadPolicy(policyFile('    shell: true\n    quiet: 2s\n    maxDelay: 15s\n'), 'p.yaml') }).changed).toBe(false);
    const findings = lint([{ file: 'd.yaml', text: r.output }]).findings;
    expect(findings.filter((f) => f.severity !== 'info').map((f) => `${f.rule}: ${f.message}`)).toEqual([]);
  });

  it('app.shell: init-container with a mirrored shellImage: one restricted init container, mounted into the app; the proxy keeps its own shell', () => {
    const { spec, app, proxy } = run(policyFile('    shell: init-container\n    shellImage: registry.local/mirror/busybox:1.37.0-musl\n'));
    expect(spec.initContainers).toHaveLength(1);
    const init = spec.initContainers![0]!;
    expect(init).toMatchObject({ name: 'meshdrain-shell', image: 'registry.local/mirror/busybox:1.37.0-musl', securityContext: { runAsNonRoot: true, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } } });
    expect(app.volumeMounts).toEqual([{ name: 'meshdrain-bin', mountPath: '/meshdrain/bin' }]);
    expect(app.lifecycle!.preStop!.exec!.command[0]).toBe('/meshdrain/bin/sh');
    expect(spec.volumes).toEqual([{ name: 'meshdrain-bin', emptyDir: {} }]);
    expect(proxy.lifecycle!.preStop!.exec!.command[0]).toBe('/bin/sh');
    expect(proxy.volumeMounts).toBeUndefined();
  });

  it('the proxy and the app both bring a shell: still one init container, mounted into both', () => {
    const { spec, app, proxy } = run(policyFile('    shell: init-container\n', '  proxy:\n    shell: init-container\n'));
    expect(spec.initContainers!.map((c) => c.name)).toEqual(['meshdrain-shell']);
    expect(app.volumeMounts).toEqual([{ name: 'meshdrain-bin', mountPath: '/meshdrain/bin' }]);
    expect(proxy.volumeMounts).toEqual([{ name: 'meshdrain-bin', mountPath: '/meshdrain/bin' }]);
  });

  it("no shell named: Kubernetes' native sleep as today, said as a note (stderr); app.delay renders exactly as written", () => {
    const r = injectText(DEPLOYMENT, 'd.yaml');
    const app = (parse(r.output).spec.template.spec as Spec).containers[0]!;
    expect(app.lifecycle!.preStop).toEqual({ sleep: { seconds: 5 } });
    expect(r.notes).toHaveLength(1);
    expect(r.notes[0]).toMatch(/^d\.yaml:\d+:\d+: Deployment\/web: app containers get Kubernetes' native sleep of 5s before SIGTERM, a guess/);
    const fixed = run(policyFile('    delay: 8s\n    shell: true\n'));
    expect(fixed.app.lifecycle!.preStop).toEqual({ sleep: { seconds: 8 } });
    // the only note: app.delay wins over app.shell (said, not silent)
    expect(fixed.r.notes).toEqual([expect.stringMatching(/app\.delay wins, and app\.shell is not used for the app/)]);
    // the hold drains at start whatever the app's delay: it watches the app's inbound requests itself (ADR 016)
    expect(fixed.holdScript).toContain('asked pilot-agent to drain inbound');
    const listenersOnly = run(policyFile('    shell: true\n', '  proxy:\n    waitFor: [app-listeners]\n'));
    expect(listenersOnly.holdScript).not.toContain('drain inbound');
  });

  it('judging the written pod (lint) gives the budget inject wrote: the wait at its bound, the hold\'s linger read back', () => {
    const site = { kind: 'Deployment', apiVersion: 'apps/v1', name: 'web', labels: {}, templatePath: ['spec', 'template'], isJobLike: false } as unknown as PodTemplateSite;
    for (const app of ['    shell: true\n', '    shell: init-container\n    maxDelay: 12s\n', '    delay: 9s\n', '    shutdown: 40s\n']) {
      const text = policyFile(app);
      const policy = loadPolicy(text, 'p.yaml');
      const out = parse(injectText(DEPLOYMENT, 'd.yaml', { policy }).output).spec.template as PodTemplate;
      // lint learns the app's shutdown from --app-shutdown, not from the policy
      const judged = podShutdownFacts(site, out, null, { appShutdownSeconds: app.includes('shutdown: 40s') ? 40 : 20 });
      expect(judged.budget, app).toEqual(podShutdownFacts(site, parse(DEPLOYMENT).spec.template, policy).budget);
      expect(judged.grace.required, app).toBe(out.spec!.terminationGracePeriodSeconds);
    }
  });

  it('the proxy and the app ask for different shell images: one init container (the proxy\'s), said', () => {
    const { r, spec } = run(policyFile('    shellImage: mirror.local/busybox:app\n', '  proxy:\n    shell: init-container\n    shellImage: mirror.local/busybox:proxy\n'));
    expect(spec.initContainers!.map((c) => c.image)).toEqual(['mirror.local/busybox:proxy']);
    expect(r.notes.join('\n')).toMatch(/one shell init container serves istio-proxy and the app: it uses the proxy's image mirror\.local\/busybox:proxy/);
  });

  it('bad values: one InputError naming file:line:col', () => {
    expectInputError(() => loadPolicy(policyFile('    quiet: 40s\n    maxDelay: 10s\n'), 'p.yaml'), /^p\.yaml:5:12: quiet: the quiet window \("40s"\) cannot be longer than maxDelay/);
    expectInputError(() => loadPolicy(policyFile('    maxDelay: soon\n'), 'p.yaml'), /^p\.yaml:5:15: invalid ShutdownPolicy: defaults\.app\.maxDelay: /);
    expectInputError(() => loadPolicy(policyFile('    maxDelay: 100000h\n'), 'p.yaml'), /^p\.yaml:5:15: maxDelay: at most 24h/);
    expectInputError(() => loadPolicy(policyFile('    shell: true\n    shellImage: busybox:1\n'), 'p.yaml'), /^p\.yaml:6:17: shellImage: .*shell is true/);
    expectInputError(() => loadPolicy(policyFile('    shell: bash\n'), 'p.yaml'), /^p\.yaml:5:12: invalid ShutdownPolicy: defaults\.app\.shell/);
    expectInputError(() => loadPolicy(policyFile('    shellImage: "busybox; rm -rf /"\n'), 'p.yaml'), /^p\.yaml:5:17: invalid ShutdownPolicy: defaults\.app\.shellImage/);
  });
});

describe('the commands inject writes, in real shells', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'meshdrain-appdelay-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  const image = run(policyFile('    shell: true\n    quiet: 100ms\n    maxDelay: 300ms\n'));
  const brought = run(policyFile('    shell: init-container\n    quiet: 100ms\n    maxDelay: 300ms\n'));
  const scripts: Record<string, string> = {
    'app-image.sh': `#!/bin/sh\n${image.app.lifecycle!.preStop!.exec!.command[2]}`,
    'app-brought.sh': `#!/bin/sh\n${brought.app.lifecycle!.preStop!.exec!.command[2]}`,
    'hold-drain.sh': `#!/bin/sh\n${image.holdScript}`,
  };

  describe('shellcheck', () => {
    needTools('shellcheck');
    for (const dialect of ['sh', 'dash', 'bash']) {
      it(`shellcheck -s ${dialect}`, () => {
        const files = Object.entries(scripts).map(([name, text]) => {
          writeFileSync(join(tmp, `${dialect}-${name}`), text);
          return join(tmp, `${dialect}-${name}`);
        });
        const r = spawnSync('shellcheck', ['-s', dialect, '-S', 'style', ...files], { encoding: 'utf8' });
        expect(r.stdout + r.stderr).toBe('');
        expect(r.status).toBe(0);
      });
    }
  });

  describe('dash, bash, busybox sh', () => {
    needTools('dash', 'bash', 'busybox');
    for (const shell of [['/usr/bin/dash'], ['/usr/bin/bash'], ['/usr/bin/busybox', 'sh']]) {
      it(`${shell.join(' ')}: the app's wait ends within its bound and says why`, () => {
        for (const name of ['app-image.sh', 'app-brought.sh']) {
          const log = join(tmp, `${shell.length}-${name}.log`);
          // The host's own TCP table: whatever it holds, the wait ends (quiet or upper bound) and logs it.
          const r = spawnSync(shell[0]!, [...shell.slice(1), '-c', scripts[name]!], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', MESHDRAIN_HOLD_LOG: log }, timeout: 60_000 });
          expect(r.status, r.stderr).toBe(0);
          const text = spawnSync('cat', [log], { encoding: 'utf8' }).stdout;
          expect(text).toMatch(/meshdrain-app-delay .*start: SIGTERM waits until no inbound connection for 100ms \(at most 300ms\)/);
          expect(text).toMatch(/meshdrain-app-delay .*end: (no inbound connection for 100ms|upper bound 300ms reached)/);
        }
      });
    }
  });
});
