/**
 * vitest setupFiles: after every test the worker lets its event loop turn once. vitest 3's worker
 * reports progress to the main process and gives up on the answer after a fixed 60 s (birpc's default,
 * not configurable; vitest-dev/vitest#6479), and the answer is read only when the event loop turns — a
 * row of synchronous tests (spawnSync) never lets it. On the loaded 2-core machine a green run exited 1
 * with `[vitest-worker]: Timeout calling "onTaskUpdate"` (ADR 002). Two setImmediate turns pass through
 * the poll phase that reads the answer, so the wait is bounded by one test, not a whole file.
 */
import { afterEach } from 'vitest';

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

afterEach(async () => {
  await turn();
  await turn();
});
