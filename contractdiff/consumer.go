package contractdiff

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/meshgate/meshgate/rules"
	"github.com/meshgate/meshgate/schema"
)

// compareOutput finds the changes consumers of the curated stream see: enrichment steps
// added, removed or changed, then what else the exported JSON Schemas say (fields the steps
// do not explain).
func compareOutput(domain string, o, n *rules.Contract) []Change {
	out, covered := compareSteps(domain, o.Spec.Enrich, n.Spec.Enrich)
	var skip []string // the metadata object's version and contract change with every release
	for _, c := range []*rules.Contract{o, n} {
		for _, st := range c.Spec.Enrich {
			if st.Op == rules.OpMetadata {
				skip = append(skip, st.Path.Value+".version", st.Path.Value+".contract")
			}
		}
	}
	for _, ch := range diffSchemas(domain, document(o), document(n)) {
		if under(ch.Subject, covered) || slices.Contains(skip, ch.Subject) {
			continue
		}
		out = append(out, ch)
	}
	return out
}

func document(c *rules.Contract) map[string]any {
	data, _ := json.Marshal(schema.Document(c))
	var m map[string]any
	json.Unmarshal(data, &m)
	return m
}

// under reports whether path is one of paths or below one.
func under(path string, paths []string) bool {
	for _, p := range paths {
		if path == p || strings.HasPrefix(path, p+".") || strings.HasPrefix(path, p+"[]") {
			return true
		}
	}
	return false
}

type stepKey struct{ op, path string }

func stepText(st rules.SpecStep) string {
	switch st.Op {
	case rules.OpSet:
		return "set " + st.Path.Value + " = " + norm(st.Value.Src)
	case rules.OpRename:
		return "rename " + st.Path.Value + " -> " + st.To.Value
	case rules.OpNormalize:
		return "normalize " + st.Path.Value + " (" + st.Norm.Value + ")"
	}
	return st.Op + " " + st.Path.Value
}

// compareSteps compares enrichment steps by operation and path. It also returns the output
// paths the step changes explain.
func compareSteps(domain string, old, cur []rules.SpecStep) ([]Change, []string) {
	var out []Change
	var covered []string
	add := func(impact string, st rules.SpecStep, what string) {
		out = append(out, Change{Domain: domain, Audience: Consumers, Impact: impact, Kind: "enrichment", Subject: st.Path.Value, What: what})
		covered = append(covered, st.Path.Value)
		if st.Op == rules.OpRename {
			covered = append(covered, st.To.Value)
		}
	}
	index := func(steps []rules.SpecStep) map[stepKey]rules.SpecStep {
		m := map[stepKey]rules.SpecStep{}
		for _, st := range steps {
			m[stepKey{st.Op, st.Path.Value}] = st
		}
		return m
	}
	oi, ni := index(old), index(cur)
	for _, st := range old {
		if _, ok := ni[stepKey{st.Op, st.Path.Value}]; ok {
			continue
		}
		switch st.Op {
		case rules.OpSet:
			add(Breaking, st, "enrichment output "+st.Path.Value+" removed (was "+stepText(st)+")")
		case rules.OpRename:
			add(Breaking, st, fmt.Sprintf("%s is no longer renamed to %s: consumers reading %s lose it", st.Path.Value, st.To.Value, st.To.Value))
		case rules.OpDrop:
			add(NonBreaking, st, st.Path.Value+" is no longer dropped: it may now appear")
		case rules.OpRedact:
			add(Breaking, st, st.Path.Value+" is no longer redacted: its values now reach consumers in the clear")
		case rules.OpHash:
			add(Breaking, st, st.Path.Value+" is no longer hashed: its values change form and now reach consumers in the clear")
		case rules.OpNormalize:
			add(Breaking, st, st.Path.Value+" is no longer normalized ("+st.Norm.Value+")")
		case rules.OpMetadata:
			add(Breaking, st, "processing metadata "+st.Path.Value+" removed")
		}
	}
	for _, st := range cur {
		prev, ok := oi[stepKey{st.Op, st.Path.Value}]
		if ok {
			if stepText(prev) != stepText(st) {
				if prev.Op == rules.OpRename {
					covered = append(covered, prev.To.Value)
				}
				impact := Breaking
				if st.Op == rules.OpSet {
					impact = NonBreaking
				}
				add(impact, st, fmt.Sprintf("enrichment changed: %s -> %s", stepText(prev), stepText(st)))
			}
			continue
		}
		switch st.Op {
		case rules.OpSet:
			add(NonBreaking, st, "new enrichment output: "+stepText(st))
		case rules.OpRename:
			add(Breaking, st, fmt.Sprintf("%s renamed to %s: consumers reading %s lose it", st.Path.Value, st.To.Value, st.Path.Value))
		case rules.OpDrop:
			add(Breaking, st, st.Path.Value+" removed from the output (dropped)")
		case rules.OpRedact:
			add(Breaking, st, st.Path.Value+" is now redacted: its values become \""+rules.Redacted+"\"")
		case rules.OpHash:
			add(Breaking, st, st.Path.Value+" is now hashed: its values become hex sha256 digests")
		case rules.OpNormalize:
			add(NonBreaking, st, st.Path.Value+" is now normalized ("+st.Norm.Value+")")
		case rules.OpMetadata:
			add(NonBreaking, st, "processing metadata "+st.Path.Value+" added")
		}
	}
	return out, covered
}

// diffSchemas compares two exported schemas: a change that lets a new curated event fail
// the old schema (or lose a member the old one promised) is breaking.
func diffSchemas(domain string, old, cur map[string]any) []Change {
	var out []Change
	add := func(impact, path, what string) {
		out = append(out, Change{Domain: domain, Audience: Consumers, Impact: impact, Kind: "output", Subject: path, What: what})
	}
	diffNode(add, "", old, cur)
	return out
}

func diffNode(add func(impact, path, what string), path string, old, cur any) {
	label := path
	if label == "" {
		label = "the event"
	}
	ob, oIsBool := old.(bool)
	nb, nIsBool := cur.(bool)
	switch {
	case oIsBool && !ob && !(nIsBool && !nb):
		add(NonBreaking, path, label+" may now appear in the output")
		return
	case nIsBool && !nb && !(oIsBool && !ob):
		add(Breaking, path, label+" removed from the output")
		return
	case oIsBool || nIsBool:
		if oIsBool && ob && !nIsBool {
			add(NonBreaking, path, label+" now described: "+summary(cur.(map[string]any)))
		} else if nIsBool && nb && !oIsBool {
			add(Breaking, path, label+" no longer described (was "+summary(old.(map[string]any))+")")
		}
		return
	}
	o, n := old.(map[string]any), cur.(map[string]any)

	ot, nt := types(o), types(n)
	switch {
	case ot == nil && nt != nil:
		add(NonBreaking, path, fmt.Sprintf("%s now has type %s", label, strings.Join(nt, " or ")))
	case ot != nil && nt == nil:
		add(Breaking, path, fmt.Sprintf("%s may now be of any type (was %s)", label, strings.Join(ot, " or ")))
	case ot != nil:
		if wider := typesBeyond(nt, ot); len(wider) > 0 {
			if len(wider) == 1 && wider[0] == "null" {
				add(Breaking, path, label+" may now be null")
			} else {
				add(Breaking, path, fmt.Sprintf("type of %s changed from %s to %s", label, strings.Join(ot, " or "), strings.Join(nt, " or ")))
			}
		} else if narrower := typesBeyond(ot, nt); len(narrower) > 0 {
			add(NonBreaking, path, fmt.Sprintf("%s narrowed to %s", label, strings.Join(nt, " or ")))
		}
	}

	oc, ocOK := o["const"]
	nc, ncOK := n["const"]
	switch {
	case ocOK && ncOK && !sameJSON(oc, nc):
		add(Breaking, path, fmt.Sprintf("%s changed from %s to %s", label, jsonText(oc), jsonText(nc)))
	case ocOK && !ncOK:
		add(Breaking, path, fmt.Sprintf("%s is no longer always %s", label, jsonText(oc)))
	}
	oe, oeOK := o["enum"].([]any)
	ne, neOK := n["enum"].([]any)
	switch {
	case oeOK && !neOK && !ncOK:
		add(Breaking, path, fmt.Sprintf("%s is no longer limited to %s", label, jsonText(oe)))
	case oeOK && neOK:
		var added, removed []any
		for _, v := range ne {
			if !containsJSON(oe, v) {
				added = append(added, v)
			}
		}
		for _, v := range oe {
			if !containsJSON(ne, v) {
				removed = append(removed, v)
			}
		}
		if len(added) > 0 {
			add(Breaking, path, fmt.Sprintf("%s may now be %s", label, jsonList(added)))
		}
		if len(removed) > 0 {
			add(NonBreaking, path, fmt.Sprintf("%s is no longer %s", label, jsonList(removed)))
		}
	case !oeOK && neOK && !ocOK:
		add(NonBreaking, path, fmt.Sprintf("%s now limited to %s", label, jsonText(ne)))
	}

	for _, k := range []string{"format", "pattern"} {
		ov, _ := o[k].(string)
		nv, _ := n[k].(string)
		switch {
		case ov == nv:
		case ov == "":
			add(NonBreaking, path, fmt.Sprintf("%s now has %s %s", label, k, nv))
		case nv == "":
			add(Breaking, path, fmt.Sprintf("%s no longer has %s %s", label, k, ov))
		default:
			add(Breaking, path, fmt.Sprintf("%s of %s changed from %s to %s", k, label, ov, nv))
		}
	}
	rangeBound(add, path, label, o, n, "minimum", "exclusiveMinimum", true)
	rangeBound(add, path, label, o, n, "maximum", "exclusiveMaximum", false)
	lowerUpper := []struct {
		key   string
		lower bool
	}{{"minLength", true}, {"maxLength", false}, {"minItems", true}, {"maxItems", false},
		{"minProperties", true}, {"maxProperties", false}}
	for _, b := range lowerUpper {
		ov, oOK := o[b.key].(float64)
		nv, nOK := n[b.key].(float64)
		switch {
		case !oOK && !nOK, oOK && nOK && ov == nv:
		case !oOK:
			add(NonBreaking, path, fmt.Sprintf("%s now has %s %v", label, b.key, nv))
		case !nOK:
			add(Breaking, path, fmt.Sprintf("%s no longer has %s %v", label, b.key, ov))
		case (b.lower && nv < ov) || (!b.lower && nv > ov):
			add(Breaking, path, fmt.Sprintf("%s of %s widened from %v to %v", b.key, label, ov, nv))
		default:
			add(NonBreaking, path, fmt.Sprintf("%s of %s narrowed from %v to %v", b.key, label, ov, nv))
		}
	}
	if o["uniqueItems"] == true && n["uniqueItems"] != true {
		add(Breaking, path, label+" may now repeat items")
	}
	if o["additionalProperties"] == false && n["additionalProperties"] != false {
		add(Breaking, path, label+" may now have other members")
	}

	oreq, nreq := strings2(o["required"]), strings2(n["required"])
	op, _ := o["properties"].(map[string]any)
	np, _ := n["properties"].(map[string]any)
	for _, r := range oreq {
		if !slices.Contains(nreq, r) && np[r] != false {
			add(Breaking, join(path, r), join(path, r)+" may now be absent")
		}
	}
	for _, r := range nreq {
		if !slices.Contains(oreq, r) && op[r] != nil {
			add(NonBreaking, join(path, r), join(path, r)+" is now always present")
		}
	}
	for _, k := range sortedKeys(op) {
		nv, ok := np[k]
		if !ok {
			nv = true
		}
		diffNode(add, join(path, k), op[k], nv)
	}
	for _, k := range sortedKeys(np) {
		if _, ok := op[k]; ok {
			continue
		}
		if np[k] == false {
			add(Breaking, join(path, k), join(path, k)+" removed from the output")
			continue
		}
		msg := join(path, k) + " added to the output"
		if slices.Contains(nreq, k) {
			msg += " (always present)"
		}
		add(NonBreaking, join(path, k), msg)
	}
	oi, oiOK := o["items"]
	ni, niOK := n["items"]
	switch {
	case oiOK && niOK:
		diffNode(add, path+"[]", oi, ni)
	case oiOK:
		diffNode(add, path+"[]", oi, true)
	case niOK:
		diffNode(add, path+"[]", true, ni)
	}
}

// rangeBound compares one end of a numeric range, written as an inclusive or an exclusive
// keyword.
func rangeBound(add func(impact, path, what string), path, label string, o, n map[string]any, incl, excl string, lower bool) {
	type bound struct {
		v    float64
		excl bool
		ok   bool
	}
	get := func(m map[string]any) bound {
		if v, ok := m[excl].(float64); ok {
			return bound{v, true, true}
		}
		if v, ok := m[incl].(float64); ok {
			return bound{v, false, true}
		}
		return bound{}
	}
	text := func(b bound) string {
		if b.excl {
			return fmt.Sprintf("%s %v", excl, b.v)
		}
		return fmt.Sprintf("%s %v", incl, b.v)
	}
	ob, nb := get(o), get(n)
	switch {
	case !ob.ok && !nb.ok, ob == nb:
	case !ob.ok:
		add(NonBreaking, path, fmt.Sprintf("%s now has %s", label, text(nb)))
	case !nb.ok:
		add(Breaking, path, fmt.Sprintf("%s no longer has %s", label, text(ob)))
	default:
		// The new end is narrower when it excludes more: further in, or as far but exclusive.
		narrower := (lower && (nb.v > ob.v || (nb.v == ob.v && nb.excl))) || (!lower && (nb.v < ob.v || (nb.v == ob.v && nb.excl)))
		if narrower {
			add(NonBreaking, path, fmt.Sprintf("%s narrowed from %s to %s", label, text(ob), text(nb)))
		} else {
			add(Breaking, path, fmt.Sprintf("%s widened from %s to %s", label, text(ob), text(nb)))
		}
	}
}

func join(path, k string) string {
	if path == "" {
		return k
	}
	return path + "." + k
}

func types(m map[string]any) []string {
	switch t := m["type"].(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	if _, ok := m["const"]; ok {
		return nil
	}
	return nil
}

// typesBeyond returns the types of a that b does not allow (integer is a number).
func typesBeyond(a, b []string) []string {
	var out []string
	for _, t := range a {
		if slices.Contains(b, t) || (t == "integer" && slices.Contains(b, "number")) {
			continue
		}
		out = append(out, t)
	}
	return out
}

func strings2(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, x := range l {
			out = append(out, fmt.Sprint(x))
		}
	}
	return out
}

func sameJSON(a, b any) bool { return jsonText(a) == jsonText(b) }

func containsJSON(list []any, v any) bool {
	return slices.ContainsFunc(list, func(x any) bool { return sameJSON(x, v) })
}

func jsonText(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func jsonList(vs []any) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = jsonText(v)
	}
	return strings.Join(parts, ", ")
}

// summary is a short description of a schema node.
func summary(m map[string]any) string {
	if t := types(m); t != nil {
		return strings.Join(t, " or ")
	}
	if c, ok := m["const"]; ok {
		return jsonText(c)
	}
	if e, ok := m["enum"]; ok {
		return "one of " + jsonText(e)
	}
	return "constraints"
}
