package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/audit"
	"github.com/meshgate/meshgate/internal/testenv"
	"github.com/meshgate/meshgate/processor"
	"github.com/meshgate/meshgate/quarantine"
	"github.com/meshgate/meshgate/rules"
)

// TestReplayCommand runs `meshgate replay` against kinesalite and gofakes3: quarantine
// objects written by the worker's S3 sink from a stricter contract, a dry run, a replay,
// and the same replay again.
func TestReplayCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator test")
	}
	stack := testenv.Start(t)
	stack.CreateStream(t, "orders-curated", 1)
	stack.CreateBucket(t, "quarantine-bucket")
	for k, v := range map[string]string{
		"MESHGATE_S3_ENDPOINT": stack.Endpoints().S3, "MESHGATE_KINESIS_ENDPOINT": stack.Endpoints().Kinesis,
		"MESHGATE_REGION": testenv.Region, "AWS_ACCESS_KEY_ID": testenv.AccessKeyID, "AWS_SECRET_ACCESS_KEY": testenv.SecretAccessKey,
		"AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull, "AWS_EC2_METADATA_DISABLED": "true",
		"MESHGATE_HASH_SALT": "replay-salt",
	} {
		t.Setenv(k, v)
	}
	strictDir := contractsVariant(t, "orders.yaml", "version: 2.1.0", "version: 2.0.9", "rules:\n", "rules:\n  - name: total_cap\n    check: total < 100\n")
	os.Remove(filepath.Join(strictDir, "orders.test.yaml"))
	strict, err := rules.Load(strictDir, rules.Options{})
	if err != nil {
		t.Fatal(err)
	}
	orders := strict.ByDomain("orders")
	arrival := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
	ev := rules.NewEvaluator()
	var recs []quarantine.Record
	for i, qty := range []int{10, 1, 20} { // 199.9 and 399.8 over the cap; line 2 has an unknown country
		country := "DE"
		if i == 1 {
			country = "XX"
		}
		payload := fmt.Sprintf(diffOrder, i, qty, 19.99*float64(qty))
		payload = strings.Replace(payload, `"occurred_at":"2025-01-15T11:58:12Z"`, `"occurred_at":"`+arrival.Add(-time.Minute).Format(time.RFC3339)+`"`, 1)
		payload = strings.Replace(payload, `"country":"DE"`, `"country":"`+country+`"`, 1)
		v := ev.Judge(orders, rules.Input{Data: []byte(payload), Now: arrival})
		if v.Outcome != rules.Quarantined {
			t.Fatalf("event %d passes the strict contract", i)
		}
		recs = append(recs, rules.QuarantineRecord(orders, &v, []byte(payload), rules.Provenance{
			Stream: "orders-raw", Shard: "shardId-000000000000", SequenceNumber: fmt.Sprint(1000 + i), ArrivalTime: arrival, Worker: "w1", QuarantinedAt: arrival,
		}))
	}
	key := quarantine.ObjectKey("quarantine", "orders", "orders-raw", "shardId-000000000000", arrival, "1000", "1002")
	ctx := context.Background()
	if err := processor.NewS3Sink(stack.S3(), "quarantine-bucket", nil).Put(ctx, key, recs); err != nil {
		t.Fatal(err)
	}
	from := "s3://quarantine-bucket/quarantine/orders/"
	day := arrival.Format(time.DateOnly)

	code, out, errs := runCmd(t, "replay", "--from", from, "--contracts", examples(t), "--dry-run")
	wantDry := "dry run: nothing is written\n" +
		"  " + key + ": 3 records, would replay 2 (to orders-curated 2), 1 still failing, 0 already replayed\n" +
		"replay " + from + ": 1 objects (0 filtered out), 3 records\n" +
		"  would replay: 2 (to orders-curated 2)\n" +
		"  still failing (stay in quarantine): 1 (country_known 1)\n" +
		"  already replayed (in manifests): 0\n"
	if code != 0 || out != wantDry || errs != "" {
		t.Fatalf("dry run: code %d\n%s\nwant\n%s\n%s", code, out, wantDry, errs)
	}
	if objs := stack.ListObjects(t, ctx, "quarantine-bucket", ""); len(objs) != 1 {
		t.Fatalf("dry run wrote objects: %v", objs)
	}
	if recs, _ := audit.ReadStream(ctx, stack.Kinesis(), "orders-curated"); len(recs) != 0 {
		t.Fatalf("dry run put %d records", len(recs))
	}

	code, out, errs = runCmd(t, "replay", "--from", from, "--contracts", examples(t), "--since", day, "--until", day)
	want := "replay " + from + ": 1 objects (0 filtered out), 3 records\n" +
		"  replayed: 2 (to orders-curated 2)\n" +
		"  still failing (stay in quarantine): 1 (country_known 1)\n" +
		"  already replayed (in manifests): 0\n" +
		"  manifests written: 1\n"
	if code != 0 || out != want || errs != "" {
		t.Fatalf("replay: code %d\n%s\nwant\n%s\n%s", code, out, want, errs)
	}
	code, out, _ = runCmd(t, "replay", "--from", from, "--contracts", examples(t), "--json")
	var sum struct {
		Records, AlreadyReplayed, StillFailing, Manifests int
		Replayed                                          map[string]int
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil || code != 0 || sum.AlreadyReplayed != 2 || len(sum.Replayed) != 0 || sum.Manifests != 0 {
		t.Fatalf("second replay: code %d %+v %v\n%s", code, sum, err, out)
	}

	// The curated stream holds each replayed event once, with its provenance.
	got, err := audit.ReadStream(ctx, stack.Kinesis(), "orders-curated")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, r := range got {
		var e struct {
			EventID string         `json:"event_id"`
			Replay  map[string]any `json:"_replay"`
			Email   string         `json:"customer_email"`
		}
		json.Unmarshal(r.Data, &e)
		seen[e.EventID]++
		if e.Replay["quarantineKey"] != key || e.Replay["rejectedBy"].(map[string]any)["version"] != "2.0.9" ||
			e.Replay["acceptedBy"].(map[string]any)["version"] != "2.1.0" || len(e.Email) != 64 {
			t.Errorf("curated event %s", r.Data)
		}
	}
	if len(got) != 2 || seen["0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b0000"] != 1 || seen["0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b0002"] != 1 {
		t.Errorf("curated stream: %v", seen)
	}
	if objs := stack.ListObjects(t, ctx, "quarantine-bucket", ""); len(objs) != 2 || objs[1] != quarantine.ManifestKey(key) {
		t.Errorf("bucket: %v", objs)
	}
}

func TestReplayCommandUsage(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--contracts", "x"}, "usage: meshgate replay"},
		{[]string{"--from", "/local/dir", "--contracts", "x"}, "usage: meshgate replay"},
		{[]string{"--from", "s3://b/p", "--contracts", "x", "--judge-at", "noon"}, `--judge-at: want arrival or now, got "noon"`},
		{[]string{"--from", "s3://b/p", "--contracts", "x", "--since", "last week"}, `--since: want YYYY-MM-DD, got "last week"`},
		{[]string{"--from", "s3://b/p", "--contracts", filepath.Join(t.TempDir(), "none")}, "do not load"},
	} {
		t.Setenv("MESHGATE_HASH_SALT", "s")
		if code, _, errs := runCmd(t, append([]string{"replay"}, tc.args...)...); code != 2 || !strings.Contains(errs, tc.want) {
			t.Errorf("%v: code %d\n%s", tc.args, code, errs)
		}
	}
}
