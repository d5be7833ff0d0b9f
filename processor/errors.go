package processor

import "errors"

// Sentinel errors of the processor package. Test for them with errors.Is; the returned
// errors wrap them with the stream, bucket or record they concern.
var (
	// ErrUnacknowledged means a sink stopped (its context ended) before every record it was
	// given was acknowledged. The caller must not checkpoint; the error also wraps the
	// context's error (context.Canceled or context.DeadlineExceeded).
	ErrUnacknowledged = errors.New("records not acknowledged")

	// ErrRecordTooLarge means a curated record's data plus partition key exceeds the
	// Kinesis per-record limit (MaxRecordBytes). The pipeline quarantines such records with
	// reason too_large before they reach the sink; the sink refuses them as well.
	ErrRecordTooLarge = errors.New("record too large for kinesis")

	// ErrInvalidPartitionKey means a curated record's partition key is not 1 to 256 Unicode
	// characters of valid UTF-8, which Kinesis would reject for the whole PutRecords call.
	ErrInvalidPartitionKey = errors.New("invalid partition key")

	// ErrWrongStream means a batch was handed to a Pipeline built for another stream or shard.
	ErrWrongStream = errors.New("batch belongs to another stream or shard")

	// ErrNoCuratedStream means the contract judging a stream names no curated stream and the
	// configuration gives none, so good events have nowhere to go. Nothing is checkpointed.
	ErrNoCuratedStream = errors.New("no curated stream")
)
