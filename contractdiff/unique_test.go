package contractdiff

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCompareUniqueRules: a unique rule only warns, so adding, changing or removing one is
// neutral for producers, and its key, window and maxKeys are what is compared.
func TestCompareUniqueRules(t *testing.T) {
	write := func(rule string) string {
		dir := t.TempDir()
		src := "domain: shop\nversion: 1.0.0\nsources: [shop-raw]\ncurated: shop-curated\nrules:\n  - name: keep\n    check: \"true\"\n" + rule
		if err := os.WriteFile(filepath.Join(dir, "shop.yaml"), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	none := load(t, write(""))
	once := load(t, write("  - name: once\n    unique: {key: order_id}\n"))
	longer := load(t, write("  - name: once\n    unique: {key: order_id, window: 24h}\n"))
	for _, tc := range []struct {
		name string
		got  []string
		want []string
	}{
		{"added", lines(Compare(none, once)), []string{"shop producers neutral once: rule added (warn): unique {key: [order_id]}"}},
		{"window changed", lines(Compare(once, longer)), []string{"shop producers neutral once: check changed: unique {key: [order_id]} -> unique {key: [order_id], window: 24h}"}},
		{"removed", lines(Compare(longer, none)), []string{"shop producers neutral once: rule removed (warn): unique {key: [order_id], window: 24h}"}},
	} {
		if !slices.Equal(tc.got, tc.want) {
			t.Errorf("%s:\n%s\nwant:\n%s", tc.name, strings.Join(tc.got, "\n"), strings.Join(tc.want, "\n"))
		}
	}
}
