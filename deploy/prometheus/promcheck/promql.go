// Package promcheck checks meshgate's Prometheus and Grafana artefacts against the code and
// against a real Prometheus: it finds the metric names a PromQL expression uses, lists the
// queries of the Grafana dashboard with their template variables substituted, runs them
// through Prometheus's HTTP API, and serves example metrics for offline runs.
package promcheck

import (
	"fmt"
	"sort"
	"strings"

	"github.com/meshgate/meshgate/metrics"
)

// labelListKeywords introduce a parenthesised list of label names, not an expression.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// keywords are PromQL words that are neither metric names nor followed by "(".
var keywords = map[string]bool{
	"and": true, "or": true, "unless": true, "bool": true, "offset": true, "inf": true, "nan": true,
	"atan2": true,
}

// aggregations are PromQL's aggregation operators, which may be followed by by/without.
var aggregations = map[string]bool{
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true, "stdvar": true,
	"count": true, "count_values": true, "bottomk": true, "topk": true, "quantile": true,
	"limitk": true, "limit_ratio": true,
}

// hasWordAt reports whether the identifier starting at s[i] is word (case-insensitive).
func hasWordAt(s string, i int, word string) bool {
	j := i
	for j < len(s) && isIdentChar(s[j]) {
		j++
	}
	return strings.EqualFold(s[i:j], word)
}

// MetricNames returns the metric names a PromQL expression selects, sorted and without
// duplicates. It is a lexer, not a parser: it skips strings, label matchers ({...}),
// ranges ([...]), label lists after by/without/on/ignoring/group_left/group_right, function
// and aggregation names (identifiers followed by "("), keywords, numbers and durations, and
// Grafana variables ($x, ${x}). What is left are the metric names. Syntax is checked by
// Prometheus itself (promtool check rules, or the HTTP API); this only fails on unbalanced
// brackets or unterminated strings.
func MetricNames(expr string) ([]string, error) {
	seen := map[string]bool{}
	i, n := 0, len(expr)
	var stack []byte // open brackets
	skipLabelList := false
	for i < n {
		c := expr[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '#':
			for i < n && expr[i] != '\n' {
				i++
			}
		case c == '"' || c == '\'' || c == '`':
			j, err := skipString(expr, i)
			if err != nil {
				return nil, err
			}
			i = j
		case c == '$':
			i++
			if i < n && expr[i] == '{' {
				for i < n && expr[i] != '}' {
					i++
				}
				i++
			} else {
				for i < n && isIdentChar(expr[i]) {
					i++
				}
			}
		case c == '(' || c == '{' || c == '[':
			if c == '(' && skipLabelList {
				j := strings.IndexByte(expr[i:], ')')
				if j < 0 {
					return nil, fmt.Errorf("unbalanced ( at offset %d", i)
				}
				i += j + 1
				skipLabelList = false
				continue
			}
			stack = append(stack, c)
			i++
			if c == '{' || c == '[' {
				// Skip the inside of matchers and ranges, honouring strings.
				closer := map[byte]byte{'{': '}', '[': ']'}[c]
				for i < n && expr[i] != closer {
					if q := expr[i]; q == '"' || q == '\'' || q == '`' {
						j, err := skipString(expr, i)
						if err != nil {
							return nil, err
						}
						i = j
						continue
					}
					i++
				}
				if i >= n {
					return nil, fmt.Errorf("unbalanced %c at the end", c)
				}
				stack = stack[:len(stack)-1]
				i++
			}
		case c == ')' || c == '}' || c == ']':
			open := map[byte]byte{')': '(', '}': '{', ']': '['}[c]
			if len(stack) == 0 || stack[len(stack)-1] != open {
				return nil, fmt.Errorf("unbalanced %c at offset %d", c, i)
			}
			stack = stack[:len(stack)-1]
			i++
		case c >= '0' && c <= '9' || c == '.':
			for i < n && (isIdentChar(expr[i]) || expr[i] == '.' || expr[i] == '+' && (expr[i-1] == 'e' || expr[i-1] == 'E')) {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < n && isIdentChar(expr[j]) {
				j++
			}
			word := expr[i:j]
			i = j
			k := j
			for k < n && (expr[k] == ' ' || expr[k] == '\t' || expr[k] == '\n' || expr[k] == '\r') {
				k++
			}
			switch {
			case labelListKeywords[strings.ToLower(word)]:
				skipLabelList = k < n && expr[k] == '('
			case keywords[strings.ToLower(word)]:
			case k < n && expr[k] == '(':
				// function or aggregation
			case aggregations[strings.ToLower(word)] && (hasWordAt(expr, k, "by") || hasWordAt(expr, k, "without")):
				// aggregation with its grouping first: sum by (x) (...)
			default:
				seen[word] = true
			}
		default:
			i++ // operators, commas, @
		}
	}
	if len(stack) > 0 {
		return nil, fmt.Errorf("unbalanced %c at the end", stack[len(stack)-1])
	}
	out := make([]string, 0, len(seen))
	for w := range seen {
		out = append(out, w)
	}
	sort.Strings(out)
	return out, nil
}

func skipString(s string, i int) (int, error) {
	q := s[i]
	for j := i + 1; j < len(s); j++ {
		if s[j] == '\\' && q != '`' {
			j++
			continue
		}
		if s[j] == q {
			return j + 1, nil
		}
	}
	return 0, fmt.Errorf("unterminated string at offset %d", i)
}

func isIdentStart(c byte) bool {
	return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func isIdentChar(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }

// Catalog maps every series name a meshgate worker exposes to its metric family:
// histogram families expose _bucket, _sum and _count, summaries _sum and _count.
type Catalog map[string]metrics.Family

// NewCatalog builds the catalog from metrics.Families.
func NewCatalog() (Catalog, error) {
	fams, err := metrics.Families()
	if err != nil {
		return nil, err
	}
	c := Catalog{}
	for _, f := range fams {
		c[f.Name] = f
		switch f.Type {
		case "histogram":
			c[f.Name+"_bucket"] = f
			c[f.Name+"_sum"] = f
			c[f.Name+"_count"] = f
		case "summary":
			c[f.Name+"_sum"] = f
			c[f.Name+"_count"] = f
		}
	}
	return c, nil
}

// Unknown returns the metric names expr uses that the catalog does not know.
func (c Catalog) Unknown(expr string) ([]string, error) {
	names, err := MetricNames(expr)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, name := range names {
		if _, ok := c[name]; !ok {
			out = append(out, name)
		}
	}
	return out, nil
}
