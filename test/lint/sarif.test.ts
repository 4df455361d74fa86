/** SARIF 2.1.0 output validated against the published schema (vendored from npm, see schema/SOURCE.md). */
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import { RULES } from '../../src/lint/rules/index.js';
import { ruleDocUri } from '../../src/lint/docs.js';
import { FIX, ROOT, lintCli } from './helpers.js';

function validator() {
  const schema = JSON.parse(readFileSync(new URL('./schema/sarif-2.1.0-rtm.5.json', import.meta.url), 'utf8')) as Record<string, unknown>;
  // draft-04 → ajv 8: the only draft-04-only keywords at play are the top-level `id` and `$schema`.
  const { id, $schema: _s, ...rest } = schema;
  const ajv = new Ajv({ strict: false, allErrors: true, unicodeRegExp: false });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  return ajv.compile({ ...rest, $id: id as string });
}

describe('SARIF', () => {
  const validate = validator();

  it('the schema rejects a broken log (so the check can fail)', () => {
    expect(validate({ version: '2.1.0', runs: [{ tool: { driver: {} } }] })).toBe(false);
    expect(validate({ version: '2.0.0', runs: [] })).toBe(false);
  });

  it('findings over the rule fixtures and real manifests validate, with rule metadata and help URIs', async () => {
    const real = readdirSync(`${FIX}real/istio-inject`).filter((f) => f.endsWith('.injected')).map((f) => `fixtures/lint/real/istio-inject/${f}`);
    const r = await lintCli(['-f', 'sarif', 'fixtures/lint/rules', 'fixtures/lint/real/apps', ...real], { cwd: ROOT });
    expect(r.code).toBe(1);
    const log = JSON.parse(r.stdout);
    const ok = validate(log);
    expect(ok, JSON.stringify(validate.errors?.slice(0, 5), null, 1)).toBe(true);
    const run = log.runs[0];
    expect(run.tool.driver.name).toBe('meshdrain');
    expect(run.tool.driver.rules.map((x: { id: string }) => x.id)).toEqual(RULES.map((x) => x.id));
    for (const rule of run.tool.driver.rules) {
      expect(rule.helpUri).toBe(ruleDocUri(rule.id));
      expect(rule.help.markdown).toContain(`# ${rule.id}`);
      expect(['error', 'warning', 'note']).toContain(rule.defaultConfiguration.level);
      expect(rule.shortDescription.text.length).toBeGreaterThan(10);
    }
    expect(run.results.length).toBeGreaterThan(50);
    // Every level is exercised: error, warning and note (info) results.
    expect(new Set(run.results.map((x: { level: string }) => x.level))).toEqual(new Set(['error', 'warning', 'note']));
    for (const res of run.results) {
      expect(run.tool.driver.rules[res.ruleIndex].id).toBe(res.ruleId);
      const loc = res.locations[0].physicalLocation;
      expect(loc.artifactLocation.uri).toMatch(/^fixtures\/lint\//); // relative to the repo root, for code scanning
      expect(loc.artifactLocation.uriBaseId).toBe('%SRCROOT%');
      expect(loc.region.startLine).toBeGreaterThan(0);
    }
  });

  it('an empty result set is still a valid log; files outside cwd become file:// URIs', async () => {
    const clean = await lintCli(['-f', 'sarif', `${FIX}clean.yaml`]);
    expect(clean.code).toBe(0);
    const empty = JSON.parse(clean.stdout);
    expect(empty.runs[0].results).toEqual([]);
    expect(validate(empty)).toBe(true);
    // A fresh empty directory is never an ancestor of the checkout (which may itself live under /tmp).
    const elsewhere = mkdtempSync(join(tmpdir(), 'meshdrain-sarif-'));
    const outside = await lintCli(['-f', 'sarif', `${FIX}rules/job-classic-sidecar/fail-job.yaml`], { cwd: elsewhere });
    rmSync(elsewhere, { recursive: true, force: true });
    const log = JSON.parse(outside.stdout);
    expect(validate(log)).toBe(true);
    expect(log.runs[0].results[0].locations[0].physicalLocation.artifactLocation.uri).toMatch(/^file:\/\/\//);
  });

  it('run from a subdirectory of a git work tree (a step with working-directory), URIs are relative to its root', async () => {
    const repo = mkdtempSync(join(tmpdir(), 'meshdrain-sarif-repo-'));
    try {
      mkdirSync(join(repo, '.git'));
      mkdirSync(join(repo, 'deploy', 'k8s'), { recursive: true });
      copyFileSync(`${FIX}rules/job-classic-sidecar/fail-job.yaml`, join(repo, 'deploy', 'k8s', 'job.yaml'));
      const r = await lintCli(['-f', 'sarif', 'job.yaml', '../k8s/job.yaml'], { cwd: join(repo, 'deploy', 'k8s') });
      const log = JSON.parse(r.stdout);
      expect(validate(log)).toBe(true);
      expect(log.runs[0].originalUriBaseIds['%SRCROOT%'].uri).toBe(`file://${repo}/`);
      const uris = new Set(log.runs[0].results.map((x: { locations: { physicalLocation: { artifactLocation: { uri: string } } }[] }) => x.locations[0]!.physicalLocation.artifactLocation.uri));
      expect([...uris]).toEqual(['deploy/k8s/job.yaml']);
    } finally {
      rmSync(repo, { recursive: true, force: true });
    }
  });
});
