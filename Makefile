# meshgate — developer and CI entry points.
#
#   make test           every test suite (what .ci/run runs; the README's test command)
#   make build          bin/meshgate, version from `git describe`
#   make install-local  pinned local emulators (deploy/local/install.sh)
#   make stack-up       local Kinesis/DynamoDB/S3 emulators with the demo streams and bucket
#   make stack-down     stop them
#   make demo           the whole loop on the local stack, with a summary (deploy/local/demo.sh)
#   make e2e            end-to-end tests of the real binary on the emulators
#
# Layout: settings, then one section per concern. A new suite gets its own target in the
# "Test suites" section and is added to TEST_SUITES there; `make test` runs TEST_SUITES in order.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test
MAKEFLAGS += --no-print-directory

# ---- settings ------------------------------------------------------------------------------------

# Go lives at /usr/local/go on our machines; use it when it is not on PATH.
ifeq ($(shell command -v go 2>/dev/null),)
export PATH := /usr/local/go/bin:$(PATH)
endif
GO ?= go

# Two cores are shared by everything on a CI machine: build/test at most two packages at once.
GOFLAGS ?= -p=2
export GOFLAGS

# Per test binary. The emulator-backed packages take tens of seconds on a busy 2-core machine.
GO_TEST_TIMEOUT ?= 20m
GO_TEST_FLAGS ?=
GO_PKGS ?= ./...

VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)

# Finds the Go files we own (not emulator code under node_modules, build output, caches, testdata).
FIND_GO_FILES := find . -name '*.go' -not -path './deploy/local/node_modules/*' \
	-not -path './.cache/*' -not -path './bin/*' -not -path '*/testdata/*'

# ---- build ---------------------------------------------------------------------------------------

.PHONY: build
build:
	$(GO) build -ldflags '$(LDFLAGS)' -o bin/meshgate ./cmd/meshgate

# ---- test suites ---------------------------------------------------------------------------------
# `make test` runs every suite in TEST_SUITES, in order; a failing suite does not stop the others
# (CI then shows every failure of a run, not only the first), and the run fails at the end.
# To add one: define `test-<name>` below (self-contained: it installs or checks what it needs) and
# append it, e.g.
#   TEST_SUITES += test-fuzz-smoke      # short `go test -fuzz` runs of the decoders and loaders
#   TEST_SUITES += test-promtool        # promtool check rules / test rules on deploy/prometheus
#   TEST_SUITES += test-helm            # helm lint/template of deploy/helm
#   TEST_SUITES += test-reliability     # the reliability scenarios (make reliability)

TEST_SUITES := lint-go test-go

# Each suite prints its own timing so a slow one is visible in CI's log.
.PHONY: test
test:
	@failed=""; for suite in $(TEST_SUITES); do \
		start=$$SECONDS; echo "== suite $$suite"; \
		if $(MAKE) $$suite; then echo "== suite $$suite ... ($$((SECONDS - start))s)"; \
		else echo "== suite $$suite FAILED ($$((SECONDS - start))s)"; failed="$$failed $$suite"; fi; \
	done; \
	if [ -n "$$failed" ]; then echo "== failed suites:$$failed"; exit 1; fi

# gofmt (fails listing the files that need formatting), go vet, and go.mod/go.sum tidy in each module.
.PHONY: lint-go
lint-go:
	@unformatted="$$($(FIND_GO_FILES) -exec gofmt -l {} +)"; \
	if [[ -n "$$unformatted" ]]; then \
		echo "gofmt: these files need formatting (run gofmt -w):" >&2; echo "$$unformatted" >&2; exit 1; \
	fi
	$(GO) vet $(GO_PKGS)
	@for m in . deploy/checks benchmarks/peer; do \
		(cd $$m && $(GO) mod tidy -diff) || { echo "go.mod/go.sum of $$m are not tidy: run go mod tidy there" >&2; exit 1; }; \
	done

# All Go tests. Emulator-backed tests need the pinned emulators (install-local); each test package
# starts its own emulators on free ports (internal/testenv), so packages run in parallel safely.
.PHONY: test-go
test-go: install-local
	$(GO) test -timeout $(GO_TEST_TIMEOUT) $(GO_TEST_FLAGS) $(GO_PKGS)

# Short coverage-guided fuzz runs of the decoders and loaders (seeded from real contracts and
# events). Each target has an execution budget (`-fuzztime Nx`), sized to a few seconds here:
# a wall-clock -fuzztime races Go's fuzz coordinator at its deadline and fails with a bare
# "context deadline exceeded" and no crasher (golang/go#75804, fixed only in Go 1.27; it failed
# our CI on schema:FuzzFormsSound). A count budget has no deadline to race. For a long local run
# pass a duration, e.g. `make test-fuzz FUZZTIME=5m`; it then overrides every budget.
# -fuzzminimizetime 0: the fuzzer otherwise stops to minimise every new interesting input (tens of
# seconds for YAML documents). Crashers are still written to testdata/fuzz, unminimised.
TEST_SUITES += test-fuzz
FUZZTIME ?=
FUZZ_TARGETS := jsonx:FuzzDecode:200000 jsonx:FuzzApply:200000 rules:FuzzLoad:5000 \
	rules:FuzzJudge:100000 config:FuzzParse:150000 odcs:FuzzDecode:40000 schema:FuzzFormsSound:60000

.PHONY: test-fuzz
test-fuzz:
	@for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; fn=$${rest%%:*}; budget=$${rest##*:}x; \
		[ -n "$(FUZZTIME)" ] && budget=$(FUZZTIME); \
		s=$$(date +%s); \
		$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $$budget -fuzzminimizetime 0 ./$$pkg/ >/tmp/meshgate-fuzz.log 2>&1 \
			|| { cat /tmp/meshgate-fuzz.log; exit 1; }; \
		echo "fuzz ./$$pkg $$fn ($$budget): ok in $$(( $$(date +%s) - s ))s"; \
	done

# ---- local stack (deploy/local) ------------------------------------------------------------------

.PHONY: install-local stack-up stack-down stack-status
install-local:
	deploy/local/install.sh

stack-up:
	deploy/local/stack.sh up

stack-down:
	deploy/local/stack.sh down

stack-status:
	deploy/local/stack.sh status

# ---- demo ----------------------------------------------------------------------------------------
# `make demo`: stack up, a worker on the example contracts, generated events with bad and hostile
# ones put into the raw streams, a summary read back from the curated streams and the quarantine
# bucket, graceful worker stop, stack down (deploy/local/demo.sh).
# `make e2e`: the end-to-end tests (real binary on the emulators); `make test` runs them too.

.PHONY: demo e2e
demo:
	deploy/local/demo.sh

e2e: install-local
	$(GO) test -count=1 -timeout $(GO_TEST_TIMEOUT) $(GO_TEST_FLAGS) ./e2e/ ./reload/

# ---- Prometheus alerts and Grafana dashboard (deploy/prometheus, deploy/grafana) ----------------
# test-promtool (alias promtool-test): promtool check/test rules on the hand-written alert rules
# (alerts.yaml) and on the committed ODCS threshold alerts generated from examples/contracts
# (odcs-alerts.yaml), then the real-Prometheus check of every dashboard query against simulated
# worker metrics (no emulators).
# dashboard-check: the same check, strict, against the real `meshgate run` during an end-to-end run on
# the local emulators (TestDashboardAgainstRealWorker; `make test` runs it too, inside test-go).
TEST_SUITES += test-promtool

.PHONY: test-promtool promtool-test dashboard-check
test-promtool promtool-test:
	@command -v promtool >/dev/null || { echo "promtool missing: apt-get install prometheus" >&2; exit 1; }
	promtool check rules deploy/prometheus/alerts.yaml deploy/prometheus/odcs-alerts.yaml
	promtool test rules deploy/prometheus/alerts_test.yaml deploy/prometheus/odcs-alerts_test.yaml
	deploy/prometheus/check-dashboard.sh --fake

dashboard-check: install-local
	deploy/prometheus/check-dashboard.sh --worker

# generate: rewrite the committed files derived from others; `go test` fails while one is stale
# and names this target. deploy/prometheus/odcs-alerts.yaml is `meshgate odcs alerts --contracts
# examples/contracts` (after a change to examples/contracts or odcs/alerts.go); the chart's
# files/alerts.yaml is a copy of deploy/prometheus/alerts.yaml (helm reads files inside the chart).
.PHONY: generate
generate:
	$(GO) test -count=1 -run '^TestODCSAlertsFileUpToDate$$' ./deploy/prometheus -update
	$(GO) test -count=1 -run '^TestChartAlertsUpToDate$$' ./deploy/helm -update

# ---- deploy: image, Helm, ECS, IAM, Terraform (deploy/, see deploy/README.md) ---------------------
# image:       static binary + buildah image (FROM scratch) + smoke test inside it; OCI archive in bin/
# test-deploy: deploy/ci-deploy-checks.sh (helm built from its Go module into .cache/bin if missing,
#              image, helm lint/template, the deploy/checks module, the deploy Go packages)
TEST_SUITES += test-deploy

.PHONY: image test-deploy
image:
	deploy/docker/build-image.sh $(VERSION)

test-deploy: install-local
	VERSION=$(VERSION) deploy/ci-deploy-checks.sh all

# ---- benchmarks (benchmarks/, see benchmarks/README.md) -------------------------------------------
# bench:       meshgate check vs the Benthos peer vs the hand-written-Go ceiling (same verdicts
#              required), the engine vs the naive way, the worker pipeline at 1/8/64 shards; writes
#              benchmarks/out/report.txt. A few minutes; not part of `make test`.
# bench-build: CI's guard against rot: builds and vets the peer (its own module, benchmarks/peer),
#              runs its agreement test, and runs every Go benchmark once (-benchtime=1x).
.PHONY: bench bench-build
bench:
	benchmarks/run.sh

bench-build:
	cd benchmarks/peer && $(GO) build -o /dev/null . && $(GO) vet . && $(GO) test -count=1 .
	$(GO) test -run '^$$' -bench . -benchtime=1x ./benchmarks/

# ---- reliability (reliability/, see its package doc) ----------------------------------------------
# `make reliability` (test-reliability in `make test`): the fault-injection scenarios — kill -9,
# SIGTERM, sink faults through our fault proxy, poison records, a 3-worker fleet, resharding,
# contract runtime errors, dependencies down at start — each with the real worker binary on its own
# emulators, all in parallel, each ending with a ledger audit; then the one-page report table.
# A plain `go test ./...` skips the scenarios (they need MESHGATE_RELIABILITY=1).
TEST_SUITES += test-reliability
RELIABILITY_REPORT ?= $(CURDIR)/bin/reliability-report.txt

.PHONY: reliability test-reliability
reliability test-reliability: install-local
	@mkdir -p $(dir $(RELIABILITY_REPORT)) && rm -f $(RELIABILITY_REPORT)
	MESHGATE_RELIABILITY=1 MESHGATE_RELIABILITY_REPORT=$(RELIABILITY_REPORT) \
		$(GO) test -count=1 -timeout 15m -parallel 12 $(GO_TEST_FLAGS) ./reliability/
	@echo; echo "reliability report ($(RELIABILITY_REPORT))"; echo; cat $(RELIABILITY_REPORT)
