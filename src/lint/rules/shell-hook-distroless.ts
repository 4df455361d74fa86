import { DEFAULT_SHELL_IMAGE } from '../../constants.js';
import { PROXY_CONTAINER } from '../../istio/facts.js';
import { mountPathsOf } from '../pod.js';
import type { Rule } from '../types.js';
import { origin } from './common.js';
import { examplePod, HOLD_UNBOUNDED } from './examples.js';

export const shellHookDistroless: Rule = {
  id: 'shell-hook-distroless',
  severity: 'error',
  description: 'a shell preStop on a distroless istio-proxy, which has no shell',
  fix: 'Use native sidecars, the default proxy image, or bring a static shell in with an init container (meshdrain policy proxy.shell: init-container).',
  doc: {
    rationale: `The distroless proxyv2 variant has no shell and no coreutils. A preStop that runs \`/bin/sh -c ...\` (or
netstat, curl, sleep) fails to start; the kubelet records a FailedPreStopHook event and goes on with the
shutdown as if there were no hook: the proxy stops with the app, without any hold. The distroless variant is
chosen per pod (\`sidecar.istio.io/proxyImageType: distroless\`), by an image tag ending in \`-distroless\`,
by ProxyConfig \`image.imageType\`, or mesh-wide (\`global.variant: distroless\`).`,
    bad: examplePod({ annotations: ['sidecar.istio.io/proxyImageType: distroless'], hold: HOLD_UNBOUNDED }),
    good: `apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    sidecar.istio.io/proxyImageType: distroless
spec:
  initContainers:
  - name: meshdrain-shell
    image: ${DEFAULT_SHELL_IMAGE}
    command: ["/bin/cp", "/bin/busybox", "/meshdrain/bin/sh"]
    volumeMounts: [{name: meshdrain-bin, mountPath: /meshdrain/bin}]
  containers:
  - name: web
    image: web:1
  - name: istio-proxy
    image: auto
    volumeMounts: [{name: meshdrain-bin, mountPath: /meshdrain/bin}]
    lifecycle:
      preStop:
        exec:
          command: ["/meshdrain/bin/sh", "-c", "while grep -q ':1F90 ' /proc/net/tcp; do sleep 1; done"]
  volumes:
  - name: meshdrain-bin
    emptyDir: {}
`,
  },
  check(pod, _opts, report) {
    const hold = pod.hold;
    if (!pod.meshed || !pod.distroless || !hold?.argv || (hold.analysis?.pilotAgentDrain && !hold.analysis.ownHold)) return;
    const argv0 = hold.argv[0] ?? '';
    if (argv0 === 'pilot-agent' || argv0.endsWith('/pilot-agent')) return; // the proxy's own binary exists
    // A shell brought in on a volume (an init container copied it) is fine.
    // Istio merges the overrides annotation's entry into the injected container: its mounts count too.
    const paths = [...mountPathsOf(pod.proxy?.spec.volumeMounts), ...(hold.mountPaths ?? [])];
    const fromVolume = paths.some((p) => argv0.startsWith(`${p.replace(/\/$/, '')}/`));
    if (fromVolume) return;
    report({
      at: hold.locAt(-1),
      message: `${PROXY_CONTAINER} uses the distroless image (${origin(pod, pod.distroless)}), which has no ${hold.analysis?.usesShell ? 'shell' : argv0}: this preStop cannot start, the kubelet logs FailedPreStopHook and the proxy stops without a hold`,
    });
  },
};
