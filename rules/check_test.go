package rules

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/quarantine"
)

// TestCheckMatchesSequentialJudging runs Check with several workers over a few thousand
// lines (good, bad, hostile, blank and over-long ones) and compares everything it writes with
// judging the same lines one by one: same outputs in the same order, quarantine records with
// the exact payloads and line numbers, and the same counts.
func TestCheckMatchesSequentialJudging(t *testing.T) {
	s := loadExamples(t)
	c := s.ByDomain("orders")
	var samples [][]byte
	for _, fc := range s.Fixtures()[1].Cases {
		if !bytes.ContainsRune(fc.Data, '\n') && len(fc.Data) > 0 {
			samples = append(samples, fc.Data)
		}
	}
	var in bytes.Buffer
	type line struct {
		num  int
		data []byte
	}
	var lines []line
	num := 0
	for i := 0; i < 3000; i++ {
		num++
		if i%500 == 7 {
			in.WriteString("\n") // a zero-length line is skipped
			continue
		}
		d := samples[i%len(samples)]
		if i == 1234 {
			d = []byte(`{"x":"` + strings.Repeat("y", 1<<20) + `"}`)
		}
		in.Write(d)
		in.WriteByte('\n')
		lines = append(lines, line{num, d})
	}
	in.Truncate(in.Len() - 1) // the last line has no newline

	var good, quar bytes.Buffer
	sum, err := Check(context.Background(), &in, CheckConfig{Contract: c, Good: &good, Quarantine: &quar, Workers: 4, Now: func() time.Time { return benchNow }})
	if err != nil {
		t.Fatal(err)
	}

	e := NewEvaluator()
	want := newSummary(c)
	var wantGood bytes.Buffer
	var wantQuar []quarantine.Record
	for _, l := range lines {
		v := e.Judge(c, Input{Data: l.data, PartitionKey: "line-" + strconv.Itoa(l.num), Now: benchNow})
		want.add(&v)
		if v.Outcome == Quarantined {
			wantQuar = append(wantQuar, QuarantineRecord(c, &v, l.data, Provenance{Stream: "orders-raw",
				SequenceNumber: strconv.Itoa(l.num), ArrivalTime: benchNow, Worker: CheckWorker, QuarantinedAt: benchNow}))
			continue
		}
		wantGood.Write(v.Output)
		wantGood.WriteByte('\n')
	}
	want.finish(c)
	if !bytes.Equal(good.Bytes(), wantGood.Bytes()) {
		t.Errorf("good output differs (%d bytes, want %d)", good.Len(), wantGood.Len())
	}
	gotQuar, err := quarantine.DecodeNDJSON(&quar)
	if err != nil {
		t.Fatal(err)
	}
	if len(gotQuar) != len(wantQuar) {
		t.Fatalf("%d quarantine records, want %d", len(gotQuar), len(wantQuar))
	}
	for i := range gotQuar {
		g, w := gotQuar[i], wantQuar[i]
		if !bytes.Equal(g.Payload, w.Payload) || g.SequenceNumber != w.SequenceNumber || g.Reason != w.Reason ||
			len(g.Failures) != len(w.Failures) || g.Contract != "orders" || g.ContractVersion != c.Version || g.Stream != "orders-raw" {
			t.Fatalf("quarantine record %d: %+v, want %+v", i, g, w)
		}
	}
	if sum.Events != len(lines) || sum.Events != want.Events || sum.Passed != want.Passed || sum.Warned != want.Warned ||
		sum.Quarantined != want.Quarantined || sum.Decode["too_large"] != 1 {
		t.Errorf("summary %+v, want %+v", sum, want)
	}
	for i := range sum.Rules {
		if sum.Rules[i] != want.Rules[i] {
			t.Errorf("rule count %+v, want %+v", sum.Rules[i], want.Rules[i])
		}
	}
	if sum.Passed == 0 || sum.Quarantined == 0 || sum.Warned == 0 {
		t.Errorf("the sample should pass, warn and quarantine: %+v", sum)
	}

	var text bytes.Buffer
	if err := sum.WriteText(&text); err != nil || !strings.Contains(text.String(), "total_matches_items") {
		t.Errorf("text summary: %v\n%s", err, text.String())
	}
}

func TestCheckCancelled(t *testing.T) {
	c := loadExamples(t).ByDomain("orders")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Check(ctx, strings.NewReader(strings.Repeat("{}\n", 10000)), CheckConfig{Contract: c})
	if err == nil {
		t.Fatal("no error after cancellation")
	}
}
