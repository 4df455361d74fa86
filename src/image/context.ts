/**
 * The build context for `meshdrain image`: which files, with which text, written atomically.
 */
import { mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { cannotWrite } from '../io/files.js';
import type { HoldSpec } from '../plan/types.js';
import { formatStrategy } from '../hooks/strategy.js';
import { formatDuration } from '../model/duration.js';
import { checkImageRef } from '../hooks/hold.js';
import { DEFAULT_SHELL_IMAGE } from '../constants.js';
import { renderDockerfile, ENTRYPOINT_FILE } from './dockerfile.js';
import { renderEntrypoint, type ImageVariant } from './entrypoint.js';
import { renderContextReadme } from './readme.js';

// X.Y.Z or X.Y.Z-suffix (1.24.2, 1.25.0-beta.1); a -distroless suffix is refused: use --variant.
const ISTIO_VERSION = /^(\d{1,4})\.(\d{1,4})\.(\d{1,4})(-[A-Za-z0-9][A-Za-z0-9._-]{0,62})?$/;

/** Validate an Istio version for the image tag; throws InputError with what is expected. */
export function checkIstioVersion(v: string): string {
  const m = ISTIO_VERSION.exec(v);
  if (!m) {
    throw new InputError(`--istio-version: expected X.Y.Z or X.Y.Z-suffix (e.g. 1.24.2 or 1.25.0-beta.1), got ${JSON.stringify(v)}`);
  }
  if (m[4]?.endsWith('-distroless')) {
    throw new InputError('--istio-version: give the plain version and --variant distroless instead of a -distroless suffix');
  }
  return v;
}

export interface ContextOptions {
  istioVersion: string;
  variant: ImageVariant;
  hold: HoldSpec;
  meshdrainVersion: string;
  busyboxImage?: string;
  /** The least grace period the hold fits in, for the README (hooks/flags.ts holdFromFlags). */
  graceSeconds?: number;
}

export interface ContextFile {
  name: string;
  text: string;
  mode: number;
}

/** The files of the build context (pure). */
export function buildContext(o: ContextOptions): ContextFile[] {
  checkIstioVersion(o.istioVersion);
  if (o.busyboxImage !== undefined) checkImageRef(o.busyboxImage, 'busybox image');
  const tag = `${o.meshdrainVersion}-${o.istioVersion}${o.variant === 'distroless' ? '-distroless' : ''}`;
  const holdSummary = `wait-for ${o.hold.strategies.map(formatStrategy).join(' + ') || '(nothing)'}, timeout ${formatDuration(o.hold.timeoutMs)}, interval ${formatDuration(o.hold.intervalMs)}`;
  return [
    {
      name: 'Dockerfile',
      text: renderDockerfile({ istioVersion: o.istioVersion, variant: o.variant, meshdrainVersion: o.meshdrainVersion, busyboxImage: o.busyboxImage }),
      mode: 0o644,
    },
    {
      name: ENTRYPOINT_FILE,
      text: renderEntrypoint({
        hold: o.hold,
        variant: o.variant,
        generatedBy: `meshdrain ${o.meshdrainVersion}, Istio ${o.istioVersion}, ${o.variant}; ${holdSummary}`,
      }),
      mode: 0o755,
    },
    {
      name: 'README.md',
      text: renderContextReadme({
        istioVersion: o.istioVersion,
        variant: o.variant,
        meshdrainVersion: o.meshdrainVersion,
        tag,
        holdSummary,
        busyboxImage: o.busyboxImage ?? DEFAULT_SHELL_IMAGE,
        ...(o.graceSeconds !== undefined ? { graceSeconds: o.graceSeconds } : {}),
      }),
      mode: 0o644,
    },
  ];
}

function isNonEmptyDir(p: string): boolean {
  try {
    return statSync(p).isDirectory() && readdirSync(p).length > 0;
  } catch {
    return false;
  }
}

/**
 * Write the files into DIR: build them in a temp directory beside it, then rename into place.
 * A non-empty DIR is refused unless force; with force it is replaced as a whole (never merged).
 * Messages name `dir`, the path as the user wrote it (default: `path`).
 */
export function writeContext(path: string, files: ContextFile[], force: boolean, dir = path): string {
  const target = resolve(path);
  if (existsSync(target) && !statSync(target).isDirectory()) {
    throw new InputError(`${dir}: exists and is not a directory`);
  }
  if (isNonEmptyDir(target)) {
    if (!force) throw new InputError(`${dir}: directory is not empty; use --force to replace it`);
    // --force replaces an earlier build context, nothing else: never a project, a home or the cwd.
    const ours = new Set(files.map((f) => f.name));
    const foreign = readdirSync(target).filter((n) => !ours.has(n));
    if (foreign.length) {
      throw new InputError(`${dir}: --force replaces only an earlier meshdrain build context, and this directory also holds ${foreign.slice(0, 3).map((n) => JSON.stringify(n)).join(', ')}${foreign.length > 3 ? ', …' : ''}`);
    }
  }
  const parent = dirname(target);
  // A missing parent is refused, as every other command that writes a path does (lab --report): a typo
  // in -o must not leave a tree of new directories behind.
  if (!existsSync(parent)) throw new InputError(`--output: directory ${dirname(dir)} does not exist`, { file: dir });
  let tmp: string;
  try {
    tmp = mkdtempSync(join(parent, `.${basename(target)}.meshdrain-`));
  } catch (err) {
    // Under a file (EEXIST/ENOTDIR), in a directory the user cannot write (EACCES): the user's path.
    throw cannotWrite(err, dir);
  }
  let old: string | undefined;
  try {
    for (const f of files) {
      const p = join(tmp, f.name);
      writeFileSync(p, f.text, { mode: f.mode });
      chmodSync(p, f.mode); // the umask must not take the execute bit off the entrypoint
    }
    chmodSync(tmp, 0o755);
    if (existsSync(target)) {
      // rename() cannot replace a non-empty directory: move the old one aside first.
      old = `${tmp}.old`;
      renameSync(target, old);
    }
    renameSync(tmp, target);
  } catch (err) {
    try {
      if (old && !existsSync(target)) renameSync(old, target);
      rmSync(tmp, { recursive: true, force: true });
    } catch {
      /* the first error is the one to report */
    }
    if ((err as NodeJS.ErrnoException).code) throw cannotWrite(err, dir);
    throw err;
  }
  if (old) rmSync(old, { recursive: true, force: true });
  return target;
}
