// Package prometheus holds meshgate's Prometheus alerting rules (alerts.yaml), the ODCS
// threshold alerts generated from the example contracts (odcs-alerts.yaml, `make generate`)
// and their promtool unit tests (alerts_test.yaml, odcs-alerts_test.yaml); the Go tests here
// run promtool on them, check that every alert is covered both firing and not firing, and that
// odcs-alerts.yaml is what `meshgate odcs alerts` writes now. The real-Prometheus check of the
// dashboard lives in check-dashboard.sh and the promcheck package.
package prometheus

import _ "embed"

// Alerts is the content of alerts.yaml.
//
//go:embed alerts.yaml
var Alerts []byte
