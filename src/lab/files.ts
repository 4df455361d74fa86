/**
 * The lab's world-readable working directory: a copy of the compiled agent (src/lab/agent/, shipped
 * as dist/lab/agent/) and the `envoy` / `pilot-agent` names (symlinks to node, so netstat and /proc
 * show the names a real pod shows). Processes running as UID 1337 or 1000 cannot read a checkout
 * under a mode-700 home, hence the copy (../shared/design/lab-notes.md).
 */
import { accessSync, chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LabEnvError } from './errors.js';

export interface LabFiles {
  dir: string;
  /** The agent's entry (agent/main.js in the temp directory). */
  agent: string;
  node: string;
  envoyBin: string;
  pilotAgentBin: string;
  /**
   * First on the PATH of istio-proxy's hooks: a `pilot-agent` command (as in the proxyv2 image's
   * /usr/local/bin) that runs the agent, so `pilot-agent request …` works in an exec preStop and
   * inside a hook's shell script alike.
   */
  hookBin: string;
  /** Write a file other users can read (e.g. a siege rc). */
  write(name: string, text: string): string;
  remove(): void;
}

const AGENT_ENTRY = 'main.js';

/**
 * Where the compiled agent is: next to this module when it runs from dist/, else the package's
 * dist/lab/agent/ (under vitest this module runs from src/; `npm test` builds dist/ first).
 */
export function compiledAgentDir(): string {
  const candidates = [new URL('./agent/', import.meta.url), new URL('../../dist/lab/agent/', import.meta.url)].map((u) => fileURLToPath(u));
  const found = candidates.find((d) => existsSync(join(d, AGENT_ENTRY)));
  if (!found) throw new LabEnvError(`the lab's agent is not built (no ${AGENT_ENTRY} in ${candidates.join(' or ')}); run npm run build`);
  return found;
}

export function installLabFiles(prefix: string): LabFiles {
  const from = compiledAgentDir();
  const dir = mkdtempSync(join(tmpdir(), `meshdrain-lab-${prefix}-`));
  chmodSync(dir, 0o755);
  const bin = join(dir, 'bin');
  const hookBin = join(dir, 'hookbin');
  const agentDir = join(dir, 'agent');
  for (const d of [bin, hookBin, agentDir]) {
    mkdirSync(d, { mode: 0o755 });
    chmodSync(d, 0o755);
  }
  for (const f of readdirSync(from).filter((n) => n.endsWith('.js'))) {
    copyFileSync(join(from, f), join(agentDir, f));
    chmodSync(join(agentDir, f), 0o644);
  }
  // The copy lives outside the package: tell node its .js files are ES modules.
  writeFileSync(join(agentDir, 'package.json'), '{"type":"module"}\n', { mode: 0o644 });
  const node = process.execPath;
  const envoyBin = join(bin, 'envoy');
  const pilotAgentBin = join(bin, 'pilot-agent');
  symlinkSync(node, envoyBin);
  symlinkSync(node, pilotAgentBin);
  const agent = join(agentDir, AGENT_ENTRY);
  // The temp path has no quote or space (mkdtemp of tmpdir and our prefix); quoted anyway.
  writeFileSync(join(hookBin, 'pilot-agent'), `#!/bin/sh\nexec '${pilotAgentBin}' '${agent}' "$@"\n`, { mode: 0o755 });
  chmodSync(join(hookBin, 'pilot-agent'), 0o755);
  return {
    dir,
    agent,
    node,
    envoyBin,
    pilotAgentBin,
    hookBin,
    write(name, text) {
      const p = join(dir, name);
      writeFileSync(p, text, { mode: 0o644 });
      return p;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Whether other users can execute node (UID 1337 runs it); an nvm node under /root cannot. */
export function nodeUsableByOthers(node = process.execPath): boolean {
  try {
    accessSync(node);
    return (statSync(node).mode & 0o001) !== 0;
  } catch {
    return false;
  }
}
