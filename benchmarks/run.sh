#!/usr/bin/env bash
# make bench: meshgate side by side with the Benthos peer and the hand-written-Go ceiling, the
# engine against the naive way, and the worker pipeline's overhead. See benchmarks/README.md.
#
#   benchmarks/run.sh                 everything (a few minutes)
#   BENCH_EVENTS=20000 BENCH_REPS=3 benchmarks/run.sh    quicker
#
# Settings (environment):
#   BENCH_EVENTS   corpus size (default 50000 ~1 KB order events)
#   BENCH_BAD      share of bad events (default 0.1; one defect each, every bad kind of gen)
#   BENCH_SEED     corpus seed (default 42)
#   BENCH_REPS     repetitions of each timed run (default 5)
#   BENCH_CORES    core counts to time (default "1 2"; taskset -c 0 / 0,1 and GOMAXPROCS)
#   BENCH_E2E      1: also measure the worker end to end on the local emulators (needs
#                  `make install-local`); default 0
#   BENCH_DIR      where binaries, corpus, outputs and the report go (default benchmarks/out)
#
# Fails (exit 1) when meshgate, the peer and the ceiling do not reach the same verdicts on the
# corpus (same counts per rule) or the ceiling's good output is not byte-identical to meshgate's.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
export PATH="/usr/local/go/bin:$PATH"

EVENTS=${BENCH_EVENTS:-50000}
BAD=${BENCH_BAD:-0.1}
SEED=${BENCH_SEED:-42}
REPS=${BENCH_REPS:-5}
CORES=${BENCH_CORES:-1 2}
E2E=${BENCH_E2E:-0}
D=${BENCH_DIR:-$ROOT/benchmarks/out}
NOW=2026-03-14T09:30:00Z # the judging time of every run (benchmarks.Now)
SALT=meshgate-bench-salt # benchmarks.Salt
CONTRACTS=$ROOT/examples/contracts
LOOKUP=$CONTRACTS/lookups/country_regions.csv
export MESHGATE_HASH_SALT=$SALT

mkdir -p "$D/out"
REPORT=$D/report.txt
: >"$REPORT"
say() { echo "$@" | tee -a "$REPORT"; }
section() { say; say "== $*"; }

pin() { # pin CORES cmd...: run on the first CORES cores with GOMAXPROCS=CORES
	local n=$1 cpus
	shift
	cpus=$(seq -s, 0 $((n - 1)))
	if command -v taskset >/dev/null; then
		GOMAXPROCS=$n taskset -c "$cpus" "$@"
	else
		GOMAXPROCS=$n "$@"
	fi
}

section "machine"
{
	echo "date:       $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit:     $(git describe --always --dirty 2>/dev/null || echo unknown)"
	echo "nproc:      $(nproc)"
	echo "cpu:        $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
	echo "go:         $(go version)"
	echo "load avg:   $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine inflates wall times; CPU-time figures and same-run ratios are the robust ones)"
	command -v taskset >/dev/null || echo "taskset:    missing (runs are not pinned to cores)"
} | tee -a "$REPORT"

section "build"
go build -o "$D/meshgate" ./cmd/meshgate
go build -o "$D/benchtool" ./benchmarks/cmd/benchtool
(cd benchmarks/peer && go build -o "$D/peer" .)
say "built meshgate, benchtool and the peer (benthos $(cd benchmarks/peer && go list -m -f '{{.Version}}' github.com/redpanda-data/benthos/v4))"

section "corpus"
"$D/meshgate" gen --domain orders --count "$EVENTS" --seed "$SEED" --bad-fraction "$BAD" --now "$NOW" --out "$D/corpus.ndjson" 2>&1 | tee -a "$REPORT"

# cmd_for ENGINE INPUT sets CMD to the whole-file run of ENGINE (meshgate, peer, ceiling) over
# INPUT; it writes good events and quarantine records to files and its summary (JSON) to stdout.
cmd_for() {
	local e=$1 in=$2
	case $e in
	meshgate) CMD=("$D/meshgate" check --contracts "$CONTRACTS" --domain orders --in "$in" --now "$NOW" --json
		--good "$D/out/$e.good.ndjson" --quarantine "$D/out/$e.quarantine.ndjson") ;;
	peer) CMD=("$D/peer" -in "$in" -lookup "$LOOKUP" -now "$NOW"
		-good "$D/out/$e.good.ndjson" -quarantine "$D/out/$e.quarantine.ndjson") ;;
	ceiling) CMD=("$D/benchtool" file -engine ceiling -contracts "$CONTRACTS" -in "$in" -now "$NOW"
		-good "$D/out/$e.good.ndjson" -quarantine "$D/out/$e.quarantine.ndjson") ;;
	esac
}
engines=(meshgate peer ceiling)

section "same verdicts (fails on any difference)"
for e in "${engines[@]}"; do
	cmd_for "$e" "$D/corpus.ndjson"
	"${CMD[@]}" >"$D/$e.summary.json"
done
(cd "$D" && ./benchtool compare meshgate.summary.json peer.summary.json ceiling.summary.json) | tee -a "$REPORT"
if ! cmp -s "$D/out/meshgate.good.ndjson" "$D/out/ceiling.good.ndjson"; then
	say "FAIL: the ceiling's good events are not byte-identical to meshgate's"
	exit 1
fi
say "ceiling good events byte-identical to meshgate's; peer good events: $(wc -l <"$D/out/peer.good.ndjson") lines (same JSON values: benchmarks/peer TestPeerAgreesWithMeshgate)"

section "whole file: meshgate check vs peer vs ceiling ($REPS repetitions, rotating order)"
TIMINGS=$D/timings.tsv
: >"$TIMINGS"
for cores in $CORES; do
	for rep in $(seq 1 "$REPS"); do
		for k in 0 1 2; do
			e=${engines[$(((k + rep) % 3))]}
			cmd_for "$e" "$D/corpus.ndjson"
			pin "$cores" "$D/benchtool" time -label "$e" -cores "$cores" -rep "$rep" -events "$EVENTS" -o "$TIMINGS" \
				-stdout "$D/out/$e.timed.json" -- "${CMD[@]}"
		done
	done
	echo "  $cores core(s) done" >&2
done
"$D/benchtool" stats "$TIMINGS" | tee -a "$REPORT"
say
say "start-up (load and compile the contracts, build the stream; one record, one core, 3 runs), included above:"
head -n 1 "$D/corpus.ndjson" >"$D/one.ndjson"
STARTUP=$D/startup.tsv
: >"$STARTUP"
for rep in 1 2 3; do
	for e in "${engines[@]}"; do
		cmd_for "$e" "$D/one.ndjson"
		pin 1 "$D/benchtool" time -label "$e" -rep "$rep" -events 1 -o "$STARTUP" -- "${CMD[@]}"
	done
done
awk -F'\t' '{ cpu[$1] += $6 + $7; wall[$1] += $5; n[$1]++ } END { for (e in n) printf "  %-9s %6.0f ms CPU, %6.0f ms wall (mean of %d)\n", e, 1000*cpu[e]/n[e], 1000*wall[e]/n[e], n[e] }' "$STARTUP" | sort | tee -a "$REPORT"

section "engine: meshgate vs naive vs ceiling, in-process, GOMAXPROCS=1 (pinned to one core)"
pin 1 "$D/benchtool" engine -contracts "$CONTRACTS" -records 5000 -rounds 9 -seed "$SEED" -bad "$BAD" \
	-cpuprofile "$D/engine.prof" | tee -a "$REPORT"
say
say "pprof top (meshgate judging the corpus; go tool pprof -top $D/benchtool $D/engine.prof):"
go tool pprof -top -nodecount=25 "$D/benchtool" "$D/engine.prof" 2>/dev/null | sed -n '4,40p' | tee -a "$REPORT"
say
say "pprof top -cum:"
go tool pprof -top -cum -nodecount=25 "$D/benchtool" "$D/engine.prof" 2>/dev/null | sed -n '6,40p' | tee -a "$REPORT"

say
say "GC setting (a lever of the worker's deployment, not of the engine): meshgate's engine at GOGC=100 vs GOGC=400,"
say "alternating processes, 3 each, events/s per core (CPU):"
for i in 1 2 3; do
	for g in 100 400; do
		r=$(GOGC=$g pin 1 "$D/benchtool" engine -contracts "$CONTRACTS" -records 3000 -rounds 3 -seed "$SEED" -bad "$BAD" | awk '$1 == "meshgate" && $2 ~ /^[0-9]+$/ { print $2 }')
		echo "GOGC=$g $r"
	done
done | awk '{ v[$1] = v[$1] " " $2 } END { for (k in v) printf "  %-9s %s\n", k, v[k] }' | sort | tee -a "$REPORT"

section "worker pipeline overhead (processor.Pipeline, acknowledging in-memory sinks, one core)"
pin 1 "$D/benchtool" pipeline -contracts "$CONTRACTS" -shards 1,8,64 -seed "$SEED" -bad "$BAD" | tee -a "$REPORT"
say
say "64 shards in a process of their own (peak RSS of the whole process, from getrusage), default GC and with"
say "GOMEMLIMIT=120MiB (the runtime's soft memory limit), and GOGC=400 with the same limit:"
PT=$D/pipeline-rss.tsv
: >"$PT"
i=0
for env in "GOGC=100" "GOMEMLIMIT=120MiB" "GOGC=400 GOMEMLIMIT=120MiB"; do
	i=$((i + 1))
	(
		export $env
		pin 1 "$D/benchtool" time -label "$env" -rep "$i" -events 64000 -o "$PT" -stdout "$D/pipeline64.$i.txt" -- \
			"$D/benchtool" pipeline -contracts "$CONTRACTS" -shards 64 -seed "$SEED" -bad "$BAD"
	)
	printf '  %-28s %s, peak RSS %.1f MiB\n' "$env" \
		"$(awk '$1 == 64 { printf "%s events/s per core (CPU), %s allocs/event", $3, $6 }' "$D/pipeline64.$i.txt")" \
		"$(awk -F'\t' -v r="$i" '$3 == r { print $8 / 1048576 }' "$PT")" | tee -a "$REPORT"
done

section "end to end on the local emulators"
if [[ "$E2E" == 1 ]]; then
	for shards in 1 4; do
		say "-- $shards shard(s)"
		MESHGATE_E2E_SHARDS=$shards MESHGATE_E2E_THROUGHPUT=${BENCH_E2E_EVENTS:-20000} \
			go test -count=1 -run 'TestThroughput$' -v ./e2e/ 2>&1 | grep -E 'records/s|^(ok|FAIL|---)' | tee -a "$REPORT"
	done
else
	say "skipped (BENCH_E2E=1 to run; needs make install-local)"
fi

say
say "report: $REPORT"
