/**
 * The lab's world-readable working directory: the agent program and the `envoy` / `pilot-agent`
 * names (symlinks to node, so netstat and /proc show the names a real pod shows). Processes running
 * as UID 1337 or 1000 cannot read a checkout under a mode-700 home, hence the copy.
 */
import { chmodSync, mkdtempSync, rmSync, symlinkSync, writeFileSync, mkdirSync, accessSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AGENT_SOURCE } from './agent-source.js';

export interface LabFiles {
  dir: string;
  agent: string;
  node: string;
  envoyBin: string;
  pilotAgentBin: string;
  /** Write a file other users can read (e.g. a siege rc). */
  write(name: string, text: string): string;
  remove(): void;
}

export function installLabFiles(prefix: string): LabFiles {
  const dir = mkdtempSync(join(tmpdir(), `meshdrain-lab-${prefix}-`));
  chmodSync(dir, 0o755);
  const bin = join(dir, 'bin');
  mkdirSync(bin, { mode: 0o755 });
  chmodSync(bin, 0o755);
  const agent = join(dir, 'agent.mjs');
  writeFileSync(agent, AGENT_SOURCE, { mode: 0o644 });
  const node = process.execPath;
  const envoyBin = join(bin, 'envoy');
  const pilotAgentBin = join(bin, 'pilot-agent');
  symlinkSync(node, envoyBin);
  symlinkSync(node, pilotAgentBin);
  return {
    dir,
    agent,
    node,
    envoyBin,
    pilotAgentBin,
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
