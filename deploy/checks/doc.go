// Package checks holds the deploy/ checks that need third-party API types: the Helm chart's
// rendered manifests decoded strictly into the Kubernetes API types (k8s.io/api, and the
// Prometheus Operator's ServiceMonitor and PrometheusRule, whose rule groups must equal
// deploy/prometheus's alert files), and the Terraform module parsed with
// github.com/hashicorp/hcl/v2. It is its own Go module so these dependencies stay out of the
// product's go.mod.
//
// The tests need helm (HELM, or .cache/bin/helm built by deploy/ci-deploy-checks.sh, or PATH).
// Without it they skip, and fail when CI=true.
package checks
