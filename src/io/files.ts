/** File input and atomic output shared by every command that reads manifests. */
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeSync } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { InputError } from '../errors.js';
import { parse } from 'yaml';
import { MAX_INPUT_BYTES, checkText } from '../yaml/load.js';

export const MANIFEST_EXTENSIONS = ['.yaml', '.yml', '.json'];

const ERRNO: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ENOENT: 'no such file or directory',
  EISDIR: 'is a directory',
  ENOTDIR: 'a parent is not a directory',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on the device',
  EEXIST: 'a parent is not a directory',
  EBUSY: 'the path is in use (a mount point or /)',
  EDQUOT: 'disk quota exceeded',
  ENAMETOOLONG: 'the name is too long',
  ELOOP: 'too many symbolic links',
};
/** An errno in words a person reads, not a code. */
const why = (e: unknown): string => {
  const code = (e as NodeJS.ErrnoException).code;
  return (code && ERRNO[code]) ?? code ?? (e as Error).message;
};

/**
 * A failed write as the user's problem: `PATH: cannot write: <reason in words>`, exit 2. Every write
 * of a user-named output (inject -o/-i, lab --report, image -o) goes through this, so an output path
 * under a file, in a directory the user cannot write, or on a full disk is one line, never exit 3.
 * EEXIST comes only from mkdir on a path whose parent is a file (an existing directory is no error).
 */
export function cannotWrite(e: unknown, path: string, what = 'cannot write'): InputError {
  return new InputError(`${what}: ${why(e)}`, { file: path });
}

/**
 * Expand PATH arguments: files as given, directories only with recursion. '-' means stdin.
 * A directory walk leaves out a Helm chart's `templates/` and `charts/` (a directory holding
 * Chart.yaml): Go templates are not YAML until rendered, and one such file stopped the whole walk
 * (ADR 083). The left-out directories, as the user would write them, are pushed onto `skipped`.
 * A file reached twice (named twice, named and under a named directory, or through a symlink) is read
 * once, at its first place: twice it was injected twice ("updated 2 of 2" for one file) and linted twice.
 * Kustomize patches are left out and pushed onto `patches`, walked or named: pre-commit and editors
 * name files one by one, and a named patch was edited as a whole Deployment (QA8 F2). A named file is
 * a patch when a kustomization in its own directory or any directory above it lists it, or one that
 * this run walks or names (a patch beside its overlay, `../shared/p.yaml`, is found when the overlay's
 * kustomization is among the inputs).
 */
export function expandPaths(paths: string[], cwd: string, recursive: boolean, skipped: string[] = [], patches: string[] = []): string[] {
  const out: string[] = [];
  const patchFiles = new Set<string>();
  const readDirs = new Set<string>();
  for (const p of paths) {
    if (p === '-') {
      out.push('-');
      continue;
    }
    const abs = resolve(cwd, p);
    let st;
    try {
      st = statSync(abs);
    } catch {
      throw new InputError('no such file or directory', { file: p });
    }
    if (st.isDirectory()) {
      if (!recursive) throw new InputError('is a directory; pass -R to read the manifests under it', { file: p });
      const shown = (f: string) => join(p, f.slice(abs.length + 1));
      const left: string[] = [];
      const found = walk(abs, left, patchFiles);
      // Nothing to read under a directory is a wrong path (or a missing -R target), not an empty input.
      if (!found.length && !left.length) throw new InputError(`no ${MANIFEST_EXTENSIONS.join(', ')} files in this directory`, { file: p });
      for (const f of found) out.push(shown(f));
      skipped.push(...left.map(shown));
    } else out.push(p);
    // The kustomizations of every directory above the input (and of a named file's own directory: a
    // kustomization named as an input is one of these).
    for (let d = dirname(abs); !readDirs.has(d); d = dirname(d)) {
      readDirs.add(d);
      for (const f of kustomizePatches(d, KUSTOMIZATION_FILES.filter((k) => existsSync(join(d, k))))) patchFiles.add(f);
    }
  }
  // Patches are told apart once every kustomization is read: a patch may sit in a subdirectory
  // (overlays/prod/patches/) or beside the overlay (../shared/), reached before its kustomization.
  const seen = new Set<string>();
  return out.filter((p) => {
    if (p === '-') return true;
    let real = resolve(cwd, p);
    try {
      real = realpathSync(real);
    } catch {
      /* read later, and refused there */
    }
    if (seen.has(real)) return false;
    seen.add(real);
    if (!patchFiles.has(resolve(cwd, p)) && !patchFiles.has(real)) return true;
    patches.push(p);
    return false;
  });
}

/** A Helm chart's directories that hold Go templates (its own, and its subcharts'), not manifests. */
export const HELM_TEMPLATE_DIRS = ['templates', 'charts'];

/** The names kustomize reads a kustomization from (kustomize api/konfig: RecognizedKustomizationFileNames). */
export const KUSTOMIZATION_FILES = ['kustomization.yaml', 'kustomization.yml', 'Kustomization'];

/**
 * The patch files a kustomization in `dir` lists (`patches[].path`, `patchesStrategicMerge`,
 * `patchesJson6902[].path`), as absolute paths. A strategic-merge patch is a partial Deployment:
 * edited as a whole one, its preStop and grace period override the base's when kustomize merges them
 * (a pod with two preStop handlers, a grace period lowered). A kustomization that does not parse
 * lists nothing here; kustomize says what is wrong with it.
 */
function kustomizePatches(dir: string, names: readonly string[]): Set<string> {
  const out = new Set<string>();
  const file = KUSTOMIZATION_FILES.find((f) => names.includes(f));
  if (!file) return out;
  let k: unknown;
  try {
    k = parse(readFileSync(join(dir, file), 'utf8'));
  } catch {
    return out;
  }
  if (!k || typeof k !== 'object') return out;
  const { patches, patchesStrategicMerge, patchesJson6902 } = k as Record<string, unknown>;
  const add = (p: unknown) => {
    // patchesStrategicMerge also takes a patch written inline: only a path names a file.
    if (typeof p === 'string' && !p.includes('\n')) out.add(resolve(dir, p));
  };
  for (const list of [patches, patchesJson6902]) if (Array.isArray(list)) for (const e of list) add((e as { path?: unknown } | null)?.path);
  if (Array.isArray(patchesStrategicMerge)) patchesStrategicMerge.forEach(add);
  return out;
}

/** Every manifest file under `dir`; the patch files the kustomizations on the way list go into `patchFiles`. */
function walk(dir: string, skipped: string[], patchFiles: Set<string>): string[] {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1));
  const chart = entries.some((e) => e.isFile() && e.name === 'Chart.yaml');
  for (const p of kustomizePatches(dir, entries.filter((e) => e.isFile()).map((e) => e.name))) patchFiles.add(p);
  return entries.flatMap((e) => {
    const full = join(dir, e.name);
    if (e.isDirectory()) {
      if (e.name.startsWith('.')) return [];
      if (chart && HELM_TEMPLATE_DIRS.includes(e.name)) {
        skipped.push(full);
        return [];
      }
      return walk(full, skipped, patchFiles);
    }
    return e.isFile() && MANIFEST_EXTENSIONS.includes(extname(e.name).toLowerCase()) ? [full] : [];
  });
}

/** Read a manifest file as UTF-8 text, refusing oversize and binary input with a clear error. */
export function readText(path: string, cwd: string): string {
  const abs = resolve(cwd, path);
  let size: number;
  try {
    size = statSync(abs).size;
  } catch {
    throw new InputError('no such file or directory', { file: path });
  }
  if (size > MAX_INPUT_BYTES) checkText('', path, size);
  try {
    const text = readFileSync(abs, 'utf8');
    checkText(text, path, size);
    return text;
  } catch (e) {
    if (e instanceof InputError) throw e;
    throw new InputError(`cannot read: ${why(e)}`, { file: path });
  }
}

/** Write a file atomically: a temp file beside it, fsync, rename. The original is untouched on failure. */
export function writeAtomic(path: string, text: string, cwd: string): void {
  // Through a symlink to its target: replacing the link itself would leave the real file unedited.
  let abs = resolve(cwd, path);
  try {
    abs = realpathSync(abs);
  } catch {
    /* a new file */
  }
  const tmp = join(dirname(abs), `.${basename(abs)}.meshdrain-${randomBytes(4).toString('hex')}.tmp`);
  let mode: number | undefined;
  try {
    mode = statSync(abs).mode & 0o7777;
  } catch {
    mode = undefined;
  }
  try {
    const fd = openSync(tmp, 'wx', mode ?? 0o644);
    try {
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, abs);
  } catch (e) {
    // rmSync's force forgives only ENOENT: under a file (ENOTDIR) or an unreadable directory (EACCES)
    // the clean-up fails too, and must not replace the user's error with an internal one.
    try {
      rmSync(tmp, { force: true });
    } catch {
      /* nothing was created */
    }
    throw cannotWrite(e, path);
  }
}
