package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/meshgate/meshgate/gen"
)

// runMain calls the binary's run, as main does.
func runMain(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return code, out.String(), errb.String()
}

var genArgs = []string{"gen", "--domain", "mixed", "--count", "400", "--bad-fraction", "0.2", "--hostile-fraction", "0.05",
	"--seed", "42", "--now", "2025-01-15T12:00:00Z"}

// withFlag returns genArgs with one flag's value replaced.
func withFlag(name, value string) []string {
	args := slices.Clone(genArgs)
	i := slices.Index(args, name)
	args[i+1] = value
	return args
}

func TestGenDeterministic(t *testing.T) {
	code, first, errs := runMain(genArgs...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if n := strings.Count(first, "\n"); n != 400 || !strings.HasSuffix(first, "\n") {
		t.Fatalf("%d lines, want 400", n)
	}
	code, second, errs2 := runMain(genArgs...)
	if code != 0 || second != first || errs2 != errs {
		t.Errorf("same flags, different output (exit %d, %d vs %d bytes; stderr %q vs %q)", code, len(second), len(first), errs2, errs)
	}

	for _, change := range [][2]string{{"--seed", "43"}, {"--now", "2025-01-15T12:00:01Z"}, {"--bad-fraction", "0.3"}, {"--domain", "orders"}} {
		if code, out, errs := runMain(withFlag(change[0], change[1])...); code != 0 || out == first {
			t.Errorf("%s %s: exit %d, output unchanged: %v; %s", change[0], change[1], code, out == first, errs)
		}
	}

	// --out writes the same bytes to the file and nothing to stdout.
	path := filepath.Join(t.TempDir(), "events.ndjson")
	code, out, errs := runMain(append(slices.Clone(genArgs), "--out", path)...)
	if code != 0 || out != "" {
		t.Fatalf("--out: exit %d, stdout %d bytes; %s", code, len(out), errs)
	}
	if data, err := os.ReadFile(path); err != nil || string(data) != first {
		t.Errorf("--out file differs from stdout (%v)", err)
	}
	if !strings.HasSuffix(errs, ", to "+path+"\n") {
		t.Errorf("stderr %q does not name the file", errs)
	}
}

func TestGenManifest(t *testing.T) {
	dir := t.TempDir()
	recsPath, manPath := filepath.Join(dir, "events.ndjson"), filepath.Join(dir, "manifest.ndjson")
	code, out, errs := runMain(append(slices.Clone(genArgs), "--out", recsPath, "--manifest", manPath)...)
	if code != 0 || out != "" {
		t.Fatalf("exit %d, stdout %q: %s", code, out, errs)
	}
	data, err := os.ReadFile(recsPath)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(string(data), "\n")
	if lines[len(lines)-1] != "" {
		t.Fatalf("records file does not end in a newline")
	}
	lines = lines[:len(lines)-1]
	manifest := readManifest(t, manPath)
	if len(lines) != 400 || len(manifest) != 400 {
		t.Fatalf("%d records, %d manifest lines; want 400 each", len(lines), len(manifest))
	}

	// The same configuration through the library gives the same records and entries.
	g, err := gen.New(gen.Config{Domain: "mixed", Seed: 42, BadFraction: 0.2, HostileFraction: 0.05, Now: time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	count := map[string]int{}
	for i, line := range lines {
		line = strings.TrimSuffix(line, "\n")
		m := manifest[i]
		count[m.Class]++
		rec := g.Next()
		if string(rec.Data) != line || !reflect.DeepEqual(rec.Manifest(i+1), m) {
			t.Errorf("line %d: record or manifest entry differs from gen.Next: %+v", i+1, m)
		}
		if m.Line != i+1 || m.Bytes != len(line) || m.Stream != m.Domain+"-raw" {
			t.Errorf("line %d (%d bytes): manifest %+v", i+1, len(line), m)
		}
		switch m.Class {
		case "good":
			var ev struct {
				CustomerID string `json:"customer_id"`
			}
			if m.Kind != "good" || m.Outcome != gen.OutcomePassed || m.Rules != nil || m.Decode != "" || m.Defect != "" {
				t.Errorf("line %d: good record described as %+v", i+1, m)
			}
			if err := json.Unmarshal([]byte(line), &ev); err != nil || ev.CustomerID != m.PartitionKey {
				t.Errorf("line %d: customer_id %q, partition key %q (%v)", i+1, ev.CustomerID, m.PartitionKey, err)
			}
		case "bad":
			k, ok := gen.LookupKind(m.Domain, m.Kind)
			if !ok || k.Class != gen.Bad || m.Outcome != k.Outcome || len(m.Rules) == 0 || m.Defect == "" || m.Decode != "" {
				t.Errorf("line %d: bad record described as %+v (kind %+v)", i+1, m, k)
			}
			for _, r := range m.Rules {
				if !slices.Contains(k.Rules, r) {
					t.Errorf("line %d: rule %s is not one kind %s can fail (%v)", i+1, r, k.Name, k.Rules)
				}
			}
		case "hostile":
			k, ok := gen.LookupKind(m.Domain, m.Kind)
			if !ok || k.Class != gen.Hostile || m.Decode != k.Decode || m.Decode == "" || m.Outcome != gen.OutcomeQuarantined || m.Rules != nil {
				t.Errorf("line %d: hostile record described as %+v", i+1, m)
			}
			checkHostile(t, i+1, m.Kind, line)
		default:
			t.Errorf("line %d: class %q", i+1, m.Class)
		}
	}
	if count["good"] == 0 || count["bad"] == 0 || count["hostile"] == 0 {
		t.Errorf("classes %v: want all three in 400 records", count)
	}
	want := fmt.Sprintf("meshgate gen: wrote 400 records (%d good, %d bad, %d hostile), %d bytes, to %s\n",
		count["good"], count["bad"], count["hostile"], len(data), recsPath)
	if errs != want {
		t.Errorf("stderr %q\nwant   %q", errs, want)
	}
}

// checkHostile checks the bytes of a hostile record against what its kind says it is.
func checkHostile(t *testing.T, line int, kind, data string) {
	t.Helper()
	ok := true
	switch kind {
	case "bom":
		ok = strings.HasPrefix(data, "\xef\xbb\xbf") && json.Valid([]byte(data[3:]))
	case "too_large":
		ok = len(data) > 1<<20 && json.Valid([]byte(data))
	case "empty":
		ok = data != "" && strings.Trim(data, " \t") == ""
	case "invalid_utf8":
		ok = !utf8.ValidString(data)
	case "not_object":
		ok = json.Valid([]byte(data)) && !strings.HasPrefix(data, "{")
	case "non_json":
		ok = !json.Valid([]byte(data))
	}
	if !ok {
		t.Errorf("line %d: %.60q is not a %s record", line, data, kind)
	}
}

func readManifest(t *testing.T, path string) []gen.ManifestEntry {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	var out []gen.ManifestEntry
	for dec.More() {
		var m gen.ManifestEntry
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("manifest entry %d: %v", len(out)+1, err)
		}
		out = append(out, m)
	}
	return out
}

func TestGenListKinds(t *testing.T) {
	code, out, errs := runMain("gen", "--list-kinds", "--count", "5")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d: %s", code, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	kinds := gen.Kinds()
	if len(lines) != len(kinds)+1 {
		t.Fatalf("%d lines for %d kinds:\n%s", len(lines), len(kinds), out)
	}
	if got := strings.Fields(lines[0]); !reflect.DeepEqual(got, []string{"DOMAIN", "CLASS", "KIND", "WEIGHT", "OUTCOME", "CAUGHT", "BY", "DESCRIPTION"}) {
		t.Errorf("header %q", lines[0])
	}
	descCol := strings.Index(lines[0], "DESCRIPTION")
	for i, k := range kinds {
		line := lines[i+1]
		by := strings.Join(k.Rules, ",")
		if k.Decode != "" {
			by = "decode:" + k.Decode
		}
		want := []string{k.Domain, k.Class.String(), k.Name, strconv.Itoa(k.Weight), k.Outcome, by}
		if got := strings.Fields(line); len(got) < 6 || !reflect.DeepEqual(got[:6], want) {
			t.Errorf("line %d: %q, want columns %q", i+2, line, want)
		}
		if len(line) < descCol || line[descCol:] != k.Description {
			t.Errorf("line %d: description column of %q is not %q", i+2, line, k.Description)
		}
	}
	for _, class := range []string{"bad", "hostile"} {
		if !strings.Contains(out, "\norders     "+class) || !strings.Contains(out, "\ncustomers  "+class) {
			t.Errorf("no %s kinds for both domains:\n%s", class, out)
		}
	}
}

func TestGenUsage(t *testing.T) {
	missingDir := filepath.Join(t.TempDir(), "no", "such", "dir")
	tests := []struct {
		name      string
		args      []string
		code      int
		stderrHas string
	}{
		{name: "help", args: []string{"-h"}, code: 0, stderrHas: "usage: meshgate gen [--domain orders|customers|"},
		{name: "unknown flag", args: []string{"--nope"}, code: 2, stderrHas: "flag provided but not defined: -nope"},
		{name: "argument", args: []string{"orders"}, code: 2, stderrHas: `meshgate gen: unexpected argument "orders"`},
		{name: "negative count", args: []string{"--count", "-1"}, code: 2, stderrHas: "meshgate gen: --count must not be negative"},
		{name: "count not a number", args: []string{"--count", "many"}, code: 2, stderrHas: `invalid value "many" for flag -count`},
		{name: "bad now", args: []string{"--now", "yesterday"}, code: 2, stderrHas: "meshgate gen: --now: parsing time \"yesterday\""},
		{name: "unknown domain", args: []string{"--domain", "invoices", "--now", "2025-01-15T12:00:00Z"}, code: 2,
			stderrHas: `meshgate gen: unknown domain "invoices" (want orders, customers`},
		{name: "fraction over 1", args: []string{"--bad-fraction", "1.5"}, code: 2, stderrHas: "meshgate gen: bad and hostile fractions must be between 0 and 1"},
		{name: "fractions add up over 1", args: []string{"--bad-fraction", "0.6", "--hostile-fraction", "0.5"}, code: 2,
			stderrHas: "meshgate gen: bad fraction 0.6 plus hostile fraction 0.5 exceed 1"},
		{name: "unwritable out", args: []string{"--count", "1", "--out", filepath.Join(missingDir, "x")}, code: 1, stderrHas: "no such file or directory"},
		{name: "unwritable manifest", args: []string{"--count", "1", "--manifest", filepath.Join(missingDir, "m")}, code: 1, stderrHas: "no such file or directory"},
		{name: "zero records", args: []string{"--count", "0"}, code: 0, stderrHas: "meshgate gen: wrote 0 records (0 good, 0 bad, 0 hostile), 0 bytes, to stdout\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out, errs := runMain(append([]string{"gen"}, tt.args...)...)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr: %s", code, tt.code, errs)
			}
			if !strings.Contains(errs, tt.stderrHas) {
				t.Errorf("stderr %q does not contain %q", errs, tt.stderrHas)
			}
			if out != "" {
				t.Errorf("stdout %q, want nothing", out)
			}
		})
	}
}
