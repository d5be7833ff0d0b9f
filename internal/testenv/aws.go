package testenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// helperTimeout bounds each helper (CreateStream, ReadStream, ...) when its ctx has no deadline.
const helperTimeout = 60 * time.Second

// AWSConfig returns an SDK config for the emulators: static dummy credentials and region
// us-east-1, built without reading the environment, the shared AWS files or a profile, so tests
// are hermetic. It carries no endpoint: the clients below set the per-service BaseEndpoint (see
// KinesisOptions and friends), which is what code under test should do with Endpoints too.
// ctx is accepted for symmetry with config.LoadDefaultConfig; nothing here blocks.
func (s *Stack) AWSConfig(ctx context.Context) aws.Config {
	_ = ctx
	return aws.Config{
		Region:      Region,
		Credentials: aws.NewCredentialsCache(credentials.NewStaticCredentialsProvider(AccessKeyID, SecretAccessKey, "")),
	}
}

// KinesisOptions points a Kinesis client at the emulator.
func (s *Stack) KinesisOptions(o *kinesis.Options) { o.BaseEndpoint = aws.String(s.endpoints.Kinesis) }

// DynamoDBOptions points a DynamoDB client at the emulator.
func (s *Stack) DynamoDBOptions(o *dynamodb.Options) {
	o.BaseEndpoint = aws.String(s.endpoints.DynamoDB)
}

// S3Options points an S3 client at the emulator, with path-style addressing (bucket in the path;
// a virtual-hosted bucket name cannot resolve to 127.0.0.1).
func (s *Stack) S3Options(o *s3.Options) {
	o.BaseEndpoint = aws.String(s.endpoints.S3)
	o.UsePathStyle = true
}

type clients struct {
	kinesis  *kinesis.Client
	dynamodb *dynamodb.Client
	s3       *s3.Client
}

func (s *Stack) sdk() *clients {
	s.clientsOnce.Do(func() {
		cfg := s.AWSConfig(context.Background())
		s.clients = clients{
			kinesis:  kinesis.NewFromConfig(cfg, s.KinesisOptions),
			dynamodb: dynamodb.NewFromConfig(cfg, s.DynamoDBOptions),
			s3:       s3.NewFromConfig(cfg, s.S3Options),
		}
	})
	return &s.clients
}

// Kinesis returns a Kinesis client for the emulator (shared; do not change its options).
func (s *Stack) Kinesis() *kinesis.Client { return s.sdk().kinesis }

// DynamoDB returns a DynamoDB client for the emulator (shared; do not change its options).
func (s *Stack) DynamoDB() *dynamodb.Client { return s.sdk().dynamodb }

// S3 returns an S3 client for the emulator (shared; do not change its options).
func (s *Stack) S3() *s3.Client { return s.sdk().s3 }

func withTimeout(ctx context.Context) (context.Context, context.CancelFunc) {
	if _, ok := ctx.Deadline(); ok {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, helperTimeout)
}

// CreateStream creates a Kinesis stream with the given number of shards and waits until it is
// ACTIVE. It fails t on any error.
func (s *Stack) CreateStream(t testing.TB, name string, shards int32) {
	t.Helper()
	ctx, cancel := withTimeout(context.Background())
	defer cancel()
	kin := s.Kinesis()
	if _, err := kin.CreateStream(ctx, &kinesis.CreateStreamInput{StreamName: aws.String(name), ShardCount: aws.Int32(shards)}); err != nil {
		t.Fatalf("testenv: create stream %s: %v", name, err)
	}
	w := kinesis.NewStreamExistsWaiter(kin, func(o *kinesis.StreamExistsWaiterOptions) {
		o.MinDelay, o.MaxDelay = 20*time.Millisecond, 500*time.Millisecond
	})
	if err := w.Wait(ctx, &kinesis.DescribeStreamInput{StreamName: aws.String(name)}, helperTimeout); err != nil {
		t.Fatalf("testenv: wait for stream %s to be ACTIVE: %v", name, err)
	}
}

// CreateBucket creates an S3 bucket. It fails t on any error.
func (s *Stack) CreateBucket(t testing.TB, name string) {
	t.Helper()
	ctx, cancel := withTimeout(context.Background())
	defer cancel()
	if _, err := s.S3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(name)}); err != nil {
		t.Fatalf("testenv: create bucket %s: %v", name, err)
	}
}

// Shards returns the IDs of every shard of a stream (open and closed), in ListShards order.
func (s *Stack) Shards(t testing.TB, ctx context.Context, stream string) []string {
	t.Helper()
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	ids, err := s.shards(ctx, stream)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	return ids
}

func (s *Stack) shards(ctx context.Context, stream string) ([]string, error) {
	var ids []string
	in := &kinesis.ListShardsInput{StreamName: aws.String(stream)}
	for {
		page, err := s.Kinesis().ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", stream, err)
		}
		for _, sh := range page.Shards {
			ids = append(ids, aws.ToString(sh.ShardId))
		}
		if page.NextToken == nil {
			return ids, nil
		}
		// A NextToken request must not name the stream.
		in = &kinesis.ListShardsInput{NextToken: page.NextToken}
	}
}

// ReadStream returns every record of a stream, from TRIM_HORIZON up to the end each shard has
// now, shard by shard in ListShards order (per shard, in sequence order). It fails t on error.
func (s *Stack) ReadStream(t testing.TB, ctx context.Context, stream string) []ktypes.Record {
	t.Helper()
	byShard := s.ReadStreamByShard(t, ctx, stream)
	ids := s.Shards(t, ctx, stream)
	var all []ktypes.Record
	for _, id := range ids {
		all = append(all, byShard[id]...)
	}
	return all
}

// ReadStreamByShard is ReadStream keyed by shard ID (every shard is present, possibly empty).
func (s *Stack) ReadStreamByShard(t testing.TB, ctx context.Context, stream string) map[string][]ktypes.Record {
	t.Helper()
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	ids, err := s.shards(ctx, stream)
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	out := make(map[string][]ktypes.Record, len(ids))
	for _, id := range ids {
		recs, err := s.readShard(ctx, stream, id)
		if err != nil {
			t.Fatalf("testenv: read %s/%s: %v", stream, id, err)
		}
		out[id] = recs
	}
	return out
}

// readShard reads one shard from TRIM_HORIZON until a GetRecords call returns nothing new
// (kinesalite returns everything available up to the limit at once, so an empty answer means the
// current end) or the shard is closed and fully read.
func (s *Stack) readShard(ctx context.Context, stream, shard string) ([]ktypes.Record, error) {
	kin := s.Kinesis()
	it, err := kin.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
		StreamName:        aws.String(stream),
		ShardId:           aws.String(shard),
		ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon,
	})
	if err != nil {
		return nil, fmt.Errorf("get shard iterator: %w", err)
	}
	var recs []ktypes.Record
	iter := it.ShardIterator
	for iter != nil {
		out, err := kin.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
		if err != nil {
			return nil, fmt.Errorf("get records: %w", err)
		}
		recs = append(recs, out.Records...)
		behind := aws.ToInt64(out.MillisBehindLatest)
		if len(out.Records) == 0 && behind == 0 {
			break
		}
		iter = out.NextShardIterator
	}
	return recs, nil
}

// ListObjects returns the keys of every object in bucket under prefix, in key order.
func (s *Stack) ListObjects(t testing.TB, ctx context.Context, bucket, prefix string) []string {
	t.Helper()
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s.S3(), &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			t.Fatalf("testenv: list s3://%s/%s: %v", bucket, prefix, err)
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys
}

// GetObject returns an object's body. It fails t on any error, a missing key included.
func (s *Stack) GetObject(t testing.TB, ctx context.Context, bucket, key string) []byte {
	t.Helper()
	ctx, cancel := withTimeout(ctx)
	defer cancel()
	out, err := s.S3().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nsk *s3types.NoSuchKey
		if errors.As(err, &nsk) {
			t.Fatalf("testenv: s3://%s/%s does not exist", bucket, key)
		}
		t.Fatalf("testenv: get s3://%s/%s: %v", bucket, key, err)
	}
	defer out.Body.Close()
	body, err := io.ReadAll(out.Body)
	if err != nil {
		t.Fatalf("testenv: read s3://%s/%s: %v", bucket, key, err)
	}
	return body
}
