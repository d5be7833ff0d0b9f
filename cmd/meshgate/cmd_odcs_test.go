package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/odcs"
	"github.com/meshgate/meshgate/rules"
)

// The binary links the ODCS format in: lint and test run the ODCS-native example domain
// (examples/contracts/payments) beside the native ones.
func TestODCSExampleThroughLintAndTest(t *testing.T) {
	code, out, errs := runCmd(t, "lint", examples(t))
	if code != 0 || !strings.Contains(out, "3 contracts, 0 shadow, 1 policies, 3 fixture files") ||
		!strings.Contains(out, "(sql) is not enforced on the stream") {
		t.Fatalf("lint: code %d\n%s\n%s", code, out, errs)
	}
	code, out, errs = runCmd(t, "test", "--require-coverage", examples(t))
	if code != 0 || !strings.Contains(out, "ok  \tpayments\t75 cases") || !strings.Contains(out, "policy envelope: 4/4 rules") {
		t.Fatalf("test: code %d\n%s\n%s", code, out, errs)
	}
}

func TestODCSExport(t *testing.T) {
	code, out, errs := runCmd(t, "odcs", "export", "--contracts", examples(t), "orders")
	if code != 0 || errs != "" {
		t.Fatalf("export: code %d\n%s", code, errs)
	}
	doc, err := odcs.Decode("orders.odcs.yaml", []byte(out))
	if err != nil || doc.Domain != "orders" || len(doc.Schema) != 1 {
		t.Fatalf("exported document: %v\n%s", err, out)
	}

	dir := t.TempDir()
	code, out, errs = runCmd(t, "odcs", "export", "--contracts", examples(t), "--out", dir, "customers")
	if code != 0 || !strings.Contains(out, "customers.odcs.yaml") || !strings.Contains(out, "customers.meshgate.yaml") {
		t.Fatalf("export --out: code %d\n%s\n%s", code, out, errs)
	}
	set, err := rules.Load(dir, rules.Options{HashSalt: rules.TestSalt})
	if err != nil {
		t.Fatalf("exported files do not load: %v", err)
	}
	if c := set.ByStream("customers-raw"); c == nil || c.Spec.Format != "odcs" {
		t.Fatal("exported customers contract does not judge customers-raw")
	}

	code, _, errs = runCmd(t, "odcs", "export", "--contracts", examples(t), "nope")
	if code != 1 || !strings.Contains(errs, `no contract for domain "nope"`) {
		t.Fatalf("unknown domain: code %d %s", code, errs)
	}
	if code, _, _ = runCmd(t, "odcs", "export", "orders"); code != 2 {
		t.Fatalf("missing --contracts: code %d", code)
	}
}

func TestODCSValidate(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.odcs.yaml")
	os.WriteFile(bad, []byte("apiVersion: v3.1.0\nkind: DataContract\nid: x\nversion: 1\nstatus: active\nschema:\n  - name: o\n    properties:\n      - name: a\n        logicalType: text\n"), 0o644)
	code, out, errs := runCmd(t, "odcs", "validate", filepath.Join(examples(t), "payments", "payments.odcs.yaml"), bad)
	if code != 1 || !strings.Contains(out, "ok  \t") || !strings.Contains(out, "FAIL\t"+bad) {
		t.Fatalf("validate: code %d\n%s\n%s", code, out, errs)
	}
	for _, want := range []string{bad + ":4:10: version must be a string, got integer 1", bad + `:10:22: logicalType "text" is not one of`} {
		if !strings.Contains(errs, want) {
			t.Errorf("missing %q in\n%s", want, errs)
		}
	}
	if code, _, _ = runCmd(t, "odcs", "validate"); code != 2 {
		t.Fatalf("no files: code %d", code)
	}
	if code, _, _ = runCmd(t, "odcs", "frobnicate"); code != 2 {
		t.Fatalf("unknown subcommand: code %d", code)
	}
}

func TestODCSAlerts(t *testing.T) {
	code, out, errs := runCmd(t, "odcs", "alerts", "--contracts", examples(t))
	if code != 0 || !strings.Contains(out, "name: meshgate-odcs-payments") ||
		!strings.Contains(out, `rule="payment.psp_reference.nullValues"`) || !strings.Contains(out, "check: payment.rowCount") {
		t.Fatalf("alerts: code %d\n%s\n%s", code, out, errs)
	}
	if strings.Contains(out, "meshgate-odcs-orders") || strings.Contains(out, "meshgate-odcs-customers") {
		t.Fatalf("alerts for native contracts:\n%s", out)
	}
	// Native contracts have no aggregate thresholds: an empty rule file.
	native := t.TempDir()
	os.WriteFile(filepath.Join(native, "shop.yaml"), []byte("domain: shop\nversion: 1.0.0\nsources: [shop-raw]\nrules:\n  - name: id\n    check: present(id)\n"), 0o644)
	code, out, _ = runCmd(t, "odcs", "alerts", "--contracts", native)
	if code != 0 || !strings.Contains(out, "groups: []") {
		t.Fatalf("alerts of native contracts: code %d\n%s", code, out)
	}
}
