#!/usr/bin/env bash
# The README's demo: a bridge network, two sandboxes, a ping across, the inspect output, clean-up.
# Runs on the embedded store in a throwaway state directory; needs root.
set -euo pipefail

# Run against a network namespace of its own standing in for the host, so the demo changes
# nothing on this machine (pycnm sets ip_forward and writes its nftables table on "the host").
# Sandboxes still go to /run/netns. Set PYCNM_DEMO_ON_HOST=1 to run it on the host itself.
if [ -z "${PYCNM_DEMO_INNER:-}" ] && [ -z "${PYCNM_DEMO_ON_HOST:-}" ]; then
  exec unshare --net env PYCNM_DEMO_INNER=1 bash "$0" "$@"
fi

state=$(mktemp -d /tmp/pycnm-demo.XXXXXX)
export PYCNM_STATE_DIR="$state"
export PYCNM_NETNS_PREFIX="pycnm-demo-"
net=demo-net

cleanup() {
  pycnm sandbox rm -f alpha beta >/dev/null 2>&1 || true
  pycnm network rm -f "$net" >/dev/null 2>&1 || true
  rm -rf "$state"
}
trap cleanup EXIT

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
run() { say "$*"; "$@"; }

run pycnm driver ls
run pycnm network create -d bridge --subnet 10.231.0.0/24 "$net"
run pycnm sandbox create alpha
run pycnm sandbox create beta
run pycnm network connect "$net" alpha
run pycnm network connect "$net" beta
run pycnm network ls
run pycnm network inspect "$net"

key_alpha=$(pycnm sandbox inspect alpha | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Key"])')
ip_beta=$(pycnm sandbox inspect beta | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["Endpoints"][0]["IPv4Address"].split("/")[0])')
run nsenter --net="$key_alpha" ping -c 3 -W 1 "$ip_beta"

run pycnm network disconnect "$net" alpha
run pycnm network disconnect "$net" beta
run pycnm sandbox rm alpha beta
run pycnm network rm "$net"
echo
echo "demo finished: the ping crossed the bridge, and everything was removed again"
