/**
 * The build context as text (no Docker engine on this machine: the Dockerfile is checked, not built)
 * and `meshdrain image` end to end through run(): files, modes, atomic replacement, errors.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { VERSION } from '../../src/cli/context.js';
import { buildContext, checkIstioVersion } from '../../src/image/context.js';
import { renderDockerfile } from '../../src/image/dockerfile.js';

const hold = { strategies: [{ kind: 'app-listeners' as const }], timeoutMs: 25_000, intervalMs: 200 };

/** Dockerfile instructions (continuations joined, comments dropped). */
function instructions(text: string): string[] {
  return text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'));
}

describe('Dockerfile', () => {
  it('default: ARG with the version, FROM istio/proxyv2:${ISTIO_VERSION}, label, entrypoint replacing pilot-agent', () => {
    const ins = instructions(renderDockerfile({ istioVersion: '1.24.2', variant: 'default', meshdrainVersion: '9.8.7' }));
    expect(ins[0]).toBe('ARG ISTIO_VERSION=1.24.2');
    expect(ins.filter((l) => l.startsWith('FROM '))).toEqual(['FROM istio/proxyv2:${ISTIO_VERSION}']);
    // The ARG is declared before FROM (usable there) and again after it (usable in LABEL).
    const from = ins.indexOf('FROM istio/proxyv2:${ISTIO_VERSION}');
    expect(ins[from + 1]).toBe('ARG ISTIO_VERSION');
    const label = ins.find((l) => l.startsWith('LABEL '))!;
    expect(label).toContain('dev.meshdrain.version="9.8.7"');
    expect(label).toContain('dev.meshdrain.istio-version="${ISTIO_VERSION}"');
    expect(ins).toContain('COPY --chmod=0755 meshdrain-entrypoint /usr/local/bin/meshdrain-entrypoint');
    expect(ins.at(-1)).toBe('ENTRYPOINT ["/usr/local/bin/meshdrain-entrypoint"]');
    expect(ins.filter((l) => l.startsWith('ENTRYPOINT') || l.startsWith('CMD'))).toHaveLength(1);
    expect(ins.some((l) => l.startsWith('RUN '))).toBe(false); // no emulation needed for multi-arch builds
  });

  it('distroless: -distroless base, a busybox build stage, the static shell copied in before the entrypoint', () => {
    const ins = instructions(renderDockerfile({ istioVersion: '1.25.0-beta.1', variant: 'distroless', meshdrainVersion: '9.8.7' }));
    expect(ins.slice(0, 2)).toEqual(['ARG ISTIO_VERSION=1.25.0-beta.1', 'ARG BUSYBOX_IMAGE=busybox:1.37.0-musl']);
    expect(ins.filter((l) => l.startsWith('FROM '))).toEqual(['FROM ${BUSYBOX_IMAGE} AS meshdrain-shell', 'FROM istio/proxyv2:${ISTIO_VERSION}-distroless']);
    const copyShell = ins.indexOf('COPY --from=meshdrain-shell --chmod=0755 /bin/busybox /usr/local/meshdrain/bin/busybox');
    const copyEp = ins.indexOf('COPY --chmod=0755 meshdrain-entrypoint /usr/local/bin/meshdrain-entrypoint');
    expect(copyShell).toBeGreaterThan(ins.indexOf('FROM istio/proxyv2:${ISTIO_VERSION}-distroless'));
    expect(copyEp).toBeGreaterThan(copyShell);
    expect(ins.find((l) => l.startsWith('LABEL '))).toContain('dev.meshdrain.variant="distroless"');
    expect(ins.at(-1)).toBe('ENTRYPOINT ["/usr/local/bin/meshdrain-entrypoint"]');
  });

  it('the distroless entrypoint runs through the busybox the Dockerfile copies in', () => {
    const files = buildContext({ istioVersion: '1.24.2', variant: 'distroless', hold, meshdrainVersion: VERSION });
    const ep = files.find((f) => f.name === 'meshdrain-entrypoint')!;
    const df = files.find((f) => f.name === 'Dockerfile')!;
    const shell = /^#!(\S+) sh$/m.exec(ep.text)![1]!;
    expect(df.text).toContain(` ${shell}\n`);
  });
});

describe('context README', () => {
  it('says how to build, tag, push, point Istio at it, and that it was not built here', () => {
    const readme = buildContext({ istioVersion: '1.24.2', variant: 'default', hold, meshdrainVersion: '9.8.7' }).find((f) => f.name === 'README.md')!.text;
    expect(readme).toContain('docker build --build-arg ISTIO_VERSION=1.24.2 -t REGISTRY/proxyv2:9.8.7-1.24.2 .');
    expect(readme).toContain('docker push REGISTRY/proxyv2:9.8.7-1.24.2');
    expect(readme).toContain('global.proxy.image=REGISTRY/proxyv2:9.8.7-1.24.2');
    expect(readme).toContain('global.tag');
    expect(readme).toContain('revision=');
    expect(readme).toMatch(/could not be built\s+on the machine that generated it \(no Docker engine\)/);
    const dl = buildContext({ istioVersion: '1.24.2', variant: 'distroless', hold, meshdrainVersion: '9.8.7' }).find((f) => f.name === 'README.md')!.text;
    expect(dl).toContain('REGISTRY/proxyv2:9.8.7-1.24.2-distroless');
    expect(dl).toContain('busybox');
  });
});

describe('--istio-version', () => {
  it.each(['1.24.2', '1.9.4', '1.25.0-beta.1', '1.20.0-rc.0', '10.0.12-custom_build.3'])('accepts %s', (v) => {
    expect(checkIstioVersion(v)).toBe(v);
  });
  it.each(['1.24', 'v1.24.2', '1.24.2-', '1.24.2 ', '1.24.2;rm', 'latest', '', '1.24.2-distroless', '1.24.2/../x'])('rejects %j', (v) => {
    expect(() => checkIstioVersion(v)).toThrow(/--istio-version/);
  });
});

describe('meshdrain image (CLI)', () => {
  let dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
    dirs = [];
  });
  function tmp(): string {
    const d = mkdtempSync(join(tmpdir(), 'meshdrain-image-cli-'));
    dirs.push(d);
    return d;
  }
  async function cli(cwd: string, ...argv: string[]) {
    let stdout = '';
    let stderr = '';
    const code = await run(['image', ...argv], { stdout: (t) => void (stdout += t), stderr: (t) => void (stderr += t), readStdin: async () => '', cwd, isStdinTTY: false, env: {} });
    return { code, stdout, stderr };
  }

  it('writes Dockerfile, an executable entrypoint and README into -o DIR and prints DIR', async () => {
    const cwd = tmp();
    const r = await cli(cwd, '--istio-version', '1.24.2', '-o', 'ctx', '--wait-for', 'ports=8080', '--timeout', '40s', '--interval', '100ms');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`${join(cwd, 'ctx')}\n`);
    expect(readdirSync(join(cwd, 'ctx')).sort()).toEqual(['Dockerfile', 'README.md', 'meshdrain-entrypoint']);
    expect(statSync(join(cwd, 'ctx', 'meshdrain-entrypoint')).mode & 0o777).toBe(0o755);
    const ep = readFileSync(join(cwd, 'ctx', 'meshdrain-entrypoint'), 'utf8');
    expect(ep).toContain('timeout 40s');
    expect(ep).toContain('ports=8080');
    expect(readFileSync(join(cwd, 'ctx', 'Dockerfile'), 'utf8')).toContain(`dev.meshdrain.version="${VERSION}"`);
    // No temp directories left beside it.
    expect(readdirSync(cwd)).toEqual(['ctx']);
  });

  it("docs/image.md's example runs without a warning, and its README names the grace period the hold needs (QA 9 F11)", async () => {
    const doc = readFileSync(new URL('../../docs/image.md', import.meta.url), 'utf8');
    const line = doc.split('\n').find((l) => l.trim().startsWith('meshdrain image --istio-version 1.24.2'))!;
    const args = line.trim().split(/\s+/).slice(2);
    expect(args).toContain('--grace');
    const cwd = tmp();
    const r = await cli(cwd, ...args);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/warning/);
    // ports= does not drain at its start: 40 + 5 + 2.
    expect(readFileSync(join(cwd, 'proxyv2-ctx', 'README.md'), 'utf8')).toMatch(/terminationGracePeriodSeconds` of at least 47 for this hold/);
    const noGrace = await cli(tmp(), ...args.filter((a, i) => a !== '--grace' && args[i - 1] !== '--grace'));
    expect(noGrace.stderr).toMatch(/exceeds --grace 30s/);
  });

  it('defaults: ./meshdrain-proxyv2-<version>[-distroless], app-listeners, timeout 30s-2s = 28s (the hold drains at its start; 23s on Istio before 1.21), 200ms', async () => {
    const cwd = tmp();
    expect((await cli(cwd, '--istio-version', '1.24.2', '--variant', 'distroless')).code).toBe(0);
    const ep = readFileSync(join(cwd, 'meshdrain-proxyv2-1.24.2-distroless', 'meshdrain-entrypoint'), 'utf8');
    expect(ep).toMatch(/app-listeners/);
    expect(ep).toMatch(/timeout 28s/);
    // Istio 1.20 has no /drain: Istio's drain still follows the hold.
    expect((await cli(cwd, '--istio-version', '1.20.8', '-o', 'old')).code).toBe(0);
    expect(readFileSync(join(cwd, 'old', 'meshdrain-entrypoint'), 'utf8')).toMatch(/timeout 23s/);
    expect(ep).toMatch(/interval 200ms/);
    expect(ep.startsWith('#!/usr/local/meshdrain/bin/busybox sh')).toBe(true);
  });

  it('the timeout follows --grace and --drain like meshdrain hook; a --timeout past the grace period warns', async () => {
    const cwd = tmp();
    expect((await cli(cwd, '--istio-version', '1.24.2', '--grace', '60s', '-o', 'a')).code).toBe(0);
    expect(readFileSync(join(cwd, 'a', 'meshdrain-entrypoint'), 'utf8')).toMatch(/timeout 58s/);
    const r = await cli(cwd, '--istio-version', '1.24.2', '--timeout', '40s', '-o', 'b');
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/warning: --timeout 40s \+ margin 2s exceeds --grace 30s/);
  });

  it('--busybox-image goes into the distroless build stage ARG', async () => {
    const cwd = tmp();
    const r = await cli(cwd, '--istio-version', '1.24.2', '--variant', 'distroless', '--busybox-image', 'registry.example.com/mirror/busybox:1.36.1-musl', '-o', 'ctx');
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(join(cwd, 'ctx', 'Dockerfile'), 'utf8')).toContain('ARG BUSYBOX_IMAGE=registry.example.com/mirror/busybox:1.36.1-musl\n');
  });

  it('refuses a non-empty DIR without --force; --force replaces only an earlier build context', async () => {
    const cwd = tmp();
    mkdirSync(join(cwd, 'ctx'));
    writeFileSync(join(cwd, 'ctx', 'keep.txt'), 'mine');
    const r = await cli(cwd, '--istio-version', '1.24.2', '-o', 'ctx');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/not empty; use --force/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(readdirSync(join(cwd, 'ctx'))).toEqual(['keep.txt']);
    // A directory holding anything else (a project, the cwd) is never wiped, even with --force.
    const f = await cli(cwd, '--istio-version', '1.24.2', '-o', 'ctx', '--force');
    expect(f.code).toBe(2);
    expect(f.stderr).toMatch(/--force replaces only an earlier meshdrain build context.*"keep\.txt"/);
    expect(readdirSync(join(cwd, 'ctx'))).toEqual(['keep.txt']);
    // An earlier context is replaced whole.
    rmSync(join(cwd, 'ctx', 'keep.txt'));
    expect((await cli(cwd, '--istio-version', '1.24.1', '-o', 'ctx')).code).toBe(0);
    const again = await cli(cwd, '--istio-version', '1.24.2', '-o', 'ctx', '--force');
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(join(cwd, 'ctx')).sort()).toEqual(['Dockerfile', 'README.md', 'meshdrain-entrypoint']);
    expect(readFileSync(join(cwd, 'ctx', 'Dockerfile'), 'utf8')).toContain('ARG ISTIO_VERSION=1.24.2');
    expect(readdirSync(cwd)).toEqual(['ctx']);
  });

  it('-o under a file: PATH: cannot write: <reason>, exit 2, one line, nothing written', async () => {
    const cwd = tmp();
    writeFileSync(join(cwd, 'afile'), 'keep');
    const r = await cli(cwd, '--istio-version', '1.24.2', '-o', 'afile/ctx');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('meshdrain: afile/ctx: cannot write: a parent is not a directory\n');
    expect(readdirSync(cwd)).toEqual(['afile']);
    expect(readFileSync(join(cwd, 'afile'), 'utf8')).toBe('keep');
  });

  it('-o under a missing directory: refused in one line, exit 2, nothing created (as lab --report; QA 9 F11)', async () => {
    const cwd = tmp();
    const r = await cli(cwd, '--istio-version', '1.24.2', '-o', 'nodir/sub/ctx');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('meshdrain: nodir/sub/ctx: --output: directory nodir/sub does not exist\n');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('an empty existing DIR is fine without --force', async () => {
    const cwd = tmp();
    mkdirSync(join(cwd, 'ctx'));
    expect((await cli(cwd, '--istio-version', '1.24.2', '-o', 'ctx')).code).toBe(0);
    expect(readdirSync(join(cwd, 'ctx'))).toHaveLength(3);
  });

  it.each([
    [['-o', 'x'], /--istio-version is required/],
    [['--istio-version', '1.24', '-o', 'x'], /expected X\.Y\.Z or X\.Y\.Z-suffix/],
    [['--istio-version', '1.24.2', '--variant', 'alpine', '-o', 'x'], /--variant: expected default or distroless/],
    [['--istio-version', '1.24.2', '--wait-for', 'file=/tmp/$(reboot)', '-o', 'x'], /file: expected an absolute path/],
    [['--istio-version', '1.24.2', '--timeout', 'soon', '-o', 'x'], /--timeout/],
    [['--istio-version', '1.24.2', '--busybox-image', 'busybox:musl', '-o', 'x'], /only applies to --variant distroless/],
    [['--istio-version', '1.24.2', '--variant', 'distroless', '--busybox-image', 'busybox\nRUN rm -rf /', '-o', 'x'], /--busybox-image: expected an image reference/],
    [['--istio-version', '1.24.2', '--interval', '0', '-o', 'x'], /interval/],
  ])('bad input %j → one line, exit 2, nothing written', async (args, msg) => {
    const cwd = tmp();
    const r = await cli(cwd, ...(args as string[]));
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg as RegExp);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stdout).toBe('');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('--help shows an example', async () => {
    const r = await cli(tmp(), '--help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Example:\n\s+meshdrain image --istio-version/);
  });
});
