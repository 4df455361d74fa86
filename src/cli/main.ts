#!/usr/bin/env node
import { EXIT } from '../constants.js';
import { processIo } from './context.js';
import { run } from './run.js';

// The only place that touches the process exit code.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(EXIT.ok); // `meshdrain ... | head` is fine
});
run(process.argv.slice(2), processIo()).then((code) => {
  process.exitCode = code;
});
