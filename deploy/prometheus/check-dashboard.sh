#!/usr/bin/env bash
# check-dashboard.sh — prove meshgate's Grafana dashboard and alert rules against a real
# Prometheus (Debian package `prometheus`, which also brings promtool).
#
#   deploy/prometheus/check-dashboard.sh --fake            simulated worker metrics (no AWS emulators)
#   deploy/prometheus/check-dashboard.sh --target HOST:PORT an already running worker's admin listener
#   deploy/prometheus/check-dashboard.sh --worker          end-to-end: emulators, `meshgate run`, generated traffic
#
# --worker runs the Go test TestDashboardAgainstRealWorker (deploy/prometheus/worker_e2e_test.go):
# it starts the emulators on free ports (internal/testenv, so it never collides with a running
# `deploy/local/stack.sh up`), the real worker binary on the example contracts and Prometheus,
# puts generated events with bad and hostile ones on the raw streams, and then checks as below.
#
# What it does (--fake and --target here; --worker the same steps in Go):
#   1. starts the real prometheus binary on 127.0.0.1 (free port, temp storage, 1 s scrape
#      interval) scraping the target's /metrics and loading deploy/prometheus/alerts.yaml and
#      the generated odcs-alerts.yaml;
#   2. waits until records flow (sum(rate(meshgate_records_in_total[1m])) > 0);
#   3. runs `promtool check metrics` on the target's /metrics output (must be clean);
#   4. resolves the dashboard's template variables from Prometheus (label_values, as Grafana
#      does), substitutes $__rate_interval etc., and runs EVERY panel query through
#      /api/v1/query: a query that errors fails; a query without series fails unless it is
#      on the commented allow-list in promcheck/allow.go (only --target uses it);
#   5. checks that every alert rule loaded and evaluates without error on the real data.
#
# Queries run first with every variable at "All", then once per domain Prometheus knows.
# Options: --domain NAME (only that domain, one pass), --keep (keep the temp
# dir with prometheus.yml, logs and TSDB), --timeout SECONDS for waits (default 120).
# Environment: PROMETHEUS, PROMTOOL (binaries; default from PATH), GO (default go).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
mode=""
target=""
domain=""
keep=0
timeout=120

log() { printf 'check-dashboard: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

while [[ $# -gt 0 ]]; do
	case "$1" in
	--fake) mode=fake ;;
	--worker) mode=worker ;;
	--target) mode=target; target="${2:?--target needs HOST:PORT}"; shift ;;
	--domain) domain="${2:?--domain needs a name}"; shift ;;
	--keep) keep=1 ;;
	--timeout) timeout="${2:?--timeout needs seconds}"; shift ;;
	-h | --help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"; exit 0 ;;
	*) die "unknown argument $1 (see --help)" ;;
	esac
	shift
done
[[ -n "$mode" ]] || die "choose --fake, --worker or --target HOST:PORT (see --help)"

if [[ "$mode" == worker ]]; then
	[[ -z "$domain" ]] || die "--domain is not supported with --worker (it checks every domain)"
	cd "$root"
	exec "${GO:-go}" test -count=1 -timeout 10m -run '^TestDashboardAgainstRealWorker$' -v ./deploy/prometheus/
fi

prometheus="${PROMETHEUS:-$(command -v prometheus || true)}"
promtool="${PROMTOOL:-$(command -v promtool || true)}"
go="${GO:-go}"
[[ -x "$prometheus" && -x "$promtool" ]] ||
	die "prometheus/promtool not found: apt-get update && apt-get install -y prometheus"

work="$(mktemp -d "${TMPDIR:-/tmp}/meshgate-promcheck.XXXXXX")"
pids=()
cleanup() {
	local rc=$?
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
	done
	for pid in "${pids[@]}"; do
		wait "$pid" 2>/dev/null || true
	done
	if [[ $rc -ne 0 ]]; then
		for f in "$work"/*.log; do
			[[ -s "$f" ]] || continue
			log "---- last lines of $(basename "$f")"
			tail -n 20 "$f" >&2 || true
		done
	fi
	if [[ $keep -eq 1 ]]; then
		log "kept $work"
	else
		rm -rf "$work"
	fi
	exit $rc
}
trap cleanup EXIT

log "building dashcheck"
(cd "$root" && "$go" build -o "$work/dashcheck" ./deploy/prometheus/dashcheck)
dashcheck="$work/dashcheck"

# wait_for_file waits until a file is non-empty.
wait_for_file() {
	local i
	for ((i = 0; i < timeout * 10; i++)); do
		[[ -s "$1" ]] && return 0
		sleep 0.1
	done
	return 1
}

case "$mode" in
fake)
	"$dashcheck" fake -listen 127.0.0.1:0 >"$work/fake.addr" 2>"$work/fake.log" &
	pids+=($!)
	wait_for_file "$work/fake.addr" || die "simulated exporter did not start"
	target="$(head -n1 "$work/fake.addr")"
	;;
target) ;;
esac
log "target: http://$target/metrics"

port="$("$dashcheck" freeport)"
prom="http://127.0.0.1:$port"
cat >"$work/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - $root/deploy/prometheus/alerts.yaml
  - $root/deploy/prometheus/odcs-alerts.yaml
scrape_configs:
  - job_name: meshgate
    static_configs:
      - targets: ['$target']
YAML
log "starting $("$prometheus" --version 2>&1 | sed -n 1p) on $prom"
"$prometheus" --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/data" \
	--web.listen-address="127.0.0.1:$port" --log.level=warn >"$work/prometheus.log" 2>&1 &
pids+=($!)

"$dashcheck" wait -prometheus "$prom" -timeout "${timeout}s" -query 'up{job="meshgate"}' >/dev/null ||
	die "Prometheus did not scrape $target"
"$dashcheck" wait -prometheus "$prom" -timeout "${timeout}s" \
	-query 'sum(rate(meshgate_records_in_total{job="meshgate"}[1m]))' >/dev/null ||
	die "no records flowing through $target"
# A few more scrapes so that every rate() window has enough samples.
sleep 5

log "promtool check metrics on http://$target/metrics"
"$dashcheck" get "http://$target/metrics" >"$work/metrics.txt"
if ! lint="$("$promtool" check metrics <"$work/metrics.txt" 2>&1)" || [[ -n "$lint" ]]; then
	die "promtool check metrics: $lint"
fi

log "running every dashboard query through $prom/api/v1/query"
args=(check -prometheus "$prom" -dashboard "$root/deploy/grafana/meshgate-dashboard.json")
[[ -n "$domain" ]] && args+=(-var "domain=$domain")
[[ "$mode" == target ]] || args+=(-strict)
"$dashcheck" "${args[@]}"

log "alert rules loaded and evaluating"
"$dashcheck" rules -prometheus "$prom" -min "$(cat "$root"/deploy/prometheus/{alerts,odcs-alerts}.yaml | grep -c '^ *- alert:')"
log "OK"
