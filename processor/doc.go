// Package processor is meshgate's per-shard pipeline: it judges every record of a KCL batch
// with the domain's contract and routes it — good (enriched) events to the curated Kinesis
// stream through a CuratedSink (KinesisSink), everything else to one quarantine object per
// batch through a QuarantineSink (S3Sink). The KCL adapter (kcl.go) turns library callbacks
// into Pipeline.Process calls and checkpoints a batch only after Process returned nil.
//
// # Routing
//
// For each record, Process picks the contract once per batch (PipelineConfig.Domain, else the
// active contract whose sources list the stream), judges the record with it and routes:
//
//	outcome / situation                         destination  quarantine reason  failure Rule
//	passed, warned                              curated      -                  -
//	decode failure                              quarantine   decode             "decode" (Value: reason code, Message: detail)
//	error-severity rule failed                  quarantine   rules              each failed rule (warn ones too)
//	output + key over MaxRecordBytes            quarantine   too_large          "too_large" (Value: size)
//	output key not 1..256 chars of UTF-8        quarantine   rules              "partition_key"
//	no active contract for the stream           quarantine   no_contract        "no_contract"
//	judging panicked (a bug)                    quarantine   internal_error     "internal_error" (Error: panic)
//
// Passed and warned events go out with the contract's partition key (Verdict.PartitionKey),
// or the source record's key when that is empty. A quarantine record keeps the exact payload
// bytes and the provenance: contract and version, stream, shard, sequence and subsequence
// number, source partition key, approximate arrival time, worker id, quarantine time. The
// object key is quarantine.ObjectKey(prefix, domain, stream, shard, first record's arrival,
// first and last sequence number of the batch) — a property of the batch, so re-processing
// it overwrites the object (domain is NoContractDomain for a stream without contract).
//
// # Acknowledgement and retries
//
// Process returns nil only when both sinks acknowledged every record of the batch. The sinks
// retry failed calls with capped exponential backoff and full jitter (Backoff) for as long as
// the context lives — transient failures (throttling, 5xx, network) and permanent ones
// (missing stream or bucket, access denied) alike, the latter at the cap and logged at error
// level — because a gate that gave up would have to drop records or checkpoint past them.
// When the context ends first, Process returns an error wrapping ErrUnacknowledged and the
// context's error, never success, and the caller must not checkpoint.
//
// # Ordering on the curated stream
//
// Scope: the records of one source shard, that is of one Pipeline (Kinesis orders nothing
// across shards). After the source stream is resharded the KCL finishes a parent shard before
// its children start, so the guarantee carries over a split or merge.
//
//  1. Batches are processed one at a time: every record of a batch is acknowledged before any
//     record of the next batch is sent.
//  2. Within a batch, curated records keep source order. KinesisSink sends them in PutRecords
//     calls of at most 500 records and 5 MiB, one call at a time; a call's failed entries are
//     retried — only they, in their original relative order — until all are acknowledged, and
//     only then is the next call sent.
//  3. Within one PutRecords call Kinesis writes the entries of each shard in request order,
//     and one partition key maps to one shard of the curated stream (while that stream is not
//     resharded).
//
// Guarantee: if records A and B come from the same source shard, A before B, and get the same
// curated partition key, then A appears on the curated stream before B — except when A and B
// were entries of the same PutRecords call and A's entry failed while B's succeeded; A is then
// written by the retry, after B. With healthy sinks (no partial failure) the order is strict.
// Strict order under partial failures would need at most one entry per key per call, which
// would serialise hot keys; meshgate does not do that.
//
// Duplicates: when Process fails (the context ended during retries) or the worker crashes,
// the batch is processed again from its first record, and a PutRecords call that failed as a
// whole (a timeout) may have written some entries anyway. Records then appear twice; the
// first copy of each record respects the order above, the repeats come later. Nothing is
// lost. Consumers needing exactly-once deduplicate on the event id.
//
// # Metrics
//
// Per batch, once both sinks acknowledged it (a retried batch is counted once):
// meshgate_records_in_total, _records_passed_total, _records_warned_total,
// _records_quarantined_total (reason rules, decode, too_large, no_contract, internal_error),
// _rule_failures_total (warn and error), _decode_failures_total, _shadow_divergences_total and
// _batch_duration_seconds. Per sink call: meshgate_sink_requests_total (a PutRecords call that
// was answered counts as ok even when some entries failed), _sink_failed_entries_total,
// _sink_retries_total and _sink_request_duration_seconds, with sink "kinesis" or "s3".
//
// # Shadow contracts
//
// When the set holds a shadow (candidate) contract for the domain, every record is judged
// with it too, on a separate evaluator; records whose outcome differs (quarantined by one,
// curated by the other) are counted in meshgate_shadow_divergences_total with the rules that
// made the difference and the direction (would_quarantine, would_pass). Routing follows the
// active contract only.
package processor
