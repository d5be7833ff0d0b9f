// Package grafana holds meshgate's Grafana dashboard (meshgate-dashboard.json), importable
// into Grafana as is: the data source is a template variable, so neither import nor file
// provisioning needs an input mapping. The Go tests here check its structure and that every
// query uses only metrics meshgate exports; deploy/prometheus/check-dashboard.sh runs every
// query against a real Prometheus.
package grafana

import _ "embed"

// Dashboard is the content of meshgate-dashboard.json.
//
//go:embed meshgate-dashboard.json
var Dashboard []byte
