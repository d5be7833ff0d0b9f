package processor

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/smithy-go"

	"github.com/meshgate/meshgate/metrics"
)

// Kinesis PutRecords limits (https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html).
// Sizes count the data blob before base64 plus the partition key's UTF-8 bytes, as AWS does.
const (
	MaxRecordsPerCall    = 500     // entries in one PutRecords request
	MaxBytesPerCall      = 5 << 20 // data + partition keys of one request
	MaxRecordBytes       = 1 << 20 // data + partition key of one entry
	MaxPartitionKeyChars = 256     // Unicode characters in a partition key
)

// CuratedRecord is one enriched event bound for the curated stream.
type CuratedRecord struct {
	Data         []byte
	PartitionKey string
}

// Size is the record's size as Kinesis counts it: data bytes plus partition key bytes.
func (r CuratedRecord) Size() int { return len(r.Data) + len(r.PartitionKey) }

// CheckCurated returns nil when rec can be written by PutRecords, or an error wrapping
// ErrRecordTooLarge or ErrInvalidPartitionKey when Kinesis would refuse it. The pipeline
// quarantines such records instead of sending them; KinesisSink refuses them too.
func CheckCurated(rec CuratedRecord) error {
	if n := rec.Size(); n > MaxRecordBytes {
		return fmt.Errorf("%w: %d bytes of data and partition key, at most %d accepted", ErrRecordTooLarge, n, MaxRecordBytes)
	}
	if rec.PartitionKey == "" || !utf8.ValidString(rec.PartitionKey) {
		return fmt.Errorf("%w: must be non-empty valid UTF-8", ErrInvalidPartitionKey)
	}
	if n := utf8.RuneCountInString(rec.PartitionKey); n > MaxPartitionKeyChars {
		return fmt.Errorf("%w: %d characters, at most %d accepted", ErrInvalidPartitionKey, n, MaxPartitionKeyChars)
	}
	return nil
}

// KinesisAPI is the part of the Kinesis client the curated sink uses; *kinesis.Client
// satisfies it. Implementations must return one result per request entry, in request order.
type KinesisAPI interface {
	PutRecords(ctx context.Context, in *kinesis.PutRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.PutRecordsOutput, error)
}

// KinesisSink writes curated records with PutRecords. It is safe for concurrent use by
// several pipelines; each Put call is independent.
//
// The client's own retryer may stay enabled: it retries whole calls a few times quickly;
// the sink's loop, outside it, is what never gives up.
type KinesisSink struct {
	client  KinesisAPI
	retrier retrier
	metrics *metrics.Metrics
	scratch sync.Pool // *kinesisScratch
}

type kinesisScratch struct {
	entries []types.PutRecordsRequestEntry
	pending []int // indexes into the chunk of the entries still to be acknowledged
}

// NewKinesisSink returns a sink writing through client. m may be nil (metrics then go to a
// private registry); options set backoff, sleep (tests) and logger.
func NewKinesisSink(client KinesisAPI, m *metrics.Metrics, opts ...SinkOption) *KinesisSink {
	o := buildSinkOptions(opts)
	m = orNewMetrics(m)
	s := &KinesisSink{
		client:  client,
		metrics: m,
		retrier: retrier{sink: metrics.SinkKinesis, backoff: o.backoff, sleep: o.sleep, log: o.log, metrics: m},
	}
	s.scratch.New = func() any {
		return &kinesisScratch{
			entries: make([]types.PutRecordsRequestEntry, 0, MaxRecordsPerCall),
			pending: make([]int, 0, MaxRecordsPerCall),
		}
	}
	return s
}

// Put writes recs to stream, in order, and returns nil only when Kinesis acknowledged every
// one of them (each has a sequence number).
//
// Records are sent in calls of at most MaxRecordsPerCall entries and MaxBytesPerCall bytes,
// one call at a time: a call's failed entries are retried — only those, in their original
// relative order — until all are acknowledged, and only then is the next call sent. Whole-call
// failures and failed entries are retried with Backoff for as long as ctx lives, whatever
// their class (see classifyKinesis). When ctx ends first, Put returns an error wrapping
// ErrUnacknowledged and ctx.Err(); some records may have been written (the caller re-sends
// the batch, producing duplicates, never gaps).
//
// Put refuses the whole slice, sending nothing, when a record fails CheckCurated.
func (s *KinesisSink) Put(ctx context.Context, stream string, recs []CuratedRecord) error {
	for i := range recs {
		if err := CheckCurated(recs[i]); err != nil {
			return fmt.Errorf("put records to %s: record %d: %w", stream, i, err)
		}
	}
	sc := s.scratch.Get().(*kinesisScratch)
	defer func() {
		clear(sc.entries[:cap(sc.entries)]) // drop references to the caller's data
		sc.entries = sc.entries[:0]
		s.scratch.Put(sc)
	}()
	for start := 0; start < len(recs); {
		end := chunkEnd(recs, start)
		if err := s.putChunk(ctx, stream, recs[start:end], sc); err != nil {
			pending := len(sc.pending) + len(recs) - end
			return fmt.Errorf("put records to %s: %d of %d records pending: %w", stream, pending, len(recs), err)
		}
		start = end
	}
	return nil
}

// chunkEnd returns the end of the longest run of records from start that fits one call.
// Every record fits on its own (CheckCurated), so the run is never empty.
func chunkEnd(recs []CuratedRecord, start int) int {
	size := 0
	end := start
	for end < len(recs) && end-start < MaxRecordsPerCall {
		n := recs[end].Size()
		if size+n > MaxBytesPerCall {
			break
		}
		size += n
		end++
	}
	return end
}

// putChunk sends one call's worth of records until every entry is acknowledged or ctx ends.
// On return sc.pending holds the entries still unacknowledged.
func (s *KinesisSink) putChunk(ctx context.Context, stream string, chunk []CuratedRecord, sc *kinesisScratch) error {
	sc.pending = sc.pending[:0]
	for i := range chunk {
		sc.pending = append(sc.pending, i)
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		sc.entries = sc.entries[:0]
		for _, i := range sc.pending {
			// &chunk[i].PartitionKey points into the caller's slice: no allocation per entry.
			sc.entries = append(sc.entries, types.PutRecordsRequestEntry{Data: chunk[i].Data, PartitionKey: &chunk[i].PartitionKey})
		}
		began := time.Now()
		out, err := s.client.PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: &stream, Records: sc.entries})
		s.metrics.SinkDuration.WithLabelValues(metrics.SinkKinesis).Observe(time.Since(began).Seconds())
		if err == nil && (out == nil || len(out.Records) != len(sc.entries)) {
			got := 0
			if out != nil {
				got = len(out.Records)
			}
			// We cannot tell which entries were written: resend all of them (duplicates, no loss).
			err = fmt.Errorf("PutRecords returned %d results for %d entries", got, len(sc.entries))
		}
		if err != nil {
			s.metrics.SinkRequests.WithLabelValues(metrics.SinkKinesis, metrics.ResultError).Inc()
			class := classifyKinesis(ctx, err)
			if class == classCanceled {
				// Report the failure that kept us retrying, not the cancellation itself.
				return unacknowledged(ctx, attempt+1, cmp.Or(lastErr, err))
			}
			lastErr = err
			if werr := s.retrier.wait(ctx, attempt, class, err, slog.String("stream", stream), slog.Int("pending", len(sc.pending))); werr != nil {
				return unacknowledged(ctx, attempt+1, lastErr)
			}
			continue
		}
		// The call succeeded; a partial failure is in the per-entry results.
		s.metrics.SinkRequests.WithLabelValues(metrics.SinkKinesis, metrics.ResultOK).Inc()
		failed := sc.pending[:0] // filter in place: write index never passes read index
		var first *types.PutRecordsResultEntry
		for j := range out.Records {
			res := &out.Records[j]
			if (res.ErrorCode != nil && *res.ErrorCode != "") || res.SequenceNumber == nil {
				if first == nil {
					first = res
				}
				failed = append(failed, sc.pending[j])
			}
		}
		sc.pending = failed
		if len(failed) == 0 {
			return nil
		}
		s.metrics.SinkFailedEntries.WithLabelValues(metrics.SinkKinesis).Add(float64(len(failed)))
		lastErr = entryError(first, len(failed), len(out.Records))
		class := classifyKinesis(ctx, lastErr)
		if werr := s.retrier.wait(ctx, attempt, class, lastErr, slog.String("stream", stream), slog.Int("pending", len(failed))); werr != nil {
			return unacknowledged(ctx, attempt+1, lastErr)
		}
	}
}

// entryError describes a partial failure by its first failed entry; it carries that entry's
// error code as an API error so classifyKinesis judges entry failures like call failures.
func entryError(first *types.PutRecordsResultEntry, failed, total int) error {
	code, msg := "", "no sequence number and no error code"
	if first.ErrorCode != nil && *first.ErrorCode != "" {
		code = *first.ErrorCode
		msg = ""
		if first.ErrorMessage != nil {
			msg = *first.ErrorMessage
		}
	}
	return fmt.Errorf("%d of %d entries failed, first: %w", failed, total, &smithy.GenericAPIError{Code: code, Message: msg})
}

func unacknowledged(ctx context.Context, attempts int, last error) error {
	cause := ctx.Err()
	if cause == nil {
		cause = context.Canceled // the sleep ended early; treat as cancellation
	}
	return fmt.Errorf("%w after %d attempts (last error: %v): %w", ErrUnacknowledged, attempts, last, cause)
}

// classifyKinesis decides how the curated sink treats a failed PutRecords call or failed
// entries (entry failures arrive as an API error carrying the entry's ErrorCode). It is the
// one place that decision is made for Kinesis.
//
//   - canceled: our ctx ended — stop, report unacknowledged.
//   - retryable: throttling (ProvisionedThroughputExceeded, LimitExceeded, KMSThrottling,
//     Throttling), internal failures, 5xx, 429, network errors and timeouts, and the
//     transient states ResourceInUse (stream updating) and ExpiredToken (credentials refresh).
//   - permanent: the request cannot succeed as is — stream missing (ResourceNotFound), access
//     or KMS key denied/disabled/missing, invalid argument or validation errors, bad
//     credentials. Permanent failures are retried too, at Backoff.Max and logged at error
//     level: the gate never drops records, the checkpoint simply does not advance, and the
//     worker resumes by itself once an operator fixed the cause.
//
// Unknown errors are retryable.
func classifyKinesis(ctx context.Context, err error) errClass {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return classCanceled
	}
	switch apiCode(err) {
	case "ProvisionedThroughputExceededException", "LimitExceededException", "KMSThrottlingException",
		"ThrottlingException", "InternalFailure", "InternalFailureException", "ServiceUnavailable",
		"ServiceUnavailableException", "ResourceInUseException", "ExpiredTokenException", "RequestExpired":
		return classRetryable
	case "ResourceNotFoundException", "AccessDeniedException", "InvalidArgumentException", "ValidationException",
		"KMSAccessDeniedException", "KMSDisabledException", "KMSInvalidStateException", "KMSNotFoundException",
		"KMSOptInRequired", "UnrecognizedClientException", "InvalidSignatureException", "IncompleteSignature",
		"MissingAuthenticationTokenException", "SerializationException":
		return classPermanent
	}
	return classifyAWS(ctx, err)
}
