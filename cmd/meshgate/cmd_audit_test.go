package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meshgate/meshgate/audit"
	"github.com/meshgate/meshgate/internal/testenv"
	"github.com/meshgate/meshgate/producer"
	"github.com/meshgate/meshgate/quarantine"
)

func TestAuditUsage(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		code      int
		stderrHas string
	}{
		{name: "help", args: []string{"-h"}, code: 0, stderrHas: "usage: meshgate audit --curated S1,S2 --bucket B"},
		{name: "nothing to read", args: nil, code: 2, stderrHas: "usage: meshgate audit"},
		{name: "only a prefix", args: []string{"--prefix", "quarantine/"}, code: 2, stderrHas: "usage: meshgate audit"},
		{name: "argument", args: []string{"--curated", "s", "extra"}, code: 2, stderrHas: "usage: meshgate audit"},
		{name: "bad duration", args: []string{"--curated", "s", "--wait", "soon"}, code: 2, stderrHas: `invalid value "soon" for flag -wait`},
		{name: "no region", args: []string{"--curated", "s", "--region", ""}, code: 1, stderrHas: "meshgate audit: load AWS config: no region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(t, append([]string{"audit"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errs, tt.stderrHas) || out != "" {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q (want it to contain %q)", code, tt.code, out, errs, tt.stderrHas)
			}
		})
	}
}

// TestAuditEmulator runs `meshgate audit` against known curated records and quarantine
// objects: the JSON and text summaries have the exact counts; --expect above what is there
// gives up after --wait with exit 1; --expect waits for records that arrive later.
func TestAuditEmulator(t *testing.T) {
	s := testenv.Start(t)
	useEmulators(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s.CreateStream(t, "orders-curated", 2)
	s.CreateStream(t, "customers-curated", 1)
	const bucket = "meshgate-quarantine"
	s.CreateBucket(t, bucket)

	put := func(stream string, from, n int) {
		t.Helper()
		var es []producer.Entry
		for i := from; i < from+n; i++ {
			es = append(es, producer.Entry{Data: fmt.Appendf(nil, `{"n":%d}`, i), PartitionKey: fmt.Sprintf("C%07d", i)})
		}
		if _, err := producer.Put(ctx, s.Kinesis(), stream, es); err != nil {
			t.Errorf("put %s: %v", stream, err)
		}
	}
	put("orders-curated", 0, 20)
	put("customers-curated", 0, 6)

	arrival := time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)
	putObject := func(key string, recs ...quarantine.Record) {
		t.Helper()
		var buf bytes.Buffer
		if err := quarantine.Encode(&buf, recs); err != nil {
			t.Fatal(err)
		}
		if _, err := s.S3().PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(buf.Bytes())}); err != nil {
			t.Fatal(err)
		}
	}
	q := func(domain, reason string, rules ...string) quarantine.Record {
		r := quarantine.Record{Payload: []byte("{}"), Reason: reason, Domain: domain, Stream: domain + "-raw", ArrivalTime: arrival}
		for _, n := range rules {
			r.Failures = append(r.Failures, quarantine.Failure{Rule: n, Severity: "error"})
		}
		return r
	}
	key := func(domain, seq string) string {
		return quarantine.ObjectKey("quarantine", domain, domain+"-raw", "shardId-000000000000", arrival, seq, seq)
	}
	putObject(key("orders", "1"), q("orders", quarantine.ReasonRules, "total_matches_items", "currency.enum"), q("orders", quarantine.ReasonRules, "qty_positive"))
	putObject(key("orders", "2"), q("orders", quarantine.ReasonDecode, "decode"))
	putObject(key("customers", "3"), q("customers", quarantine.ReasonRules, "email.format"))
	putObject(quarantine.ShadowKey("quarantine", "orders", "w1", arrival), q("orders", quarantine.ReasonRules, "shadow_only"))

	args := []string{"audit", "--curated", "orders-curated,customers-curated", "--bucket", bucket, "--prefix", "quarantine/"}
	want := audit.Summary{
		Curated:     map[string]int{"orders-curated": 20, "customers-curated": 6},
		Quarantined: map[string]int{"orders": 3, "customers": 1},
		Objects:     3,
		ByReason:    map[string]int{"orders/rules": 2, "orders/decode": 1, "customers/rules": 1},
		ByRule: map[string]int{"orders/total_matches_items": 1, "orders/currency.enum": 1, "orders/qty_positive": 1,
			"orders/decode": 1, "customers/email.format": 1},
	}
	jsonSummary := func(t *testing.T, out string) audit.Summary {
		t.Helper()
		var got audit.Summary
		dec := json.NewDecoder(strings.NewReader(out))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&got); err != nil {
			t.Fatalf("stdout is not a summary: %v\n%s", err, out)
		}
		return got
	}

	t.Run("json", func(t *testing.T) {
		code, out, errs := runCmd(t, append(args, "--json")...)
		if code != 0 || errs != "" {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if got := jsonSummary(t, out); !reflect.DeepEqual(got, want) {
			t.Errorf("summary\n%+v\nwant\n%+v", got, want)
		}
	})

	t.Run("text", func(t *testing.T) {
		code, out, errs := runCmd(t, args...)
		var report bytes.Buffer
		want.WriteText(&report)
		if code != 0 || errs != "" || out != report.String() {
			t.Errorf("exit %d, stderr %q, stdout:\n%s\nwant:\n%s", code, errs, out, report.String())
		}
		if !strings.HasPrefix(out, "curated (good events): 26\n") || !strings.Contains(out, "\nquarantined: 4 (in 3 objects)\n") {
			t.Errorf("report:\n%s", out)
		}
	})

	t.Run("only the quarantine", func(t *testing.T) {
		code, out, errs := runCmd(t, "audit", "--bucket", bucket, "--prefix", "quarantine/", "--json")
		got := jsonSummary(t, out)
		if code != 0 || errs != "" || len(got.Curated) != 0 || got.Total() != 4 {
			t.Errorf("exit %d, %s: %+v", code, errs, got)
		}
	})

	t.Run("expect more than arrives", func(t *testing.T) {
		start := time.Now()
		code, out, errs := runCmd(t, append(args, "--expect", "31", "--wait", "1500ms")...)
		if code != 1 || out != "" {
			t.Errorf("exit %d, stdout %q", code, out)
		}
		if !strings.HasPrefix(errs, "meshgate audit: 30 of 31 records arrived within 1.5s\ncurated (good events): 26\n") {
			t.Errorf("stderr:\n%s", errs)
		}
		if d := time.Since(start); d < 1500*time.Millisecond || d > 10*time.Second {
			t.Errorf("gave up after %v, want after the 1.5s wait", d)
		}
	})

	t.Run("expect met at once", func(t *testing.T) {
		code, out, errs := runCmd(t, append(args, "--expect", "30", "--wait", "1ns", "--json")...)
		if code != 0 || errs != "" || jsonSummary(t, out).Total() != 30 {
			t.Errorf("exit %d, %s\n%s", code, errs, out)
		}
	})

	t.Run("expect waits for late records", func(t *testing.T) {
		start := time.Now()
		done := make(chan struct{})
		go func() {
			defer close(done)
			time.Sleep(1200 * time.Millisecond)
			put("orders-curated", 20, 5)
		}()
		code, out, errs := runCmd(t, append(args, "--expect", "35", "--wait", "20s", "--json")...)
		<-done
		if code != 0 || errs != "" {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if got := jsonSummary(t, out); got.Curated["orders-curated"] != 25 || got.Total() != 35 {
			t.Errorf("summary %+v: want 25 orders curated, 35 in all", got)
		}
		if d := time.Since(start); d < 1200*time.Millisecond {
			t.Errorf("returned after %v, before the late records were put", d)
		}
	})

	t.Run("missing stream", func(t *testing.T) {
		code, out, errs := runCmd(t, "audit", "--curated", "nope")
		if code != 1 || out != "" || !strings.HasPrefix(errs, "meshgate audit: list shards of nope: ") {
			t.Errorf("exit %d, stdout %q, stderr %q", code, out, errs)
		}
	})
}
