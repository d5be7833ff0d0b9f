package metrics

import (
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// moduleRoot walks up from the test's directory to the directory holding go.mod.
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

type docRow struct {
	typ    string
	labels []string
}

var (
	rowRE   = regexp.MustCompile("^\\|\\s*`([a-zA-Z_][a-zA-Z0-9_]*)`\\s*\\|\\s*([a-z]+)\\s*\\|([^|]*)\\|([^|]*)\\|\\s*$")
	labelRE = regexp.MustCompile("`([a-zA-Z_][a-zA-Z0-9_]*)`")
)

// parseDocTable reads the metric rows of docs/metrics.md.
func parseDocTable(t *testing.T, text string) map[string]docRow {
	t.Helper()
	rows := map[string]docRow{}
	for i, line := range strings.Split(text, "\n") {
		if !strings.HasPrefix(line, "| `") {
			continue
		}
		m := rowRE.FindStringSubmatch(line)
		if m == nil {
			t.Errorf("docs/metrics.md:%d: malformed table row: %s", i+1, line)
			continue
		}
		var labels []string
		for _, l := range labelRE.FindAllStringSubmatch(m[3], -1) {
			labels = append(labels, l[1])
		}
		if strings.TrimSpace(m[4]) == "" {
			t.Errorf("docs/metrics.md:%d: %s has no meaning", i+1, m[1])
		}
		if _, dup := rows[m[1]]; dup {
			t.Errorf("docs/metrics.md:%d: %s documented twice", i+1, m[1])
		}
		rows[m[1]] = docRow{typ: m[2], labels: labels}
	}
	return rows
}

func TestDocsTableMatchesRegistry(t *testing.T) {
	text, err := os.ReadFile(filepath.Join(moduleRoot(t), "docs", "metrics.md"))
	if err != nil {
		t.Fatal(err)
	}
	doc := parseDocTable(t, string(text))
	fams, err := Families()
	if err != nil {
		t.Fatal(err)
	}
	registered := map[string]bool{}
	for _, f := range fams {
		registered[f.Name] = true
		row, ok := doc[f.Name]
		if !ok {
			t.Errorf("%s (%s) is registered but not documented in docs/metrics.md", f.Name, f.Type)
			continue
		}
		if row.typ != f.Type {
			t.Errorf("%s: docs say %s, registry says %s", f.Name, row.typ, f.Type)
		}
		got := append([]string(nil), row.labels...)
		sort.Strings(got)
		if strings.Join(got, ",") != strings.Join(f.Labels, ",") {
			t.Errorf("%s: docs list labels %v, registry has %v", f.Name, got, f.Labels)
		}
		if strings.Join(row.labels, ",") != strings.Join(got, ",") {
			t.Errorf("%s: list labels in sorted order in docs/metrics.md: %v", f.Name, row.labels)
		}
	}
	for name := range doc {
		if registered[name] {
			continue
		}
		// The process collector differs by OS; meshgate's own metrics must match exactly.
		if strings.HasPrefix(name, "process_") && runtime.GOOS != "linux" {
			continue
		}
		t.Errorf("%s is documented in docs/metrics.md but not registered", name)
	}
}

func TestPackageDocListsEveryMetric(t *testing.T) {
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	fams, err := Families()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		short, ok := strings.CutPrefix(f.Name, "meshgate_")
		if !ok {
			continue
		}
		if !regexp.MustCompile(`\b` + short + `\b`).Match(src) {
			t.Errorf("package doc (doc.go) does not list %s", f.Name)
		}
	}
}

func TestParseDocTableRejectsMalformedRows(t *testing.T) {
	rows := parseDocTable(t, "| `a_total` | counter | `x`, `y` | meaning |\n| Name | Type |\n")
	if len(rows) != 1 || rows["a_total"].typ != "counter" || strings.Join(rows["a_total"].labels, ",") != "x,y" {
		t.Fatalf("parsed %+v", rows)
	}
}
