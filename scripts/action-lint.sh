#!/usr/bin/env bash
# The GitHub Action's lint step (action.yml). Inputs arrive as MESHDRAIN_* environment variables.
# Writes SARIF to $MESHDRAIN_SARIF (also when findings fail the step), prints the text report to the
# log, sets the sarif-file output, and exits as meshdrain lint does: 0 clean, 1 findings at or above
# fail-on, 2 bad input.
set -uo pipefail
bin=${MESHDRAIN_BIN:?MESHDRAIN_BIN is not set}
read -r -d '' -a given <<<"${MESHDRAIN_PATHS:-.}" || true
# Inputs are not expanded by GitHub: a glob (k8s/*.yaml, k8s/**/*.yaml) is expanded here; one that
# matches nothing is passed on as written, so meshdrain names it (exit 2).
shopt -s globstar nullglob
paths=()
for p in "${given[@]}"; do
  matches=()
  # shellcheck disable=SC2206 # globbing is the point; $p holds no blank (read -a split on them)
  if [[ $p == *[*?[]* ]]; then matches=($p); fi
  if [ ${#matches[@]} -gt 0 ]; then paths+=("${matches[@]}"); else paths+=("$p"); fi
done
shopt -u nullglob
args=(lint --fail-on "${MESHDRAIN_FAIL_ON:-error}")
[ -n "${MESHDRAIN_KUBE_VERSION:-}" ] && args+=(--kube-version "$MESHDRAIN_KUBE_VERSION")
[ -n "${MESHDRAIN_ISTIO_VERSION:-}" ] && args+=(--istio-version "$MESHDRAIN_ISTIO_VERSION")
read -r -d '' -a mesh <<<"${MESHDRAIN_MESH_CONFIG:-}" || true
for m in "${mesh[@]}"; do args+=(--mesh-config "$m"); done
sarif=${MESHDRAIN_SARIF:-meshdrain.sarif}
mkdir -p "$(dirname "$sarif")"

node "$bin" "${args[@]}" -f sarif -- "${paths[@]}" >"$sarif.tmp"
code=$?
if [ "$code" -ge 2 ]; then
  rm -f "$sarif.tmp"
  exit "$code"
fi
mv "$sarif.tmp" "$sarif"
# The same findings, readable in the job log (the exit code is the SARIF run's).
node "$bin" "${args[@]}" -f text -- "${paths[@]}" || true
if [ -n "${GITHUB_OUTPUT:-}" ]; then echo "sarif-file=$sarif" >>"$GITHUB_OUTPUT"; fi
exit "$code"
