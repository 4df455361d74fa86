/**
 * The informational lines `meshdrain inject` prints on stderr for a normal run (one place, so a test
 * that says "nothing else on stderr" does not list them itself): the guessed app delay (ADR 015), and
 * the once-per-run note that the sidecar is undecided (ADR 064).
 */
export const INJECT_INFO_NOTES: readonly RegExp[] = [
  /^meshdrain: \S+:\d+:\d+: \S+\/\S+: app containers get Kubernetes' native sleep of \d+s before SIGTERM, a guess/,
  /^meshdrain: \d+ workload\(s\) may or may not get an Istio sidecar/,
];

/** stderr lines that are not one of inject's informational notes. */
export function unexpectedStderr(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l !== '' && !INJECT_INFO_NOTES.some((re) => re.test(l)));
}
