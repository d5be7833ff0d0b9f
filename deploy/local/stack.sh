#!/usr/bin/env bash
# meshgate's local AWS stack: kinesalite (Kinesis), dynalite (DynamoDB) and s3emu (S3) on 127.0.0.1.
#
#   deploy/local/stack.sh up       install if needed, start all three, create the demo resources
#   deploy/local/stack.sh down     stop everything this script started
#   deploy/local/stack.sh status   show what runs where (exit 1 if something is not running)
#   deploy/local/stack.sh env      print export lines for a shell: eval "$(deploy/local/stack.sh env)"
#
# Ports (override with the environment): MESHGATE_LOCAL_KINESIS_PORT (4567),
# MESHGATE_LOCAL_DYNAMODB_PORT (4568), MESHGATE_LOCAL_S3_PORT (4569).
# Pid files and logs live in deploy/local/.run/ (MESHGATE_LOCAL_RUN_DIR). All data is in memory:
# `down` forgets it.
# Resources are created with the AWS CLI v2 at /usr/bin/aws (Debian package awscli), which `up`
# installs with apt-get when it is missing and we are root.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
run_dir="${MESHGATE_LOCAL_RUN_DIR:-$here/.run}" # pid files, logs, CLI config
s3emu="$here/.run/bin/s3emu"                     # built by install.sh

kinesis_port="${MESHGATE_LOCAL_KINESIS_PORT:-4567}"
dynamodb_port="${MESHGATE_LOCAL_DYNAMODB_PORT:-4568}"
s3_port="${MESHGATE_LOCAL_S3_PORT:-4569}"
aws_cli="${MESHGATE_AWS_CLI:-/usr/bin/aws}"

# Demo resources: stream:shards, and the quarantine bucket.
streams=(orders-raw:2 customers-raw:1 payments-raw:1 orders-curated:1 customers-curated:1 payments-curated:1)
bucket="meshgate-quarantine"

services=(kinesis dynamodb s3)

log() { printf 'stack.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

port_of() {
	case "$1" in
	kinesis) echo "$kinesis_port" ;;
	dynamodb) echo "$dynamodb_port" ;;
	s3) echo "$s3_port" ;;
	esac
}

endpoint_of() { echo "http://127.0.0.1:$(port_of "$1")"; }

# pid_of prints the pid of a running service started by us, or fails.
pid_of() {
	local pid
	pid="$(cat "$run_dir/$1.pid" 2>/dev/null)" || return 1
	[[ "$pid" =~ ^[0-9]+$ ]] || return 1
	kill -0 "$pid" 2>/dev/null || return 1
	echo "$pid"
}

# port_open succeeds when something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# aws runs the real AWS CLI v2 against the emulators with dummy credentials and no user config.
aws() {
	env -u AWS_PROFILE -u AWS_DEFAULT_PROFILE -u AWS_SESSION_TOKEN \
		AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
		AWS_DEFAULT_REGION=us-east-1 AWS_REGION=us-east-1 AWS_PAGER='' \
		AWS_CONFIG_FILE="$run_dir/aws-config" AWS_SHARED_CREDENTIALS_FILE=/dev/null \
		AWS_EC2_METADATA_DISABLED=true \
		"$aws_cli" "$@"
}

ensure_aws_cli() {
	if [[ ! -x "$aws_cli" ]]; then
		if [[ "$aws_cli" == /usr/bin/aws && "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
			log "installing the AWS CLI v2 (Debian package awscli)"
			apt-get update -qq >&2
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq awscli >&2
		else
			die "$aws_cli is missing: install the AWS CLI v2 (Debian: apt-get install awscli)"
		fi
	fi
	local version
	version="$("$aws_cli" --version 2>&1)" || die "$aws_cli --version failed: $version"
	[[ "$version" == aws-cli/2.* ]] || die "$aws_cli is not the AWS CLI v2: $version"
	mkdir -p "$run_dir"
	# Path-style S3 addressing for the emulator; nothing else from the user's config is read.
	printf '[default]\nregion = us-east-1\noutput = json\ns3 =\n    addressing_style = path\n' >"$run_dir/aws-config"
}

start_service() {
	local name="$1" port pid logf
	port="$(port_of "$name")"
	logf="$run_dir/$name.log"
	if pid="$(pid_of "$name")"; then
		log "$name already running (pid $pid) on $(endpoint_of "$name")"
		return 0
	fi
	if port_open "$port"; then
		die "port $port (for $name) is in use by another process; set MESHGATE_LOCAL_${name^^}_PORT"
	fi
	: >"$logf"
	case "$name" in
	kinesis) nohup node "$here/kinesis.js" --port "$port" >>"$logf" 2>&1 </dev/null & ;;
	dynamodb) nohup node "$here/dynamodb.js" --port "$port" >>"$logf" 2>&1 </dev/null & ;;
	s3) nohup "$s3emu" --listen "127.0.0.1:$port" >>"$logf" 2>&1 </dev/null & ;;
	esac
	pid=$!
	echo "$pid" >"$run_dir/$name.pid"
	log "started $name (pid $pid), log $logf"
}

wait_ready() {
	local name="$1" port deadline
	port="$(port_of "$name")"
	deadline=$((SECONDS + 30))
	until grep -q "listening on" "$run_dir/$name.log" 2>/dev/null && port_open "$port"; do
		if ! pid_of "$name" >/dev/null; then
			cat "$run_dir/$name.log" >&2 || true
			die "$name exited during start-up (log above)"
		fi
		((SECONDS < deadline)) || die "$name did not answer on port $port within 30s (log: $run_dir/$name.log)"
		sleep 0.1
	done
}

# create_resources creates the demo streams and bucket that are missing. Each AWS CLI call costs
# about a second of Python start-up, so calls are few and independent ones run in parallel.
create_resources() {
	local kin s3 spec name existing out pids=() missing=()
	kin="$(endpoint_of kinesis)"
	s3="$(endpoint_of s3)"
	existing=" $(aws --endpoint-url "$kin" kinesis list-streams --query StreamNames --output text) "
	for spec in "${streams[@]}"; do
		name="${spec%%:*}"
		[[ "$existing" == *[[:space:]]"$name"[[:space:]]* ]] && continue
		missing+=("$name")
		aws --endpoint-url "$kin" kinesis create-stream --stream-name "$name" --shard-count "${spec##*:}" &
		pids+=($!)
	done
	if out="$(aws --endpoint-url "$s3" s3api create-bucket --bucket "$bucket" 2>&1)"; then
		log "created bucket $bucket"
	elif [[ "$out" != *BucketAlreadyOwnedByYou* && "$out" != *BucketAlreadyExists* ]]; then
		die "create bucket $bucket: $out"
	fi
	wait_all "${pids[@]}" || die "creating streams failed (output above)"
	pids=()
	for name in "${missing[@]}"; do
		aws --endpoint-url "$kin" kinesis wait stream-exists --stream-name "$name" &
		pids+=($!)
	done
	wait_all "${pids[@]}" || die "streams did not become ACTIVE (output above)"
	for spec in "${streams[@]}"; do
		[[ " ${missing[*]} " == *" ${spec%%:*} "* ]] && log "created stream ${spec%%:*} (${spec##*:} shards)"
	done
	# An answer through the real CLI proves dynalite serves requests (the other two answered above).
	aws --endpoint-url "$(endpoint_of dynamodb)" dynamodb list-tables >/dev/null
}

# wait_all waits for every pid and fails if any of them failed.
wait_all() {
	local pid rc=0
	for pid in "$@"; do
		wait "$pid" || rc=1
	done
	return "$rc"
}

cmd_up() {
	ensure_aws_cli
	"$here/install.sh"
	mkdir -p "$run_dir"
	local name
	for name in "${services[@]}"; do
		start_service "$name"
	done
	for name in "${services[@]}"; do
		wait_ready "$name"
	done
	create_resources
	log "up: kinesis $(endpoint_of kinesis), dynamodb $(endpoint_of dynamodb), s3 $(endpoint_of s3)"
	log "for a shell: eval \"\$($here/stack.sh env)\""
}

cmd_down() {
	local name pid i
	for name in "${services[@]}"; do
		if ! pid="$(pid_of "$name")"; then
			rm -f "$run_dir/$name.pid"
			continue
		fi
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		if kill -0 "$pid" 2>/dev/null; then
			log "$name (pid $pid) ignored SIGTERM for 5s; killing it"
			kill -KILL "$pid" 2>/dev/null || true
		fi
		rm -f "$run_dir/$name.pid"
		log "stopped $name (pid $pid)"
	done
}

cmd_status() {
	local name pid rc=0
	for name in "${services[@]}"; do
		if pid="$(pid_of "$name")" && port_open "$(port_of "$name")"; then
			printf '%-9s running  pid %-7s %s\n' "$name" "$pid" "$(endpoint_of "$name")"
		else
			printf '%-9s stopped\n' "$name"
			rc=1
		fi
	done
	return "$rc"
}

cmd_env() {
	cat <<EOF
export AWS_ACCESS_KEY_ID=test
export AWS_SECRET_ACCESS_KEY=test
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE
export AWS_REGION=us-east-1
export AWS_DEFAULT_REGION=us-east-1
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=$run_dir/aws-config
export MESHGATE_REGION=us-east-1
export MESHGATE_KINESIS_ENDPOINT=$(endpoint_of kinesis)
export MESHGATE_DYNAMODB_ENDPOINT=$(endpoint_of dynamodb)
export MESHGATE_S3_ENDPOINT=$(endpoint_of s3)
export AWS_ENDPOINT_URL_KINESIS=$(endpoint_of kinesis)
export AWS_ENDPOINT_URL_DYNAMODB=$(endpoint_of dynamodb)
export AWS_ENDPOINT_URL_S3=$(endpoint_of s3)
EOF
}

case "${1:-}" in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
*)
	echo "usage: $0 up|down|status|env" >&2
	exit 2
	;;
esac
