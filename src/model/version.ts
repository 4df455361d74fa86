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

export function atLeast(v: Version | undefined, major: number, minor: number): boolean | undefined {
  if (!v) return undefined;
  return v.major > major || (v.major === major && v.minor >= minor);
}

export const formatVersion = (v: Version): string => `${v.major}.${v.minor}`;
