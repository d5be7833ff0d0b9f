package rules

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/expr-lang/expr"
)

// maxLookupBytes bounds a lookup table file.
const maxLookupBytes = 64 << 20

// table is one loaded lookup table: key -> value.
type table map[string]any

// loadLookup reads the table a SpecLookup names, relative to the spec file's directory.
// It returns the file's path and content (for hashing) with the table.
func loadLookup(specFile string, l SpecLookup) (string, []byte, table, error) {
	path := l.File.Value
	if !filepath.IsAbs(path) {
		path = filepath.Join(filepath.Dir(specFile), path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return path, nil, nil, err
	}
	if fi.Size() > maxLookupBytes {
		return path, nil, nil, fmt.Errorf("%s is larger than %d bytes", path, maxLookupBytes)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return path, nil, nil, err
	}
	var t table
	switch strings.ToLower(filepath.Ext(path)) {
	case ".csv":
		t, err = parseCSVTable(data, l.Key.Value, l.Value.Value)
	case ".json":
		t, err = parseJSONTable(data, l.Key.Value, l.Value.Value)
	default:
		err = errors.New("a lookup table must be a .csv or .json file")
	}
	if err != nil {
		return path, data, nil, fmt.Errorf("%s: %w", path, err)
	}
	return path, data, t, nil
}

// parseCSVTable reads a CSV file with a header row. key and value name columns; when empty,
// the first and second columns are used.
func parseCSVTable(data []byte, key, value string) (table, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))))
	r.TrimLeadingSpace = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("read CSV header: %w", err)
	}
	ki, vi := 0, 1
	col := func(name string, def int) (int, error) {
		if name == "" {
			if def >= len(header) {
				return 0, fmt.Errorf("CSV needs at least %d columns", def+1)
			}
			return def, nil
		}
		for i, h := range header {
			if strings.TrimSpace(h) == name {
				return i, nil
			}
		}
		return 0, fmt.Errorf("CSV has no column %q (columns: %s)", name, strings.Join(header, ", "))
	}
	if ki, err = col(key, 0); err != nil {
		return nil, err
	}
	if vi, err = col(value, 1); err != nil {
		return nil, err
	}
	t := table{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read CSV: %w", err)
		}
		line, _ := r.FieldPos(0)
		if ki >= len(rec) || vi >= len(rec) {
			return nil, fmt.Errorf("line %d: too few columns", line)
		}
		k := rec[ki]
		if _, dup := t[k]; dup {
			return nil, fmt.Errorf("line %d: duplicate key %q", line, k)
		}
		t[k] = rec[vi]
	}
	return t, nil
}

// parseJSONTable reads {"key": value, ...} (key and value empty) or [{key: k, value: v}, ...].
func parseJSONTable(data []byte, key, value string) (table, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("parse JSON: %w", err)
	}
	t := table{}
	switch d := doc.(type) {
	case map[string]any:
		if key != "" || value != "" {
			return nil, errors.New("key and value name the properties of an array of objects; this file is an object")
		}
		for k, v := range d {
			t[k] = fromJSONNumber(v)
		}
	case []any:
		if key == "" || value == "" {
			return nil, errors.New("an array of objects needs key: and value: naming the properties")
		}
		for i, e := range d {
			o, ok := e.(map[string]any)
			if !ok {
				return nil, fmt.Errorf("element %d is not an object", i)
			}
			k, ok := o[key]
			if !ok {
				return nil, fmt.Errorf("element %d has no %q", i, key)
			}
			ks := lookupKey(fromJSONNumber(k))
			if _, dup := t[ks]; dup {
				return nil, fmt.Errorf("element %d: duplicate key %q", i, ks)
			}
			t[ks] = fromJSONNumber(o[value])
		}
	default:
		return nil, errors.New("a JSON lookup table is an object or an array of objects")
	}
	return t, nil
}

// fromJSONNumber converts json.Number values (deeply) to int or float64.
func fromJSONNumber(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case []any:
		for i := range x {
			x[i] = fromJSONNumber(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = fromJSONNumber(x[k])
		}
	}
	return v
}

// lookupKey renders a key value as the string tables are keyed by.
func lookupKey(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	case int:
		return strconv.Itoa(x)
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1e15 {
			return strconv.FormatInt(int64(x), 10)
		}
		return strconv.FormatFloat(x, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// lookupOption declares lookup(table, key) for a contract's tables. A missing key (or a null
// key) yields nil.
func lookupOption(tables map[string]table) expr.Option {
	return expr.Function("lookup", func(p ...any) (any, error) {
		name, _ := p[0].(string)
		t, ok := tables[name]
		if !ok {
			return nil, fmt.Errorf("lookup: unknown table %q", name)
		}
		switch k := p[1].(type) {
		case nil:
			return nil, nil
		case string:
			return t[k], nil
		default:
			return t[lookupKey(k)], nil
		}
	}, new(func(string, any) any))
}
