#!/usr/bin/env bash
# Installs meshgate's pinned local emulators and builds the S3 emulator.
#
#   kinesalite 3.3.3, dynalite 4.0.0  -> deploy/local/node_modules   (npm ci from package-lock.json)
#   s3emu (gofakes3, in-memory)       -> deploy/local/.run/bin/s3emu  (go build)
#
# Idempotent: when node_modules already matches package-lock.json and the Node.js version, npm is not
# run again; the Go build is a cache hit. Needs node, npm and go (PATH or /usr/local/go/bin); only
# the npm registry and the Go module proxy are contacted.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"

log() { printf 'install.sh: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

command -v node >/dev/null 2>&1 || die "node is not installed (Node.js >= 18 is needed for the emulators)"
command -v npm >/dev/null 2>&1 || die "npm is not installed"
if ! command -v go >/dev/null 2>&1; then
	if [[ -x /usr/local/go/bin/go ]]; then
		PATH="/usr/local/go/bin:$PATH"
	else
		die "go is not installed (expected on PATH or at /usr/local/go/bin/go)"
	fi
fi

node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 18)) || die "Node.js $(node --version) is too old; dynalite 4 needs >= 18"

# --- npm emulators -------------------------------------------------------------------------------
# The stamp records what node_modules was installed from; any change re-runs `npm ci`.
stamp_file="node_modules/.meshgate-install-stamp"
want_stamp="$(sha256sum package-lock.json | cut -d' ' -f1) node-$(node --version)"
have_stamp="$(cat "$stamp_file" 2>/dev/null || true)"

versions_ok() {
	node -e '
		const want = {kinesalite: "3.3.3", dynalite: "4.0.0"}
		for (const [name, version] of Object.entries(want)) {
			const got = require("./node_modules/" + name + "/package.json").version
			if (got !== version) { console.error(name + " is " + got + ", want " + version); process.exit(1) }
			require(name) // loads native deps too (prebuilt leveldown/classic-level)
		}' 2>/dev/null
}

if [[ "$have_stamp" == "$want_stamp" ]] && versions_ok; then
	log "emulators up to date (kinesalite 3.3.3, dynalite 4.0.0)"
else
	log "npm ci (kinesalite 3.3.3, dynalite 4.0.0)"
	npm ci --no-audit --no-fund --loglevel=error >&2
	versions_ok || die "emulators did not install correctly (see: cd $here && node -e 'require(\"kinesalite\")')"
	printf '%s\n' "$want_stamp" >"$stamp_file"
fi

# --- S3 emulator ---------------------------------------------------------------------------------
mkdir -p .run/bin
log "go build s3emu"
(cd "$here/../.." && go build -o "$here/.run/bin/s3emu" ./deploy/local/s3emu)

log "ok: $here/node_modules, $here/.run/bin/s3emu"
