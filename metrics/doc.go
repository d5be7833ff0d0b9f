// Package metrics defines every Prometheus metric meshgate exports, registered on an
// injected prometheus.Registerer so tests use a fresh registry. The table of names,
// types, labels and meaning lives in docs/metrics.md; a test compares it with what New
// registers, so the two cannot drift apart.
//
// Label values are bounded: domain, version and rule come from contracts, stream and
// shard from the Kinesis topology, worker from the worker id, sink, result and reason
// from fixed sets in the code. No label value is ever taken from event data.
//
// Metric names (all prefixed meshgate_):
//
//	records_in_total{stream,domain}                 records_passed_total{domain,version}
//	records_warned_total{domain,version}            records_quarantined_total{domain,version,reason}
//	rule_failures_total{domain,rule,severity}       decode_failures_total{domain,reason}
//	sink_requests_total{sink,result}                sink_failed_entries_total{sink}
//	sink_retries_total{sink}                        sink_request_duration_seconds{sink}
//	batch_duration_seconds{stream}                  checkpoint_last_success_timestamp_seconds{stream,shard}
//	checkpoints_total{stream,result}                leases_held{stream,worker}
//	millis_behind_latest{stream,shard}              contracts_loaded
//	contract_info{domain,version,hash,stage}        contracts_last_reload_successful
//	contracts_last_reload_success_timestamp_seconds contract_reloads_total{result}
//	shadow_divergences_total{domain,rule,direction} shadow_samples_total{domain,result}
//	unique_keys{domain,rule}                        unique_keys_evicted_total{domain,rule}
//
// New also registers the Go runtime (go_*) and process (process_*) collectors.
//
// # Checkpoint age
//
// There is deliberately no checkpoint-age gauge. The age of a shard's checkpoint is
// computed in PromQL as
//
//	time() - max by (stream, shard) (meshgate_checkpoint_last_success_timestamp_seconds)
//
// A timestamp gauge keeps its meaning between scrapes and across scrape failures, uses
// Prometheus's clock for "now" (so one skewed worker clock cannot hide a stall), and the
// max across workers makes the age correct right after a lease moved to another worker.
// An age gauge would have to be recomputed in a custom collector on every scrape and would
// freeze at its last value when the worker stops being scraped. The one duty this puts on
// the worker: call ForgetShard when it stops owning a shard (lease lost, SHARD_END, shutdown),
// so a shard it no longer reads does not keep an ever older timestamp.
package metrics
