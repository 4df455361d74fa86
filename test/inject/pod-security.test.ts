/**
 * The meshdrain-shell init container against Pod Security "restricted". The checks below transcribe
 * kubernetes/kubernetes staging/src/k8s.io/pod-security-admission/policy (check_*.go, restricted
 * level) for one container: each returns the ForbiddenReason it would give, or nothing.
 */
import { describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { injectText } from '../../src/inject/inject.js';
import { SHELL_INIT_CONTAINER } from '../../src/plan/apply.js';
import type { Policy } from '../../src/policy/policy.js';

type Sc = {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  privileged?: boolean;
  capabilities?: { add?: string[]; drop?: string[] };
  seccompProfile?: { type?: string };
  readOnlyRootFilesystem?: boolean;
};
type C = { name: string; securityContext?: Sc };

const RESTRICTED: Record<string, (c: C) => string | undefined> = {
  // check_privileged.go (baseline, inherited by restricted)
  privileged: (c) => (c.securityContext?.privileged ? 'privileged' : undefined),
  // check_allowPrivilegeEscalation.go: must be explicitly false
  allowPrivilegeEscalation: (c) => (c.securityContext?.allowPrivilegeEscalation !== false ? 'allowPrivilegeEscalation != false' : undefined),
  // check_runAsNonRoot.go: true (no pod-level setting is assumed: the user's pod may have none)
  runAsNonRoot: (c) => (c.securityContext?.runAsNonRoot !== true ? 'runAsNonRoot != true' : undefined),
  // check_runAsUser.go: not 0
  runAsUser: (c) => (c.securityContext?.runAsUser === 0 ? 'runAsUser=0' : undefined),
  // check_capabilities_restricted.go: drop ALL, add at most NET_BIND_SERVICE
  capabilities: (c) => {
    const cap = c.securityContext?.capabilities;
    if (!cap?.drop?.includes('ALL')) return 'unrestricted capabilities (must drop ALL)';
    if ((cap.add ?? []).some((a) => a !== 'NET_BIND_SERVICE')) return 'unrestricted capabilities (adds)';
    return undefined;
  },
  // check_seccompProfile_restricted.go: RuntimeDefault or Localhost (no pod-level profile assumed)
  seccompProfile: (c) => (!['RuntimeDefault', 'Localhost'].includes(c.securityContext?.seccompProfile?.type ?? '') ? 'seccompProfile' : undefined),
};

const violations = (c: C): string[] => Object.values(RESTRICTED).map((check) => check(c)).filter((x): x is string => x !== undefined);

describe('meshdrain-shell passes Pod Security "restricted"', () => {
  it('the checks catch a container without a securityContext (what inject wrote before)', () => {
    expect(violations({ name: 'x' })).toEqual(['allowPrivilegeEscalation != false', 'runAsNonRoot != true', 'unrestricted capabilities (must drop ALL)', 'seccompProfile']);
  });

  it("inject's init container has no violation, a read-only root and a non-root user", () => {
    const policy: Policy = { format: 'v1alpha1', defaults: { proxy: { shell: 'init-container' } }, rules: [] };
    const src = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      containers:\n      - name: app\n        image: app:1\n';
    const out = parseDocument(injectText(src, 'd.yaml', { policy, via: 'override' }).output).toJS() as { spec: { template: { spec: { initContainers: C[] } } } };
    const shell = out.spec.template.spec.initContainers.find((c) => c.name === SHELL_INIT_CONTAINER)!;
    expect(violations(shell)).toEqual([]);
    expect(shell.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(shell.securityContext?.runAsUser).not.toBe(0);
  });
});
