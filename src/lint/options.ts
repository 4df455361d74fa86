/** Lint options and Kubernetes/Istio version arithmetic (native sidecars depend on both). */
import { InputError } from '../errors.js';
import { DEFAULT_APP_SHUTDOWN_SECONDS } from '../plan/budget.js';
import type { MeshSettings } from './mesh.js';

export interface Version {
  major: number;
  minor: number;
}

export interface LintOptions {
  kubeVersion?: Version;
  istioVersion?: Version;
  /** Where istioVersion came from, for messages ("--istio-version", "injector values global.tag"). */
  istioVersionSource?: string;
  /** Estimated seconds the app needs after SIGTERM (the budget's app-shutdown term). */
  appShutdownSeconds: number;
  mesh: MeshSettings;
}

export function defaultOptions(mesh: MeshSettings): LintOptions {
  return { appShutdownSeconds: DEFAULT_APP_SHUTDOWN_SECONDS, mesh };
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

/** When each piece of native-sidecar support arrived (../shared/design/istio-shutdown-facts.md). */
export const NATIVE = Object.freeze({
  kubeBeta: { major: 1, minor: 29 }, // on by default
  kubeGA: { major: 1, minor: 33 },
  istioSupport: { major: 1, minor: 19 }, // ENABLE_NATIVE_SIDECARS
  istioAnnotation: { major: 1, minor: 24 }, // sidecar.istio.io/nativeSidecar per pod
  istioAuto: { major: 1, minor: 27 }, // ENABLE_NATIVE_SIDECARS=auto: on when the kubelet is ≥ 1.33
});
