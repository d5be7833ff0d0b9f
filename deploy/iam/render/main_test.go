package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/config"
	"github.com/meshgate/meshgate/deploy/iam"
)

func TestRender(t *testing.T) {
	args := []string{
		"-var", "Partition=aws", "-var", "Region=eu-west-1", "-var", "AccountId=123456789012",
		"-var", "RawStream=orders-raw", "-var", "RawStream=customers-raw",
		"-var", "CuratedStream=orders-curated", "-var", "LeaseTable=meshgate-orders-raw",
		"-var", "QuarantineBucket=acme-q", "-var", "QuarantinePrefix=quarantine",
		"../worker-policy.json",
	}
	var stdout, stderr bytes.Buffer
	if code := run(args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	p, err := iam.Parse(stdout.Bytes())
	if err != nil {
		t.Fatalf("output is not a policy: %v\n%s", err, stdout.String())
	}
	if errs := p.Lint(); len(errs) > 0 {
		t.Errorf("rendered policy fails lint: %v", errs)
	}
	if !strings.Contains(stdout.String(), `"arn:aws:kinesis:eu-west-1:123456789012:stream/customers-raw"`) ||
		strings.Contains(stdout.String(), "${") {
		t.Errorf("unexpected output:\n%s", stdout.String())
	}

	stdout.Reset()
	stderr.Reset()
	if code := run(args[2:], &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "no value for ${Partition}") {
		t.Errorf("missing variable: exit %d, stderr %q", code, stderr.String())
	}
	if code := run([]string{"-var", "x"}, &stdout, &stderr); code != 2 {
		t.Errorf("bad -var: exit %d", code)
	}
}

// -config fills the placeholders from a worker configuration as the worker derives them: a
// pinned leaseTable is the table granted, and an s3:// contracts source fills the contracts
// variant.
func TestRenderFromConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "worker.yaml")
	if err := os.WriteFile(cfg, []byte(`application: shop
region: eu-central-1
workerID: w1
contracts: s3://acme-contracts/meshgate/prod
streams:
  - name: orders-raw
    leaseTable: shop
  - name: customers-raw
quarantine: {bucket: acme-q, prefix: q}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, k := range config.EnvVars() {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	render := func(policy string, extra ...string) *iam.Policy {
		t.Helper()
		args := append([]string{"-config", cfg, "-var", "Partition=aws"}, extra...)
		var stdout, stderr bytes.Buffer
		if code := run(append(args, policy), &stdout, &stderr); code != 0 {
			t.Fatalf("exit %d: %s", code, stderr.String())
		}
		p, err := iam.Parse(stdout.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	resources := func(p *iam.Policy) map[string][]string {
		out := map[string][]string{}
		for _, st := range p.Statement {
			out[st.Sid] = st.Resource
		}
		return out
	}
	got := resources(render("../worker-policy.json", "-var", "AccountId=123456789012", "-var", "CuratedStream=orders-curated"))
	want := map[string][]string{
		"ReadRawStreams":      {"arn:aws:kinesis:eu-central-1:123456789012:stream/orders-raw", "arn:aws:kinesis:eu-central-1:123456789012:stream/customers-raw"},
		"WriteCuratedStreams": {"arn:aws:kinesis:eu-central-1:123456789012:stream/orders-curated"},
		"LeaseTable":          {"arn:aws:dynamodb:eu-central-1:123456789012:table/shop", "arn:aws:dynamodb:eu-central-1:123456789012:table/shop-customers-raw"},
		"WriteQuarantine":     {"arn:aws:s3:::acme-q/q/*"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("from the config:\n%v\nwant\n%v", got, want)
	}
	// The environment overrides apply as for the worker.
	t.Setenv("MESHGATE_LEASE_TABLES", "customers-raw=customers-leases")
	got = resources(render("../worker-policy.json", "-var", "AccountId=123456789012", "-var", "CuratedStream=orders-curated"))
	if w := []string{"arn:aws:dynamodb:eu-central-1:123456789012:table/shop", "arn:aws:dynamodb:eu-central-1:123456789012:table/customers-leases"}; !reflect.DeepEqual(got["LeaseTable"], w) {
		t.Errorf("with MESHGATE_LEASE_TABLES: %v, want %v", got["LeaseTable"], w)
	}
	got = resources(render("../worker-policy-contracts-s3.json"))
	if w := map[string][]string{"ListContracts": {"arn:aws:s3:::acme-contracts"}, "ReadContracts": {"arn:aws:s3:::acme-contracts/meshgate/prod/*"}}; !reflect.DeepEqual(got, w) {
		t.Errorf("contracts variant: %v, want %v", got, w)
	}
	// A -var wins over the config.
	got = resources(render("../worker-policy-contracts-s3.json", "-var", "ContractsPrefix=other"))
	if w := []string{"arn:aws:s3:::acme-contracts/other/*"}; !reflect.DeepEqual(got["ReadContracts"], w) {
		t.Errorf("-var over config: %v, want %v", got["ReadContracts"], w)
	}
	var stdout, stderr bytes.Buffer
	if code := run([]string{"-config", filepath.Join(dir, "missing.yaml"), "../worker-policy.json"}, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "worker configuration") {
		t.Errorf("missing config: exit %d, %s", code, stderr.String())
	}
}
