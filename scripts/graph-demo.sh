#!/usr/bin/env bash
# The README's picture: scripts/demo.sh's topology (a bridge network, two sandboxes connected to it)
# drawn by `pycnm graph`. Usage: graph-demo.sh [OUT.png|OUT.svg|OUT.dot] (default docs/demo-topology.png).
# Needs root (it makes the bridge and the sandboxes' namespaces) and, for PNG or SVG, Graphviz's dot.
set -euo pipefail

out=$(realpath -m "${1:-docs/demo-topology.png}")

# As demo.sh: in a network namespace standing in for the host, on a throwaway state directory.
if [ -z "${PYCNM_DEMO_INNER:-}" ] && [ -z "${PYCNM_DEMO_ON_HOST:-}" ]; then
  exec unshare --net env PYCNM_DEMO_INNER=1 bash "$0" "$out"
fi

state=$(mktemp -d /tmp/pycnm-graph-demo.XXXXXX)
export PYCNM_STATE_DIR="$state"
export PYCNM_NETNS_PREFIX="pycnm-graph-demo-"
unset PYCNM_HOST
net=demo-net

cleanup() {
  pycnm sandbox rm -f alpha beta >/dev/null 2>&1 || true
  pycnm network rm -f "$net" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

pycnm network create -d bridge --subnet 10.231.0.0/24 "$net" >/dev/null
pycnm sandbox create alpha >/dev/null
pycnm sandbox create beta >/dev/null
pycnm network connect "$net" alpha
pycnm network connect "$net" beta
pycnm graph -o "$out"
echo "wrote $out"
