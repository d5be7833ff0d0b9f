package main

import (
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/quarantine"
)

func TestCheckCommand(t *testing.T) {
	t.Setenv("MESHGATE_HASH_SALT", "s3cret")
	dir := t.TempDir()
	good := `{"event_id":"0b6a1f0e-4c1e-4a8e-9a57-3f1d2c4b5a60","event_type":"customer_created","schema_version":"1",` +
		`"occurred_at":"2025-01-15T11:59:30Z","customer_id":"C0012345","email":"anna@example.com","name":"Anna","country":"DE"}`
	bad := strings.Replace(good, `"country":"DE"`, `"country":"XX"`, 1)
	in := filepath.Join(dir, "in.ndjson")
	os.WriteFile(in, []byte(good+"\n"+bad+"\nnot json\n"+good+"\n"), 0o644)
	goodOut, quarOut := filepath.Join(dir, "good.ndjson"), filepath.Join(dir, "q.ndjson.gz")

	code, out, errs := runCmd(t, "check", "--contracts", examples(t), "--in", in, "--domain", "customers",
		"--now", "2025-01-15T12:00:00Z", "--good", goodOut, "--quarantine", quarOut, "--json")
	if code != 0 {
		t.Fatalf("check: code %d\n%s\n%s", code, out, errs)
	}
	var sum struct {
		Events, Passed, Warned, Quarantined int
		Decode                              map[string]int
		Rules                               []struct {
			Rule     string
			Failures int
		}
	}
	if err := json.Unmarshal([]byte(out), &sum); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, out)
	}
	failures := map[string]int{}
	for _, r := range sum.Rules {
		failures[r.Rule] = r.Failures
	}
	if sum.Events != 4 || sum.Passed != 2 || sum.Quarantined != 2 || sum.Decode["invalid_json"] != 1 || failures["country_known"] != 1 {
		t.Errorf("summary %+v", sum)
	}
	data, _ := os.ReadFile(goodOut)
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 2 || !strings.Contains(lines[0], `"full_name":"Anna"`) || !strings.Contains(lines[0], `"region":"EU"`) {
		t.Errorf("good events:\n%s", data)
	}
	f, err := os.Open(quarOut)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := quarantine.DecodeNDJSON(zr)
	if err != nil || len(recs) != 2 {
		t.Fatalf("quarantine records: %v %+v", err, recs)
	}
	if string(recs[0].Payload) != bad || recs[0].Reason != "rules" || recs[0].SequenceNumber != "2" || recs[0].Failures[0].Rule != "country_known" ||
		string(recs[1].Payload) != "not json" || recs[1].Reason != "decode" || recs[1].Stream != "customers-raw" {
		t.Errorf("quarantine records %+v", recs)
	}

	// Text summary, contract chosen by stream, input from a file; a missing choice is a usage error.
	code, out, _ = runCmd(t, "check", "--contracts", examples(t), "--in", in, "--stream", "customers-raw", "--now", "2025-01-15T12:00:00Z", "--fail-on-quarantine")
	if code != 1 || !strings.Contains(out, "quarantined  2") || !strings.Contains(out, "country_known") {
		t.Errorf("text summary: code %d\n%s", code, out)
	}
	if code, _, errs := runCmd(t, "check", "--contracts", examples(t), "--in", in); code != 2 || !strings.Contains(errs, "choose a contract") {
		t.Errorf("no contract chosen: code %d %s", code, errs)
	}
	t.Setenv("MESHGATE_HASH_SALT", "")
	if code, _, errs := runCmd(t, "check", "--contracts", examples(t), "--in", in, "--domain", "orders"); code != 1 || !strings.Contains(errs, "no salt for hashing") {
		t.Errorf("check without a salt: code %d %s", code, errs)
	}
}
