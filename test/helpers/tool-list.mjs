// The tools the suite needs (.ci/tools), and which of them this machine lacks. Plain JS: the
// preflight runs it with node before vitest.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

export function requiredTools() {
  const file = process.env.MESHDRAIN_TOOLS_FILE || new URL('../../.ci/tools', import.meta.url);
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => {
      // <command> <Debian package>, or <command> - <where to get it> (not in Debian's archive)
      const [command, pkg, from] = l.trim().split(/\s+/);
      return { command, pkg, from };
    });
}

/** command -v, as a shell would find it (root's sbin directories included). */
export function hasTool(command) {
  const path = `${process.env.PATH ?? ''}:/usr/local/sbin:/usr/sbin:/sbin`;
  return spawnSync('sh', ['-c', `command -v "$1" >/dev/null 2>&1`, 'sh', command], { env: { ...process.env, PATH: path } }).status === 0;
}

export function missingTools() {
  return requiredTools().filter((t) => !hasTool(t.command));
}
