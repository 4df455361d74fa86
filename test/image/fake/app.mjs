#!/usr/bin/env node
// A fake application: listens on $FAKE_APP_PORT (default 8080) until SIGUSR2, then closes the
// listener and records the moment it started closing to $FAKE_APP_LOG; exits on SIGTERM/SIGINT.
import { appendFileSync } from 'node:fs';
import { createServer } from 'node:net';

const log = process.env.FAKE_APP_LOG;
const rec = (o) => log && appendFileSync(log, JSON.stringify({ t: Date.now(), ...o }) + '\n');
const server = createServer((c) => c.end());
server.listen(Number(process.env.FAKE_APP_PORT ?? 8080), process.env.FAKE_APP_HOST ?? '0.0.0.0', () => rec({ event: 'listening', pid: process.pid }));
process.on('SIGUSR2', () => {
  rec({ event: 'closing' });
  server.close(() => rec({ event: 'closed' }));
});
process.on('SIGTERM', () => process.exit(0));
process.on('SIGINT', () => process.exit(0));
setInterval(() => {}, 1 << 30); // stay alive after closing, like an app finishing its work
