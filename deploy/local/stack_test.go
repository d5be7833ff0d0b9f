// Package local_test runs deploy/local/stack.sh for real: up (twice: it must be idempotent),
// status, env, down, on free ports and a private run directory so it never touches a developer's
// running stack.
package local_test

import (
	"bytes"
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/kinesis"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

func prerequisites(t *testing.T) {
	t.Helper()
	var missing []string
	if _, err := os.Stat("/usr/bin/aws"); err != nil {
		missing = append(missing, "/usr/bin/aws (apt-get install awscli)")
	}
	if _, err := os.Stat("node_modules/kinesalite/package.json"); err != nil {
		missing = append(missing, "emulators (run deploy/local/install.sh)")
	}
	if len(missing) == 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("missing: %s", strings.Join(missing, ", "))
	}
	t.Skipf("missing: %s", strings.Join(missing, ", "))
}

func freePorts(t *testing.T, n int) []int {
	t.Helper()
	var ports []int
	var lns []net.Listener
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	for _, ln := range lns {
		ln.Close()
	}
	return ports
}

type stack struct {
	t   *testing.T
	env []string
}

// run runs stack.sh with args; it returns stdout, stderr and whether it exited 0.
func (s *stack) run(args ...string) (string, string, bool) {
	s.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "./stack.sh", args...)
	cmd.Env = s.env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if ctx.Err() != nil {
		s.t.Fatalf("stack.sh %s timed out; stderr:\n%s", strings.Join(args, " "), stderr.String())
	}
	return stdout.String(), stderr.String(), err == nil
}

func (s *stack) must(args ...string) (string, string) {
	s.t.Helper()
	out, errOut, ok := s.run(args...)
	if !ok {
		s.t.Fatalf("stack.sh %s failed; stderr:\n%s", strings.Join(args, " "), errOut)
	}
	return out, errOut
}

func TestStackScript(t *testing.T) {
	t.Parallel()
	prerequisites(t)
	ports := freePorts(t, 3)
	runDir := t.TempDir()
	s := &stack{t: t, env: append(os.Environ(),
		"MESHGATE_LOCAL_KINESIS_PORT="+strconv.Itoa(ports[0]),
		"MESHGATE_LOCAL_DYNAMODB_PORT="+strconv.Itoa(ports[1]),
		"MESHGATE_LOCAL_S3_PORT="+strconv.Itoa(ports[2]),
		"MESHGATE_LOCAL_RUN_DIR="+runDir,
	)}
	t.Cleanup(func() { s.run("down") })

	if _, _, ok := s.run("status"); ok {
		t.Fatal("status exited 0 before up")
	}
	start := time.Now()
	s.must("up")
	t.Logf("stack.sh up (fresh): %v", time.Since(start).Round(100*time.Millisecond))

	status, _ := s.must("status")
	for _, name := range []string{"kinesis", "dynamodb", "s3"} {
		if !strings.Contains(status, name) || strings.Count(status, "running") != 3 {
			t.Fatalf("status after up:\n%s", status)
		}
	}
	for _, f := range []string{"kinesis.pid", "dynamodb.pid", "s3.pid", "kinesis.log"} {
		if _, err := os.Stat(filepath.Join(runDir, f)); err != nil {
			t.Errorf("%s not in the run directory: %v", f, err)
		}
	}

	envOut, _ := s.must("env")
	env := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(envOut), "\n") {
		if kv, ok := strings.CutPrefix(line, "export "); ok {
			k, v, _ := strings.Cut(kv, "=")
			env[k] = v
		}
	}
	want := map[string]string{
		"MESHGATE_KINESIS_ENDPOINT":  "http://127.0.0.1:" + strconv.Itoa(ports[0]),
		"MESHGATE_DYNAMODB_ENDPOINT": "http://127.0.0.1:" + strconv.Itoa(ports[1]),
		"MESHGATE_S3_ENDPOINT":       "http://127.0.0.1:" + strconv.Itoa(ports[2]),
		"AWS_ACCESS_KEY_ID":          "test",
		"AWS_REGION":                 "us-east-1",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("env: %s=%q, want %q", k, env[k], v)
		}
	}

	checkResources(t, env["MESHGATE_KINESIS_ENDPOINT"], env["MESHGATE_S3_ENDPOINT"])

	// Idempotent: a second up finds everything running and created, and changes nothing.
	_, errOut := s.must("up")
	if strings.Count(errOut, "already running") != 3 || strings.Contains(errOut, "created") {
		t.Errorf("second up was not a no-op:\n%s", errOut)
	}
	checkResources(t, env["MESHGATE_KINESIS_ENDPOINT"], env["MESHGATE_S3_ENDPOINT"])

	s.must("down")
	if _, _, ok := s.run("status"); ok {
		t.Error("status exited 0 after down")
	}
	for _, p := range ports {
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(p), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still open after down", p)
		}
	}
	s.must("down") // down of a stopped stack is fine too
}

// TestStackScriptPortInUse checks that up refuses a port something else holds.
func TestStackScriptPortInUse(t *testing.T) {
	t.Parallel()
	prerequisites(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	ports := freePorts(t, 2)
	s := &stack{t: t, env: append(os.Environ(),
		"MESHGATE_LOCAL_KINESIS_PORT="+strconv.Itoa(ln.Addr().(*net.TCPAddr).Port),
		"MESHGATE_LOCAL_DYNAMODB_PORT="+strconv.Itoa(ports[0]),
		"MESHGATE_LOCAL_S3_PORT="+strconv.Itoa(ports[1]),
		"MESHGATE_LOCAL_RUN_DIR="+t.TempDir(),
	)}
	t.Cleanup(func() { s.run("down") })
	_, errOut, ok := s.run("up")
	if ok || !strings.Contains(errOut, "in use") {
		t.Errorf("up with the Kinesis port taken: ok=%v, stderr:\n%s", ok, errOut)
	}
}

func checkResources(t *testing.T, kinesisURL, s3URL string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	kin := kinesis.NewFromConfig(cfg, func(o *kinesis.Options) { o.BaseEndpoint = aws.String(kinesisURL) })
	wantShards := map[string]int32{"orders-raw": 2, "customers-raw": 1, "payments-raw": 1, "orders-curated": 1, "customers-curated": 1, "payments-curated": 1}
	list, err := kin.ListStreams(ctx, &kinesis.ListStreamsInput{})
	if err != nil {
		t.Fatalf("ListStreams: %v", err)
	}
	got := slices.Sorted(slices.Values(list.StreamNames))
	if strings.Join(got, ",") != "customers-curated,customers-raw,orders-curated,orders-raw,payments-curated,payments-raw" {
		t.Errorf("streams = %v", got)
	}
	for name, shards := range wantShards {
		d, err := kin.DescribeStreamSummary(ctx, &kinesis.DescribeStreamSummaryInput{StreamName: aws.String(name)})
		if err != nil {
			t.Fatalf("DescribeStreamSummary %s: %v", name, err)
		}
		if n := aws.ToInt32(d.StreamDescriptionSummary.OpenShardCount); n != shards || d.StreamDescriptionSummary.StreamStatus != "ACTIVE" {
			t.Errorf("%s: %d shards, %s; want %d, ACTIVE", name, n, d.StreamDescriptionSummary.StreamStatus, shards)
		}
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.BaseEndpoint = aws.String(s3URL); o.UsePathStyle = true })
	if _, err := s3c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String("meshgate-quarantine")}); err != nil {
		t.Errorf("HeadBucket meshgate-quarantine: %v", err)
	}
}
