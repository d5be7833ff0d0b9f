package processor

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/awsclient"
	"github.com/meshgate/meshgate/config"
	"github.com/meshgate/meshgate/rules"
)

// lifecycleWorker builds a Worker whose AWS endpoints are never called (nothing listens).
func lifecycleWorker(t *testing.T, streams ...config.Stream) (*Worker, error) {
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "things.yaml"), []byte(thingsContract), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := rules.Load(dir, rules.Options{InsecureTestSalt: true})
	if err != nil {
		t.Fatal(err)
	}
	clients, err := awsclient.New(context.Background(), awsclient.Options{Region: "us-east-1",
		KinesisEndpoint: "http://127.0.0.1:9", DynamoDBEndpoint: "http://127.0.0.1:9", S3Endpoint: "http://127.0.0.1:9"})
	if err != nil {
		t.Fatal(err)
	}
	c := config.Default()
	c.Region, c.WorkerID, c.Streams = "us-east-1", "w", streams
	c.Quarantine.Bucket = "b"
	c.ShutdownGrace = config.Duration(2 * time.Second)
	return New(&c, Deps{AWS: clients, Rules: func() *rules.Set { return set }})
}

func TestWorkerNewRejectsStreamsWithoutContract(t *testing.T) {
	_, err := lifecycleWorker(t, config.Stream{Name: "things-raw"}, config.Stream{Name: "other-raw"},
		config.Stream{Name: "x-raw", Contract: "nope"})
	want := "stream other-raw: no active contract lists it in its sources (or set streams[].contract)\n" +
		"stream x-raw: no active contract for domain \"nope\""
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestWorkerStopBeforeRunAndTwice(t *testing.T) {
	w, err := lifecycleWorker(t, config.Stream{Name: "things-raw"})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		if err := w.Stop(context.Background()); err != nil {
			t.Fatalf("Stop %d: %v", i, err)
		}
	}
	if err := w.Run(context.Background()); err != nil {
		t.Errorf("Run after Stop: %v", err)
	}
	if w.Ready() {
		t.Error("ready")
	}
}

// TestWorkerStopsWhileDependenciesAreDown: the stream's dependencies never answer; Run keeps
// retrying (not ready, no crash) and stops promptly when asked.
func TestWorkerStopsWhileDependenciesAreDown(t *testing.T) {
	w, err := lifecycleWorker(t, config.Stream{Name: "things-raw"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	time.Sleep(1500 * time.Millisecond)
	if w.Ready() {
		t.Error("ready although nothing answers")
	}
	if err := w.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("second Run while running: %v", err)
	}
	began := time.Now()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(3 * time.Second):
		t.Fatal("Run did not return within the grace period")
	}
	if took := time.Since(began); took > time.Second {
		t.Errorf("stopping an unstarted stream took %v", took)
	}
}
