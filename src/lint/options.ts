/** Lint options. Version arithmetic lives in model/version.ts, the native-sidecar versions in istio/facts.ts. */
import { DEFAULT_APP_SHUTDOWN_SECONDS } from '../plan/budget.js';
import type { Version } from '../model/version.js';
import type { MeshSettings } from './mesh.js';
import type { NamespaceEvidence } from '../mesh/mode.js';

export { atLeast, formatVersion, parseVersion, parseVersionLoose, type Version } from '../model/version.js';
export { NATIVE_SIDECAR_VERSIONS as NATIVE } from '../istio/facts.js';

export interface LintOptions {
  kubeVersion?: Version;
  istioVersion?: Version;
  /** Where istioVersion came from, for messages ("--istio-version", "injector values global.tag"). */
  istioVersionSource?: string;
  /** Estimated seconds the app needs after SIGTERM (the budget's app-shutdown term). */
  appShutdownSeconds: number;
  mesh: MeshSettings;
  /** Namespace objects of the linted input: evidence of injection and ambient (ADR 060). */
  namespaces?: ReadonlyMap<string, NamespaceEvidence>;
}

export function defaultOptions(mesh: MeshSettings): LintOptions {
  return { appShutdownSeconds: DEFAULT_APP_SHUTDOWN_SECONDS, mesh };
}
