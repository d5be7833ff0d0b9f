package odcs

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// The official ODCS material (JSON Schema and examples) lives in ../shared/odcs relative
// to the module root. It is reference data for tests only and is never copied into the
// project; meshgate validates with its own model at run time, and these tests hold that
// model to the official schema.

func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("go.mod not found above the test directory")
		}
		dir = parent
	}
}

const schemaFile = "odcs-json-schema-v3.1.0.json"

// sharedODCS returns the directory of the official ODCS material. It skips the test when
// the material is missing, and fails it when env CI=true.
func sharedODCS(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(moduleRoot(t), "..", "shared", "odcs")
	if _, err := os.Stat(filepath.Join(dir, schemaFile)); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("official ODCS schema and examples missing at %s (required when CI=true): %v", dir, err)
		}
		t.Skipf("official ODCS schema and examples not found at %s; skipping (they are required when CI=true)", dir)
	}
	return dir
}

var (
	officialOnce   sync.Once
	officialSchema *jsonschema.Schema
	officialErr    error
)

// official compiles the official ODCS v3.1.0 JSON Schema (draft 2019-09) with a real
// JSON Schema validator. Formats are annotations, as the draft specifies by default.
func official(t testing.TB) *jsonschema.Schema {
	t.Helper()
	dir := sharedODCS(t)
	officialOnce.Do(func() {
		data, err := os.ReadFile(filepath.Join(dir, schemaFile))
		if err != nil {
			officialErr = err
			return
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			officialErr = err
			return
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource("https://meshgate.test/odcs.json", doc); err != nil {
			officialErr = err
			return
		}
		officialSchema, officialErr = c.Compile("https://meshgate.test/odcs.json")
	})
	if officialErr != nil {
		t.Fatalf("compile official ODCS schema: %v", officialErr)
	}
	return officialSchema
}

// officialValidate converts YAML to the JSON instance (the conversion the model reads)
// and validates it with the official schema.
func officialValidate(t testing.TB, file string, data []byte) error {
	t.Helper()
	sch := official(t)
	v, err := ToJSON(file, data)
	if err != nil {
		return err
	}
	// Round-trip through encoding/json so the validator sees exactly JSON types.
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return err
	}
	return sch.Validate(inst)
}
