// Package metrics defines every Prometheus metric meshgate exports, registered on an
// injected prometheus.Registerer so tests use a fresh registry. The table of names,
// types, labels and meaning lives in docs/metrics.md; keep both in step.
//
// Label values are bounded: domain, version and rule come from contracts, stream and
// shard from the Kinesis topology, sink and reason from fixed sets in the code. No label
// value is ever taken from event data.
package metrics

import "github.com/prometheus/client_golang/prometheus"

// Metrics holds meshgate's collectors. A nil *Metrics is not allowed; use New.
type Metrics struct {
	// Records.
	RecordsIn          *prometheus.CounterVec // stream, domain
	RecordsPassed      *prometheus.CounterVec // domain, version
	RecordsWarned      *prometheus.CounterVec // domain, version
	RecordsQuarantined *prometheus.CounterVec // domain, version, reason
	RuleFailures       *prometheus.CounterVec // domain, rule, severity
	DecodeFailures     *prometheus.CounterVec // domain, reason

	// Sinks: sink is "kinesis" or "s3".
	SinkRequests      *prometheus.CounterVec   // sink, result (ok|error)
	SinkFailedEntries *prometheus.CounterVec   // sink
	SinkRetries       *prometheus.CounterVec   // sink
	SinkDuration      *prometheus.HistogramVec // sink

	// Pipeline and KCL.
	BatchDuration         *prometheus.HistogramVec // stream
	CheckpointLastSuccess *prometheus.GaugeVec     // stream, shard: unix seconds of last successful checkpoint
	Checkpoints           *prometheus.CounterVec   // stream, result (ok|error)
	LeasesHeld            *prometheus.GaugeVec     // stream, worker
	MillisBehindLatest    *prometheus.GaugeVec     // stream, shard

	// Contracts.
	ContractsLoaded       prometheus.Gauge
	ContractInfo          *prometheus.GaugeVec   // domain, version, hash, stage
	ReloadSuccessful      prometheus.Gauge       // 1 if the last reload succeeded
	ReloadLastSuccessTime prometheus.Gauge       // unix seconds
	Reloads               *prometheus.CounterVec // result (ok|error)
	ShadowDivergences     *prometheus.CounterVec // domain, rule, direction (would_quarantine|would_pass)
}

// New creates the collectors and registers them on reg.
func New(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		RecordsIn: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_records_in_total", Help: "Source records received, per source stream and domain.",
		}, []string{"stream", "domain"}),
		RecordsPassed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_records_passed_total", Help: "Events that passed every rule and were routed to the curated stream.",
		}, []string{"domain", "version"}),
		RecordsWarned: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_records_warned_total", Help: "Events routed to the curated stream with at least one warn-severity rule failure.",
		}, []string{"domain", "version"}),
		RecordsQuarantined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_records_quarantined_total", Help: "Records written to quarantine, by reason (rules, decode, too_large, no_contract).",
		}, []string{"domain", "version", "reason"}),
		RuleFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_rule_failures_total", Help: "Failed rule evaluations per domain, rule and severity.",
		}, []string{"domain", "rule", "severity"}),
		DecodeFailures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_decode_failures_total", Help: "Records that could not be decoded, by reason.",
		}, []string{"domain", "reason"}),
		SinkRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_sink_requests_total", Help: "Calls to a sink (kinesis PutRecords, s3 PutObject) by result.",
		}, []string{"sink", "result"}),
		SinkFailedEntries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_sink_failed_entries_total", Help: "Entries a sink rejected (and that were retried).",
		}, []string{"sink"}),
		SinkRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_sink_retries_total", Help: "Sink call retries after a retryable failure.",
		}, []string{"sink"}),
		SinkDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "meshgate_sink_request_duration_seconds", Help: "Latency of one sink call.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"sink"}),
		BatchDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "meshgate_batch_duration_seconds", Help: "Time to judge and route one KCL batch until both sinks acknowledged it.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 15),
		}, []string{"stream"}),
		CheckpointLastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshgate_checkpoint_last_success_timestamp_seconds", Help: "Unix time of the last successful checkpoint per shard.",
		}, []string{"stream", "shard"}),
		Checkpoints: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_checkpoints_total", Help: "Checkpoint writes by result.",
		}, []string{"stream", "result"}),
		LeasesHeld: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshgate_leases_held", Help: "Shard leases this worker holds.",
		}, []string{"stream", "worker"}),
		MillisBehindLatest: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshgate_millis_behind_latest", Help: "MillisBehindLatest of the last GetRecords per shard (iterator age).",
		}, []string{"stream", "shard"}),
		ContractsLoaded: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshgate_contracts_loaded", Help: "Contracts (domains and policies) in the active set.",
		}),
		ContractInfo: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshgate_contract_info", Help: "Loaded contract versions: 1 per domain, version, content hash and stage.",
		}, []string{"domain", "version", "hash", "stage"}),
		ReloadSuccessful: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshgate_contracts_last_reload_successful", Help: "1 if the last contract (re)load succeeded, 0 otherwise.",
		}),
		ReloadLastSuccessTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "meshgate_contracts_last_reload_success_timestamp_seconds", Help: "Unix time of the last successful contract load.",
		}),
		Reloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_contract_reloads_total", Help: "Contract reload attempts by result.",
		}, []string{"result"}),
		ShadowDivergences: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_shadow_divergences_total", Help: "Events a shadow contract judged differently from the active one.",
		}, []string{"domain", "rule", "direction"}),
	}
	reg.MustRegister(m.RecordsIn, m.RecordsPassed, m.RecordsWarned, m.RecordsQuarantined, m.RuleFailures,
		m.DecodeFailures, m.SinkRequests, m.SinkFailedEntries, m.SinkRetries, m.SinkDuration,
		m.BatchDuration, m.CheckpointLastSuccess, m.Checkpoints, m.LeasesHeld, m.MillisBehindLatest,
		m.ContractsLoaded, m.ContractInfo, m.ReloadSuccessful, m.ReloadLastSuccessTime, m.Reloads,
		m.ShadowDivergences)
	return m
}
