/**
 * One test run's network-namespace tag. The global setup (test/global-netns.ts) picks it and passes
 * it to every worker through the environment; every namespace a test creates carries it — the lab as
 * `md<tag>…` (src/lab/netns.ts reads MESHDRAIN_NETNS_TAG), the hook tests as `hook<tag>…` — so the
 * teardown can remove exactly this run's namespaces, also after a worker was killed mid-test.
 */
import { NETNS_TAG_ENV, NETNS_TAG_RE } from '../../src/lab/netns.js';

export { NETNS_TAG_ENV };

export function netnsTag(): string {
  const t = process.env[NETNS_TAG_ENV] ?? '';
  return NETNS_TAG_RE.test(t) ? t : '';
}

/** Name prefixes of this run's namespaces (empty when no tag was set). */
export function taggedPrefixes(tag: string): string[] {
  return NETNS_TAG_RE.test(tag) ? [`md${tag}`, `hook${tag}`] : [];
}
