// Package prometheus holds meshgate's Prometheus alerting rules (alerts.yaml) and their
// promtool unit tests (alerts_test.yaml); the Go tests here run promtool on them and check
// that every alert is covered both firing and not firing. The real-Prometheus check of the
// dashboard lives in check-dashboard.sh and the promcheck package.
package prometheus

import _ "embed"

// Alerts is the content of alerts.yaml.
//
//go:embed alerts.yaml
var Alerts []byte
