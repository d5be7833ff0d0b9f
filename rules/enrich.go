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

// enrich runs the contract's enrichment steps and writes the output: the input bytes with
// only the edited members re-encoded. Each edit is recorded in a patch; the decoded event m is
// updated as well where a later step may read the result (step.updateMap). The result never
// aliases in.Data.
func (e *Evaluator) enrich(c *Contract, in Input, m map[string]any) ([]byte, error) {
	if len(c.steps) == 0 {
		return append([]byte(nil), in.Data...), nil
	}
	p := &e.patch
	p.Reset()
	for _, st := range c.steps {
		switch st.op {
		case OpSet:
			v, err := e.vm.Run(st.value, m)
			if err != nil {
				return nil, fmt.Errorf("%s: %s", st.name, errText(err))
			}
			if err := checkParents(m, st.path); err != nil {
				return nil, fmt.Errorf("%s: %w", st.name, err)
			}
			if st.updateMap {
				_ = setPath(m, st.path, v)
			}
			p.Set(st.path, v)
		case OpRename:
			v, ok := getPath(m, st.path)
			if !ok {
				continue
			}
			if err := checkParents(m, st.to); err != nil {
				return nil, fmt.Errorf("%s: %w", st.name, err)
			}
			if st.updateMap {
				deletePath(m, st.path)
				_ = setPath(m, st.to, v)
			}
			p.Rename(st.path, st.to)
		case OpDrop:
			if _, ok := getPath(m, st.path); ok {
				if st.updateMap {
					deletePath(m, st.path)
				}
				p.Delete(st.path)
			}
		case OpRedact:
			if _, ok := getPath(m, st.path); ok {
				if st.updateMap {
					_ = setPath(m, st.path, Redacted)
				}
				p.Set(st.path, redacted)
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
			if st.updateMap {
				_ = setPath(m, st.path, h)
			}
			p.Set(st.path, h)
		case OpNormalize:
			v, ok := getPath(m, st.path)
			s, isStr := v.(string)
			if !ok || !isStr {
				continue
			}
			if n := normalize(st.norm, s); n != s {
				if st.updateMap {
					_ = setPath(m, st.path, n)
				}
				p.Set(st.path, n)
			}
		case OpMetadata:
			if err := checkParents(m, st.metaPaths[0]); err != nil {
				return nil, fmt.Errorf("%s: %w", st.name, err)
			}
			at := e.processedAt(in.Now)
			if st.updateMap {
				_ = setPath(m, st.path, map[string]any{"contract": c.Domain, "version": c.Version, "processedAt": at})
			}
			p.Delete(st.path) // replace whatever the event had there by a fresh object
			p.Set(st.metaPaths[0], c.metaDomain)
			p.Set(st.metaPaths[1], c.metaVersion)
			p.Set(st.metaPaths[2], at)
		}
	}
	out, err := jsonx.AppendApply(make([]byte, 0, len(in.Data)+64+16*len(c.steps)), in.Data, p)
	p.Reset()
	if err != nil {
		return nil, err
	}
	return out, nil
}

// redacted is Redacted boxed once.
var redacted any = Redacted

// processedAt returns now as RFC 3339 with second precision in UTC, formatted (and boxed) once
// per second rather than once per event.
func (e *Evaluator) processedAt(now time.Time) any {
	sec := now.Unix()
	if e.metaAt != nil && e.metaSec == sec {
		return e.metaAt
	}
	e.metaSec, e.metaAt = sec, now.UTC().Truncate(time.Second).Format(time.RFC3339)
	return e.metaAt
}

// checkParents reports a parent of path that exists and is not an object (where nothing can
// be set), before the edit is recorded.
func checkParents(m map[string]any, path []string) error {
	var v any = m
	for i, k := range path[:len(path)-1] {
		o, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s is not an object", strings.Join(path[:i], "."))
		}
		if v, ok = o[k]; !ok {
			return nil // missing parents are created
		}
	}
	if _, ok := v.(map[string]any); !ok {
		return fmt.Errorf("%s is not an object", strings.Join(path[:len(path)-1], "."))
	}
	return nil
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
