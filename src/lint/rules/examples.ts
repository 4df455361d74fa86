/**
 * The manifests in rule docs (the "Fails" and "Passes" examples): one app container `web` and, when a
 * rule is about the proxy's hold, an `istio-proxy` override stub carrying it. A rule names only what its
 * examples are about; the skeleton around it is written once here.
 */

/** A hold that waits for the app's port 8080 (0x1F90) to close, with no timeout. */
export const HOLD_UNBOUNDED = "while grep -q ':1F90 ' /proc/net/tcp; do sleep 1; done";
/** The same hold bounded to 23 turns. */
export const HOLD_BOUNDED = "for i in $(seq 1 23); do grep -q ':1F90 ' /proc/net/tcp || exit 0; sleep 1; done";

export interface ExamplePod {
  /** Pod (default) or a Deployment around the same pod template. */
  kind?: 'Pod' | 'Deployment';
  /** Lines under the pod's metadata.annotations (a block scalar's lines indented relative to its key). */
  annotations?: string[];
  /** terminationGracePeriodSeconds, when the example sets one. */
  grace?: number;
  /** Lines added to the `web` container (after its image). */
  app?: string[];
  /** istio-proxy's preStop: the script run by `/bin/sh -c`. */
  hold?: string;
}

const indent = (n: number, lines: string[]) => lines.map((l) => `${' '.repeat(n)}${l}`);

/** The manifest text of an example pod (ends with a newline). */
export function examplePod(e: ExamplePod): string {
  const spec = [
    ...(e.grace !== undefined ? [`terminationGracePeriodSeconds: ${e.grace}`] : []),
    'containers:',
    '- name: web',
    '  image: web:1',
    ...indent(2, e.app ?? []),
    ...(e.hold !== undefined
      ? ['- name: istio-proxy', '  image: auto', '  lifecycle:', '    preStop:', '      exec:', `        command: ["/bin/sh", "-c", ${JSON.stringify(e.hold)}]`]
      : []),
  ];
  const deployment = e.kind === 'Deployment';
  const name = deployment ? '{labels: {app: web}}' : '{name: web}';
  const meta = e.annotations
    ? ['metadata:', ...indent(2, [deployment ? 'labels: {app: web}' : 'name: web', 'annotations:', ...indent(2, e.annotations)])]
    : [`metadata: ${name}`];
  const pod = ['spec:', ...indent(2, spec)];
  const lines = deployment
    ? ['apiVersion: apps/v1', 'kind: Deployment', 'metadata: {name: web}', 'spec:', '  selector: {matchLabels: {app: web}}', '  template:', ...indent(4, [...meta, ...pod])]
    : ['apiVersion: v1', 'kind: Pod', ...meta, ...pod];
  return `${lines.join('\n')}\n`;
}
