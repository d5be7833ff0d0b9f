package main

import (
	"bytes"
	"strings"
	"testing"

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
