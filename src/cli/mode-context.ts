/**
 * What a manifest cannot tell, given once for the run, the same way to `inject`, `lint` and `lab`:
 * --istio-version, --kube-version (the lowest kubelet) and --mesh-config (Istio's Helm values, an
 * IstioOperator, the istio or istio-sidecar-injector ConfigMaps: lint's one reader, lint/mesh.ts).
 * One place for the flags' wording and parsing (ADR 060, 064).
 */
import type { Command } from 'commander';
import { NATIVE_SIDECAR_VERSIONS as NATIVE } from '../istio/facts.js';
import { InputError } from '../errors.js';
import { readText } from '../io/files.js';
import { emptyMesh, readMeshConfigs, type MeshSettings } from '../lint/mesh.js';
import { formatVersion, parseKubeVersion, parseVersion, type Version } from '../model/version.js';
import type { ShutdownContext } from '../plan/facts.js';
import type { LabModeContext } from '../lab/manifest.js';
import { loadDocuments } from '../yaml/load.js';
import type { Io } from './context.js';
import { STDIN_NAME } from './inputs.js';

export interface ModeFlags {
  meshConfig?: string[];
  kubeVersion?: string;
  istioVersion?: string;
}

/** The three options, worded once. */
export function addModeContextOptions(cmd: Command): Command {
  return cmd
    .option('--mesh-config <file>', 'mesh settings: IstioOperator, Helm values, istio or istio-sidecar-injector ConfigMap (repeatable)', (v: string, prev: string[] = []) => [...prev, v])
    .option('--kube-version <X.Y>', `Kubernetes version of the cluster, the lowest kubelet (native sidecars: ${formatVersion(NATIVE.kubeBeta)}+; preStop sleep action: 1.30+)`)
    .option('--istio-version <X.Y>', `Istio version (native sidecars: ${formatVersion(NATIVE.istioSupport)}+, per-pod annotation ${formatVersion(NATIVE.istioAnnotation)}+); default: from the mesh config`);
}

export interface MeshInput {
  file: string;
  text: string;
}

/** The --mesh-config files' texts ('-' is stdin). */
export async function readMeshInputs(flags: ModeFlags, io: Io): Promise<MeshInput[]> {
  const out: MeshInput[] = [];
  for (const p of flags.meshConfig ?? []) out.push(p === '-' ? { file: STDIN_NAME, text: await io.readStdin() } : { file: p, text: readText(p, io.cwd) });
  return out;
}

/** The --mesh-config files' texts, read at once (a caller without stdin: '-' is refused). */
export function readMeshFiles(flags: ModeFlags, cwd: string): MeshInput[] {
  return (flags.meshConfig ?? []).map((p) => {
    if (p === '-') throw new InputError('--mesh-config -: stdin is not read here; give the mesh config as a file');
    return { file: p, text: readText(p, cwd) };
  });
}

/** Read mesh settings from the --mesh-config inputs; each must hold some (lint's reader and wording). */
export function readMeshSettings(inputs: readonly MeshInput[], into: MeshSettings = emptyMesh()): MeshSettings {
  return readMeshConfigs(inputs, into, loadDocuments);
}

export interface RunVersions {
  kubeVersion?: Version;
  istioVersion?: Version;
  /** Where istioVersion came from ("--istio-version", "IstioOperator spec.tag"). */
  istioVersionSource?: string;
}

/** The versions: the flags win; Istio's version may come from the mesh config. */
export function runVersions(flags: Pick<ModeFlags, 'kubeVersion' | 'istioVersion'>, mesh: MeshSettings): RunVersions {
  const kubeVersion = flags.kubeVersion !== undefined ? parseKubeVersion(flags.kubeVersion, '--kube-version') : undefined;
  if (flags.istioVersion !== undefined) return { kubeVersion, istioVersion: parseVersion(flags.istioVersion, '--istio-version'), istioVersionSource: '--istio-version' };
  if (mesh.istioVersion) return { kubeVersion, istioVersion: mesh.istioVersion.value, istioVersionSource: mesh.istioVersion.source };
  return { kubeVersion };
}

/** The run's mode context as read once from the three flags: the versions and the mesh settings. */
export interface RunModeContext {
  versions: RunVersions;
  mesh: MeshSettings;
}

/** Flags and --mesh-config texts → the run's mode context (bad values: one InputError, exit 2). */
export function runModeContext(flags: ModeFlags, inputs: readonly MeshInput[]): RunModeContext {
  const mesh = readMeshSettings(inputs);
  return { versions: runVersions(flags, mesh), mesh };
}

/** The run context inject hands the shared derivation (lint builds the same from its options). */
export function shutdownContextOf(versions: RunVersions, mesh: MeshSettings): ShutdownContext {
  const d = mesh.defaultConfig;
  const hasDrain = d.terminationDrainMs || d.exitOnZero || d.minimumDrainMs;
  return {
    kubeVersion: versions.kubeVersion,
    istioVersion: versions.istioVersion,
    ...(mesh.nativeSidecars ? { nativeSidecars: { value: mesh.nativeSidecars.value, source: mesh.nativeSidecars.source } } : {}),
    ...(mesh.enableNamespacesByDefault ? { enableNamespacesByDefault: mesh.enableNamespacesByDefault.value } : {}),
    ...(mesh.injectionPolicy ? { injectionPolicy: mesh.injectionPolicy.value } : {}),
    ...(mesh.defaultTemplates ? { defaultTemplates: mesh.defaultTemplates.value } : {}),
    ...(mesh.variant || d.imageType ? { meshImage: { variant: mesh.variant?.value, imageType: d.imageType?.value } } : {}),
    ...(hasDrain ? { meshProxyConfig: { terminationDrainMs: d.terminationDrainMs?.value, exitOnZero: d.exitOnZero?.value, minimumDrainMs: d.minimumDrainMs?.value } } : {}),
  };
}

/** The lab's --manifest reading: the same context, as lint reads a pod and as inject runs (--compare-inject). */
export function labModeContext(flags: ModeFlags, inputs: readonly MeshInput[]): LabModeContext {
  const { versions, mesh } = runModeContext(flags, inputs);
  return { lint: { ...versions, mesh }, inject: shutdownContextOf(versions, mesh) };
}
