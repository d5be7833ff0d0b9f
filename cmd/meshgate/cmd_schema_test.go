package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func TestSchemaCommand(t *testing.T) {
	code, out, errs := runCmd(t, "schema", "orders", "--contracts", examples(t))
	if code != 0 || errs != "" {
		t.Fatalf("code %d\n%s", code, errs)
	}
	var doc struct {
		Schema     string                     `json:"$schema"`
		ID         string                     `json:"$id"`
		Required   []string                   `json:"required"`
		Properties map[string]json.RawMessage `json:"properties"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if doc.Schema != "https://json-schema.org/draft/2020-12/schema" || doc.ID != "urn:meshgate:orders:2.1.0:curated" {
		t.Errorf("header %q %q", doc.Schema, doc.ID)
	}
	if got := string(doc.Properties["customer_email"]); !strings.Contains(got, `"pattern": "^[0-9a-f]{64}$"`) {
		t.Errorf("customer_email %s", got)
	}
	// The output compiles with a real validator.
	sch, err := jsonschema.UnmarshalJSON(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("urn:x", sch); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Compile("urn:x"); err != nil {
		t.Fatalf("does not compile: %v", err)
	}

	// --out writes the same document.
	file := filepath.Join(t.TempDir(), "orders.schema.json")
	if code, _, errs := runCmd(t, "schema", "--contracts", examples(t), "orders", "--out", file); code != 0 {
		t.Fatalf("--out: code %d %s", code, errs)
	}
	if data, _ := os.ReadFile(file); !bytes.Equal(data, []byte(out)) {
		t.Error("--out wrote something else")
	}
}

func TestSchemaCommandErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no domain", []string{"--contracts", "x"}, 2, "usage: meshgate schema DOMAIN"},
		{"unknown format", []string{"orders", "--contracts", examples(t), "--format", "avro"}, 2, `unknown format "avro" (want jsonschema)`},
		{"unknown stage", []string{"orders", "--contracts", examples(t), "--stage", "beta"}, 2, `unknown stage "beta"`},
		{"unknown domain", []string{"shipping", "--contracts", examples(t)}, 1, `meshgate schema: no active contract for domain "shipping" in ../../examples/contracts (domains: customers, orders, payments)`},
		{"no shadow", []string{"orders", "--contracts", examples(t), "--stage", "shadow"}, 1, `no shadow contract for domain "orders"`},
		{"broken contracts", []string{"orders", "--contracts", filepath.Join("testdata", "does-not-exist")}, 1, "do not load"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runCmd(t, append([]string{"schema"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errs, tc.want) || out != "" {
				t.Errorf("code %d, stdout %q, stderr:\n%s\nwant code %d and %q", code, out, errs, tc.code, tc.want)
			}
		})
	}
}
