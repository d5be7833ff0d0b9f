package iam

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
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

	"github.com/meshgate/meshgate/gen"
	"github.com/meshgate/meshgate/internal/testenv"
	"github.com/meshgate/meshgate/quarantine"
)

// TestPolicyEqualsRecordedCalls is the least-privilege proof: it runs the real worker binary
// against the local emulators through every path it takes in production, records the AWS
// operations it calls (MESHGATE_RECORD_AWS_CALLS, awsclient.Recorder), and fails when
// worker-policy.json lacks an action the worker called or grants one it never called.
//
// The run covers: a cold start (lease tables missing: DescribeTable, CreateTable), taking
// leases on two raw streams, good records to the curated streams, bad and hostile records to
// the quarantine bucket, checkpoints, a resharding (SHARD_END, child shards), shards vanishing
// from the stream (as closed shards do once the retention period passes: the worker deletes
// their lease rows; kinesalite never expires shards, so the test deletes and recreates the
// stream), and a graceful stop (leases released).
//
// A second run reads the contracts from an S3 prefix; what it calls beyond worker-policy.json
// must be exactly worker-policy-contracts-s3.json.
//
// KMS is not in the recording: with a customer-managed key Kinesis and S3 call KMS on the
// worker's behalf (kms:ViaService), so worker-policy-kms.json is checked by shape (Lint and
// TestKMSVariant) and by the Kinesis/S3 documentation, not by this run.
//
// Set MESHGATE_IAM_CALLS_OUT=FILE to keep the recording.
func TestPolicyEqualsRecordedCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("end-to-end worker run; skipped with -short")
	}
	stack := testenv.Start(t)
	bin := testenv.BuildMeshgate(t)
	root, err := testenv.ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	stack.CreateStream(t, "orders-raw", 2)
	stack.CreateStream(t, "customers-raw", 1)
	stack.CreateStream(t, "orders-curated", 1)
	stack.CreateStream(t, "customers-curated", 1)
	stack.CreateBucket(t, "meshgate-quarantine")

	// Records: good, bad and hostile, for both domains.
	g, err := gen.New(gen.Config{Domain: gen.DomainMixed, Seed: 9, BadFraction: 0.25, HostileFraction: 0.1, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	var putFrom func(g *gen.Generator, n int)
	want := map[string]int{} // "good"/"quarantined" -> count
	put := func(n int) { t.Helper(); putFrom(g, n) }
	putFrom = func(g *gen.Generator, n int) {
		t.Helper()
		byStream := map[string][]ktypes.PutRecordsRequestEntry{}
		for i := 0; i < n; i++ {
			r := g.Next()
			if len(r.Data) > 1<<20 {
				i-- // a record over the 1 MiB Kinesis limit cannot even be put
				continue
			}
			pk := r.PartitionKey
			if pk == "" {
				pk = fmt.Sprintf("pk-%d", i)
			}
			byStream[r.Stream] = append(byStream[r.Stream], ktypes.PutRecordsRequestEntry{Data: r.Data, PartitionKey: aws.String(pk)})
			if r.Outcome == gen.OutcomeQuarantined {
				want["quarantined"]++
			} else {
				want["good"]++
			}
		}
		for stream, entries := range byStream {
			out, err := stack.Kinesis().PutRecords(ctx, &kinesis.PutRecordsInput{StreamName: aws.String(stream), Records: entries})
			if err != nil || aws.ToInt32(out.FailedRecordCount) != 0 {
				t.Fatalf("put records to %s: %v", stream, err)
			}
		}
	}
	put(80)

	dir := t.TempDir()
	calls := filepath.Join(dir, "calls.json")
	if p := os.Getenv("MESHGATE_IAM_CALLS_OUT"); p != "" {
		calls, _ = filepath.Abs(p)
	}
	listen := freeAddr(t)
	cfg := fmt.Sprintf(`application: iamproof
contracts: %s
streams:
  - name: orders-raw
  - name: customers-raw
quarantine: {bucket: meshgate-quarantine, prefix: quarantine}
kcl:
  initialPosition: TRIM_HORIZON
  idleTimeBetweenReads: 200ms
  failoverTime: 5s
  shardSyncInterval: 500ms
http: {listen: %q}
log: {level: info}
shutdownGrace: 15s
`, filepath.Join(root, "examples", "contracts"), listen)
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	w := startWorker(t, bin, cfgPath, append(stack.Endpoints().Environ(),
		"MESHGATE_RECORD_AWS_CALLS="+calls, "MESHGATE_HASH_SALT=iam-proof", "MESHGATE_WORKER_ID=iam-proof-1"))
	exited := w.exited

	waitFor(t, ctx, exited, "all records routed", func() bool { return maps.Equal(routed(ctx, stack), want) })

	// Resharding: split an orders shard; the parent is finished (SHARD_END), children start.
	shards := stack.Shards(t, ctx, "orders-raw")
	if _, err := stack.Kinesis().SplitShard(ctx, &kinesis.SplitShardInput{
		StreamName: aws.String("orders-raw"), ShardToSplit: aws.String(shards[0]),
		NewStartingHashKey: aws.String("85070591730234615865843651857942052864"),
	}); err != nil {
		t.Fatalf("split shard: %v", err)
	}
	waitActive(t, ctx, stack, "orders-raw")
	put(40)
	waitFor(t, ctx, exited, "records after the split routed", func() bool { return maps.Equal(routed(ctx, stack), want) })
	waitFor(t, ctx, exited, "lease rows for the child shards", func() bool { return len(leaseRows(ctx, stack, "iamproof-orders-raw")) == 4 })

	// Shards vanish: recreate the stream with one shard. The worker deletes the lease rows of
	// the shards ListShards no longer returns.
	if _, err := stack.Kinesis().DeleteStream(ctx, &kinesis.DeleteStreamInput{StreamName: aws.String("orders-raw")}); err != nil {
		t.Fatal(err)
	}
	waitGone(t, ctx, stack, "orders-raw")
	stack.CreateStream(t, "orders-raw", 1)
	waitFor(t, ctx, exited, "lease rows of vanished shards deleted", func() bool {
		rows := leaseRows(ctx, stack, "iamproof-orders-raw")
		for _, r := range rows {
			if r != "shardId-000000000000" {
				return false
			}
		}
		return true
	})

	// Graceful stop: the worker releases its leases and writes the recording on exit.
	w.stop(t)

	recorded, err := LoadCalls(calls)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("recorded AWS calls:")
	for _, c := range recorded {
		t.Logf("  %-10s %-22s %6d calls %4d errors", c.Service, c.Operation, c.Calls, c.Errors)
	}
	p, err := Load("worker-policy.json")
	if err != nil {
		t.Fatal(err)
	}
	if d := Compare(p.Actions(), recorded); !d.Empty() {
		t.Errorf("deploy/iam/worker-policy.json is not least privilege for the recorded run: %s", d)
	}

	// Contracts from S3: a second run on the same streams reads its contracts from an S3
	// prefix (initial load, then polling by ETag). What it calls beyond worker-policy.json
	// must be exactly worker-policy-contracts-s3.json.
	t.Run("contracts from S3", func(t *testing.T) {
		const contractsBucket, contractsPrefix = "meshgate-contracts", "contracts/prod"
		stack.CreateBucket(t, contractsBucket)
		uploadDir(t, ctx, stack, filepath.Join(root, "examples", "contracts"), contractsBucket, contractsPrefix)
		calls2 := filepath.Join(dir, "calls-contracts-s3.json")
		cfg2 := strings.Replace(cfg, "contracts: "+filepath.Join(root, "examples", "contracts"),
			"contracts: s3://"+contractsBucket+"/"+contractsPrefix+"\ncontractsReload: 300ms", 1)
		cfg2Path := filepath.Join(dir, "config-contracts-s3.yaml")
		if err := os.WriteFile(cfg2Path, []byte(cfg2), 0o644); err != nil {
			t.Fatal(err)
		}
		w := startWorker(t, bin, cfg2Path, append(stack.Endpoints().Environ(),
			"MESHGATE_RECORD_AWS_CALLS="+calls2, "MESHGATE_HASH_SALT=iam-proof", "MESHGATE_WORKER_ID=iam-proof-2"))
		exited := w.exited
		// customers-raw only: the recreated orders-raw reuses the id of a shard the first run
		// finished (SHARD_END), which no worker reads again.
		cg, err := gen.New(gen.Config{Domain: gen.DomainCustomers, Seed: 10, BadFraction: 0.25, Now: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		putFrom(cg, 20)
		waitFor(t, ctx, exited, "records routed with contracts from S3", func() bool { return maps.Equal(routed(ctx, stack), want) })
		time.Sleep(time.Second) // a few polls of the prefix
		w.stop(t)
		recorded2, err := LoadCalls(calls2)
		if err != nil {
			t.Fatal(err)
		}
		variant, err := Load("worker-policy-contracts-s3.json")
		if err != nil {
			t.Fatal(err)
		}
		base := map[string]bool{}
		for _, a := range p.Actions() {
			base[a] = true
		}
		var beyond []string
		for _, a := range CalledActions(recorded2) {
			if !base[a] {
				beyond = append(beyond, a)
			}
		}
		if !reflect.DeepEqual(beyond, variant.Actions()) {
			t.Errorf("with contracts from S3 the worker called %v beyond worker-policy.json; worker-policy-contracts-s3.json grants %v", beyond, variant.Actions())
		}
		both, err := LoadCalls(calls, calls2)
		if err != nil {
			t.Fatal(err)
		}
		if d := Compare(append(p.Actions(), variant.Actions()...), both); !d.Empty() {
			t.Errorf("worker-policy.json + worker-policy-contracts-s3.json against both runs: %s", d)
		}
	})
}

// uploadDir puts every file under dir into bucket below prefix, keyed by its relative path.
func uploadDir(t *testing.T, ctx context.Context, stack *testenv.Stack, dir, bucket, prefix string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(path string, de os.DirEntry, err error) error {
		if err != nil || de.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		_, err = stack.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket),
			Key: aws.String(prefix + "/" + filepath.ToSlash(rel)), Body: bytes.NewReader(data)})
		return err
	})
	if err != nil {
		t.Fatalf("upload %s: %v", dir, err)
	}
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitFor polls cond until it holds, the worker exits, or ctx ends.
// worker is a `meshgate run` process of the proof; it is killed at the end of the test
// unless stop ended it, and its output is logged when the test failed.
type worker struct {
	cmd     *exec.Cmd
	exited  chan error // receives the process's exit once (waitFor puts it back)
	stopped bool
}

func startWorker(t *testing.T, bin, cfgPath string, env []string) *worker {
	t.Helper()
	var logs bytes.Buffer
	w := &worker{cmd: exec.Command(bin, "run", "--config", cfgPath), exited: make(chan error, 1)}
	w.cmd.Env = env
	w.cmd.Stdout, w.cmd.Stderr = &logs, &logs
	if err := w.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { w.exited <- w.cmd.Wait() }()
	t.Cleanup(func() {
		if !w.stopped {
			w.cmd.Process.Kill()
			<-w.exited
		}
		if t.Failed() {
			t.Logf("worker output (%s):\n%s", filepath.Base(cfgPath), tail(logs.String(), 60))
		}
	})
	return w
}

// stop sends SIGTERM and wants a clean exit within 30s: a graceful stop releases the leases
// and writes the recording of AWS calls.
func (w *worker) stop(t *testing.T) {
	t.Helper()
	if err := w.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-w.exited:
		w.stopped = true
		if err != nil {
			t.Fatalf("worker exit: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("worker did not stop within 30s of SIGTERM")
	}
}

func waitFor(t *testing.T, ctx context.Context, exited chan error, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case err := <-exited:
			exited <- err
			t.Fatalf("worker exited (%v) while waiting for %s", err, what)
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(300 * time.Millisecond):
		}
	}
}

// routed counts good records on the curated streams and quarantined records in the bucket.
func routed(ctx context.Context, stack *testenv.Stack) map[string]int {
	got := map[string]int{}
	for _, s := range []string{"orders-curated", "customers-curated"} {
		for _, recs := range readAll(ctx, stack, s) {
			got["good"] += recs
		}
	}
	keys, err := listObjects(ctx, stack)
	if err != nil {
		return got
	}
	for _, k := range keys {
		body, err := getObject(ctx, stack, k)
		if err != nil {
			return got
		}
		recs, err := quarantine.Decode(bytes.NewReader(body))
		if err != nil {
			return got
		}
		got["quarantined"] += len(recs)
	}
	return got
}

func readAll(ctx context.Context, stack *testenv.Stack, stream string) map[string]int {
	out := map[string]int{}
	kin := stack.Kinesis()
	ls, err := kin.ListShards(ctx, &kinesis.ListShardsInput{StreamName: aws.String(stream)})
	if err != nil {
		return out
	}
	for _, sh := range ls.Shards {
		it, err := kin.GetShardIterator(ctx, &kinesis.GetShardIteratorInput{StreamName: aws.String(stream),
			ShardId: sh.ShardId, ShardIteratorType: ktypes.ShardIteratorTypeTrimHorizon})
		if err != nil {
			return out
		}
		iter := it.ShardIterator
		for iter != nil {
			r, err := kin.GetRecords(ctx, &kinesis.GetRecordsInput{ShardIterator: iter})
			if err != nil {
				return out
			}
			out[aws.ToString(sh.ShardId)] += len(r.Records)
			if len(r.Records) == 0 {
				break
			}
			iter = r.NextShardIterator
		}
	}
	return out
}

func listObjects(ctx context.Context, stack *testenv.Stack) ([]string, error) {
	var keys []string
	p := s3.NewListObjectsV2Paginator(stack.S3(), &s3.ListObjectsV2Input{Bucket: aws.String("meshgate-quarantine"), Prefix: aws.String("quarantine/")})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, o := range page.Contents {
			keys = append(keys, aws.ToString(o.Key))
		}
	}
	return keys, nil
}

func getObject(ctx context.Context, stack *testenv.Stack, key string) ([]byte, error) {
	out, err := stack.S3().GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String("meshgate-quarantine"), Key: aws.String(key)})
	if err != nil {
		return nil, err
	}
	defer out.Body.Close()
	return io.ReadAll(out.Body)
}

// leaseRows returns the ShardID of every row of a lease table (nil while it does not exist).
func leaseRows(ctx context.Context, stack *testenv.Stack, table string) []string {
	out, err := stack.DynamoDB().Scan(ctx, &dynamodb.ScanInput{TableName: aws.String(table)})
	if err != nil {
		return nil
	}
	var ids []string
	for _, it := range out.Items {
		if v, ok := it["ShardID"].(*dtypes.AttributeValueMemberS); ok {
			ids = append(ids, v.Value)
		}
	}
	return ids
}

func waitActive(t *testing.T, ctx context.Context, stack *testenv.Stack, stream string) {
	t.Helper()
	for {
		out, err := stack.Kinesis().DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err == nil && out.StreamDescriptionSummary.StreamStatus == ktypes.StreamStatusActive {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stream %s not ACTIVE", stream)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func waitGone(t *testing.T, ctx context.Context, stack *testenv.Stack, stream string) {
	t.Helper()
	for {
		_, err := stack.Kinesis().DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(stream)})
		if err != nil && strings.Contains(err.Error(), "ResourceNotFound") {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("stream %s not deleted", stream)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
