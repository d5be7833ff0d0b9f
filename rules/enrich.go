package rules

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/meshgate/meshgate/jsonx"
)

// Redacted replaces the value of a redacted field.
const Redacted = "[REDACTED]"

// enrich runs the contract's enrichment steps on the decoded event m (so later steps see the
// effect of earlier ones) and records each edit in a patch, then writes the output: the input
// bytes with only the edited members re-encoded. The result never aliases in.Data.
func (e *Evaluator) enrich(c *Contract, in Input, m map[string]any) ([]byte, error) {
	if len(c.steps) == 0 {
		return append([]byte(nil), in.Data...), nil
	}
	p := &e.patch
	p.Reset()
	for i, st := range c.steps {
		switch st.op {
		case OpSet:
			v, err := e.vm.Run(st.value, m)
			if err != nil {
				return nil, fmt.Errorf("%s: %s", st.name, errText(err))
			}
			if err := setPath(m, st.path, v); err != nil {
				return nil, fmt.Errorf("%s: %w", st.name, err)
			}
			p.Set(st.path, v)
		case OpRename:
			v, ok := getPath(m, st.path)
			if !ok {
				continue
			}
			deletePath(m, st.path)
			if err := setPath(m, st.to, v); err != nil {
				return nil, fmt.Errorf("%s: %w", st.name, err)
			}
			p.Rename(st.path, st.to)
		case OpDrop:
			if deletePath(m, st.path) {
				p.Delete(st.path)
			}
		case OpRedact:
			if _, ok := getPath(m, st.path); ok {
				_ = setPath(m, st.path, Redacted)
				p.Set(st.path, Redacted)
			}
		case OpHash:
			v, ok := getPath(m, st.path)
			if !ok || v == nil {
				continue
			}
			h, err := e.hash(c, v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", st.name, err)
			}
			_ = setPath(m, st.path, h)
			p.Set(st.path, h)
		case OpNormalize:
			v, ok := getPath(m, st.path)
			s, isStr := v.(string)
			if !ok || !isStr {
				continue
			}
			n := normalize(st.norm, s)
			if n != s {
				_ = setPath(m, st.path, n)
				p.Set(st.path, n)
			}
		case OpMetadata:
			raw := e.metadata(c, in.Now)
			if st.metaAsMap {
				meta := map[string]any{"contract": c.Domain, "version": c.Version, "processedAt": string(raw[len(c.meta) : len(raw)-2])}
				if err := setPath(m, st.path, meta); err != nil {
					return nil, fmt.Errorf("%s: %w", st.name, err)
				}
				p.Set(st.path, meta)
				continue
			}
			if i < len(c.steps)-1 {
				_ = setPath(m, st.path, map[string]any{"contract": c.Domain, "version": c.Version, "processedAt": string(raw[len(c.meta) : len(raw)-2])})
			}
			p.Set(st.path, jsonx.Raw(raw))
		}
	}
	out, err := jsonx.AppendApply(make([]byte, 0, len(in.Data)+64+16*len(c.steps)), in.Data, p)
	p.Reset()
	if err != nil {
		return nil, err
	}
	return out, nil
}

// metadata returns the processing metadata object as JSON. The time is formatted once per
// second of Input.Now (RFC 3339, second precision, UTC), not once per event.
func (e *Evaluator) metadata(c *Contract, now time.Time) []byte {
	sec := now.Unix()
	if e.metaContract == c && e.metaSec == sec && e.metaRaw != nil {
		return e.metaRaw
	}
	b := append(e.metaRaw[:0], c.meta...)
	b = now.UTC().Truncate(time.Second).AppendFormat(b, time.RFC3339)
	b = append(b, '"', '}')
	e.metaContract, e.metaSec, e.metaRaw = c, sec, b
	return b
}

// hash returns the hex sha256 of salt+value; strings hash their text, other values their
// compact JSON.
func (e *Evaluator) hash(c *Contract, v any) (string, error) {
	b := append(e.buf[:0], c.salt...)
	if s, ok := v.(string); ok {
		b = append(b, s...)
	} else {
		var err error
		if b, err = jsonx.Marshal(b, v); err != nil {
			return "", err
		}
	}
	sum := sha256.Sum256(b)
	e.buf = b[:0]
	return hex.EncodeToString(sum[:]), nil
}

func normalize(op, s string) string {
	switch op {
	case "trim":
		return strings.TrimSpace(s)
	case "lower":
		return strings.ToLower(s)
	case "upper":
		return strings.ToUpper(s)
	}
	return s
}

// setPath sets a value at path in m, creating missing objects on the way.
func setPath(m map[string]any, path []string, v any) error {
	for i, k := range path[:len(path)-1] {
		next, ok := m[k]
		if !ok {
			n := map[string]any{}
			m[k] = n
			m = n
			continue
		}
		nm, ok := next.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is not an object", strings.Join(path[:i+1], "."))
		}
		m = nm
	}
	m[path[len(path)-1]] = v
	return nil
}

// deletePath removes the value at path and reports whether it existed.
func deletePath(m map[string]any, path []string) bool {
	for _, k := range path[:len(path)-1] {
		nm, ok := m[k].(map[string]any)
		if !ok {
			return false
		}
		m = nm
	}
	k := path[len(path)-1]
	if _, ok := m[k]; !ok {
		return false
	}
	delete(m, k)
	return true
}
