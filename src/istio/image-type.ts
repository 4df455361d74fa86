/**
 * Is a pod's istio-proxy the distroless image (no shell, no netstat, no curl)? Istio picks the image
 * type per pod from, first to last: the `sidecar.istio.io/proxyImageType` annotation, ProxyConfig
 * `image.imageType` (the pod's proxy.istio.io/config over the mesh's defaultConfig), then Helm's
 * `global.variant` (istio/istio pkg/kube/inject/inject.go `ProxyImage`/`imageType`; docs:
 * "Harden Docker Container Images"). An istio-proxy container written with a `-distroless` image tag
 * is one too. Lint reports a shell hook on such a proxy; inject brings the hook a shell. One decision,
 * here, for both.
 */
import { ANNOTATIONS } from './facts.js';

export const DISTROLESS = 'distroless';

export type DistrolessSource = 'annotation' | 'image' | 'proxy-config' | 'mesh-variant';

export interface ImageTypeInputs {
  /** The pod's sidecar.istio.io/proxyImageType annotation. */
  annotation?: string;
  /** The image of an istio-proxy container the pod spells out. */
  proxyImage?: unknown;
  /** ProxyConfig image.imageType, the pod's over the mesh's. */
  proxyConfigImageType?: string;
  /** Helm's global.variant. */
  meshVariant?: string;
}

/** Where the pod's proxy is made distroless, or null when it is not. */
export function distrolessSource(i: ImageTypeInputs): DistrolessSource | null {
  if (i.annotation === DISTROLESS) return 'annotation';
  if (typeof i.proxyImage === 'string' && /-distroless(@|$)/.test(i.proxyImage)) return 'image';
  // An explicit other type (default, debug) wins over mesh-wide settings.
  if (i.annotation !== undefined) return null;
  if (i.proxyConfigImageType === DISTROLESS) return 'proxy-config';
  if (i.meshVariant === DISTROLESS) return 'mesh-variant';
  return null;
}

/** The words for a source, in notes. */
export function distrolessSourceWords(s: DistrolessSource): string {
  switch (s) {
    case 'annotation':
      return `${ANNOTATIONS.proxyImageType}: ${DISTROLESS}`;
    case 'image':
      return 'its istio-proxy image is a -distroless tag';
    case 'proxy-config':
      return `ProxyConfig image.imageType: ${DISTROLESS}`;
    case 'mesh-variant':
      return `global.variant: ${DISTROLESS}`;
  }
}
