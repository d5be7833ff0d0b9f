package rules_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/meshgate/meshgate/rules"
)

// TestHashesDoNotDependOnTheCheckoutPath: the same contract files in two directories (two git
// checkouts, two pods mounting a ConfigMap at different paths) give the same contract and set
// hashes, so meshgate_contract_info agrees across a fleet; changing a lookup table changes them.
func TestHashesDoNotDependOnTheCheckoutPath(t *testing.T) {
	src := filepath.Join("..", "examples", "contracts")
	a := filepath.Join(t.TempDir(), "checkout-a", "contracts")
	b := filepath.Join(t.TempDir(), "elsewhere", "mounted")
	copyDir(t, src, a)
	copyDir(t, src, b)

	load := func(dir string) *rules.Set {
		t.Helper()
		s, err := rules.Load(dir, rules.Options{HashSalt: rules.TestSalt})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sa, sb := load(a), load(b)
	if sa.Hash() != sb.Hash() {
		t.Errorf("set hash differs by path: %s vs %s", sa.Hash(), sb.Hash())
	}
	for _, ca := range sa.Contracts() {
		if cb := sb.ByDomain(ca.Domain); cb == nil || cb.Hash != ca.Hash {
			t.Errorf("contract %s hash differs by path: %s vs %v", ca.Domain, ca.Hash, cb)
		}
	}

	// A changed lookup table is a changed contract.
	lookup := filepath.Join(b, "lookups", "country_regions.csv")
	data, err := os.ReadFile(lookup)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(lookup, append(data, []byte("XX,Nowhere,Nowhere land\n")...), 0o644); err != nil {
		t.Fatal(err)
	}
	sc := load(b)
	if sc.Hash() == sa.Hash() || sc.ByDomain("orders").Hash == sa.ByDomain("orders").Hash {
		t.Errorf("hashes did not change with the lookup table")
	}
}

func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(target, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
