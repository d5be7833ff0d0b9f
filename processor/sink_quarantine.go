package processor

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meshgate/meshgate/metrics"
	"github.com/meshgate/meshgate/quarantine"
)

// Content headers of quarantine objects.
const (
	QuarantineContentType     = "application/x-ndjson"
	QuarantineContentEncoding = "gzip"
)

// S3API is the part of the S3 client the quarantine sink uses; *s3.Client satisfies it.
type S3API interface {
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// S3Sink writes quarantine objects: one gzip NDJSON object per batch (quarantine.Encode),
// server-side encrypted (SSE-S3 unless WithKMSKey), under a key the caller derives from the
// batch (quarantine.ObjectKey), so writing the same batch again overwrites the object. It is
// safe for concurrent use.
type S3Sink struct {
	client  S3API
	bucket  string
	kmsKey  string
	retrier retrier
	metrics *metrics.Metrics
	bufs    sync.Pool // *bytes.Buffer
}

// NewS3Sink returns a sink writing to bucket through client. m may be nil (metrics then go
// to a private registry). The client must use path-style addressing for emulators; the body
// is a bytes.Reader, seekable, so the SDK can sign and checksum it over plain http too.
func NewS3Sink(client S3API, bucket string, m *metrics.Metrics, opts ...SinkOption) *S3Sink {
	o := buildSinkOptions(opts)
	m = orNewMetrics(m)
	return &S3Sink{
		client:  client,
		bucket:  bucket,
		kmsKey:  o.kmsKeyID,
		metrics: m,
		retrier: retrier{sink: metrics.SinkS3, backoff: o.backoff, sleep: o.sleep, log: o.log, metrics: m},
		bufs:    sync.Pool{New: func() any { return new(bytes.Buffer) }},
	}
}

// Put writes recs as one object under key and returns nil once S3 acknowledged it. Failed
// calls are retried with backoff, whatever their class (see classifyS3), for as long as ctx
// lives; when ctx ends first Put returns an error wrapping ErrUnacknowledged and ctx.Err().
// Put with no records writes nothing.
func (s *S3Sink) Put(ctx context.Context, key string, recs []quarantine.Record) error {
	if len(recs) == 0 {
		return nil
	}
	buf := s.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer s.bufs.Put(buf)
	if err := quarantine.Encode(buf, recs); err != nil {
		return fmt.Errorf("encode quarantine object %s: %w", key, err)
	}
	body := buf.Bytes()
	in := &s3.PutObjectInput{
		Bucket:               &s.bucket,
		Key:                  &key,
		ContentType:          ptr(QuarantineContentType),
		ContentEncoding:      ptr(QuarantineContentEncoding),
		ContentLength:        ptr(int64(len(body))),
		ServerSideEncryption: types.ServerSideEncryptionAes256,
	}
	if s.kmsKey != "" {
		in.ServerSideEncryption = types.ServerSideEncryptionAwsKms
		in.SSEKMSKeyId = &s.kmsKey
	}
	var lastErr error
	for attempt := 0; ; attempt++ {
		in.Body = bytes.NewReader(body) // a fresh, seekable reader per attempt
		began := time.Now()
		_, err := s.client.PutObject(ctx, in)
		s.metrics.SinkDuration.WithLabelValues(metrics.SinkS3).Observe(time.Since(began).Seconds())
		if err == nil {
			s.metrics.SinkRequests.WithLabelValues(metrics.SinkS3, metrics.ResultOK).Inc()
			return nil
		}
		s.metrics.SinkRequests.WithLabelValues(metrics.SinkS3, metrics.ResultError).Inc()
		class := classifyS3(ctx, err)
		if class == classCanceled {
			// Report the failure that kept us retrying, not the cancellation itself.
			return fmt.Errorf("put quarantine object s3://%s/%s (%d records): %w", s.bucket, key, len(recs), unacknowledged(ctx, attempt+1, cmp.Or(lastErr, err)))
		}
		lastErr = err
		if werr := s.retrier.wait(ctx, attempt, class, err, slog.String("bucket", s.bucket), slog.String("key", key), slog.Int("records", len(recs))); werr != nil {
			return fmt.Errorf("put quarantine object s3://%s/%s (%d records): %w", s.bucket, key, len(recs), unacknowledged(ctx, attempt+1, err))
		}
	}
}

// classifyS3 decides how the quarantine sink treats a failed PutObject. It is the one place
// that decision is made for S3.
//
//   - canceled: our ctx ended — stop, report unacknowledged.
//   - retryable: SlowDown and other throttling, InternalError, ServiceUnavailable,
//     RequestTimeout, clock skew, expired credentials, 5xx, 429, network errors and timeouts.
//   - permanent: bucket missing (NoSuchBucket), access or KMS key denied, invalid
//     request/argument, bad credentials. Like every failure these are retried — at
//     Backoff.Max and logged at error level — because quarantined records must not be lost;
//     the checkpoint does not advance until the object is written.
//
// Unknown errors are retryable.
func classifyS3(ctx context.Context, err error) errClass {
	if ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return classCanceled
	}
	switch apiCode(err) {
	case "SlowDown", "Throttling", "ThrottlingException", "RequestLimitExceeded", "InternalError",
		"ServiceUnavailable", "RequestTimeout", "RequestTimeTooSkewed", "ExpiredToken", "OperationAborted":
		return classRetryable
	case "NoSuchBucket", "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch",
		"InvalidArgument", "InvalidRequest", "InvalidBucketName", "AccountProblem", "InvalidEncryptionAlgorithmError",
		"KMS.NotFoundException", "KMS.DisabledException", "KMS.AccessDeniedException", "KMS.KMSInvalidStateException":
		return classPermanent
	}
	return classifyAWS(ctx, err)
}

func ptr[T any](v T) *T { return &v }
