/**
 * Done-when golden for native sidecars (issue #11, ADR 062): inject's istio-proxy override for a native
 * cluster, merged the way Istio's applyContainer does (a strategic merge keyed by container name) onto
 * the istio-proxy init container of Istio's real native output (fixtures/modes/native-sidecar.yaml.injected,
 * istio/istio pkg/kube/inject/testdata/inject/native-sidecar.yaml.injected @ 86c9f01), with kubectl's
 * real strategic merge (`kubectl patch --local`). istio-proxy gets exactly meshdrain's preStop, exec
 * only; no other field changes.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { injectText } from '../../src/inject/inject.js';
import { ROOT } from '../helpers/cli.js';
import { needTools } from '../helpers/tools.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const SRC = `apiVersion: v1
kind: Namespace
metadata:
  name: web
  labels: {istio-injection: enabled}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: hello
  namespace: web
spec:
  template:
    metadata:
      labels: {app: hello}
    spec:
      containers:
      - name: hello
        image: fake.docker.io/google-samples/hello-go-gke:1.0
`;

describe("native golden: inject's override merged onto Istio's real native istio-proxy", () => {
  needTools('kubectl');
  it('istio-proxy gets exactly meshdrain preStop (exec only); every other field is as Istio wrote it', () => {
    const out = injectText(SRC, 'native.yaml', { nativeSidecars: { value: 'true', source: 'test' }, istioVersion: { major: 1, minor: 28 } });
    const deploy = parseAllDocuments(out.output).map((d) => d.toJS() as Obj).find((d) => d.kind === 'Deployment')!;
    const overrides = JSON.parse(deploy.spec.template.metadata.annotations['proxy.istio.io/overrides']);
    expect(overrides.containers).toBeUndefined(); // native only: Istio reads initContainers for a native proxy
    const entry = overrides.initContainers.find((c: Obj) => c.name === 'istio-proxy');
    expect(entry.image).toBeUndefined(); // never `image: auto`

    const injected = parseAllDocuments(readFileSync(`${ROOT}fixtures/modes/native-sidecar.yaml.injected`, 'utf8')).map((d) => d.toJS() as Obj).find((d) => d?.kind === 'Pod')!;
    const before = injected.spec.initContainers.find((c: Obj) => c.name === 'istio-proxy');
    expect(before.restartPolicy).toBe('Always');
    const dir = mkdtempSync(join(tmpdir(), 'meshdrain-native-golden-'));
    try {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'hello' }, spec: { containers: injected.spec.containers, initContainers: [before] } };
      writeFileSync(join(dir, 'pod.json'), JSON.stringify(pod));
      const r = spawnSync('kubectl', ['patch', '--local', '-f', join(dir, 'pod.json'), '--type', 'strategic', '-p', JSON.stringify({ spec: { initContainers: [entry] } }), '-o', 'json'], { encoding: 'utf8' });
      expect(r.stderr).toBe('');
      expect(r.status).toBe(0);
      const after = (JSON.parse(r.stdout) as Obj).spec.initContainers.find((c: Obj) => c.name === 'istio-proxy');
      // The preStop is meshdrain's, exec only (never httpGet with it: #51865), replacing Istio's immediate drain.
      expect(before.lifecycle.preStop.exec.command).toEqual(['pilot-agent', 'request', '--debug-port=15020', 'POST', 'drain']);
      expect(after.lifecycle.preStop).toEqual(entry.lifecycle.preStop);
      expect(Object.keys(after.lifecycle.preStop)).toEqual(['exec']);
      expect(after.lifecycle.preStop.exec.command[2]).toMatch(/\nsleep 4\nexec pilot-agent request --debug-port=15020 POST drain\n$/);
      // No other field changes.
      const strip = (c: Obj) => ({ ...c, lifecycle: { ...c.lifecycle, preStop: undefined } });
      expect(JSON.parse(JSON.stringify(strip(after)))).toEqual(JSON.parse(JSON.stringify(strip(before))));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
