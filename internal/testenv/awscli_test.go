package testenv_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meshgate/meshgate/internal/testenv"
)

// awsCLI is the AWS CLI v2 from Debian's awscli package. An older v1 may come first on PATH, so
// the full path is used.
const awsCLI = "/usr/bin/aws"

// runAWS runs the real AWS CLI against one of the stack's emulators and returns its stdout.
func runAWS(t *testing.T, endpoint string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := filepath.Join(t.TempDir(), "aws-config")
	if err := os.WriteFile(cfg, []byte("[default]\ns3 =\n    addressing_style = path\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, awsCLI, append([]string{"--endpoint-url", endpoint, "--output", "json"}, args...)...)
	cmd.Env = append(testenv.Endpoints{}.Environ(), "AWS_CONFIG_FILE="+cfg, "AWS_PAGER=")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("aws %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// TestAWSCLI uses the real AWS CLI v2 as a client of the emulators the harness started: what it
// writes, the SDK reads back, and the other way round.
func TestAWSCLI(t *testing.T) {
	t.Parallel()
	if _, err := os.Stat(awsCLI); err != nil {
		msg := awsCLI + " (AWS CLI v2, Debian package awscli) is missing: apt-get install awscli"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	version, err := exec.Command(awsCLI, "--version").CombinedOutput()
	if err != nil || !bytes.HasPrefix(version, []byte("aws-cli/2.")) {
		t.Fatalf("%s is not the AWS CLI v2: %q %v", awsCLI, version, err)
	}
	t.Logf("%s", bytes.TrimSpace(version))

	s := testenv.Start(t)
	e := s.Endpoints()
	ctx := context.Background()

	t.Run("kinesis", func(t *testing.T) {
		t.Parallel() // each CLI call is mostly Python start-up: overlap them
		s.CreateStream(t, "cli-raw", 1)
		payload := []byte(`{"event_id":"9b2f3c4e-0000-4000-8000-000000000001","source":"aws-cli"}`)
		// --cli-binary-format raw-in-base64-out: --data is the raw text, not base64 (CLI v2).
		out := runAWS(t, e.Kinesis, "kinesis", "put-record", "--stream-name", "cli-raw",
			"--partition-key", "C0012345", "--data", string(payload), "--cli-binary-format", "raw-in-base64-out")
		var put struct{ ShardId, SequenceNumber string }
		if err := json.Unmarshal(out, &put); err != nil || put.SequenceNumber == "" {
			t.Fatalf("put-record output %s: %v", out, err)
		}
		recs := s.ReadStream(t, ctx, "cli-raw")
		if len(recs) != 1 || !bytes.Equal(recs[0].Data, payload) || aws.ToString(recs[0].SequenceNumber) != put.SequenceNumber {
			t.Fatalf("SDK read %d records after aws put-record (first %+v), want the one put (seq %s)", len(recs), recs, put.SequenceNumber)
		}
		if aws.ToString(recs[0].PartitionKey) != "C0012345" {
			t.Errorf("partition key = %q", aws.ToString(recs[0].PartitionKey))
		}

		// The other way: the SDK writes, the CLI reads.
		if _, err := s.Kinesis().PutRecord(ctx, &kinesis.PutRecordInput{StreamName: aws.String("cli-raw"), Data: []byte("from-sdk"), PartitionKey: aws.String("k")}); err != nil {
			t.Fatal(err)
		}
		var it struct{ ShardIterator string }
		if err := json.Unmarshal(runAWS(t, e.Kinesis, "kinesis", "get-shard-iterator", "--stream-name", "cli-raw",
			"--shard-id", put.ShardId, "--shard-iterator-type", "TRIM_HORIZON"), &it); err != nil {
			t.Fatal(err)
		}
		var got struct{ Records []struct{ Data string } }
		if err := json.Unmarshal(runAWS(t, e.Kinesis, "kinesis", "get-records", "--shard-iterator", it.ShardIterator), &got); err != nil {
			t.Fatal(err)
		}
		var datas []string
		for _, r := range got.Records {
			d, err := base64.StdEncoding.DecodeString(r.Data)
			if err != nil {
				t.Fatalf("get-records data %q: %v", r.Data, err)
			}
			datas = append(datas, string(d))
		}
		if len(datas) != 2 || datas[0] != string(payload) || datas[1] != "from-sdk" {
			t.Errorf("aws get-records = %q, want the CLI's record then the SDK's", datas)
		}
	})

	t.Run("s3", func(t *testing.T) {
		t.Parallel() // each CLI call is mostly Python start-up: overlap them
		const bucket = "meshgate-quarantine"
		runAWS(t, e.S3, "s3api", "create-bucket", "--bucket", bucket)
		src := filepath.Join(t.TempDir(), "rec.ndjson")
		body := bytes.Repeat([]byte(`{"reason":"contract","rule":"total_matches_items"}`+"\n"), 2000) // ~100 KiB
		if err := os.WriteFile(src, body, 0o600); err != nil {
			t.Fatal(err)
		}
		runAWS(t, e.S3, "s3", "cp", src, "s3://"+bucket+"/quarantine/orders/from-cli.ndjson", "--sse", "AES256")
		if got := s.GetObject(t, ctx, bucket, "quarantine/orders/from-cli.ndjson"); !bytes.Equal(got, body) {
			t.Errorf("SDK GetObject after aws s3 cp: %d bytes, want %d identical", len(got), len(body))
		}
		if _, err := s.S3().PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(bucket), Key: aws.String("quarantine/customers/from-sdk.ndjson"),
			Body: bytes.NewReader([]byte("sdk\n")), ServerSideEncryption: "AES256",
		}); err != nil {
			t.Fatal(err)
		}
		ls := string(runAWS(t, e.S3, "s3", "ls", "--recursive", "s3://"+bucket+"/quarantine/"))
		for _, key := range []string{"quarantine/orders/from-cli.ndjson", "quarantine/customers/from-sdk.ndjson"} {
			if !strings.Contains(ls, key) {
				t.Errorf("aws s3 ls --recursive lacks %s:\n%s", key, ls)
			}
		}
		dst := filepath.Join(t.TempDir(), "back.ndjson")
		runAWS(t, e.S3, "s3", "cp", "s3://"+bucket+"/quarantine/customers/from-sdk.ndjson", dst)
		if got, err := os.ReadFile(dst); err != nil || string(got) != "sdk\n" {
			t.Errorf("aws s3 cp of the SDK's object: %q, %v", got, err)
		}
	})

	t.Run("dynamodb", func(t *testing.T) {
		t.Parallel() // each CLI call is mostly Python start-up: overlap them
		runAWS(t, e.DynamoDB, "dynamodb", "create-table", "--table-name", "meshgate-leases",
			"--attribute-definitions", "AttributeName=leaseKey,AttributeType=S",
			"--key-schema", "AttributeName=leaseKey,KeyType=HASH", "--billing-mode", "PAY_PER_REQUEST")
		w := dynamodb.NewTableExistsWaiter(s.DynamoDB(), func(o *dynamodb.TableExistsWaiterOptions) { o.MinDelay = 20 * time.Millisecond })
		if err := w.Wait(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("meshgate-leases")}, 30*time.Second); err != nil {
			t.Fatalf("table created by the CLI never became ACTIVE: %v", err)
		}
		var tables struct{ TableNames []string }
		if err := json.Unmarshal(runAWS(t, e.DynamoDB, "dynamodb", "list-tables"), &tables); err != nil {
			t.Fatal(err)
		}
		if len(tables.TableNames) != 1 || tables.TableNames[0] != "meshgate-leases" {
			t.Errorf("list-tables = %v", tables.TableNames)
		}
	})
}
