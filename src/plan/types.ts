import type { ModeDecision } from '../model/data-plane.js';

/**
 * The ShutdownPlan: pure data computed once per pod template; every door (inject, hook, image,
 * istio, lint, lab) is a thin adapter around it and never re-derives a decision made here.
 */

/** What the proxy's hold waits for. Several combine: hold while any says so. */
export type WaitStrategy =
  | { kind: 'app-listeners' } // LISTEN sockets on any non-Istio port
  | { kind: 'app-connections' } // client connections owned by a UID other than the proxy's (ADR 014)
  | { kind: 'ports'; ports: number[] } // these ports stop listening
  | { kind: 'http'; url: string } // held while the URL answers
  | { kind: 'file'; path: string } // held while the file exists
  | { kind: 'sleep'; ms: number }; // a fixed delay

/** The proxy hold: a generated POSIX sh loop run as istio-proxy's preStop (or image entrypoint). */
export interface HoldSpec {
  strategies: WaitStrategy[];
  /** Give up (exit 0, logged) after this long. */
  timeoutMs: number;
  /** Time between polls. */
  intervalMs: number;
  /** Release only after nothing has held for this long (an app's gap between closing its port and its next call). */
  lingerMs?: number;
  /**
   * First ask pilot-agent to drain inbound (the native template's preStop): keep-alive clients are told
   * to go, and pilot-agent exits at once on the later SIGTERM instead of draining 5 s more (ADR 014).
   */
  drainAtStart?: boolean;
}

/** The app's delay before SIGTERM when it waits for an event: inbound traffic gone (ADR 014). */
export interface AppWaitSpec {
  /** End once no inbound connection has been seen for this long (the lower bound). */
  quietMs: number;
  /** Never longer than this (the upper bound). */
  maxMs: number;
  intervalMs: number;
}

/** Where the shell that runs the hold comes from (distroless proxy images have none). */
export type ShellSource =
  | { kind: 'image' } // /bin/sh in the proxy image
  | { kind: 'init-container'; image: string; mountPath: string }; // a static busybox copied in

export interface AppContainerPlan {
  name: string;
  /**
   * The preStop to set: an exec command, a sleep (Kubernetes' native sleep action, 1.30+), or the
   * traffic-gone wait (ADR 014) run by the image's /bin/sh or a brought-in shell.
   * Undefined = leave the container's own preStop alone.
   */
  preStop?: { exec: string[] } | { sleepSeconds: number } | { wait: AppWaitSpec; shell: ShellSource };
  /** Seconds the app's preStop delays SIGTERM (for endpoint propagation); part of the budget. */
  delaySeconds: number;
}

export interface ProxyConfigPlan {
  terminationDrainDuration?: string;
  holdApplicationUntilProxyStarts?: boolean;
  exitOnZeroActiveConnections?: boolean;
  minimumDrainDuration?: string;
}

export interface ShutdownPlan {
  /** Proxy hold; null when none is wanted (native sidecar mode, opted out). */
  hold: HoldSpec | null;
  /** A raw preStop for istio-proxy from a legacy policy; wins over `hold` when set. */
  proxyPreStop?: string[];
  shell: ShellSource;
  apps: AppContainerPlan[];
  /** Seconds the app needs after SIGTERM (policy estimate); part of the budget. */
  appShutdownSeconds: number;
  /** Istio's drain after the hold (terminationDrainDuration or MINIMUM_DRAIN_DURATION). */
  drainSeconds: number;
  /** The grace period to write (never lower than the user's). */
  graceSeconds: number;
  /** Ask Istio for native sidecar mode: true/false to write, undefined to leave alone. */
  nativeSidecar?: boolean;
  proxyConfig: ProxyConfigPlan;
  /**
   * How the proxy settings reach istio-proxy (ADR 061): the proxy.istio.io/overrides annotation, an
   * override stub container (only where injection is known to happen), or a custom injection template.
   */
  via: 'annotation' | 'override' | 'template';
  /** The data-plane mode and why (mesh/mode.ts classifyMode), for --explain. */
  mode: ModeDecision;
  /** Native sidecar: meshdrain's istio-proxy preStop replacing Istio's immediate drain (exec only); undefined = none. */
  nativeDrain?: string[];
  /** via template: the custom template carries exactly this native drain, so no annotation is written for it. */
  nativeDrainInTemplate?: boolean;
  /** Leave the pod template as written (gateways, istiod-managed Deployments), and why. */
  leave?: string;
  /** With via template: the custom injection template the pod selects. */
  templateName?: string;
  /** The injector's defaultTemplates when the mesh config gives them (the run's context); default [sidecar]. */
  defaultTemplates?: readonly string[];
  /** Human-readable notes for stderr (e.g. "Job: asking for a native sidecar"). */
  notes: string[];
}
