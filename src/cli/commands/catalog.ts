/**
 * What `meshdrain --help` lists for each command, in order: its term and one-line summary. `--help`
 * and `--version` list these without loading any command (start-up in a Helm post-renderer or a
 * pre-commit hook pays only for the command it runs). Each command registers the same summary from
 * here; a test checks that the terms match what the loaded commands would show.
 */
export const CATALOG = {
  inject: { term: 'inject [options] [paths...]', summary: 'make istio-proxy wait for the app at shutdown, in manifests' },
  hook: { term: 'hook [options]', summary: "print istio-proxy's preStop hold: a POSIX sh script that waits for the app" },
  image: { term: 'image [options]', summary: 'write a build context for an istio/proxyv2 image whose entrypoint holds SIGTERM until the app is gone' },
  istio: { term: 'istio', summary: 'the mesh side: injector ConfigMap patch, custom injection template' },
  lint: { term: 'lint [options] [paths...]', summary: 'find what will break at pod shutdown in an Istio mesh, before the rollout does' },
  lab: {
    term: 'lab [options]',
    summary: 'reproduce the Istio shutdown race on this machine (network namespaces, iptables, real processes) and compare hooks side by side',
  },
} as const satisfies Record<string, { term: string; summary: string }>;

export type CommandName = keyof typeof CATALOG;
