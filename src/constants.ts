/**
 * meshdrain's own constants: exit codes, hold defaults, the names meshdrain gives to what it adds to
 * pods and templates. A leaf module: it imports nothing, so anything may import it without a cycle.
 * Istio's names and numbers live in istio/facts.ts; Kubernetes' defaults there too.
 */

/** Exit codes (docs/architecture.md "Contracts"). 130 = 128 + SIGINT, 143 = 128 + SIGTERM: the shell's convention. */
export const EXIT = Object.freeze({ ok: 0, findings: 1, input: 2, internal: 3, interrupted: 130, terminated: 143 });

/**
 * What the hold waits for when nothing names it, at every door (inject, hook, image, istio; ADR 015,
 * plan/hold-settings.ts): while the app listens, and while it owns a connection (its last outbound
 * calls after it closed its port, ADR 014 (c)).
 */
export const DEFAULT_WAIT_FOR = Object.freeze(['app-listeners', 'app-connections']);
/**
 * The hold releases only after nothing held it for this long: an app's gap between closing its port
 * and its next outbound call. Every pod also spends it after its app is gone, so it is short (ADR 018:
 * 1 s → 500 ms took ~0.5 s off every termination; an app whose gap is longer keeps a pooled
 * connection, or names app.shutdown work the hold can see, or raises it with a policy waitFor).
 */
export const DEFAULT_HOLD_LINGER_MS = 500;

/** The app's traffic-gone delay (ADR 014 (a)): quiet window, upper bound, poll interval. */
export const DEFAULT_APP_QUIET_MS = 1000;
export const DEFAULT_APP_MAX_DELAY_MS = 30_000;
export const DEFAULT_APP_WAIT_INTERVAL_MS = 200;

/** How often the hold polls when nothing says otherwise. */
export const DEFAULT_INTERVAL_MS = 200;

/** A static busybox for distroless proxies (musl build: one static binary). Used by inject, image and istio. */
export const DEFAULT_SHELL_IMAGE = 'busybox:1.37.0-musl';
/** Where the copied shell is mounted inside istio-proxy. */
export const SHELL_MOUNT_PATH = '/meshdrain/bin';
/** The emptyDir volume that carries the copied shell. */
export const SHELL_VOLUME = 'meshdrain-bin';
/** The init container that copies the shell into SHELL_VOLUME. */
export const SHELL_INIT_CONTAINER = 'meshdrain-shell';

/** The name of meshdrain's custom injection template (`inject.istio.io/templates: sidecar,meshdrain`). */
export const DEFAULT_TEMPLATE_NAME = 'meshdrain';

/** The comments around meshdrain's branch in a patched injector template (a re-run replaces what is between). */
export const INJECTOR_BEGIN_MARK = 'meshdrain:begin';
export const INJECTOR_END_MARK = 'meshdrain:end';

/**
 * meshdrain's native drain starts this many seconds before the app's preStop delay ends, so
 * keep-alive clients are told to leave while the app still accepts (ADR 062).
 */
export const NATIVE_DRAIN_LEAD_SECONDS = 1;

/** Annotations meshdrain itself defines (Istio's are in istio/facts.ts). */
export const MESHDRAIN_ANNOTATIONS = Object.freeze({
  /** A wait strategy list instead of raw shell (see hooks/strategy.ts), read by a patched injector. */
  waitFor: 'meshdrain.dev/wait-for',
});

/**
 * The shell init container passes Pod Security "restricted" (kubernetes staging/src/k8s.io/
 * pod-security-admission/policy: check_runAsNonRoot, check_runAsUser, check_allowPrivilegeEscalation,
 * check_capabilities_restricted, check_seccompProfile_restricted): it only copies busybox into an
 * emptyDir (mode 0777), which needs no root. busybox images run as root by default, so
 * runAsNonRoot needs an explicit user.
 */
export const SHELL_SECURITY_CONTEXT = Object.freeze({
  runAsNonRoot: true,
  runAsUser: 65534,
  runAsGroup: 65534,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: Object.freeze({ drop: Object.freeze(['ALL']) }),
  seccompProfile: Object.freeze({ type: 'RuntimeDefault' }),
});
