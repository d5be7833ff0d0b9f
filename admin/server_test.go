package admin

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func TestHealthzAlways200(t *testing.T) {
	s := New(prometheus.NewRegistry(), quietLogger())
	s.Condition("worker") // never ready: must not affect /healthz
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	code, body, _ := get(t, ts.URL+"/healthz")
	if code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
}

func TestReadyz(t *testing.T) {
	s := New(prometheus.NewRegistry(), quietLogger())
	contracts := s.Condition("contracts")
	aws := s.Condition("aws_clients")
	worker := s.Condition("worker")
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()

	readyz := func() (int, Readiness) {
		code, body, hdr := get(t, ts.URL+"/readyz")
		if ct := hdr.Get("Content-Type"); ct != "application/json" {
			t.Errorf("Content-Type = %q", ct)
		}
		var r Readiness
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatalf("body %q: %v", body, err)
		}
		return code, r
	}

	code, r := readyz()
	if code != 503 || r.Status != "not ready" || strings.Join(r.Failing, ",") != "aws_clients,contracts,worker" {
		t.Fatalf("initial: %d %+v", code, r)
	}
	if r.Checks[0].Error != ErrNotReady.Error() {
		t.Errorf("initial error = %q", r.Checks[0].Error)
	}

	contracts.Set(nil)
	aws.Set(nil)
	code, r = readyz()
	if code != 503 || strings.Join(r.Failing, ",") != "worker" {
		t.Fatalf("worker pending: %d %+v", code, r)
	}

	worker.Set(nil)
	code, r = readyz()
	if code != 200 || r.Status != "ready" || len(r.Failing) != 0 || len(r.Checks) != 3 {
		t.Fatalf("all ready: %d %+v", code, r)
	}

	worker.Set(errors.New("shutting down"))
	code, r = readyz()
	if code != 503 || strings.Join(r.Failing, ",") != "worker" || r.Checks[2].Error != "shutting down" {
		t.Fatalf("draining: %d %+v", code, r)
	}
}

func TestReadyzWithoutChecksIsReady(t *testing.T) {
	s := New(prometheus.NewRegistry(), quietLogger())
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	if code, body, _ := get(t, ts.URL+"/readyz"); code != 200 || !strings.Contains(body, `"status":"ready"`) {
		t.Fatalf("%d %s", code, body)
	}
}

func TestReadyzCheckPanicsAndHangs(t *testing.T) {
	s := New(prometheus.NewRegistry(), quietLogger())
	s.AddCheck("panics", func(context.Context) error { panic("boom") })
	s.AddCheck("hangs", func(ctx context.Context) error { <-ctx.Done(); time.Sleep(10 * time.Millisecond); return nil })
	s.AddCheck("fine", func(context.Context) error { return nil })
	start := time.Now()
	r := s.Ready(context.Background())
	if d := time.Since(start); d > CheckTimeout+time.Second {
		t.Errorf("Ready took %v", d)
	}
	if strings.Join(r.Failing, ",") != "hangs,panics" {
		t.Fatalf("%+v", r)
	}
	for _, c := range r.Checks {
		switch c.Name {
		case "panics":
			if !strings.Contains(c.Error, "boom") {
				t.Errorf("panic error %q", c.Error)
			}
		case "hangs":
			if !strings.Contains(c.Error, "did not answer") {
				t.Errorf("hang error %q", c.Error)
			}
		}
	}
}

func TestAddCheckTwicePanics(t *testing.T) {
	s := New(prometheus.NewRegistry(), quietLogger())
	s.Condition("worker")
	defer func() {
		if recover() == nil {
			t.Fatal("no panic")
		}
	}()
	s.Condition("worker")
}

func TestMetricsFromInjectedGatherer(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.RecordsIn.WithLabelValues("orders-raw", "orders").Add(3)
	s := New(reg, quietLogger())
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	code, body, _ := get(t, ts.URL+"/metrics")
	if code != 200 {
		t.Fatalf("/metrics = %d", code)
	}
	for _, want := range []string{
		`meshgate_records_in_total{domain="orders",stream="orders-raw"} 3`,
		"go_goroutines ",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	// A different registry's metrics must not leak in.
	if strings.Contains(body, "promhttp_metric_handler_requests_total") {
		t.Error("/metrics serves the default registry")
	}
}

func TestMethodsAndUnknownPaths(t *testing.T) {
	s := New(prometheus.NewRegistry(), quietLogger())
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	resp, err := http.Post(ts.URL+"/healthz", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /healthz = %d", resp.StatusCode)
	}
	if code, _, _ := get(t, ts.URL+"/nope"); code != 404 {
		t.Errorf("/nope = %d", code)
	}
	resp, err = http.Head(ts.URL + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("HEAD /healthz = %d", resp.StatusCode)
	}
}

func TestStartShutdown(t *testing.T) {
	s := New(prometheus.NewRegistry(), quietLogger())
	if err := s.Shutdown(context.Background()); err != nil {
		t.Fatalf("Shutdown before Start: %v", err)
	}
	if s.Addr() != "" {
		t.Fatal("Addr before Start")
	}
	if err := s.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	addr := s.Addr()
	if err := s.Start(context.Background(), "127.0.0.1:0"); !errors.Is(err, ErrAlreadyStarted) {
		t.Fatalf("second Start: %v", err)
	}
	if code, _, _ := get(t, "http://"+addr+"/healthz"); code != 200 {
		t.Fatalf("/healthz = %d", code)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	if _, err := http.Get("http://" + addr + "/healthz"); err == nil {
		t.Fatal("server still answers after Shutdown")
	}
}

func TestStartPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	s := New(prometheus.NewRegistry(), quietLogger())
	err = s.Start(context.Background(), ln.Addr().String())
	if err == nil {
		s.Shutdown(context.Background())
		t.Fatal("Start on a used port succeeded")
	}
	if !strings.Contains(err.Error(), "admin listen on "+ln.Addr().String()) {
		t.Errorf("error %q", err)
	}
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("Shutdown after failed Start: %v", err)
	}
}

func TestShutdownWaitsForInFlightUntilDeadline(t *testing.T) {
	s := New(prometheus.NewRegistry(), quietLogger())
	release := make(chan struct{})
	s.AddCheck("slow", func(ctx context.Context) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})
	if err := s.Start(context.Background(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	got := make(chan int, 1)
	go func() {
		resp, err := http.Get("http://" + s.Addr() + "/readyz")
		if err != nil {
			got <- -1
			return
		}
		resp.Body.Close()
		got <- resp.StatusCode
	}()
	time.Sleep(100 * time.Millisecond) // let the request reach the check
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := s.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown with a request in flight past the deadline: %v", err)
	}
	close(release)
	<-got
}
