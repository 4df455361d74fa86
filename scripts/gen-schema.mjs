#!/usr/bin/env node
// Writes schema/shutdown-policy.schema.json from the zod schema (src/policy/schema.ts). Run after `npm run build`.
import { writeFileSync } from 'node:fs';
import { policyJsonSchema } from '../dist/policy/schema.js';

writeFileSync(new URL('../schema/shutdown-policy.schema.json', import.meta.url), JSON.stringify(policyJsonSchema(), null, 2) + '\n');
