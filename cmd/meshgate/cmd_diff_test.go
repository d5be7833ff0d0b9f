package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"

	"github.com/meshgate/meshgate/awsclient"
)

// contractsVariant copies the example contracts and replaces old by new in file.
func contractsVariant(t *testing.T, file string, pairs ...string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(examples(t))); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, file)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for i := 0; i < len(pairs); i += 2 {
		if !strings.Contains(text, pairs[i]) {
			t.Fatalf("%s has no %q", file, pairs[i])
		}
		text = strings.Replace(text, pairs[i], pairs[i+1], 1)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

const diffOrder = `{"event_id":"0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b%04d","event_type":"order_placed","schema_version":"2",` +
	`"occurred_at":"2025-01-15T11:58:12Z","order_id":"7d3c1e2a-9b8f-4c6d-a1e2-3f4b5c6d7e8f","customer_id":"C0012345",` +
	`"customer_email":"anna@example.com","country":"DE","currency":"EUR","channel":"web",` +
	`"items":[{"sku":"SKU-1","name":"x","qty":%d,"price":19.99}],"total":%.2f,"payment":{"method":"paypal"}}`

func orderSample(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	for i, qty := range []int{1, 10, 2, 20} {
		fmt.Fprintf(&b, diffOrder+"\n", i, qty, 19.99*float64(qty))
	}
	return b.Bytes()
}

func TestDiffCommand(t *testing.T) {
	old := examples(t)
	tighter := contractsVariant(t, "orders.yaml", "version: 2.1.0", "version: 2.2.0",
		"rules:\n", "rules:\n  - name: total_cap\n    check: total < 100\n    message: orders over 100 need review\n")
	looser := contractsVariant(t, "orders.yaml", "version: 2.1.0", "version: 2.1.1",
		`check: one_of(channel, "web", "app", "store")`, `check: one_of(channel, "web", "app", "store", "phone")`,
		"currency: {type: string, enum: [EUR, USD, GBP]}", "currency: {type: string, enum: [EUR, USD, GBP, CHF]}")
	sample := filepath.Join(t.TempDir(), "sample.ndjson")
	os.WriteFile(sample, orderSample(t), 0o644)

	t.Run("identical", func(t *testing.T) {
		code, out, errs := runCmd(t, "diff", old, old)
		if code != 0 || !strings.Contains(out, "no contract changes between") || errs != "" {
			t.Errorf("code %d\n%s%s", code, out, errs)
		}
	})
	t.Run("tightening fails the gate", func(t *testing.T) {
		code, out, _ := runCmd(t, "diff", old, tighter)
		want := "orders 2.1.0 -> 2.2.0\n  producers (raw stream):\n    TIGHTENING    total_cap: rule added (error): total < 100\n"
		if code != 1 || !strings.HasPrefix(out, want) || !strings.Contains(out, "FAIL: 1 tightening, 3 non-breaking") {
			t.Errorf("code %d\n%s", code, out)
		}
	})
	t.Run("--fail-on breaking lets tightening through", func(t *testing.T) {
		if code, out, _ := runCmd(t, "diff", old, tighter, "--fail-on", "breaking"); code != 0 || !strings.Contains(out, "ok: 1 tightening") {
			t.Errorf("code %d\n%s", code, out)
		}
	})
	t.Run("unknown direction fails by default", func(t *testing.T) {
		code, out, _ := runCmd(t, "diff", old, looser)
		if code != 1 || !strings.Contains(out, "UNKNOWN       channel_known: check changed") || !strings.Contains(out, `BREAKING      currency: currency may now be "CHF"`) {
			t.Errorf("code %d\n%s", code, out)
		}
		// A sample shows the direction; consumers still break.
		phone := filepath.Join(t.TempDir(), "phone.ndjson")
		os.WriteFile(phone, bytes.Replace(orderSample(t), []byte(`"channel":"web"`), []byte(`"channel":"phone"`), 1), 0o644)
		code, out, _ = runCmd(t, "diff", old, looser, "--sample", phone, "--now", "2025-01-15T12:00:00Z", "--fail-on", "tightening,unknown")
		if code != 0 || !strings.Contains(out, "loosening     channel_known") {
			t.Errorf("with a sample: code %d\n%s", code, out)
		}
	})
	t.Run("sample", func(t *testing.T) {
		code, out, _ := runCmd(t, "diff", old, tighter, "--sample", sample, "--now", "2025-01-15T12:00:00Z", "--examples", "1")
		for _, want := range []string{
			"                  sample: 2 of 4 sampled events newly quarantined by it\n",
			"sample: 4 events (orders 4): 2 change verdict — 2 would now be quarantined, 0 would now pass\n",
			"  orders total_cap newly fails 2 events, e.g. line 2 (event_id 0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b0001)\n",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("no %q in\n%s", want, out)
			}
		}
		if code != 1 || strings.Contains(out, "199.9") {
			t.Errorf("code %d (values shown without --show-values?)\n%s", code, out)
		}
	})
	t.Run("json", func(t *testing.T) {
		code, out, _ := runCmd(t, "diff", old, tighter, "--sample", sample, "--now", "2025-01-15T12:00:00Z", "--json", "--show-values")
		var rep struct {
			Domains []struct {
				Domain, OldVersion, NewVersion string
				Changes                        []struct{ Audience, Impact, Kind, Subject, What, Evidence string }
			}
			Sample struct {
				Events, Changed, NewlyQuarantined int
				Rules                             []struct {
					Rule, Direction string
					Events          int
					Examples        []struct {
						Line  int
						Value string
					}
				}
			}
			FailOn  []string
			Failing int
		}
		if err := json.Unmarshal([]byte(out), &rep); err != nil {
			t.Fatalf("not JSON: %v\n%s", err, out)
		}
		if code != 1 || len(rep.Domains) != 1 || rep.Domains[0].NewVersion != "2.2.0" || rep.Domains[0].Changes[0].Impact != "tightening" ||
			rep.Sample.NewlyQuarantined != 2 || rep.Sample.Rules[0].Examples[1].Value != "399.8" || rep.Failing != 2 {
			t.Errorf("code %d %+v", code, rep)
		}
	})
	t.Run("usage and load errors exit 2", func(t *testing.T) {
		for _, args := range [][]string{
			{"diff", old},
			{"diff", old, tighter, "--fail-on", "dramatic"},
			{"diff", old, filepath.Join(t.TempDir(), "missing")},
			{"diff", old, tighter, "--sample", filepath.Join(t.TempDir(), "missing.ndjson")},
			{"diff", old, tighter, "--now", "yesterday"},
		} {
			if code, out, errs := runCmd(t, args...); code != 2 {
				t.Errorf("%v: code %d\n%s%s", args, code, out, errs)
			}
		}
	})
}

func TestDiffSampleFromS3(t *testing.T) {
	srv := httptest.NewServer(gofakes3.New(s3mem.New()).Server())
	defer srv.Close()
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("test", "test", "")}
	c := awsclient.NewS3(cfg, srv.URL)
	ctx := context.Background()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String("samples")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("samples"), Key: aws.String("orders/today.ndjson"), Body: bytes.NewReader(orderSample(t))}); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MESHGATE_S3_ENDPOINT", srv.URL)
	t.Setenv("AWS_ACCESS_KEY_ID", "test")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "test")
	t.Setenv("AWS_REGION", "us-east-1")
	tighter := contractsVariant(t, "orders.yaml", "rules:\n", "rules:\n  - name: total_cap\n    check: total < 100\n")
	code, out, errs := runCmd(t, "diff", examples(t), tighter, "--sample", "s3://samples/orders/today.ndjson", "--now", "2025-01-15T12:00:00Z")
	if code != 1 || !strings.Contains(out, "sample: 4 events (orders 4): 2 change verdict") {
		t.Errorf("code %d\n%s%s", code, out, errs)
	}
	if code, _, errs := runCmd(t, "diff", examples(t), tighter, "--sample", "s3://samples/none.ndjson"); code != 2 || !strings.Contains(errs, "get s3://samples/none.ndjson") {
		t.Errorf("missing object: code %d %s", code, errs)
	}
}
