/**
 * The Helm 4 post-renderer plugin (plugin.yaml), checked against Helm 4's own loader rules — no helm
 * binary can be installed here. What is mirrored, from helm/helm internal/plugin:
 *  - loader.go loadMetadataV1: a yaml decoder with KnownFields(true) into MetadataV1, then Validate;
 *  - metadata_v1.go: name matches validPluginName (^[A-Za-z0-9_-]+$), version is strict semver,
 *    apiVersion "v1", type and runtime set; metadata.go: runtime "subprocess" or "extism/v1";
 *  - plugin_type_registry.go: type "postrenderer/v1"; config.go unmarshalConfig: KnownFields(true) into
 *    the type's config (postrenderer/v1 has no fields);
 *  - runtime_subprocess.go / subprocess_commands.go: RuntimeConfigSubprocess {platformCommand,
 *    platformHooks, protocolCommands}, PlatformCommand {os, arch, command, args}; runPostrenderer runs
 *    PrepareCommands(platformCommand, expand=true, --post-renderer-args) with HELM_PLUGIN_DIR set,
 *    manifests on stdin, the result from stdout.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { BIN, ROOT } from '../helpers/cli.js';
import { unexpectedStderr } from '../helpers/inject-notes.js';

interface PlatformCommand {
  os?: string;
  arch?: string;
  command: string;
  args?: string[];
}
const plugin = parse(readFileSync(`${ROOT}plugin.yaml`, 'utf8')) as Record<string, unknown>;
const pkg = JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { version: string; files: string[] };

const knownFields = (obj: object, allowed: string[]) => Object.keys(obj).filter((k) => !allowed.includes(k));
// Masterminds semver StrictNewVersion: MAJOR.MINOR.PATCH, optional -pre and +build, no leading v.
const STRICT_SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$/;

/** Go's os.Expand: $VAR and ${VAR}, unknown → empty. */
const goExpand = (s: string, env: Record<string, string>) => s.replace(/\$\{([^}]*)\}|\$([A-Za-z0-9_]+)/g, (_m, a: string | undefined, b: string | undefined) => env[a ?? b ?? ''] ?? '');

const GOOS = 'linux';
const GOARCH = ({ x64: 'amd64', arm64: 'arm64', ia32: '386', arm: 'arm' } as Record<string, string>)[process.arch] ?? process.arch;

/** subprocess_commands.go getPlatformCommand, line for line: exact os+arch, else the first os-only match, else the first with neither. */
function getPlatformCommand(cmds: PlatformCommand[]): [string[], string[]] {
  const eq = (a = '', b = '') => a.toLowerCase() === b.toLowerCase();
  let command: string[] = [];
  let args: string[] = [];
  let found = false;
  let foundOs = false;
  for (const c of cmds) {
    if (eq(c.os, GOOS) && eq(c.arch, GOARCH)) return [c.command.split(' '), c.args ?? []];
    if ((c.os && !eq(c.os, GOOS)) || c.arch) continue;
    if (!foundOs && c.os && eq(c.os, GOOS)) {
      [command, args, found, foundOs] = [c.command.split(' '), c.args ?? [], true, true];
    } else if (!found) {
      [command, args, found] = [c.command.split(' '), c.args ?? [], true];
    }
  }
  return [command, args];
}

/** subprocess_commands.go PrepareCommands with expandArgs = true (runPostrenderer). */
function prepareCommands(cmds: PlatformCommand[], extraArgs: string[], env: Record<string, string>): [string, string[]] {
  const [parts, args] = getPlatformCommand(cmds);
  if (!parts.length || !parts[0]) throw new Error('no plugin command is applicable');
  return [goExpand(parts[0], env), [...parts.slice(1), ...args].map((a) => goExpand(a, env)).concat(extraArgs)];
}

describe('Helm 4 post-renderer plugin (plugin.yaml)', () => {
  it('loads under Helm 4 v1 metadata rules', () => {
    expect(knownFields(plugin, ['apiVersion', 'name', 'type', 'runtime', 'version', 'sourceURL', 'config', 'runtimeConfig'])).toEqual([]);
    expect(plugin.apiVersion).toBe('v1');
    expect(plugin.name).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(plugin.version).toMatch(STRICT_SEMVER);
    expect(plugin.type).toBe('postrenderer/v1');
    expect(plugin.runtime).toBe('subprocess');
    expect(knownFields((plugin.config as object) ?? {}, [])).toEqual([]);
    const rc = plugin.runtimeConfig as { platformCommand: PlatformCommand[] };
    expect(knownFields(rc, ['platformCommand', 'platformHooks', 'protocolCommands'])).toEqual([]);
    for (const c of rc.platformCommand) expect(knownFields(c, ['os', 'arch', 'command', 'args'])).toEqual([]);
  });

  it('its version is the package version and it ships in the package', () => {
    expect(plugin.version).toBe(pkg.version);
    expect(pkg.files).toContain('plugin.yaml');
  });

  it('runs as Helm runs a post-renderer: HELM_PLUGIN_DIR, the command, --post-renderer-args, stdin → stdout', () => {
    const env = { ...process.env, HELM_PLUGIN_NAME: String(plugin.name), HELM_PLUGIN_DIR: ROOT.replace(/\/$/, '') } as Record<string, string>;
    const manifests = readFileSync(`${ROOT}examples/istio-httpbin.yaml`, 'utf8');
    for (const extra of [[], ['-c', `${ROOT}examples/shutdown-policy.yaml`]]) {
      const [main, args] = prepareCommands((plugin.runtimeConfig as { platformCommand: PlatformCommand[] }).platformCommand, extra, env);
      const r = spawnSync(main, args, { input: manifests, env, encoding: 'utf8' }); // exec.Command: no shell
      // Only the note inject gives every workload whose app delay is the guessed sleep (ADR 015).
      expect(unexpectedStderr(r.stderr)).toEqual([]);
      expect(r.status).toBe(0);
      const docs = parseAllDocuments(r.stdout).map((d) => d.toJS());
      expect(docs.length).toBe(parseAllDocuments(manifests).length);
      // Exactly what `meshdrain inject` writes for the same input and flags (whatever carrier the
      // mode calls for: docs/modes.md), and not the input unchanged.
      const direct = spawnSync(process.execPath, [BIN, 'inject', ...extra], { input: manifests, encoding: 'utf8' });
      expect(r.stdout).toBe(direct.stdout);
      expect(r.stdout).not.toBe(manifests);
    }
  });
});
