package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/meshgate/meshgate/internal/testenv"
	"github.com/meshgate/meshgate/producer"
)

// useEmulators points the commands' AWS clients at s for the rest of the test, with dummy
// credentials and no shared AWS files.
func useEmulators(t *testing.T, s *testenv.Stack) {
	t.Helper()
	e := s.Endpoints()
	for k, v := range map[string]string{
		"MESHGATE_KINESIS_ENDPOINT": e.Kinesis, "MESHGATE_S3_ENDPOINT": e.S3, "MESHGATE_DYNAMODB_ENDPOINT": e.DynamoDB,
		"MESHGATE_REGION": testenv.Region, "AWS_REGION": testenv.Region, "AWS_DEFAULT_REGION": testenv.Region,
		"AWS_ACCESS_KEY_ID": testenv.AccessKeyID, "AWS_SECRET_ACCESS_KEY": testenv.SecretAccessKey,
		"AWS_SESSION_TOKEN": "", "AWS_PROFILE": "", "AWS_CONFIG_FILE": os.DevNull, "AWS_SHARED_CREDENTIALS_FILE": os.DevNull,
		"AWS_EC2_METADATA_DISABLED": "true",
	} {
		t.Setenv(k, v)
	}
}

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestPutUsage(t *testing.T) {
	in := writeFile(t, "in.ndjson", "{}\n")
	badManifest := writeFile(t, "manifest.ndjson", `{"line":1,"partitionKey":"k"}`+"\nnot json\n")
	tests := []struct {
		name      string
		args      []string
		code      int
		stderrHas string
	}{
		{name: "help", args: []string{"-h"}, code: 0, stderrHas: "usage: meshgate put --stream S --in FILE|-"},
		{name: "no flags", args: nil, code: 2, stderrHas: "usage: meshgate put"},
		{name: "no stream", args: []string{"--in", in}, code: 2, stderrHas: "usage: meshgate put"},
		{name: "no input", args: []string{"--stream", "s"}, code: 2, stderrHas: "usage: meshgate put"},
		{name: "argument", args: []string{"--stream", "s", "--in", in, "extra"}, code: 2, stderrHas: "usage: meshgate put"},
		{name: "unknown flag", args: []string{"--shards", "2"}, code: 2, stderrHas: "flag provided but not defined: -shards"},
		{name: "missing input", args: []string{"--stream", "s", "--in", in + ".gone"}, code: 1, stderrHas: "meshgate put: open " + in + ".gone: no such file"},
		{name: "bad manifest", args: []string{"--stream", "s", "--in", in, "--manifest", badManifest}, code: 1,
			stderrHas: "meshgate put: manifest " + badManifest + ": invalid character"},
		{name: "no region", args: []string{"--stream", "s", "--in", in, "--region", ""}, code: 1, stderrHas: "meshgate put: load AWS config: no region"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runCmd(t, append([]string{"put"}, tt.args...)...)
			if code != tt.code || !strings.Contains(errs, tt.stderrHas) || out != "" {
				t.Errorf("exit %d (want %d), stdout %q, stderr %q (want it to contain %q)", code, tt.code, out, errs, tt.stderrHas)
			}
		})
	}
}

func TestReadLines(t *testing.T) {
	long := strings.Repeat("x", 3<<20) // longer than the reader's 1 MiB buffer
	tests := []struct {
		name, in string
		want     []string
	}{
		{name: "empty file", in: "", want: nil},
		{name: "trailing newline", in: "a\nbb\n", want: []string{"a", "bb"}},
		{name: "no trailing newline", in: "a\nbb", want: []string{"a", "bb"}},
		{name: "blank lines are records", in: "a\n\n \n", want: []string{"a", "", " "}},
		{name: "bytes kept exactly", in: "a\r\n\xef\xbb\xbf{}\n\xff\n", want: []string{"a\r", "\xef\xbb\xbf{}", "\xff"}},
		{name: "long line", in: "a\n" + long + "\nb\n", want: []string{"a", long, "b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			lines, err := readLines(writeFile(t, "in", tt.in))
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, l := range lines {
				got = append(got, string(l))
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %d lines %.80q, want %d lines %.80q", len(got), got, len(tt.want), tt.want)
			}
		})
	}
}

func TestManifestKeys(t *testing.T) {
	path := writeFile(t, "manifest.ndjson", strings.Join([]string{
		`{"line":1,"partitionKey":"C0000001","kind":"good"}`,
		`{"line":3,"partitionKey":"C0000003"}`,
		`{"line":2,"partitionKey":""}`,   // no key: the line-number key stays
		`{"line":0,"partitionKey":"x"}`,  // out of range: ignored
		`{"line":99,"partitionKey":"y"}`, // out of range: ignored
	}, "\n")+"\n")
	keys := []string{"line-1", "line-2", "line-3", "line-4"}
	if err := manifestKeys(path, keys); err != nil {
		t.Fatal(err)
	}
	if want := []string{"C0000001", "line-2", "C0000003", "line-4"}; !reflect.DeepEqual(keys, want) {
		t.Errorf("keys %q, want %q", keys, want)
	}
	if err := manifestKeys(path+".gone", keys); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing manifest: %v", err)
	}
}

func TestWriteLedger(t *testing.T) {
	path := filepath.Join(t.TempDir(), "ledger.ndjson")
	err := writeLedger(path, []producer.Result{
		{Shard: "shardId-000000000001", SequenceNumber: "49590338271490256608559692538361571095921575989136588818"},
		{Err: producer.ErrTooLarge},
		{Err: producer.ErrInvalidPartitionKey},
		{Shard: "shardId-000000000000", SequenceNumber: "49590338271490256608559692538361571095921575989136588819"},
	})
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"line":1,"shard":"shardId-000000000001","sequenceNumber":"49590338271490256608559692538361571095921575989136588818"}
{"line":2,"error":"record too large for kinesis"}
{"line":3,"error":"invalid partition key"}
{"line":4,"shard":"shardId-000000000000","sequenceNumber":"49590338271490256608559692538361571095921575989136588819"}
`
	if string(data) != want {
		t.Errorf("ledger:\n%s\nwant:\n%s", data, want)
	}
	if err := writeLedger(filepath.Join(path, "x"), nil); err == nil {
		t.Error("ledger under a file: no error")
	}
}

type ledgerLine struct {
	Line           int    `json:"line"`
	Shard          string `json:"shard"`
	SequenceNumber string `json:"sequenceNumber"`
	Error          string `json:"error"`
}

// TestPutEmulator runs `meshgate gen` and then `meshgate put` with the manifest and a ledger
// into a two-shard kinesalite stream, and checks the ledger against the stream: each line's
// record stored once under the shard and sequence number the ledger names, with the
// manifest's partition key (the line number's where the manifest has none), and exactly
// the records over 1 MiB not sent.
func TestPutEmulator(t *testing.T) {
	s := testenv.Start(t)
	useEmulators(t, s)
	const stream = "orders-raw"
	s.CreateStream(t, stream, 2)

	dir := t.TempDir()
	recsPath, manPath, ledgerPath := filepath.Join(dir, "events.ndjson"), filepath.Join(dir, "manifest.ndjson"), filepath.Join(dir, "ledger.ndjson")
	if code, _, errs := runMain("gen", "--domain", "mixed", "--count", "600", "--hostile-fraction", "0.1", "--seed", "5",
		"--now", "2025-01-15T12:00:00Z", "--out", recsPath, "--manifest", manPath); code != 0 {
		t.Fatalf("gen: %s", errs)
	}
	// Two lines the manifest does not know: keys line-601 and line-602.
	f, err := os.OpenFile(recsPath, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%s\n%s\n", strings.Repeat("z", producer.MaxRecordBytes), `{"tail":true}`)
	f.Close()

	data, err := os.ReadFile(recsPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	keys := make([]string, len(lines))
	for i := range keys {
		keys[i] = fmt.Sprintf("line-%d", i+1)
	}
	for _, m := range readManifest(t, manPath) {
		if m.PartitionKey != "" {
			keys[m.Line-1] = m.PartitionKey
		}
	}
	var wantRefused []int
	for i, l := range lines {
		if len(l)+len(keys[i]) > producer.MaxRecordBytes {
			wantRefused = append(wantRefused, i+1)
		}
	}
	if len(lines) != 602 || len(wantRefused) < 2 || wantRefused[len(wantRefused)-1] != 601 {
		t.Fatalf("%d lines, over 1 MiB: %v; want 602 lines, some generated ones and line 601 over 1 MiB", len(lines), wantRefused)
	}

	code, out, errs := runMain("put", "--stream", stream, "--in", recsPath, "--manifest", manPath, "--ledger", ledgerPath)
	sent := len(lines) - len(wantRefused)
	wantErr := fmt.Sprintf("meshgate put: %d records into %s; %d not sent (Kinesis would refuse them: over 1 MiB or a bad key)\n", sent, stream, len(wantRefused))
	if code != 0 || out != "" || errs != wantErr {
		t.Fatalf("put: exit %d, stdout %q, stderr %q\nwant stderr %q", code, out, errs, wantErr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	type stored struct{ data, key string }
	at := map[string]stored{}
	total := 0
	for shard, recs := range s.ReadStreamByShard(t, ctx, stream) {
		for _, r := range recs {
			at[shard+"/"+aws.ToString(r.SequenceNumber)] = stored{string(r.Data), aws.ToString(r.PartitionKey)}
			total++
		}
	}
	if total != sent {
		t.Errorf("stream holds %d records, want %d", total, sent)
	}
	ledgerData, err := os.ReadFile(ledgerPath)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(ledgerData))
	dec.DisallowUnknownFields()
	var refused []int
	n := 0
	for ; dec.More(); n++ {
		var l ledgerLine
		if err := dec.Decode(&l); err != nil {
			t.Fatal(err)
		}
		if l.Line != n+1 {
			t.Fatalf("ledger line %d says line %d", n+1, l.Line)
		}
		if l.Error != "" {
			if l.Error != producer.ErrTooLarge.Error() || l.Shard != "" || l.SequenceNumber != "" {
				t.Errorf("ledger line %d: %+v", l.Line, l)
			}
			refused = append(refused, l.Line)
			continue
		}
		got, ok := at[l.Shard+"/"+l.SequenceNumber]
		if !ok {
			t.Errorf("ledger line %d: nothing at %s/%s", l.Line, l.Shard, l.SequenceNumber)
			continue
		}
		if got.data != lines[n] || got.key != keys[n] {
			t.Errorf("ledger line %d: stored %.40q key %q, want %.40q key %q", l.Line, got.data, got.key, lines[n], keys[n])
		}
		delete(at, l.Shard+"/"+l.SequenceNumber) // each record is one line's
	}
	if n != len(lines) || !slices.Equal(refused, wantRefused) {
		t.Errorf("ledger: %d lines, refused %v; want %d lines, refused %v", n, refused, len(lines), wantRefused)
	}
	if len(at) != 0 {
		t.Errorf("%d stream records no ledger line names", len(at))
	}
}
