package iam

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

var placeholderRE = regexp.MustCompile(`\$\{([A-Za-z][A-Za-z0-9]*)\}`)

// Placeholders returns the sorted names of the ${Name} placeholders the policy uses.
func (p *Policy) Placeholders() []string {
	set := map[string]bool{}
	visit := func(s string) {
		for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
			set[m[1]] = true
		}
	}
	for _, st := range p.Statement {
		for _, r := range st.Resource {
			visit(r)
		}
		for _, kv := range st.Condition {
			for _, vals := range kv {
				for _, v := range vals {
					visit(v)
				}
			}
		}
	}
	return sortedKeys(set)
}

// Render returns a copy of p with every ${Name} placeholder in resources and condition values
// replaced. A placeholder with several values multiplies the string: one resource per raw
// stream, say. Every placeholder must have at least one non-empty value without wildcards, and
// vars must not name placeholders the policy does not use (a misspelt name is an error, not a
// silently ignored value).
func Render(p *Policy, vars map[string][]string) (*Policy, error) {
	used := p.Placeholders()
	var problems []string
	for _, name := range used {
		vals, ok := vars[name]
		if !ok || len(vals) == 0 {
			problems = append(problems, fmt.Sprintf("no value for ${%s}", name))
			continue
		}
		for _, v := range vals {
			if v == "" || strings.ContainsAny(v, "*?${}") {
				problems = append(problems, fmt.Sprintf("${%s}: value %q is empty or holds a wildcard or placeholder", name, v))
			}
		}
	}
	usedSet := map[string]bool{}
	for _, n := range used {
		usedSet[n] = true
	}
	var unknown []string
	for name := range vars {
		if !usedSet[name] {
			unknown = append(unknown, name)
		}
	}
	sort.Strings(unknown)
	for _, name := range unknown {
		problems = append(problems, fmt.Sprintf("${%s} is not used by the policy", name))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("render policy: %s", strings.Join(problems, "; "))
	}

	out := &Policy{Version: p.Version}
	for _, st := range p.Statement {
		r := Statement{Sid: st.Sid, Effect: st.Effect, Action: append(Strings(nil), st.Action...)}
		r.Resource = expandAll(st.Resource, vars)
		if st.Condition != nil {
			r.Condition = map[string]map[string]Strings{}
			for op, kv := range st.Condition {
				r.Condition[op] = map[string]Strings{}
				for k, vals := range kv {
					r.Condition[op][k] = expandAll(vals, vars)
				}
			}
		}
		out.Statement = append(out.Statement, r)
	}
	return out, nil
}

// expandAll expands each string and removes duplicates, keeping first-seen order.
func expandAll(in []string, vars map[string][]string) Strings {
	var out Strings
	seen := map[string]bool{}
	for _, s := range in {
		for _, e := range expand(s, vars) {
			if !seen[e] {
				seen[e] = true
				out = append(out, e)
			}
		}
	}
	return out
}

// expand replaces the first placeholder of s by each of its values and recurses.
func expand(s string, vars map[string][]string) []string {
	loc := placeholderRE.FindStringSubmatchIndex(s)
	if loc == nil {
		return []string{s}
	}
	name := s[loc[2]:loc[3]]
	var out []string
	for _, v := range vars[name] {
		out = append(out, expand(s[:loc[0]]+v+s[loc[1]:], vars)...)
	}
	return out
}
