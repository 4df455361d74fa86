/** Policy values that do something other than they seem are said on stderr (podShutdownFacts notes). */
import { describe, expect, it } from 'vitest';
import { injectText } from '../../src/inject/inject.js';
import { loadPolicy } from '../../src/policy/load.js';

const DEPLOY = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n      containers:\n      - name: web\n        image: nginx:1.27\n';
const notes = (defaults: string) =>
  injectText(DEPLOY, 'd.yaml', { policy: loadPolicy(`apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n${defaults}`, 'p.yaml') }).notes.join('\n');

describe('policy values that are not what they seem get a note', () => {
  it('proxy.timeout 0s: the hold releases at once (the hook command says the same)', () => {
    expect(notes('  proxy: {timeout: 0s}\n')).toContain('proxy.timeout 0s: the hold releases at once');
    expect(notes('  proxy: {timeout: 10s}\n')).not.toContain('releases at once');
  });

  it('app.delay with app.shell: the delay wins, the shell is not used for the app', () => {
    expect(notes('  app: {delay: 5s, shell: true}\n')).toMatch(/app\.delay wins, and app\.shell is not used for the app/);
    expect(notes('  app: {delay: 5s}\n')).not.toMatch(/app\.shell is not used/);
  });

  it('app.delay 1.5s: written as sleep 2, and said', () => {
    const r = injectText(DEPLOY, 'd.yaml', { policy: loadPolicy('apiVersion: meshdrain.dev/v1alpha1\nkind: ShutdownPolicy\ndefaults:\n  app: {delay: 1.5s}\n', 'p.yaml') });
    expect(r.output).toContain('seconds: 2');
    expect(r.notes.join('\n')).toContain('the app delay is rounded up to whole seconds (1.5s → 2s)');
    expect(notes('  app: {delay: 2s}\n')).not.toContain('rounded up');
  });
});
