#!/usr/bin/env node
// A fake pilot-agent for the entrypoint tests: records every signal it gets (JSON lines with a
// timestamp) to $FAKE_AGENT_LOG, listens on Istio's own ports like the real one, and exits:
//   on SIGTERM with $FAKE_EXIT_ON_TERM (default 0) after $FAKE_TERM_DELAY_MS (default 0),
//   on its own after $FAKE_CRASH_AFTER_MS with $FAKE_CRASH_CODE (default 3).
import { appendFileSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';

const log = process.env.FAKE_AGENT_LOG;
const rec = (o) => log && appendFileSync(log, JSON.stringify({ t: Date.now(), ...o }) + '\n');
const ignored = /SigIgn:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];

const servers = [];
for (const port of (process.env.FAKE_AGENT_PORTS ?? '15020,15021').split(',').filter(Boolean)) {
  servers.push(createServer().listen(Number(port), '0.0.0.0'));
}

function exit(code) {
  for (const s of servers) s.close();
  rec({ event: 'exit', code });
  process.exit(code);
}

for (const sig of ['SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGTERM']) {
  process.on(sig, () => {
    rec({ event: 'signal', sig });
    if (sig === 'SIGTERM') setTimeout(() => exit(Number(process.env.FAKE_EXIT_ON_TERM ?? 0)), Number(process.env.FAKE_TERM_DELAY_MS ?? 0));
  });
}
if (process.env.FAKE_CRASH_AFTER_MS) {
  setTimeout(() => exit(Number(process.env.FAKE_CRASH_CODE ?? 3)), Number(process.env.FAKE_CRASH_AFTER_MS));
}
// 'start' only once every handler is installed: a signal sent after it is never lost to a default action.
rec({ event: 'start', pid: process.pid, argv: process.argv.slice(2), sigIgn: ignored });
setInterval(() => {}, 1 << 30);
