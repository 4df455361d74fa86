/**
 * `meshdrain istio template --format configmap`: add (or update) `templates.<name>` in the injector
 * ConfigMap(s) of a file, byte-preserving everywhere else (see scalar-edit.ts, ADR 032).
 */
import { parseAllDocuments } from 'yaml';
import { InputError } from '../errors.js';
import { loadDocuments, posAt } from '../yaml/load.js';
import { findInjectors, stringNode } from './injector-find.js';
import { replaceScalarSource } from './scalar-edit.js';
import { addTemplateToConfig } from './template.js';

export function addTemplateToConfigMap(text: string, file: string, name: string, tmpl: string): { text: string; notes: string[] } {
  const loaded = loadDocuments(text, file);
  const notes: string[] = [];
  let out = text;
  for (const inj of findInjectors(loaded).sort((a, b) => b.start - a.start)) {
    const { doc } = loaded.docs[inj.index]!;
    const node = stringNode(doc, [...inj.base, 'data', 'config'], loaded, `${inj.name}: data.config`);
    let config: string;
    try {
      config = addTemplateToConfig(node.value, name, tmpl);
    } catch (e) {
      if (e instanceof InputError && !e.pos) throw new InputError(`${inj.name}: ${e.message}`, posAt(loaded.file, loaded.lines, node.range![0]));
      throw e;
    }
    if (config === node.value) notes.push(`${inj.name}: templates.${name} is already this template; nothing to change`);
    else notes.push(`${inj.name}: set templates.${name} in data.config`);
    out = replaceScalarSource(out, node, config);
  }
  const check = parseAllDocuments(out);
  if (!Array.isArray(check) || check.some((d) => d.errors.length)) throw new Error('internal: the edited ConfigMap does not parse');
  return { text: out, notes };
}
