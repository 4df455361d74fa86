/**
 * The lab agent: the programs that run inside the lab's namespaces, one entry with roles —
 * `envoy`, `pilot-agent` (and `pilot-agent request ...`), `app`, `external`, `balancer`, `load`,
 * `ztunnel` (and its in-namespace helper `ztunnel-listen`).
 * argv: main.js ROLE CONFIG-JSON. Compiled to dist/lab/agent/ and copied by the lab to a
 * world-readable temp directory before it runs (src/lab/files.ts). Every role exits when its stdin
 * closes, so a crashed lab leaves no orphans behind.
 */
import { app, external } from './app.js';
import { REQUEST_CONFIG_ENV, type RequestConfig, type Role, type RoleConfigs } from './config.js';
import { envoy, pilotAgent, pilotAgentRequest } from './proxy.js';
import { balancer, load } from './traffic.js';
import { ztunnel, ztunnelListen } from './ztunnel.js';

// Run as /usr/local/bin/pilot-agent in a hook's root (a #! line naming node and this file), the
// script's own path comes first: drop it, so `pilot-agent request …` reads as `main.js request …`.
// (A path, not the bare role name `pilot-agent` the kubelet starts istio-proxy's PID 1 with.)
if (/\/pilot-agent$/.test(process.argv[2] ?? '')) process.argv.splice(2, 1);
const self = process.argv[1] ?? '';
const role = process.argv[2] ?? '';
const cfgOf = <R extends Role>(): RoleConfigs[R] => JSON.parse(process.argv[3] ?? '{}') as RoleConfigs[R];

const roles: { [R in Role]: () => Promise<void> } = {
  envoy: () => envoy(cfgOf<'envoy'>()),
  'pilot-agent': () => pilotAgent(cfgOf<'pilot-agent'>(), self),
  app: () => app(cfgOf<'app'>()),
  external: () => external(cfgOf<'external'>()),
  balancer: () => balancer(cfgOf<'balancer'>()),
  load: () => load(cfgOf<'load'>()),
  ztunnel: () => ztunnel(cfgOf<'ztunnel'>()),
  'ztunnel-listen': () => ztunnelListen(cfgOf<'ztunnel-listen'>()),
};

/**
 * The error's first line on one unindented line, the rest (more message, stack frames) indented:
 * the lab's one-line report of a dead agent keeps the first and drops the indented (control.ts deathLine).
 */
const fail = (e: unknown) => {
  const [first = '', ...rest] = ((e as Error)?.stack ?? String(e)).split('\n');
  process.stderr.write([`${role}: ${first}`, ...rest.map((l) => (/^\s/.test(l) ? l : `    ${l}`))].join('\n') + '\n');
  process.exit(1);
};

if (role === 'request') {
  const env = process.env[REQUEST_CONFIG_ENV];
  if (!env) fail(new Error(`pilot-agent request: ${REQUEST_CONFIG_ENV} is not set (the lab's kubelet sets it)`));
  else void pilotAgentRequest(process.argv.slice(3), JSON.parse(env) as RequestConfig).catch(fail);
} else if (role in roles) {
  roles[role as Role]().catch(fail);
} else {
  process.stderr.write(`unknown role ${role}\n`);
  process.exit(2);
}
