package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTestCommand(t *testing.T) {
	code, out, errs := runCmd(t, "test", examples(t), "--require-coverage")
	if code != 0 || !strings.HasSuffix(out, "PASS\n") || !strings.Contains(out, "ok  \torders\t") ||
		!strings.Contains(out, "coverage: policy envelope: 4/4 rules") || errs != "" {
		t.Errorf("test examples: code %d\n%s\n%s", code, out, errs)
	}

	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "a.yaml"), []byte("domain: a\nversion: 1.0.0\nrules:\n  - name: x\n    check: n > 0\n  - name: y\n    check: true\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "a.test.yaml"), []byte("contract: a\ncases:\n  - name: positive\n    event: {n: 1}\n    expect: pass\n  - name: zero\n    event: {n: 0}\n    expect: quarantine\n    failures: [x]\n"), 0o644)
	code, out, _ = runCmd(t, "test", dir)
	if code != 0 || !strings.Contains(out, "y: no failing case") {
		t.Errorf("coverage gap without --require-coverage: code %d\n%s", code, out)
	}
	code, out, _ = runCmd(t, "test", "--require-coverage", dir)
	if code != 1 || !strings.Contains(out, "    FAIL y: no failing case") || !strings.HasSuffix(out, "FAIL\n") {
		t.Errorf("coverage gap with --require-coverage: code %d\n%s", code, out)
	}
	os.WriteFile(filepath.Join(dir, "a.test.yaml"), []byte("contract: a\ncases:\n  - name: positive\n    event: {n: 1}\n    expect: quarantine\n"), 0o644)
	code, out, _ = runCmd(t, "test", "-v", dir)
	if code != 1 || !strings.Contains(out, "--- FAIL: a/positive\n") || !strings.Contains(out, "expected quarantine, got pass; no failing rules") {
		t.Errorf("failing case: code %d\n%s", code, out)
	}
}
