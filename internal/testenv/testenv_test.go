package testenv_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	dtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	ktypes "github.com/aws/aws-sdk-go-v2/service/kinesis/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/meshgate/meshgate/internal/testenv"
)

func TestStackKinesis(t *testing.T) {
	t.Parallel()
	s := testenv.Start(t)
	ctx := context.Background()
	s.CreateStream(t, "raw", 2)
	s.CreateStream(t, "empty", 1)

	entries := make([]ktypes.PutRecordsRequestEntry, 50)
	for i := range entries {
		entries[i] = ktypes.PutRecordsRequestEntry{
			Data:         []byte(fmt.Sprintf(`{"n":%d}`, i)),
			PartitionKey: aws.String(fmt.Sprintf("key-%d", i%7)),
		}
	}
	out, err := s.Kinesis().PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("raw"), Records: entries})
	if err != nil {
		t.Fatalf("PutRecords: %v", err)
	}
	if n := aws.ToInt32(out.FailedRecordCount); n != 0 {
		t.Fatalf("PutRecords: %d failed entries", n)
	}

	// kinesalite enforces the 500-entry PutRecords limit (not the 5 MiB one: see deploy/local/README.md).
	_, err = s.Kinesis().PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String("raw"), Records: make501(entries[0])})
	if err == nil || !strings.Contains(err.Error(), "500") {
		t.Errorf("PutRecords with 501 entries: err = %v, want a validation error naming the limit", err)
	}

	if got := s.Shards(t, ctx, "raw"); len(got) != 2 {
		t.Fatalf("Shards(raw) = %v, want 2 shards", got)
	}
	byShard := s.ReadStreamByShard(t, ctx, "raw")
	recs := s.ReadStream(t, ctx, "raw")
	if len(recs) != len(entries) {
		t.Fatalf("ReadStream(raw) returned %d records, want %d", len(recs), len(entries))
	}
	seen := map[string]bool{}
	nonEmpty := 0
	for shard, rs := range byShard {
		if len(rs) > 0 {
			nonEmpty++
		}
		for i, r := range rs {
			seen[string(r.Data)] = true
			if i > 0 && aws.ToString(rs[i-1].SequenceNumber) >= aws.ToString(r.SequenceNumber) &&
				len(aws.ToString(rs[i-1].SequenceNumber)) == len(aws.ToString(r.SequenceNumber)) {
				t.Errorf("shard %s: records out of sequence order at %d", shard, i)
			}
		}
	}
	if nonEmpty != 2 {
		t.Errorf("7 partition keys landed on %d of 2 shards, want both", nonEmpty)
	}
	for _, e := range entries {
		if !seen[string(e.Data)] {
			t.Errorf("record %s not read back", e.Data)
		}
	}
	// A second read sees the same records (reads do not consume) plus new ones.
	if _, err := s.Kinesis().PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("raw"), Data: []byte("late"), PartitionKey: aws.String("k")}); err != nil {
		t.Fatalf("PutRecord: %v", err)
	}
	if got := len(s.ReadStream(t, ctx, "raw")); got != len(entries)+1 {
		t.Errorf("second ReadStream(raw) returned %d records, want %d", got, len(entries)+1)
	}
	if got := s.ReadStream(t, ctx, "empty"); len(got) != 0 {
		t.Errorf("ReadStream(empty) = %d records, want 0", len(got))
	}
}

func make501(e ktypes.PutRecordsRequestEntry) []ktypes.PutRecordsRequestEntry {
	out := make([]ktypes.PutRecordsRequestEntry, 501)
	for i := range out {
		out[i] = e
	}
	return out
}

func TestStackDynamoDB(t *testing.T) {
	t.Parallel()
	s := testenv.Start(t)
	ctx := context.Background()
	ddb := s.DynamoDB()
	_, err := ddb.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName:            aws.String("leases"),
		AttributeDefinitions: []dtypes.AttributeDefinition{{AttributeName: aws.String("leaseKey"), AttributeType: dtypes.ScalarAttributeTypeS}},
		KeySchema:            []dtypes.KeySchemaElement{{AttributeName: aws.String("leaseKey"), KeyType: dtypes.KeyTypeHash}},
		BillingMode:          dtypes.BillingModePayPerRequest,
	})
	if err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	w := dynamodb.NewTableExistsWaiter(ddb, func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 20 * time.Millisecond })
	if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("leases")}, 30*time.Second); err != nil {
		t.Fatalf("wait for table: %v", err)
	}
	item := map[string]dtypes.AttributeValue{
		"leaseKey":   &dtypes.AttributeValueMemberS{Value: "shardId-000000000000"},
		"checkpoint": &dtypes.AttributeValueMemberS{Value: "49590338271490256608559692538361571095921575989136588898"},
		"counter":    &dtypes.AttributeValueMemberN{Value: "1"},
	}
	if _, err := ddb.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("leases"), Item: item}); err != nil {
		t.Fatalf("PutItem: %v", err)
	}
	// A conditional write that must fail: the emulator enforces conditions like DynamoDB does.
	_, err = ddb.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String("leases"), Item: item,
		ConditionExpression: aws.String("attribute_not_exists(leaseKey)"),
	})
	var ccf *dtypes.ConditionalCheckFailedException
	if err == nil || !errors.As(err, &ccf) {
		t.Errorf("conditional PutItem on an existing key: err = %v, want ConditionalCheckFailedException", err)
	}
	got, err := ddb.GetItem(ctx, &dynamodb.GetItemInput{
		TableName:      aws.String("leases"),
		Key:            map[string]dtypes.AttributeValue{"leaseKey": &dtypes.AttributeValueMemberS{Value: "shardId-000000000000"}},
		ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	cp, ok := got.Item["checkpoint"].(*dtypes.AttributeValueMemberS)
	if !ok || cp.Value != "49590338271490256608559692538361571095921575989136588898" {
		t.Errorf("GetItem checkpoint = %#v", got.Item["checkpoint"])
	}
}

func TestStackS3(t *testing.T) {
	t.Parallel()
	s := testenv.Start(t)
	ctx := context.Background()
	const bucket = "meshgate-quarantine"
	s.CreateBucket(t, bucket)

	body := bytes.Repeat([]byte("quarantined record\n"), 4096) // 76 KiB: more than one chunk
	_, err := s.S3().PutObject(ctx, &s3.PutObjectInput{
		Bucket:               aws.String(bucket),
		Key:                  aws.String("quarantine/orders/dt=2026-11-25/shardId-000000000000/1-2.ndjson.gz"),
		Body:                 bytes.NewReader(body),
		ContentType:          aws.String("application/x-ndjson"),
		ContentEncoding:      aws.String("gzip"),
		ServerSideEncryption: s3types.ServerSideEncryptionAes256,
	})
	if err != nil {
		t.Fatalf("PutObject (SSE-S3): %v", err)
	}
	_, err = s.S3().PutObject(ctx, &s3.PutObjectInput{
		Bucket:               aws.String(bucket),
		Key:                  aws.String("quarantine/customers/x.ndjson.gz"),
		Body:                 bytes.NewReader([]byte("kms")),
		ServerSideEncryption: s3types.ServerSideEncryptionAwsKms,
		SSEKMSKeyId:          aws.String("arn:aws:kms:us-east-1:000000000000:key/test"),
	})
	if err != nil {
		t.Fatalf("PutObject (SSE-KMS): %v", err)
	}
	// Overwriting a key replaces the object (deterministic quarantine keys rely on it).
	_, err = s.S3().PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String("quarantine/customers/x.ndjson.gz"),
		Body: bytes.NewReader([]byte("kms, again")), ServerSideEncryption: s3types.ServerSideEncryptionAwsKms,
	})
	if err != nil {
		t.Fatalf("PutObject (overwrite): %v", err)
	}

	keys := s.ListObjects(t, ctx, bucket, "quarantine/")
	want := []string{"quarantine/customers/x.ndjson.gz", "quarantine/orders/dt=2026-11-25/shardId-000000000000/1-2.ndjson.gz"}
	if strings.Join(keys, ",") != strings.Join(want, ",") {
		t.Errorf("ListObjects = %q, want %q", keys, want)
	}
	if got := s.ListObjects(t, ctx, bucket, "quarantine/orders/"); len(got) != 1 {
		t.Errorf("ListObjects(prefix orders) = %q, want one key", got)
	}
	if got := s.GetObject(t, ctx, bucket, want[1]); !bytes.Equal(got, body) {
		t.Errorf("GetObject returned %d bytes, want the %d put", len(got), len(body))
	}
	if got := string(s.GetObject(t, ctx, bucket, want[0])); got != "kms, again" {
		t.Errorf("GetObject after overwrite = %q", got)
	}
	// The SDK's own GetObject (response checksum validation at its default) and the metadata.
	out, err := s.S3().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(want[1])})
	if err != nil {
		t.Fatalf("GetObject: %v", err)
	}
	got, err := io.ReadAll(out.Body)
	out.Body.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("GetObject body: %d bytes, err %v", len(got), err)
	}
	if ce := aws.ToString(out.ContentEncoding); ce != "gzip" {
		t.Errorf("ContentEncoding = %q, want gzip", ce)
	}
	if out.ServerSideEncryption != s3types.ServerSideEncryptionAes256 {
		t.Errorf("ServerSideEncryption = %q, want AES256", out.ServerSideEncryption)
	}
	// A missing object is NoSuchKey, as on S3.
	_, err = s.S3().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String("nope")})
	var nsk *s3types.NoSuchKey
	if !errors.As(err, &nsk) {
		t.Errorf("GetObject(missing) err = %v, want NoSuchKey", err)
	}
}

// TestStackEndpoints checks that every endpoint is a distinct loopback URL and that two stacks
// never share a port (what lets test packages run in parallel).
func TestStackEndpoints(t *testing.T) {
	t.Parallel()
	a, b := testenv.Start(t), testenv.Start(t)
	ports := map[string]string{}
	for _, s := range []*testenv.Stack{a, b} {
		e := s.Endpoints()
		for name, raw := range map[string]string{"kinesis": e.Kinesis, "dynamodb": e.DynamoDB, "s3": e.S3} {
			u, err := url.Parse(raw)
			if err != nil || u.Scheme != "http" || u.Hostname() != "127.0.0.1" || u.Port() == "" {
				t.Fatalf("%s endpoint %q is not http://127.0.0.1:PORT", name, raw)
			}
			if prev, dup := ports[u.Port()]; dup {
				t.Errorf("port %s used by both %s and %s", u.Port(), prev, name)
			}
			ports[u.Port()] = name
			c, err := net.DialTimeout("tcp", u.Host, 5*time.Second)
			if err != nil {
				t.Errorf("%s endpoint %s does not accept connections: %v", name, raw, err)
			} else {
				c.Close()
			}
		}
	}
	env := strings.Join(a.Endpoints().Environ(), "\n")
	for _, want := range []string{
		"MESHGATE_KINESIS_ENDPOINT=" + a.Endpoints().Kinesis,
		"MESHGATE_DYNAMODB_ENDPOINT=" + a.Endpoints().DynamoDB,
		"MESHGATE_S3_ENDPOINT=" + a.Endpoints().S3,
		"AWS_REGION=us-east-1",
	} {
		if !strings.Contains(env, want+"\n") && !strings.HasSuffix(env, want) {
			t.Errorf("Environ() lacks %s", want)
		}
	}
}

// TestStackStopsOnCleanup checks that t.Cleanup leaves nothing listening.
func TestStackStopsOnCleanup(t *testing.T) {
	t.Parallel()
	var e testenv.Endpoints
	t.Run("stack", func(t *testing.T) { e = testenv.Start(t).Endpoints() })
	for _, raw := range []string{e.Kinesis, e.DynamoDB, e.S3} {
		waitClosed(t, raw, 5*time.Second)
	}
}

// TestStackStopsWhenTestProcessDies kills a test process that started a stack (as a -timeout
// panic or an OOM kill would end it: no cleanup runs) and checks the emulators go away too.
func TestStackStopsWhenTestProcessDies(t *testing.T) {
	if os.Getenv("TESTENV_HELPER") == "1" {
		s := testenv.Start(t)
		e := s.Endpoints()
		fmt.Printf("ENDPOINTS %s %s\n", e.Kinesis, e.DynamoDB)
		time.Sleep(time.Minute) // killed by the parent long before this ends
		return
	}
	t.Parallel()
	testenv.Start(t) // skip or fail like the other tests when the emulators are missing
	cmd := exec.Command(os.Args[0], "-test.run=^TestStackStopsWhenTestProcessDies$", "-test.v")
	cmd.Env = append(os.Environ(), "TESTENV_HELPER=1")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var kin, ddb string
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "ENDPOINTS %s %s", &kin, &ddb); err == nil {
			break
		}
	}
	if kin == "" {
		t.Fatalf("helper process printed no endpoints (scan err %v)", sc.Err())
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	waitClosed(t, kin, 10*time.Second)
	waitClosed(t, ddb, 10*time.Second)
}

func waitClosed(t *testing.T, raw string, within time.Duration) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(within)
	for {
		c, err := net.DialTimeout("tcp", u.Host, time.Second)
		if err != nil {
			return
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Errorf("%s still accepts connections %v after its stack should have stopped", raw, within)
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}
