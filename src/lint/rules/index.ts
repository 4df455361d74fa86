/** Every lint rule, in the order reports and docs list them. Ids are stable. */
import type { Rule } from '../types.js';
import { appDelayGuessed } from './app-delay-guessed.js';
import { appNoPrestopDelay } from './app-no-prestop-delay.js';
import { drainDurationIgnored } from './drain-duration-ignored.js';
import { exitOnZeroAppOutbound } from './exit-on-zero-app-outbound.js';
import { drainExceedsGrace } from './drain-exceeds-grace.js';
import { gracePeriodTooShort } from './grace-period-too-short.js';
import { hookEnvoyOnlyFilter } from './hook-envoy-only-filter.js';
import { hookFragileTools } from './hook-fragile-tools.js';
import { hookLongSleep } from './hook-long-sleep.js';
import { hookNoTimeout } from './hook-no-timeout.js';
import { jobClassicSidecar } from './job-classic-sidecar.js';
import { nativeSidecarIgnored } from './native-sidecar-ignored.js';
import { proxyExitsBeforeApp } from './proxy-exits-before-app.js';
import { shellHookDistroless } from './shell-hook-distroless.js';
import { stubNotInjected } from './stub-not-injected.js';
import { prestopTwoHandlers } from './prestop-two-handlers.js';
import { sleepActionUnsupported } from './sleep-action-unsupported.js';
import { nativeDrainAtStart } from './native-drain-at-start.js';
import { globalLifecycleOverrides } from './global-lifecycle-overrides.js';
import { templateNotInstalled } from './template-not-installed.js';
import { gatewayDrainGrace } from './gateway-drain-grace.js';

export const RULES: readonly Rule[] = Object.freeze([
  gracePeriodTooShort,
  proxyExitsBeforeApp,
  hookFragileTools,
  hookEnvoyOnlyFilter,
  hookLongSleep,
  hookNoTimeout,
  drainDurationIgnored,
  drainExceedsGrace,
  exitOnZeroAppOutbound,
  jobClassicSidecar,
  nativeSidecarIgnored,
  shellHookDistroless,
  appNoPrestopDelay,
  appDelayGuessed,
  stubNotInjected,
  prestopTwoHandlers,
  sleepActionUnsupported,
  nativeDrainAtStart,
  globalLifecycleOverrides,
  templateNotInstalled,
  gatewayDrainGrace,
]);

export function ruleById(id: string): Rule | undefined {
  return RULES.find((r) => r.id === id);
}
