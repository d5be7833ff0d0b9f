package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/meshgate/meshgate/awsclient"
	_ "github.com/meshgate/meshgate/odcs"
	"github.com/meshgate/meshgate/processor"
	"github.com/meshgate/meshgate/quarantine"
	"github.com/meshgate/meshgate/rules"
)

const bucket = "meshgate-quarantine"

var arrival = time.Date(2025, 1, 15, 11, 59, 0, 0, time.UTC)

type memCurated struct {
	mu   sync.Mutex
	recs map[string][]processor.CuratedRecord
	err  error
}

func (m *memCurated) Put(_ context.Context, stream string, recs []processor.CuratedRecord) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	if m.recs == nil {
		m.recs = map[string][]processor.CuratedRecord{}
	}
	m.recs[stream] = append(m.recs[stream], recs...)
	return nil
}

func newS3(t *testing.T) *s3.Client {
	t.Helper()
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	t.Cleanup(srv.Close)
	c := awsclient.NewS3(aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("t", "t", "")}, srv.URL)
	if _, err := c.CreateBucket(context.Background(), &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatal(err)
	}
	return c
}

func loadSet(t *testing.T, dir string) *rules.Set {
	t.Helper()
	set, err := rules.Load(dir, rules.Options{HashSalt: "salt"})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func examples(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "examples", "contracts")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("example contracts missing: %v", err)
		}
		t.Skipf("example contracts missing (%v)", err)
	}
	return dir
}

// strict is the examples with a cap on order totals, as version 2.0.9.
func strict(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(examples(t))); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "orders.yaml")
	data, _ := os.ReadFile(p)
	text := strings.Replace(string(data), "version: 2.1.0", "version: 2.0.9", 1)
	text = strings.Replace(text, "rules:\n", "rules:\n  - name: total_cap\n    check: total < 100\n", 1)
	os.Remove(filepath.Join(dir, "orders.test.yaml"))
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func order(i int, total float64, country string) string {
	return fmt.Sprintf(`{"event_id":"0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b%04d","event_type":"order_placed","schema_version":"2",`+
		`"occurred_at":"2025-01-15T11:58:12Z","order_id":"7d3c1e2a-9b8f-4c6d-a1e2-3f4b5c6d7e8f","customer_id":"C0012345",`+
		`"customer_email":"anna@example.com","country":%q,"currency":"EUR","channel":"web",`+
		`"items":[{"sku":"SKU-1","name":"x","qty":1,"price":%.2f}],"total":%.2f,"payment":{"method":"paypal"},"trace_id":9007199254740993}`,
		i, country, total, total)
}

// quarantineObject judges payloads with the strict contracts, as the worker did, and writes
// the quarantined ones with the worker's S3 sink; it returns the object key.
func quarantineObject(t *testing.T, c *s3.Client, set *rules.Set, stream, shard string, firstSeq int, payloads ...string) string {
	t.Helper()
	contract := set.ByStream(stream)
	ev := rules.NewEvaluator()
	var recs []quarantine.Record
	for i, p := range payloads {
		v := ev.Judge(contract, rules.Input{Data: []byte(p), PartitionKey: "pk", Now: arrival})
		if v.Outcome != rules.Quarantined {
			t.Fatalf("payload %d passes the strict contract", i)
		}
		recs = append(recs, rules.QuarantineRecord(contract, &v, []byte(p), rules.Provenance{
			Stream: stream, Shard: shard, SequenceNumber: fmt.Sprint(firstSeq + i), ArrivalTime: arrival, Worker: "w1", QuarantinedAt: arrival.Add(time.Second),
		}))
	}
	key := quarantine.ObjectKey("quarantine", contract.Domain, stream, shard, arrival, recs[0].SequenceNumber, recs[len(recs)-1].SequenceNumber)
	if err := processor.NewS3Sink(c, bucket, nil).Put(context.Background(), key, recs); err != nil {
		t.Fatal(err)
	}
	return key
}

func objectExists(t *testing.T, c *s3.Client, key string) bool {
	t.Helper()
	_, ok, err := getObject(context.Background(), c, bucket, key)
	if err != nil {
		t.Fatal(err)
	}
	return ok
}

func TestReplay(t *testing.T) {
	c := newS3(t)
	old := loadSet(t, strict(t))
	cur := loadSet(t, examples(t))
	k1 := quarantineObject(t, c, old, "orders-raw", "shardId-000000000000", 100,
		order(1, 150, "DE"), // only total_cap: replayable
		order(2, 20, "XX"),  // unknown country: still failing
		order(3, 250, "DE"), // replayable
	)
	k2 := quarantineObject(t, c, old, "orders-raw", "shardId-000000000001", 200, order(4, 120, "XX")) // both rules: still failing
	// Diagnostics under the prefix are not quarantine records.
	c.PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(quarantine.ShadowKey("quarantine", "orders", "w1", arrival)), Body: strings.NewReader("x")})
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)
	cfg := Config{S3: c, Bucket: bucket, Prefix: "quarantine/", Rules: cur, Now: func() time.Time { return now }}

	// Dry run: counts, writes nothing.
	dry := cfg
	dry.DryRun = true
	sum, err := Run(context.Background(), dry)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Objects != 2 || sum.Records != 4 || sum.Replayed["orders-curated"] != 2 || sum.StillFailing != 2 || sum.FailingBy["country_known"] != 2 || sum.Manifests != 0 {
		t.Fatalf("dry run %+v", sum)
	}
	if objectExists(t, c, quarantine.ManifestKey(k1)) {
		t.Fatal("dry run wrote a manifest")
	}

	// The replay.
	cur1 := &memCurated{}
	cfg.Curated = cur1
	var progress []string
	cfg.Progress = func(done, total int, s *Summary) {
		progress = append(progress, fmt.Sprintf("%d/%d:%d", done, total, s.TotalReplayed()))
	}
	sum, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Replayed["orders-curated"] != 2 || sum.Manifests != 1 || fmt.Sprint(progress) != "[1/2:2 2/2:2]" {
		t.Fatalf("replay %+v, progress %v", sum, progress)
	}
	got := cur1.recs["orders-curated"]
	if len(got) != 2 {
		t.Fatalf("curated %d records", len(got))
	}
	var ev struct {
		EventID string `json:"event_id"`
		Meta    struct {
			Version     string `json:"version"`
			ProcessedAt string `json:"processedAt"`
		} `json:"_meta"`
		Replay Provenance `json:"_replay"`
	}
	if err := json.Unmarshal(got[0].Data, &ev); err != nil {
		t.Fatal(err)
	}
	want := Provenance{Stream: "orders-raw", Shard: "shardId-000000000000", SequenceNumber: "100", ArrivalTime: arrival,
		QuarantineBucket: bucket, QuarantineKey: k1, QuarantinedAt: arrival.Add(time.Second),
		RejectedBy: Rejection{Contract: "orders", Version: "2.0.9", Reason: "rules", Rules: []string{"total_cap"}},
		AcceptedBy: Contract{Contract: "orders", Version: "2.1.0", Hash: cur.ByDomain("orders").Hash}, ReplayedAt: now}
	if fmt.Sprint(ev.Replay) != fmt.Sprint(want) {
		t.Errorf("provenance\n%+v\nwant\n%+v", ev.Replay, want)
	}
	// Judged as of arrival; the original bytes of untouched members are kept.
	if ev.EventID != "0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b0001" || ev.Meta.Version != "2.1.0" || ev.Meta.ProcessedAt != "2025-01-15T11:59:00Z" ||
		!bytes.Contains(got[0].Data, []byte(`"trace_id":9007199254740993`)) || got[0].PartitionKey != "C0012345" {
		t.Errorf("curated event %s (key %s)", got[0].Data, got[0].PartitionKey)
	}
	var man Manifest
	data, _, _ := getObject(context.Background(), c, bucket, quarantine.ManifestKey(k1))
	if err := json.Unmarshal(data, &man); err != nil || man.Object != k1 || len(man.Records) != 2 || man.Records[1].SequenceNumber != "102" || man.Records[0].Curated != "orders-curated" {
		t.Errorf("manifest %s (%v)", data, err)
	}
	if objectExists(t, c, quarantine.ManifestKey(k2)) {
		t.Error("a manifest for an object with nothing replayed")
	}

	// Again: nothing is put twice.
	cur2 := &memCurated{}
	cfg.Curated, cfg.Progress = cur2, nil
	sum, err = Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(cur2.recs) != 0 || sum.AlreadyReplayed != 2 || sum.TotalReplayed() != 0 || sum.StillFailing != 2 {
		t.Errorf("second run %+v, curated %v", sum, cur2.recs)
	}
}

func TestReplayFilters(t *testing.T) {
	c := newS3(t)
	old := loadSet(t, strict(t))
	cur := loadSet(t, examples(t))
	k := quarantineObject(t, c, old, "orders-raw", "shardId-000000000000", 1, order(1, 150, "DE"))
	for _, tc := range []struct {
		name   string
		edit   func(*Config)
		wanted int
	}{
		{"everything", func(*Config) {}, 1},
		{"one object", func(c *Config) { c.Prefix = k }, 1},
		{"a day prefix", func(c *Config) { c.Prefix = "quarantine/orders/dt=2025-01-15/" }, 1},
		{"other domain", func(c *Config) { c.Domain = "customers" }, 0},
		{"domain", func(c *Config) { c.Domain = "orders" }, 1},
		{"since later", func(c *Config) { c.Since = arrival.AddDate(0, 0, 1) }, 0},
		{"since same day", func(c *Config) { c.Since = arrival }, 1},
		{"until earlier", func(c *Config) { c.Until = arrival.AddDate(0, 0, -1) }, 0},
		{"range", func(c *Config) { c.Since, c.Until = arrival.AddDate(0, 0, -1), arrival }, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Config{S3: c, Bucket: bucket, Prefix: "quarantine/", Rules: cur, DryRun: true}
			tc.edit(&cfg)
			sum, err := Run(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if sum.Objects != tc.wanted || sum.Objects+sum.Filtered != 1 {
				t.Errorf("objects %d filtered %d, want %d", sum.Objects, sum.Filtered, tc.wanted)
			}
		})
	}
}

func TestReplayJudgeAtNow(t *testing.T) {
	c := newS3(t)
	old := loadSet(t, strict(t))
	quarantineObject(t, c, old, "orders-raw", "shardId-000000000000", 1, order(1, 150, "DE"))
	cfg := Config{S3: c, Bucket: bucket, Prefix: "quarantine/", Rules: loadSet(t, examples(t)), DryRun: true,
		JudgeAt: JudgeAtNow, Now: func() time.Time { return arrival.AddDate(0, 1, 0) }}
	sum, err := Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// A month later the event is stale: the freshness policy keeps it in quarantine.
	if sum.TotalReplayed() != 0 || sum.FailingBy["occurred_at_fresh"] != 1 {
		t.Errorf("judged now: %+v", sum)
	}
}

func TestReplayCuratedFailureWritesNoManifest(t *testing.T) {
	c := newS3(t)
	old := loadSet(t, strict(t))
	k := quarantineObject(t, c, old, "orders-raw", "shardId-000000000000", 1, order(1, 150, "DE"))
	cfg := Config{S3: c, Bucket: bucket, Prefix: "quarantine/", Rules: loadSet(t, examples(t)), Curated: &memCurated{err: errors.New("stream not found")}}
	sum, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "stream not found") || sum.Manifests != 0 {
		t.Fatalf("err %v, summary %+v", err, sum)
	}
	if objectExists(t, c, quarantine.ManifestKey(k)) {
		t.Error("manifest written although the curated put failed")
	}
}

func TestKeyParts(t *testing.T) {
	d, day, ok := keyParts("q/orders/dt=2025-01-15/orders-raw/shardId-0/1-2.ndjson.gz")
	if !ok || d != "orders" || !day.Equal(time.Date(2025, 1, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("%q %v %v", d, day, ok)
	}
	for _, bad := range []string{"x.ndjson.gz", "q/orders/2025-01-15/s/sh/1-2.ndjson.gz", "q/orders/dt=2025-13-01/s/sh/1-2.ndjson.gz"} {
		if _, _, ok := keyParts(bad); ok {
			t.Errorf("%s parsed", bad)
		}
	}
}
