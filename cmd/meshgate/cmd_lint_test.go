package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// examples returns the example contracts directory (skips when it is missing outside CI).
func examples(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "examples", "contracts")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("example contracts missing: %v", err)
		}
		t.Skipf("example contracts missing (%v)", err)
	}
	return dir
}

func runCmd(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = commands[args[0]].run(context.Background(), args[1:], &out, &errb)
	return code, out.String(), errb.String()
}

func TestLint(t *testing.T) {
	t.Setenv("MESHGATE_HASH_SALT", "")
	code, out, errs := runCmd(t, "lint", examples(t))
	if code != 0 || !strings.Contains(out, "ok  \t") || !strings.Contains(out, "3 contracts, 0 shadow, 1 policies, 3 fixture files") || errs != "" {
		t.Errorf("lint examples: code %d\n%s\n%s", code, out, errs)
	}
	if !strings.Contains(out, "hashes fields: the worker needs MESHGATE_HASH_SALT") {
		t.Errorf("no salt note:\n%s", out)
	}
	code, _, errs = runCmd(t, "lint", "--require-salt", examples(t))
	if code != 1 || !strings.Contains(errs, "no salt for hashing") {
		t.Errorf("--require-salt: code %d\n%s", code, errs)
	}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("domain: a\nversion: 1.0.0\nrules:\n  - name: x\n    check: total >\n  - name: y\n    chek: true\n"), 0o644)
	code, out, errs = runCmd(t, "lint", dir, "-q")
	file := filepath.Join(dir, "a.yaml")
	want := file + `:5:18: rule "x" check: unexpected token EOF
    check: total >
                 ^
` + file + `:6:5: rule "y": missing required key "check"
  - name: y
    ^
` + file + `:7:5: unknown key "chek" in rule (known: name, description, when, check, unique, severity, message)
    chek: true
    ^
`
	if code != 1 || errs != want || out != "FAIL\t"+dir+"\t3 errors\n" {
		t.Errorf("lint broken: code %d\nstdout %q\nstderr\n%s\nwant\n%s", code, out, errs, want)
	}
	if code, _, _ := runCmd(t, "lint"); code != 2 {
		t.Errorf("lint without a directory: code %d, want 2", code)
	}
}
