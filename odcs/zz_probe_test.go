package odcs

import (
	"testing"

	"github.com/meshgate/meshgate/rules"
)

func TestProbeRules(t *testing.T) {
	set, err := rules.Load("../examples/odcs", rules.Options{InsecureTestSalt: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range set.ByDomain("payments").Rules() {
		t.Logf("%s [%s] %s", r.Name, r.Severity, r.Message)
	}
}
