package contractdiff

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	_ "github.com/meshgate/meshgate/odcs" // the examples include an ODCS contract
	"github.com/meshgate/meshgate/rules"
)

func examples(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "examples", "contracts")
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("example contracts missing: %v", err)
		}
		t.Skipf("example contracts missing (%v)", err)
	}
	return dir
}

// variant copies the examples to a new directory and applies edits: file -> old, new, ...
// (an empty new with old "" appends; a nil list removes the file).
func variant(t testing.TB, edits map[string][]string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(examples(t))); err != nil {
		t.Fatal(err)
	}
	for file, pairs := range edits {
		path := filepath.Join(dir, file)
		if pairs == nil {
			if err := os.Remove(path); err != nil {
				t.Fatal(err)
			}
			continue
		}
		data, _ := os.ReadFile(path)
		text := string(data)
		for i := 0; i < len(pairs); i += 2 {
			if pairs[i] == "" {
				text += pairs[i+1]
				continue
			}
			if !strings.Contains(text, pairs[i]) {
				t.Fatalf("%s has no %q", file, pairs[i])
			}
			text = strings.Replace(text, pairs[i], pairs[i+1], 1)
		}
		if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func load(t testing.TB, dir string) *rules.Set {
	t.Helper()
	set, err := rules.Load(dir, rules.Options{InsecureTestSalt: true})
	if err != nil {
		t.Fatal(err)
	}
	return set
}

// lines renders changes as "domain audience impact subject: what", without the
// "version unchanged" notes.
func lines(diffs []DomainDiff) []string {
	var out []string
	for _, d := range diffs {
		for _, c := range d.Changes {
			if c.Subject == "version" {
				continue
			}
			out = append(out, d.Domain+" "+c.Audience+" "+c.Impact+" "+c.Subject+": "+c.What)
		}
	}
	return out
}

func TestCompare(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edits map[string][]string
		want  []string
	}{
		{"nothing changed", nil, nil},
		{"only a comment", map[string][]string{"orders.yaml": {"", "# reviewed\n"}}, []string{
			"orders producers neutral orders: the contract's files changed without a change meshgate classifies (comments, descriptions, formatting, owner)",
		}},
		{"error rule added", map[string][]string{"orders.yaml": {"rules:\n", "rules:\n  - name: total_cap\n    check: total < 1000\n"}}, []string{
			"orders producers tightening total_cap: rule added (error): total < 1000",
			"orders consumers non-breaking total: total is now always present",
			"orders consumers non-breaking total: total narrowed to number",
			"orders consumers non-breaking total: total now has exclusiveMaximum 1000",
		}},
		{"warn rule added", map[string][]string{"orders.yaml": {"rules:\n", "rules:\n  - name: total_cap\n    check: total < 1000\n    severity: warn\n"}}, []string{
			"orders producers neutral total_cap: rule added (warn): total < 1000",
		}},
		{"rule removed", map[string][]string{"orders.test.yaml": nil, "orders.yaml": {"  - name: channel_known\n    check: one_of(channel, \"web\", \"app\", \"store\")\n    message: channel must be web, app or store\n", ""}}, []string{
			`orders producers loosening channel_known: rule removed (error): one_of(channel, "web", "app", "store")`,
			`orders consumers breaking channel: channel may now be absent`,
			`orders consumers breaking channel: channel no longer described (was one of ["web","app","store"])`,
		}},
		{"warn becomes error", map[string][]string{"orders.yaml": {"    severity: warn\n", "    severity: error\n"}}, []string{
			"orders producers tightening postcode_plausible: severity warn -> error: failing events are now quarantined",
			"orders consumers non-breaking shipping: shipping added to the output (always present)",
		}},
		{"guard added", map[string][]string{"orders.yaml": {"  - name: channel_known\n", "  - name: channel_known\n    when: event_type != \"order_cancelled\"\n"}}, []string{
			`orders producers loosening channel_known: guard added: the rule now applies only when event_type != "order_cancelled"`,
			`orders consumers breaking channel: channel may now be absent`,
			`orders consumers breaking channel: channel no longer described (was one of ["web","app","store"])`,
		}},
		{"guard removed", map[string][]string{"orders.yaml": {"  - name: carrier_known\n    when: event_type == \"order_shipped\"\n", "  - name: carrier_known\n"}}, []string{
			`orders producers tightening carrier_known: guard removed: the rule now applies to every event (was only when event_type == "order_shipped")`,
			"orders consumers non-breaking shipping: shipping added to the output (always present)",
		}},
		{"check changed", map[string][]string{"policies/envelope.yaml": {`fresh(occurred_at, "168h", "5m")`, `fresh(occurred_at, "72h", "5m")`}}, []string{
			`customers producers unknown occurred_at_fresh: check changed: fresh(occurred_at, "168h", "5m") -> fresh(occurred_at, "72h", "5m")`,
			`orders producers unknown occurred_at_fresh: check changed: fresh(occurred_at, "168h", "5m") -> fresh(occurred_at, "72h", "5m")`,
			`payments producers unknown occurred_at_fresh: check changed: fresh(occurred_at, "168h", "5m") -> fresh(occurred_at, "72h", "5m")`,
		}},
		{"field facets", map[string][]string{"orders.test.yaml": nil, "orders.yaml": {
			"currency: {type: string, enum: [EUR, USD, GBP]}", "currency: {type: string, required: true, enum: [EUR, USD, CHF]}",
			"total:    {type: number, minimum: 0}", "total:    {type: integer, exclusiveMinimum: 0}",
			"  items:    {type: array, minItems: 1}\n", "",
		}}, []string{
			"orders producers tightening currency: now required",
			"orders producers tightening currency: enum values [GBP] removed, [CHF] added",
			"orders producers tightening total: type number -> integer",
			"orders producers tightening total: minimum 0 -> exclusiveMinimum 0",
			"orders producers loosening items: declaration removed (was array)",
			"orders consumers non-breaking currency: currency is now always present",
			"orders consumers non-breaking currency: currency narrowed to string",
			`orders consumers breaking currency: currency may now be "CHF"`,
			`orders consumers non-breaking currency: currency is no longer "GBP", null`,
			"orders consumers breaking items: items may now be of any type (was array or null)",
			"orders consumers breaking items: items no longer has minItems 1",
			"orders consumers non-breaking total: total narrowed to integer or null",
			"orders consumers non-breaking total: total narrowed from minimum 0 to exclusiveMinimum 0",
		}},
		{"enrichment", map[string][]string{"customers.yaml": {
			"  - hash: phone\n", "",
			"  - rename: {from: name, to: full_name}\n", "  - rename: {from: name, to: display_name}\n  - drop: tags\n  - set: source\n    value: '\"crm\"'\n",
		}}, []string{
			"customers consumers breaking phone: phone is no longer hashed: its values change form and now reach consumers in the clear",
			"customers consumers breaking name: enrichment changed: rename name -> full_name -> rename name -> display_name",
			"customers consumers breaking tags: tags removed from the output (dropped)",
			`customers consumers non-breaking source: new enrichment output: set source = "crm"`,
		}},
		{"routing", map[string][]string{"orders.yaml": {"curated: orders-curated", "curated: orders-curated-v2", "partitionKey: customer_id", "partitionKey: order_id"}}, []string{
			"orders consumers breaking curated: curated stream moved from orders-curated to orders-curated-v2",
			"orders consumers non-breaking partitionKey: curated partition key changed from customer_id to order_id: events are ordered per the new key",
		}},
		{"lookup table", map[string][]string{"lookups/country_regions.csv": {"", "ZZ,EU,Zedland\n"}}, []string{
			"customers producers unknown regions: lookup table regions changed (lookups/country_regions.csv): rules reading it may accept other values",
			"orders producers unknown regions: lookup table regions changed (lookups/country_regions.csv): rules reading it may accept other values",
			"payments producers unknown regions: lookup table regions changed (../lookups/country_regions.csv): rules reading it may accept other values",
		}},
		{"domain removed", map[string][]string{"customers.yaml": nil, "customers.test.yaml": nil}, []string{
			"customers producers tightening customers: contract customers 1.3.0 removed: events of customers-raw have no contract (a worker refuses such a reload; replayed or checked events are quarantined)",
			"customers consumers breaking customers: curated stream customers-curated is no longer fed",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			old := load(t, examples(t))
			cur := load(t, variant(t, tc.edits))
			got := lines(Compare(old, cur))
			if !slices.Equal(got, tc.want) {
				t.Errorf("changes:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestCompareNewDomainAndVersionNote(t *testing.T) {
	dir := variant(t, map[string][]string{"orders.yaml": {"", "# x\n"}})
	os.WriteFile(filepath.Join(dir, "shipping.yaml"), []byte("domain: shipping\nversion: 0.1.0\nsources: [shipping-raw]\ncurated: shipping-curated\n"), 0o644)
	diffs := Compare(load(t, examples(t)), load(t, dir))
	var got []string
	for _, d := range diffs {
		for _, c := range d.Changes {
			got = append(got, d.Domain+" "+c.Impact+" "+c.What)
		}
	}
	want := []string{
		"orders neutral the contract changed but its version is still 2.1.0",
		"orders neutral the contract's files changed without a change meshgate classifies (comments, descriptions, formatting, owner)",
		"shipping neutral new contract shipping 0.1.0 judging shipping-raw",
		"shipping non-breaking new curated stream shipping-curated",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
