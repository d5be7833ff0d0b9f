package iam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
)

// Policy is an IAM policy document (the subset meshgate uses).
type Policy struct {
	Version   string      `json:"Version"`
	Statement []Statement `json:"Statement"`
}

// Statement is one policy statement. Action and Resource accept a string or a list, as IAM does.
type Statement struct {
	Sid       string                        `json:"Sid,omitempty"`
	Effect    string                        `json:"Effect"`
	Action    Strings                       `json:"Action"`
	Resource  Strings                       `json:"Resource"`
	Condition map[string]map[string]Strings `json:"Condition,omitempty"`
}

// Strings is a JSON string or list of strings.
type Strings []string

// UnmarshalJSON accepts "a" or ["a", "b"].
func (s *Strings) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*s = Strings{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return fmt.Errorf("want a string or a list of strings, got %s", b)
	}
	*s = many
	return nil
}

// Parse decodes a policy document strictly: unknown fields (a typo like "Resources") and
// trailing data are errors.
func Parse(data []byte) (*Policy, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var p Policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("decode policy: %w", err)
	}
	if dec.More() {
		return nil, errors.New("decode policy: trailing data after the document")
	}
	return &p, nil
}

// Load reads and parses the policy document at path.
func Load(path string) (*Policy, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Actions returns the sorted, de-duplicated actions the policy allows.
func (p *Policy) Actions() []string {
	set := map[string]bool{}
	for _, st := range p.Statement {
		if st.Effect != "Allow" {
			continue
		}
		for _, a := range st.Action {
			set[a] = true
		}
	}
	return sortedKeys(set)
}

// serviceOf returns the service prefix of an action ("kinesis" of "kinesis:GetRecords").
func serviceOf(action string) string {
	svc, _, _ := strings.Cut(action, ":")
	return svc
}

// Lint checks the least-privilege shape of a policy and returns every problem found:
// only Allow statements; unique Sids; no "*" action, no action wildcard ("s3:Put*"); no "*"
// resource; every resource an ARN of the service of all the statement's actions; a "*" in a
// resource only as the final object-key wildcard of an S3 object ARN under a non-empty prefix.
func (p *Policy) Lint() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if p.Version != "2012-10-17" {
		add("Version %q: want 2012-10-17", p.Version)
	}
	if len(p.Statement) == 0 {
		add("no statements")
	}
	sids := map[string]bool{}
	for i, st := range p.Statement {
		name := fmt.Sprintf("statement %d", i)
		if st.Sid != "" {
			name = fmt.Sprintf("statement %q", st.Sid)
			if sids[st.Sid] {
				add("%s: duplicate Sid", name)
			}
			sids[st.Sid] = true
		}
		if st.Effect != "Allow" {
			add("%s: Effect %q: only Allow statements belong in the worker policy", name, st.Effect)
		}
		if len(st.Action) == 0 {
			add("%s: no actions", name)
		}
		if len(st.Resource) == 0 {
			add("%s: no resources", name)
		}
		services := map[string]bool{}
		for _, a := range st.Action {
			svc, op, ok := strings.Cut(a, ":")
			switch {
			case a == "*":
				add("%s: action \"*\" grants everything", name)
			case !ok || svc == "" || op == "":
				add("%s: action %q is not service:Operation", name, a)
			case strings.ContainsAny(a, "*?"):
				add("%s: action %q is a wildcard; list the operations", name, a)
			default:
				services[svc] = true
			}
		}
		if len(services) > 1 {
			add("%s: mixes services %v; one service per statement keeps resources exact", name, sortedKeys(services))
		}
		for _, r := range st.Resource {
			if r == "*" {
				add("%s: resource \"*\"", name)
				continue
			}
			if strings.HasPrefix(r, "${") && strings.HasSuffix(r, "}") && strings.Count(r, "${") == 1 {
				// A whole-ARN placeholder such as ${KmsKeyArn}: checked after Render.
				continue
			}
			parts := strings.SplitN(r, ":", 6)
			if len(parts) != 6 || parts[0] != "arn" {
				add("%s: resource %q is not an ARN", name, r)
				continue
			}
			for svc := range services {
				if parts[2] != svc {
					add("%s: resource %q is not a %s ARN", name, r, svc)
				}
			}
			if i := strings.IndexAny(r, "*?"); i >= 0 {
				objectWildcard := parts[2] == "s3" && strings.HasSuffix(r, "/*") && i == len(r)-1 &&
					strings.Count(parts[5], "/") >= 2 && !strings.Contains(parts[5], "//")
				if !objectWildcard {
					add("%s: resource %q has a wildcard; only an S3 object ARN may end in <bucket>/<prefix>/*", name, r)
				}
			}
		}
	}
	return errs
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
