package metrics

import (
	"errors"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Fixed label values. Sinks and results come from these sets only; New pre-creates the
// series for every combination so rate() queries and alerts see zeros instead of nothing.
const (
	ShadowWritten = "written" // shadow_samples_total: samples in an object S3 acknowledged
	ShadowFailed  = "failed"  // shadow_samples_total: samples dropped because the write failed

	SinkKinesis = "kinesis" // the curated-stream sink (PutRecords)
	SinkS3      = "s3"      // the quarantine sink (PutObject)

	ResultOK    = "ok"
	ResultError = "error"
)

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
	ShadowSamples         *prometheus.CounterVec // domain, result (written|failed)

	// Unique rules (keys remembered across events, per worker).
	UniqueKeys    *prometheus.GaugeVec   // domain, rule
	UniqueEvicted *prometheus.CounterVec // domain, rule
}

// New creates the collectors and registers them on reg, together with the Go runtime and
// process collectors (those two are skipped without error when reg already has them, as
// prometheus.DefaultRegisterer does). It panics if a meshgate metric is already registered
// on reg: one Metrics per registry.
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
			Name: "meshgate_records_quarantined_total", Help: "Records written to quarantine, by reason (rules, decode, too_large, no_contract, internal_error).",
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
		ShadowSamples: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_shadow_samples_total", Help: "Sampled shadow divergences written to the quarantine bucket for review (written) or lost to a failed write (failed).",
		}, []string{"domain", "result"}),
		UniqueKeys: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "meshgate_unique_keys", Help: "Keys a unique rule of an active contract remembers on this worker (within its window, at most maxKeys).",
		}, []string{"domain", "rule"}),
		UniqueEvicted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "meshgate_unique_keys_evicted_total", Help: "Keys a unique rule forgot before its window ended because maxKeys was reached.",
		}, []string{"domain", "rule"}),
	}
	reg.MustRegister(m.RecordsIn, m.RecordsPassed, m.RecordsWarned, m.RecordsQuarantined, m.RuleFailures,
		m.DecodeFailures, m.SinkRequests, m.SinkFailedEntries, m.SinkRetries, m.SinkDuration,
		m.BatchDuration, m.CheckpointLastSuccess, m.Checkpoints, m.LeasesHeld, m.MillisBehindLatest,
		m.ContractsLoaded, m.ContractInfo, m.ReloadSuccessful, m.ReloadLastSuccessTime, m.Reloads,
		m.ShadowDivergences, m.ShadowSamples, m.UniqueKeys, m.UniqueEvicted)
	for _, c := range []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := reg.Register(c); err != nil {
			var already prometheus.AlreadyRegisteredError
			if !errors.As(err, &already) {
				panic(err)
			}
		}
	}
	m.preinit()
	return m
}

// preinit creates the series whose label values are known up front, at zero.
func (m *Metrics) preinit() {
	for _, sink := range []string{SinkKinesis, SinkS3} {
		m.SinkRequests.WithLabelValues(sink, ResultOK)
		m.SinkRequests.WithLabelValues(sink, ResultError)
		m.SinkFailedEntries.WithLabelValues(sink)
		m.SinkRetries.WithLabelValues(sink)
		m.SinkDuration.WithLabelValues(sink)
	}
	m.Reloads.WithLabelValues(ResultOK)
	m.Reloads.WithLabelValues(ResultError)
}

// ContractInfo describes one loaded contract or policy for SetContracts. It is a plain
// value so this package does not depend on the rules package.
type ContractInfo struct {
	Domain  string // domain of a contract; the policy name for a policy
	Version string
	Hash    string // content hash of the compiled file
	Stage   string // "active", "shadow", or "policy" for a global policy
	Rules   []RuleInfo
}

// RuleInfo names one rule of a contract, so SetContracts can pre-create its failure series.
type RuleInfo struct {
	Name     string
	Severity string // "error" or "warn", as in the rule_failures_total severity label
}

// SetContracts replaces the contract info series with one per entry of set (value 1),
// sets contracts_loaded to len(set), and pre-creates rule_failures_total at zero for every
// rule listed, so that a rule's first failure is visible to rate() and increase() (a
// counter series born at 1 hides its first increment). Series of contracts that are no
// longer in set are removed; their rule_failures_total series are kept, because a counter
// must not go backwards while it is still being scraped.
func (m *Metrics) SetContracts(set []ContractInfo) {
	m.ContractInfo.Reset()
	for _, c := range set {
		m.ContractInfo.WithLabelValues(c.Domain, c.Version, c.Hash, c.Stage).Set(1)
		for _, r := range c.Rules {
			m.RuleFailures.WithLabelValues(c.Domain, r.Name, r.Severity)
		}
	}
	m.ContractsLoaded.Set(float64(len(set)))
}

// ReloadSucceeded records a successful contract (re)load at t, including the first load
// at startup, and publishes set as in SetContracts.
func (m *Metrics) ReloadSucceeded(set []ContractInfo, t time.Time) {
	m.SetContracts(set)
	m.ReloadSuccessful.Set(1)
	m.ReloadLastSuccessTime.Set(float64(t.UnixNano()) / 1e9)
	m.Reloads.WithLabelValues(ResultOK).Inc()
}

// ReloadFailed records a failed contract reload. The previous set stays active, and so do
// its info series.
func (m *Metrics) ReloadFailed() {
	m.ReloadSuccessful.Set(0)
	m.Reloads.WithLabelValues(ResultError).Inc()
}

// InitStream pre-creates, at zero, the series of a source stream the worker is configured
// to read and the domain judging it, so dashboards and alerts see the stream before its
// first record, checkpoint or checkpoint failure.
func (m *Metrics) InitStream(stream, domain string) {
	m.RecordsIn.WithLabelValues(stream, domain)
	m.Checkpoints.WithLabelValues(stream, ResultOK)
	m.Checkpoints.WithLabelValues(stream, ResultError)
	m.BatchDuration.WithLabelValues(stream)
}

// CheckpointSucceeded records a successful checkpoint of stream/shard at t.
func (m *Metrics) CheckpointSucceeded(stream, shard string, t time.Time) {
	m.CheckpointLastSuccess.WithLabelValues(stream, shard).Set(float64(t.UnixNano()) / 1e9)
	m.Checkpoints.WithLabelValues(stream, ResultOK).Inc()
}

// CheckpointFailed records a failed checkpoint write for stream.
func (m *Metrics) CheckpointFailed(stream string) {
	m.Checkpoints.WithLabelValues(stream, ResultError).Inc()
}

// SetUniqueKeys publishes what a unique rule of an active contract remembers: keys held
// now, and evicted, the keys forgotten early (maxKeys reached) since the last call.
func (m *Metrics) SetUniqueKeys(domain, rule string, keys int, evicted uint64) {
	m.UniqueKeys.WithLabelValues(domain, rule).Set(float64(keys))
	c := m.UniqueEvicted.WithLabelValues(domain, rule)
	if evicted > 0 {
		c.Add(float64(evicted))
	}
}

// ForgetShard removes the per-shard gauges of stream/shard. The worker calls it when it
// stops owning the shard (lease lost, shard ended, shutdown); otherwise the stale
// checkpoint timestamp would age forever and the lag would freeze at its last value.
func (m *Metrics) ForgetShard(stream, shard string) {
	m.CheckpointLastSuccess.DeleteLabelValues(stream, shard)
	m.MillisBehindLatest.DeleteLabelValues(stream, shard)
}
