package promcheck

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/meshgate/meshgate/metrics"
)

// Simulate drives m like a busy worker would, every tick until ctx ends: two domains with
// passes, warnings, quarantines by reason, rule and decode failures, shadow divergences,
// sink calls with occasional errors and retries, batches, checkpoints, leases and lag. It
// exists to exercise the dashboard and the real-Prometheus check without AWS emulators;
// the values are plausible, not meaningful.
func Simulate(ctx context.Context, m *metrics.Metrics, worker string, tick time.Duration) {
	rng := rand.New(rand.NewPCG(1, 2))
	type stream struct {
		name, domain, version string
		shards                []string
		rules                 []metrics.RuleInfo
	}
	streams := []stream{
		{"orders-raw", "orders", "2.1.0", []string{"shardId-000000000000", "shardId-000000000001"},
			[]metrics.RuleInfo{{Name: "total_matches_items", Severity: "error"}, {Name: "currency_known", Severity: "error"}, {Name: "notes_short", Severity: "warn"}}},
		{"customers-raw", "customers", "1.0.0", []string{"shardId-000000000000"},
			[]metrics.RuleInfo{{Name: "customer_id_pattern", Severity: "error"}, {Name: "birth_date_past", Severity: "warn"}}},
	}
	var set []metrics.ContractInfo
	for _, s := range streams {
		set = append(set, metrics.ContractInfo{Domain: s.domain, Version: s.version, Hash: fmt.Sprintf("%08x", rng.Uint32()), Stage: "active", Rules: s.rules})
		m.InitStream(s.name, s.domain)
		m.LeasesHeld.WithLabelValues(s.name, worker).Set(float64(len(s.shards)))
	}
	set = append(set,
		metrics.ContractInfo{Domain: "orders", Version: "2.2.0", Hash: "5hadow00", Stage: "shadow", Rules: streams[0].rules},
		metrics.ContractInfo{Domain: "envelope", Version: "1.0.0", Hash: "e0e0e0e0", Stage: "policy"})
	m.ReloadSucceeded(set, time.Now())

	t := time.NewTicker(tick)
	defer t.Stop()
	for n := 0; ; n++ {
		for _, s := range streams {
			for _, shard := range s.shards {
				began := time.Now()
				in := 20 + rng.IntN(30)
				quarantined := rng.IntN(in / 8)
				warned := rng.IntN(3)
				passed := in - quarantined - warned
				m.RecordsIn.WithLabelValues(s.name, s.domain).Add(float64(in))
				m.RecordsPassed.WithLabelValues(s.domain, s.version).Add(float64(passed))
				m.RecordsWarned.WithLabelValues(s.domain, s.version).Add(float64(warned))
				decode := 0
				if quarantined > 0 {
					decode = rng.IntN(quarantined + 1)
				}
				m.RecordsQuarantined.WithLabelValues(s.domain, s.version, "rules").Add(float64(quarantined - decode))
				m.RecordsQuarantined.WithLabelValues(s.domain, s.version, "decode").Add(float64(decode))
				m.DecodeFailures.WithLabelValues(s.domain, []string{"not_json", "duplicate_key", "bom"}[rng.IntN(3)]).Add(float64(decode))
				for i := 0; i < quarantined-decode; i++ {
					r := s.rules[rng.IntN(len(s.rules))]
					m.RuleFailures.WithLabelValues(s.domain, r.Name, r.Severity).Inc()
				}
				if rng.IntN(4) == 0 {
					m.ShadowDivergences.WithLabelValues(s.domain, s.rules[0].Name, "would_quarantine").Inc()
					m.ShadowSamples.WithLabelValues(s.domain, metrics.ShadowWritten).Inc()
				}
				for _, sink := range []string{metrics.SinkKinesis, metrics.SinkS3} {
					m.SinkDuration.WithLabelValues(sink).Observe(0.002 + rng.Float64()*0.05)
					if rng.IntN(20) == 0 {
						m.SinkRequests.WithLabelValues(sink, metrics.ResultError).Inc()
						m.SinkRetries.WithLabelValues(sink).Inc()
					}
					if sink == metrics.SinkKinesis && rng.IntN(10) == 0 {
						m.SinkFailedEntries.WithLabelValues(sink).Add(float64(1 + rng.IntN(5)))
						m.SinkRetries.WithLabelValues(sink).Inc()
					}
					m.SinkRequests.WithLabelValues(sink, metrics.ResultOK).Inc()
				}
				m.MillisBehindLatest.WithLabelValues(s.name, shard).Set(float64(rng.IntN(2000)))
				m.BatchDuration.WithLabelValues(s.name).Observe(time.Since(began).Seconds() + 0.01 + rng.Float64()*0.1)
				m.CheckpointSucceeded(s.name, shard, time.Now())
			}
		}
		// Unique rules (duplicate detection) remembering more keys each tick, evicting some early
		// (evicted: since the last call). In every domain: the dashboard check runs per domain.
		m.SetUniqueKeys("orders", "order_id_unique", 100+n, uint64(n%2))
		m.SetUniqueKeys("customers", "event_id_once", 40+n, uint64(n%3/2))
		if n%50 == 49 {
			m.ReloadSucceeded(set, time.Now()) // a SIGHUP now and then
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
