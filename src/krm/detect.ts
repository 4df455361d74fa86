/** A cheap look at input text, before the KRM modules load: does it claim to be a ResourceList? */
export function looksLikeResourceList(text: string): boolean {
  return /^kind:[ \t]*(["']?)ResourceList\1[ \t]*(#.*)?$/m.test(text) || /"kind"\s*:\s*"ResourceList"/.test(text.slice(0, 4096));
}
