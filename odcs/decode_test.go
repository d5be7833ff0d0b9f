package odcs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const head = "apiVersion: v3.1.0\nkind: DataContract\nid: t\nversion: 1.0.0\nstatus: active\n"

// TestDecodeProblems pins whole problem texts: every problem of a document at once, each
// as file:line:col.
func TestDecodeProblems(t *testing.T) {
	tests := []struct {
		name, doc string
		want      []string
	}{
		{"missing required fields", "kind: DataContract\nname: x\n", []string{
			`t.odcs.yaml:1:1: the document: missing required field "version"`,
			`t.odcs.yaml:1:1: the document: missing required field "apiVersion"`,
			`t.odcs.yaml:1:1: the document: missing required field "id"`,
			`t.odcs.yaml:1:1: the document: missing required field "status"`,
		}},
		{"unknown top-level key with a suggestion", head + "domian: x\n", []string{
			`t.odcs.yaml:6:1: unknown field "domian" in the document (did you mean "domain"?)`,
		}},
		{"wrong apiVersion and kind", "apiVersion: v4.0.0\nkind: Contract\nid: t\nversion: 1.0.0\nstatus: active\n", []string{
			`t.odcs.yaml:1:13: apiVersion "v4.0.0" is not one of v3.1.0, v3.0.2, v3.0.1, v3.0.0`,
			`t.odcs.yaml:2:7: kind "Contract" is not one of DataContract`,
		}},
		{"v2 documents are a meshgate restriction", strings.Replace(head, "v3.1.0", "v2.2.2", 1), []string{
			`t.odcs.yaml:1:13: apiVersion v2.2.2: ODCS v2 documents are not supported; meshgate reads v3.1.0, v3.0.2, v3.0.1, v3.0.0 (a meshgate restriction beyond the ODCS schema)`,
		}},
		{"wrong scalar types", strings.Replace(head, "version: 1.0.0", "version: 1.0", 1) + "tags: x\n", []string{
			`t.odcs.yaml:4:10: version must be a string, got number 1.0`,
			`t.odcs.yaml:6:7: tags must be a list, got string "x"`,
		}},
		{"property problems", head + `schema:
  - name: o
    properties:
      - name: a
        logicalType: strin
      - name: b
        logicalType: string
        required: yes
        logicalTypeOptions: {minimum: 1, maxLength: -1}
        items: {logicalType: string}
      - logicalType: integer
        logicalTypeOptions: {format: i33, multipleOf: 0}
      - name: c
        logicalTypeOptions: {minLength: 1}
`, []string{
			`t.odcs.yaml:10:22: logicalType "strin" is not one of string, date, timestamp, time, number, integer, object, array, boolean`,
			`t.odcs.yaml:13:19: required must be a boolean (true or false), got string "yes"`,
			`t.odcs.yaml:14:30: logicalTypeOptions "minimum" is not allowed for logicalType string (allowed: minLength, maxLength, pattern, format)`,
			`t.odcs.yaml:14:53: logicalTypeOptions.maxLength must be at least 0, got -1`,
			`t.odcs.yaml:15:9: unknown field "items" in schema property`,
			`t.odcs.yaml:16:9: schema property: missing required field "name"`,
			`t.odcs.yaml:17:38: integer format "i33" is not one of i8, i16, i32, i64, i128, u8, u16, u32, u64, u128`,
			`t.odcs.yaml:17:55: logicalTypeOptions.multipleOf must be greater than 0, got 0`,
			`t.odcs.yaml:19:30: logicalTypeOptions "minLength" needs a logicalType on the property`,
		}},
		{"quality problems", head + `schema:
  - name: o
    quality:
      - type: library
        metric: nullCount
        mustBe: 0
        mustBeLessThan: 1
      - type: sql
        mustBe: 0
      - type: custom
        engine: meshgate
        mustBe: 0
      - metric: rowCount
        mustBeBetween: [5, 5]
      - dimension: speed
        description: x
`, []string{
			`t.odcs.yaml:10:17: metric "nullCount" is not one of nullValues, missingValues, invalidValues, duplicateValues, rowCount`,
			`t.odcs.yaml:12:25: quality entry has more than one operator; use exactly one of mustBe, mustNotBe, mustBeGreaterThan, mustBeGreaterOrEqualTo, mustBeLessThan, mustBeLessOrEqualTo, mustBeBetween, mustNotBeBetween`,
			`t.odcs.yaml:13:9: sql quality entry: missing required field "query"`,
			`t.odcs.yaml:15:9: custom quality entry: missing required field "implementation"`,
			`t.odcs.yaml:17:9: unknown field "mustBe" in quality entry`,
			`t.odcs.yaml:19:24: mustBeBetween bounds must differ`,
			`t.odcs.yaml:20:20: dimension "speed" is not one of accuracy, completeness, conformity, consistency, coverage, timeliness, uniqueness`,
		}},
		{"servers", head + `servers:
  - {server: a, type: kinesis, host: h}
  - {server: b, type: postgres, host: h, port: "5432", database: d}
  - {server: c, type: sftp, location: ftp://x}
  - {type: nats}
`, []string{
			`t.odcs.yaml:7:32: unknown field "host" in server`,
			`t.odcs.yaml:8:5: postgres server: missing required field "schema"`,
			`t.odcs.yaml:8:48: postgres server port must be a number, got string "5432"`,
			`t.odcs.yaml:9:39: sftp server location "ftp://x" must start with sftp://`,
			`t.odcs.yaml:10:5: server: missing required field "server"`,
			`t.odcs.yaml:10:12: server type "nats" is not one of api, athena, azure, bigquery, clickhouse, cloudsql, custom, databricks, db2, denodo, dremio, duckdb, glue, hive, impala, informix, kafka, kinesis, local, mysql, oracle, postgres, postgresql, presto, pubsub, redshift, s3, sftp, snowflake, sqlserver, synapse, trino, vertica, zen`,
		}},
		{"relationships", head + `schema:
  - name: o
    relationships:
      - {from: o.a, to: [p.a]}
    properties:
      - name: a
        relationships:
          - {from: o.a, to: "not a ref"}
`, []string{
			`t.odcs.yaml:9:9: relationship from and to must both be references or both be lists`,
			`t.odcs.yaml:13:20: a property-level relationship must not have from (it is the property itself)`,
			`t.odcs.yaml:13:29: relationship to "not a ref" is neither a shorthand reference (table.column) nor a fully qualified one (schema/<id>/properties/<id>)`,
		}},
		{"yaml syntax", head + "schema: [\n", []string{
			`t.odcs.yaml:6:1: invalid YAML: did not find expected node content`,
		}},
		{"duplicate keys", head + "name: a\nname: b\n", []string{
			`t.odcs.yaml:7:1: the document: duplicate key "name"`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode("t.odcs.yaml", []byte(tt.doc))
			if err == nil {
				t.Fatal("document accepted")
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("problems\n got:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

func TestDecodeSeedsIntoTheModel(t *testing.T) {
	doc, err := LoadFile(filepath.Join("testdata", "seeds", "events.odcs.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	obj := doc.Schema[0]
	if doc.Team == nil || !doc.Team.Legacy || len(doc.Team.Members) != 2 {
		t.Fatalf("legacy team list not read: %+v", doc.Team)
	}
	if len(doc.Servers) != 2 || doc.Servers[0].Attr("region") != "eu-west-1" {
		t.Fatalf("servers: %+v", doc.Servers[0])
	}
	var items, untyped *Property
	for _, p := range obj.Properties {
		switch p.Name {
		case "items":
			items = p
		case "untyped":
			untyped = p
		}
	}
	if items == nil || items.Items == nil || len(items.Items.Properties) != 2 || *items.LogicalTypeOptions.MaxItems != 50 {
		t.Fatalf("array of objects not read: %+v", items)
	}
	if untyped == nil || len(untyped.Properties) != 1 {
		t.Fatalf("properties of an untyped property not read: %+v", untyped)
	}
	q := obj.Quality[0]
	if q.Metric != "rowCount" || q.Operator != "mustBeBetween" || renderJSON(q.Operand.V) != "[10,1000]" {
		t.Fatalf("rowCount entry: %+v", q)
	}
}

// The YAML the model reads is the JSON the official schema judges: aliases are followed,
// timestamps stay strings, numbers keep their text.
func TestToJSON(t *testing.T) {
	v, err := ToJSON("x.yaml", []byte("a: &x {b: 2024-01-01, c: 0x1F, d: 1.50}\ne: *x\nf: [yes, null]\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := renderJSON(v); got != `{"a":{"b":"2024-01-01","c":31,"d":1.50},"e":{"b":"2024-01-01","c":31,"d":1.50},"f":["yes",null]}` {
		t.Fatalf("ToJSON = %s", got)
	}
	for _, bad := range []string{"a: .inf\n", "a: !foo x\n", "<<: {a: 1}\n"} {
		if _, err := ToJSON("x.yaml", []byte(bad)); err == nil {
			t.Errorf("%q converted", bad)
		}
	}
}

func TestDecodeAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString(head + "customProperties:\n  - property: p\n    value: &a0 [x, x, x, x, x, x, x, x, x, x]\n")
	for i := 1; i < 9; i++ {
		b.WriteString("  - property: p\n    value: &a" + string(rune('0'+i)) + " [")
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*a" + string(rune('0'+i-1)))
		}
		b.WriteString("]\n")
	}
	_, err := Decode("bomb.odcs.yaml", []byte(b.String()))
	if err == nil || !strings.Contains(err.Error(), "alias bomb") {
		t.Fatalf("alias bomb: %v", err)
	}
}

// TestEncodeRoundTrip: every seed and official example, decoded and encoded again, reads
// back to the same encoding, and the encoding is valid ODCS.
func TestEncodeRoundTrip(t *testing.T) {
	for _, f := range seedFiles(t) {
		t.Run(filepath.Base(f), func(t *testing.T) {
			doc, err := LoadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			once, err := Encode(doc)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Decode(f, once)
			if err != nil {
				t.Fatalf("encoding does not read back: %v\n%s", err, once)
			}
			twice, err := Encode(again)
			if err != nil {
				t.Fatal(err)
			}
			if string(once) != string(twice) {
				t.Fatalf("encoding is not stable:\n%s\n---\n%s", once, twice)
			}
			if err := officialValidate(t, f, once); err != nil {
				t.Fatalf("encoding is not valid ODCS: %v", err)
			}
		})
	}
}

// FuzzDecode: the strict model never panics, and what it accepts it can encode into a
// document it accepts again.
func FuzzDecode(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "seeds", "*.odcs.yaml"))
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(head))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := Decode("f.odcs.yaml", data)
		if err != nil {
			return
		}
		out, err := Encode(doc)
		if err != nil {
			t.Fatalf("encode: %v", err)
		}
		if _, err := Decode("f.odcs.yaml", out); err != nil {
			t.Fatalf("accepted a document whose encoding it refuses: %v\n%s", err, out)
		}
	})
}
