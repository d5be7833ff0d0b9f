// Package audit reads back what the worker produced: every record of the curated streams
// and every quarantine object, and sums them up (good events per stream, quarantined
// records per domain, reason and rule). `meshgate audit` and the demo print it; tests and
// the reliability auditor use the readers to account for each source record.
package audit

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meshgate/meshgate/quarantine"
)

// KinesisAPI is what ReadStream needs; *kinesis.Client satisfies it.
type KinesisAPI interface {
	ListShards(ctx context.Context, in *kinesis.ListShardsInput, optFns ...func(*kinesis.Options)) (*kinesis.ListShardsOutput, error)
	GetShardIterator(ctx context.Context, in *kinesis.GetShardIteratorInput, optFns ...func(*kinesis.Options)) (*kinesis.GetShardIteratorOutput, error)
	GetRecords(ctx context.Context, in *kinesis.GetRecordsInput, optFns ...func(*kinesis.Options)) (*kinesis.GetRecordsOutput, error)
}

// S3API is what ReadQuarantine needs; *s3.Client satisfies it.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
}

// StreamRecord is one record read from a stream.
type StreamRecord struct {
	Shard, SequenceNumber, PartitionKey string
	Data                                []byte
	ArrivalTime                         time.Time
}

// ReadStream reads every record of every shard of stream, from TRIM_HORIZON to the end each
// shard has now (a closed shard to its end), shard by shard, in sequence order.
func ReadStream(ctx context.Context, c KinesisAPI, stream string) ([]StreamRecord, error) {
	var shards []string
	in := &kinesis.ListShardsInput{StreamName: aws.String(stream)}
	for {
		out, err := c.ListShards(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list shards of %s: %w", stream, err)
		}
		for _, s := range out.Shards {
			shards = append(shards, aws.ToString(s.ShardId))
		}
		if out.NextToken == nil {
			break
		}
		in = &kinesis.ListShardsInput{NextToken: out.NextToken}
	}
	var all []StreamRecord
	for _, shard := range shards {
		it, err := c.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{
			StreamName: aws.String(stream), ShardId: aws.String(shard), ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon,
		})
		if err != nil {
			return nil, fmt.Errorf("iterator for %s/%s: %w", stream, shard, err)
		}
		iter := it.ShardIterator
		for iter != nil {
			out, err := c.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter, Limit: aws.Int32(10000)})
			if err != nil {
				return nil, fmt.Errorf("read %s/%s: %w", stream, shard, err)
			}
			for _, r := range out.Records {
				all = append(all, StreamRecord{Shard: shard, SequenceNumber: aws.ToString(r.SequenceNumber),
					PartitionKey: aws.ToString(r.PartitionKey), Data: r.Data, ArrivalTime: aws.ToTime(r.ApproximateArrivalTimestamp)})
			}
			if len(out.Records) == 0 && aws.ToInt64(out.MillisBehindLatest) == 0 {
				break
			}
			iter = out.NextShardIterator
		}
	}
	return all, nil
}

// Object is one quarantine object and its records.
type Object struct {
	Key     string
	Records []quarantine.Record
}

// QuarantineKeys lists the quarantine record objects under prefix in bucket, sorted. Shadow
// samples and replay manifests share the prefix; they are not records and are left out
// (quarantine.IsRecordObject).
func QuarantineKeys(ctx context.Context, c S3API, bucket, prefix string) ([]string, error) {
	var keys []string
	in := &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)}
	for {
		out, err := c.ListObjectsV2(ctx, in)
		if err != nil {
			return nil, fmt.Errorf("list s3://%s/%s: %w", bucket, prefix, err)
		}
		for _, o := range out.Contents {
			if key := aws.ToString(o.Key); quarantine.IsRecordObject(key) {
				keys = append(keys, key)
			}
		}
		if !aws.ToBool(out.IsTruncated) {
			break
		}
		in.ContinuationToken = out.NextContinuationToken
	}
	sort.Strings(keys)
	return keys, nil
}

// ReadQuarantine reads and decodes every quarantine object under prefix in bucket, in key
// order (shadow samples and replay manifests are skipped, see QuarantineKeys).
func ReadQuarantine(ctx context.Context, c S3API, bucket, prefix string) ([]Object, error) {
	keys, err := QuarantineKeys(ctx, c, bucket, prefix)
	if err != nil {
		return nil, err
	}
	objs := make([]Object, 0, len(keys))
	for _, key := range keys {
		out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
		if err != nil {
			return nil, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
		}
		body, err := io.ReadAll(out.Body)
		out.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
		}
		recs, err := quarantine.Decode(bytes.NewReader(body))
		if err != nil {
			return nil, fmt.Errorf("decode s3://%s/%s: %w", bucket, key, err)
		}
		objs = append(objs, Object{Key: key, Records: recs})
	}
	return objs, nil
}

// Summary counts what reached the curated streams and the quarantine.
type Summary struct {
	Curated     map[string]int `json:"curated"`     // per curated stream
	Quarantined map[string]int `json:"quarantined"` // per domain
	Objects     int            `json:"objects"`     // quarantine objects
	ByReason    map[string]int `json:"byReason"`    // "domain/reason"
	ByRule      map[string]int `json:"byRule"`      // "domain/rule": records that failed the rule
}

// Total is the number of curated plus quarantined records.
func (s Summary) Total() int {
	n := 0
	for _, v := range s.Curated {
		n += v
	}
	for _, v := range s.Quarantined {
		n += v
	}
	return n
}

// Summarize counts curated records per stream and quarantined records per domain, reason
// and rule (a record failing two rules counts for both rules, once in the totals).
func Summarize(curated map[string][]StreamRecord, objs []Object) Summary {
	s := Summary{Curated: map[string]int{}, Quarantined: map[string]int{}, ByReason: map[string]int{}, ByRule: map[string]int{}, Objects: len(objs)}
	for stream, recs := range curated {
		s.Curated[stream] = len(recs)
	}
	for _, o := range objs {
		for _, r := range o.Records {
			s.Quarantined[r.Domain]++
			s.ByReason[r.Domain+"/"+r.Reason]++
			for _, f := range r.Failures {
				rule := f.Rule
				if f.Rule == "decode" && f.Value != "" {
					rule = "decode:" + f.Value
				}
				s.ByRule[r.Domain+"/"+rule]++
			}
		}
	}
	return s
}

// WriteText prints the summary as a small report.
func (s Summary) WriteText(w io.Writer) {
	total := func(m map[string]int) int {
		n := 0
		for _, v := range m {
			n += v
		}
		return n
	}
	fmt.Fprintf(w, "curated (good events): %d\n", total(s.Curated))
	for _, k := range sortedKeys(s.Curated) {
		fmt.Fprintf(w, "  %-28s %7d\n", k, s.Curated[k])
	}
	fmt.Fprintf(w, "quarantined: %d (in %d objects)\n", total(s.Quarantined), s.Objects)
	for _, k := range sortedKeys(s.ByReason) {
		fmt.Fprintf(w, "  %-28s %7d\n", k, s.ByReason[k])
	}
	fmt.Fprintln(w, "quarantined records by failed rule:")
	keys := sortedKeys(s.ByRule)
	sort.SliceStable(keys, func(i, j int) bool { return s.ByRule[keys[i]] > s.ByRule[keys[j]] })
	for _, k := range keys {
		fmt.Fprintf(w, "  %-44s %7d\n", k, s.ByRule[k])
	}
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Streams splits a comma-separated stream list.
func Streams(list string) []string {
	var out []string
	for _, s := range strings.Split(list, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
