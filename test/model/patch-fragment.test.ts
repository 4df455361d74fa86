// ADR 083 addendum (session 9): a pod template the API server would reject for want of an image (or of
// any container) is a patch fragment, left alone by inject and lint alike (model/workload.ts patchFragment).
import { describe, expect, it } from 'vitest';
import { patchFragment } from '../../src/model/workload.js';

const tpl = (spec: Record<string, unknown>) => ({ metadata: {}, spec });

describe('patchFragment', () => {
  it('a whole object is not one', () => {
    expect(patchFragment('Deployment', tpl({ containers: [{ name: 'web', image: 'nginx' }] }))).toBeUndefined();
    expect(patchFragment('Job', tpl({ containers: [{ name: 'w', image: 'a' }], initContainers: [{ name: 'i', image: 'b' }] }))).toBeUndefined();
    // The override stub meshdrain writes names image: auto.
    expect(patchFragment('Deployment', tpl({ containers: [{ name: 'web', image: 'nginx' }, { name: 'istio-proxy', image: 'auto' }] }))).toBeUndefined();
  });
  it('a container with no image (or an empty one) in a built-in workload is one', () => {
    expect(patchFragment('Deployment', tpl({ containers: [{ name: 'web', resources: {} }] }))).toEqual({ path: ['spec', 'containers', 0], why: 'container web has no image' });
    expect(patchFragment('StatefulSet', tpl({ containers: [{ name: 'a', image: 'x' }, { name: 'b', image: '' }] }))).toEqual({ path: ['spec', 'containers', 1], why: 'container b has no image' });
    expect(patchFragment('CronJob', tpl({ containers: [{ name: 'c', image: 'x' }], initContainers: [{ name: 'i' }] }))?.why).toBe('init container i has no image');
    // A Deployment is validated as it is: no webhook fills istio-proxy's image into it.
    expect(patchFragment('Deployment', tpl({ containers: [{ name: 'web', image: 'x' }, { name: 'istio-proxy', resources: {} }] }))?.why).toBe('container istio-proxy has no image');
  });
  it("no containers is not used: istioctl kube-inject writes containers: [] for a gateway whose proxy is a native sidecar", () => {
    expect(patchFragment('Deployment', tpl({ containers: [], initContainers: [{ name: 'istio-proxy', image: 'docker.io/istio/proxyv2:1.24.0', restartPolicy: 'Always' }] }))).toBeUndefined();
  });
  it("a bare Pod's istio-proxy may leave image out (the injector fills it before validation); its app may not", () => {
    expect(patchFragment('Pod', tpl({ containers: [{ name: 'app', image: 'a' }, { name: 'istio-proxy', resources: {} }] }))).toBeUndefined();
    expect(patchFragment('Pod', tpl({ containers: [{ name: 'app' }] }))?.why).toBe('container app has no image');
  });
  it('a Rollout (a custom resource, image optional in its schema) and malformed shapes are not judged here', () => {
    expect(patchFragment('Rollout', tpl({ containers: [{ name: 'web' }] }))).toBeUndefined();
    expect(patchFragment('Deployment', tpl({ containers: ['web'] }))).toBeUndefined(); // podTemplateProblem's to refuse
    expect(patchFragment('Deployment', { metadata: {} })).toBeUndefined();
  });
});
