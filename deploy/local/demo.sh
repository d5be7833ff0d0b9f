#!/usr/bin/env bash
# `make demo`: the whole loop on local emulators, on a fresh clone.
#
#   1. install and start the emulators (stack.sh up: kinesalite, dynalite, s3emu; streams, bucket)
#   2. build meshgate and start a worker on examples/contracts (deploy/local/demo-config.yaml)
#   3. generate orders, customers and payments events with bad and hostile ones (meshgate gen)
#      and put them into the raw streams (meshgate put); payments are judged by the ODCS-native
#      contract examples/contracts/payments/payments.odcs.yaml
#   4. wait until every record is on a curated stream or in quarantine, then print a summary read
#      back FROM the curated streams and the quarantine bucket (meshgate audit)
#   5. stop the worker (SIGTERM, graceful) and the stack
#
# Settings: DEMO_ORDERS (default 2100), DEMO_CUSTOMERS (900) and DEMO_PAYMENTS (600) events;
# DEMO_KEEP=1 leaves the stack running afterwards (stop it with deploy/local/stack.sh down).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
run_dir="$here/.run"
demo_dir="$run_dir/demo"
orders="${DEMO_ORDERS:-2100}"
customers="${DEMO_CUSTOMERS:-900}"
payments="${DEMO_PAYMENTS:-600}"

log() { printf '\033[1mdemo:\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

if ! command -v go >/dev/null 2>&1; then
	[[ -x /usr/local/go/bin/go ]] || die "go is not installed"
	PATH="/usr/local/go/bin:$PATH"
fi

worker_pid=""
cleanup() {
	local rc=$?
	if [[ -n "$worker_pid" ]] && kill -0 "$worker_pid" 2>/dev/null; then
		kill -TERM "$worker_pid" 2>/dev/null || true
		wait "$worker_pid" 2>/dev/null || true
	fi
	if [[ "${DEMO_KEEP:-0}" != 1 ]]; then
		"$here/stack.sh" down || true
	fi
	exit "$rc"
}
trap cleanup EXIT

log "starting the local AWS stack (installs pinned emulators on first use)"
"$here/stack.sh" up
eval "$("$here/stack.sh" env)"

log "building meshgate"
mkdir -p "$run_dir/bin" "$demo_dir"
(cd "$root" && go build -o "$run_dir/bin/meshgate" ./cmd/meshgate)
mg="$run_dir/bin/meshgate"

# The hash enrichment needs a salt; this one is for the demo only (a real one is a secret
# from the deployment's secret store, never in a file).
export MESHGATE_HASH_SALT="meshgate-demo-salt"

log "starting the worker (log: $run_dir/worker.log)"
"$mg" run --config "$here/demo-config.yaml" >"$run_dir/worker.log" 2>&1 &
worker_pid=$!
ready=""
for _ in $(seq 1 600); do
	if "$mg" health -q -timeout 1s -url http://127.0.0.1:9108/readyz 2>/dev/null; then
		ready=1
		break
	fi
	kill -0 "$worker_pid" 2>/dev/null || { tail -n 30 "$run_dir/worker.log" >&2; die "the worker exited"; }
	sleep 0.1
done
[[ -n "$ready" ]] || { tail -n 30 "$run_dir/worker.log" >&2; die "the worker did not become ready within 60s"; }

log "generating $orders orders, $customers customers and $payments payments events (about 12% bad, 3% hostile)"
"$mg" gen --domain orders --count "$orders" --bad-fraction 0.12 --hostile-fraction 0.03 --seed 7 \
	--out "$demo_dir/orders.ndjson" --manifest "$demo_dir/orders.manifest.ndjson"
"$mg" gen --domain customers --count "$customers" --bad-fraction 0.12 --hostile-fraction 0.03 --seed 8 \
	--out "$demo_dir/customers.ndjson" --manifest "$demo_dir/customers.manifest.ndjson"
"$mg" gen --domain payments --count "$payments" --bad-fraction 0.12 --hostile-fraction 0.03 --seed 9 \
	--out "$demo_dir/payments.ndjson" --manifest "$demo_dir/payments.manifest.ndjson"

log "putting them into orders-raw, customers-raw and payments-raw"
began=$(date +%s.%N)
for d in orders customers payments; do
	"$mg" put --stream "$d-raw" --in "$demo_dir/$d.ndjson" --manifest "$demo_dir/$d.manifest.ndjson" \
		--ledger "$demo_dir/$d.ledger.ndjson"
done
sent=$(cat "$demo_dir"/*.ledger.ndjson | grep -c '"sequenceNumber"' || true)

log "waiting until all $sent records are on a curated stream or in quarantine"
"$mg" audit --curated orders-curated,customers-curated,payments-curated --bucket meshgate-quarantine --prefix quarantine \
	--expect "$sent" --wait 3m >"$demo_dir/summary.txt"
took=$(awk -v b="$began" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - b }')

echo
echo "=== meshgate demo: what the worker produced (read back from Kinesis and S3) ==="
echo "records put into the raw streams: $sent (in ${took}s until all were routed, put included)"
cat "$demo_dir/summary.txt"
echo
echo "expected by the generator's manifest:"
cat "$demo_dir"/orders.manifest.ndjson "$demo_dir"/customers.manifest.ndjson "$demo_dir"/payments.manifest.ndjson |
	grep -o '"outcome":"[a-z]*"' | sort | uniq -c | sed 's/"outcome":/  /; s/"//g'
echo "(records over 1 MiB cannot enter Kinesis; meshgate put reported them above)"
echo

log "stopping the worker (SIGTERM)"
stop_began=$(date +%s.%N)
kill -TERM "$worker_pid"
rc=0
wait "$worker_pid" || rc=$?
worker_pid=""
log "worker exited with status $rc after $(awk -v b="$stop_began" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - b }')s"
[[ "$rc" == 0 ]] || { tail -n 30 "$run_dir/worker.log" >&2; die "the worker did not stop cleanly"; }
log "done"
