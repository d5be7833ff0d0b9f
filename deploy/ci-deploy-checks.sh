#!/usr/bin/env bash
# CI checks of everything under deploy/ that ships to users: the container image, the Helm chart,
# the ECS definitions, the IAM policy and the Terraform module. Each is checked by a real tool:
# buildah, helm, the AWS CLI v2, hcl/v2, and the worker itself for the IAM proof.
#
#   deploy/ci-deploy-checks.sh [tools|image|helm|go|all]     (default: all)
#
#   tools  build helm (pinned, from its Go module) into .cache/bin if missing; check buildah and
#          the AWS CLI v2 are installed (Debian: apt-get install buildah awscli)
#   image  deploy/docker/build-image.sh: static binary, buildah image, smoke test inside it
#   helm   helm lint --strict and helm template for every deploy/helm/meshgate/ci/*-values.yaml
#          (with the example contracts, unless the file sets contracts.s3Uri, and
#          deploy/prometheus/odcs-alerts.yaml as rule file)
#   go     the deploy/checks module (strict k8s decoding, Terraform/hcl checks) and the product
#          module's deploy packages (ECS with the AWS CLI, chart config/contracts loading, IAM
#          least-privilege proof against the emulators, the health subcommand)
#
# `make test-deploy` runs `all`; .ci/run runs `tools` in its own stage first.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"
export PATH="/usr/local/go/bin:$PATH"

HELM_VERSION=v3.22.0
HELM=${HELM:-$root/.cache/bin/helm}
export HELM

step() { echo "== deploy: $*"; }

tools() {
	if [[ ! -x "$HELM" ]] || ! go version -m "$HELM" 2>/dev/null | grep -q "mod[[:space:]]*helm.sh/helm/v3[[:space:]]*$HELM_VERSION"; then
		step "building helm $HELM_VERSION from its Go module (about two minutes cold)"
		mkdir -p "$(dirname "$HELM")"
		GOBIN="$(dirname "$HELM")" go install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION"
	fi
	step "helm $(go version -m "$HELM" | awk '$1 == "mod" && $2 == "helm.sh/helm/v3" {print $3}') at $HELM"
	command -v buildah >/dev/null || { echo "buildah missing: apt-get install buildah" >&2; exit 1; }
	step "$(buildah --version)"
	[[ -x /usr/bin/aws ]] || { echo "AWS CLI v2 missing at /usr/bin/aws: apt-get install awscli" >&2; exit 1; }
	step "$(/usr/bin/aws --version)"
}

image() {
	step "container image (buildah)"
	deploy/docker/build-image.sh "${VERSION:-$(git describe --always --dirty 2>/dev/null || echo dev)}"
}

helm_checks() {
	local chart=deploy/helm/meshgate v contracts
	for v in "$chart"/ci/*-values.yaml; do
		step "helm lint --strict -f $v"
		"$HELM" lint --strict --kube-version 1.30.0 -f "$v" "$chart"
		step "helm template -f $v"
		# The example contracts go in as contracts.files, except where the values read them
		# from S3 (contracts.s3Uri): the chart refuses both at once.
		contracts=$(deploy/helm/contracts-args.sh examples/contracts)
		if grep -Eq '^[[:space:]]+s3Uri:[[:space:]]*[^[:space:]"]' "$v"; then
			contracts=
		fi
		# shellcheck disable=SC2086 # one argument per line from contracts-args.sh
		# The ODCS threshold alerts go into the PrometheusRule (when a values file enables it) the
		# way a contracts repository's CI passes its own `meshgate odcs alerts` output.
		"$HELM" template mg "$chart" --namespace data --kube-version 1.30.0 -f "$v" \
			--set-file metrics.prometheusRule.ruleFiles.odcs=deploy/prometheus/odcs-alerts.yaml \
			$contracts >/dev/null
	done
}

go_checks() {
	step "deploy/checks module: gofmt, vet, tests (strict k8s decoding, PrometheusRule = alert files, Terraform via hcl/v2)"
	local unformatted
	unformatted=$(gofmt -l deploy/checks)
	[[ -z "$unformatted" ]] || { echo "gofmt needed: $unformatted" >&2; exit 1; }
	(cd deploy/checks && go vet ./... && go test -timeout 10m ./...)
	step "product deploy packages: ECS (AWS CLI), chart config/contracts, IAM proof, health"
	go test -timeout 10m ./deploy/iam/... ./deploy/ecs ./deploy/helm
	go test -run 'TestHealth' ./cmd/meshgate
}

case "${1:-all}" in
tools) tools ;;
image) image ;;
helm) tools && helm_checks ;;
go) tools && go_checks ;;
all) tools && image && helm_checks && go_checks ;;
*)
	echo "usage: $0 [tools|image|helm|go|all]" >&2
	exit 2
	;;
esac
