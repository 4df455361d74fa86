/** Kubernetes/Istio "major.minor" versions: parsing and comparison. A leaf: lint's options and mesh readers share it. */
import { InputError } from '../errors.js';

export interface Version {
  major: number;
  minor: number;
}

/** "1.29", "v1.33.2", "1.24-dev" → {1, 29}; null when not a version. */
export function parseVersionLoose(text: string): Version | null {
  const m = /^v?(\d+)\.(\d+)(?:[.\-+].*)?$/.exec(text.trim());
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

export function parseVersion(text: string, flag: string): Version {
  const v = parseVersionLoose(text);
  if (!v) throw new InputError(`${flag}: expected a version like 1.29, got ${JSON.stringify(text)}`);
  return v;
}

/** The oldest Kubernetes meshdrain plans for: nothing older ran any Istio still in use. */
export const OLDEST_KUBE = { major: 1, minor: 10 } as const;

/**
 * A Kubernetes version as parseVersion reads it, below 1.10 refused: `kube-version: 1.30` unquoted in
 * YAML (a GitHub Action's `with:`, a kpt argument file) arrives as the number 1.3, and every answer
 * would then be about a 2016 cluster.
 */
export function parseKubeVersion(text: string, flag: string): Version {
  const v = parseVersion(text, flag);
  if (!atLeast(v, OLDEST_KUBE.major, OLDEST_KUBE.minor)) {
    const meant = /^v?1\.[1-9]$/.test(text.trim()) ? `; if you meant ${text.trim()}0, quote it in YAML ("${text.trim()}0"): unquoted, YAML reads it as the number ${text.trim()}` : '';
    throw new InputError(`${flag}: Kubernetes ${formatVersion(v)} is older than meshdrain plans for (${formatVersion(OLDEST_KUBE)}+)${meant}`);
  }
  return v;
}

/**
 * A version read from YAML that YAML read as a number: unquoted, `1.20` is the float 1.2 (and `1.30`
 * is 1.3), so no version can be trusted from it. One wording for every reader (KRM functionConfig,
 * mesh config tags): `written` is the scalar as it stands in the file.
 */
export function numericVersionMessage(label: string, written: string, value: number): string {
  return `${label}: ${written} is a number in YAML (read as ${value}), not a version: quote it, "${written}"`;
}

export function atLeast(v: Version | undefined, major: number, minor: number): boolean | undefined {
  if (!v) return undefined;
  return v.major > major || (v.major === major && v.minor >= minor);
}

export const formatVersion = (v: Version): string => `${v.major}.${v.minor}`;
