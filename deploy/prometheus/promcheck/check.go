package promcheck

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Client queries a Prometheus server's HTTP API.
type Client struct {
	URL  string       // base URL, e.g. http://127.0.0.1:9090
	HTTP *http.Client // nil means a client with a 30 s timeout
	At   time.Time    // evaluation time of instant queries; zero means the server's now
}

type apiResponse struct {
	Status    string          `json:"status"`
	Data      json.RawMessage `json:"data"`
	ErrorType string          `json:"errorType"`
	Error     string          `json:"error"`
	Warnings  []string        `json:"warnings"`
}

func (c *Client) get(ctx context.Context, path string, params url.Values) (json.RawMessage, error) {
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 30 * time.Second}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(c.URL, "/")+path+"?"+params.Encode(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, err
	}
	var r apiResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, fmt.Errorf("%s: HTTP %d, not an API response: %.200s", path, resp.StatusCode, body)
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("%s: %s: %s", path, r.ErrorType, r.Error)
	}
	return r.Data, nil
}

// Sample is one series of an instant query's result.
type Sample struct {
	Labels map[string]string
	Value  float64
}

// Query runs an instant query and returns its samples; a scalar result is one sample
// without labels.
func (c *Client) Query(ctx context.Context, expr string) ([]Sample, error) {
	params := url.Values{"query": {expr}}
	if !c.At.IsZero() {
		params.Set("time", strconv.FormatFloat(float64(c.At.UnixNano())/1e9, 'f', 3, 64))
	}
	data, err := c.get(ctx, "/api/v1/query", params)
	if err != nil {
		return nil, err
	}
	var res struct {
		ResultType string          `json:"resultType"`
		Result     json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("decode query result: %w", err)
	}
	switch res.ResultType {
	case "vector":
		var v []struct {
			Metric map[string]string `json:"metric"`
			Value  [2]any            `json:"value"`
		}
		if err := json.Unmarshal(res.Result, &v); err != nil {
			return nil, fmt.Errorf("decode vector: %w", err)
		}
		out := make([]Sample, len(v))
		for i, s := range v {
			out[i] = Sample{Labels: s.Metric, Value: parseValue(s.Value[1])}
		}
		return out, nil
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(res.Result, &v); err != nil {
			return nil, fmt.Errorf("decode scalar: %w", err)
		}
		return []Sample{{Value: parseValue(v[1])}}, nil
	default:
		return nil, fmt.Errorf("unexpected result type %q for an instant query", res.ResultType)
	}
}

func parseValue(v any) float64 {
	s, _ := v.(string)
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0
	}
	return f
}

// LabelValues returns the values of label on series matching match, as Grafana's
// label_values(match, label) does.
func (c *Client) LabelValues(ctx context.Context, label, match string) ([]string, error) {
	params := url.Values{}
	if match != "" {
		params.Set("match[]", match)
	}
	data, err := c.get(ctx, "/api/v1/label/"+url.PathEscape(label)+"/values", params)
	if err != nil {
		return nil, err
	}
	var vals []string
	if err := json.Unmarshal(data, &vals); err != nil {
		return nil, fmt.Errorf("decode label values: %w", err)
	}
	sort.Strings(vals)
	return vals, nil
}

// labelValuesRE reads Grafana's label_values(selector, label) variable query.
var labelValuesRE = regexp.MustCompile(`^label_values\(\s*(.*?)\s*,\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$`)

// ResolveVariables gives every query variable of d a value the way Grafana would: a
// variable with "All" gets its all-value (".*"); one without takes the first value its
// label_values query returns. Variables are taken in order, so later ones can use earlier
// ones. Values in fixed win and must be among the values Prometheus has. It fails when a
// variable's query has no values at all, which means the metric it reads is missing.
func ResolveVariables(ctx context.Context, c *Client, d *Dashboard, fixed map[string]string) (map[string]string, error) {
	vars := map[string]string{}
	for k, v := range BuiltinVars {
		vars[k] = v
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		vals, err := VariableValues(ctx, c, v, vars)
		if err != nil {
			return nil, err
		}
		switch f, ok := fixed[v.Name]; {
		case ok && (f == v.AllValue && v.IncludeAll || contains(vals, f)):
			vars[v.Name] = f
		case ok:
			return nil, fmt.Errorf("variable %s: %q is not among the values Prometheus has: %v", v.Name, f, vals)
		case v.IncludeAll && v.AllValue != "":
			vars[v.Name] = v.AllValue
		default:
			vars[v.Name] = vals[0]
		}
	}
	for k, v := range fixed {
		if _, ok := vars[k]; !ok {
			vars[k] = v
		}
	}
	return vars, nil
}

// VariableValues runs a label_values(selector, label) query variable with vars
// substituted into its selector and returns the values, sorted; none is an error.
func VariableValues(ctx context.Context, c *Client, v Variable, vars map[string]string) ([]string, error) {
	m := labelValuesRE.FindStringSubmatch(strings.TrimSpace(v.QueryText()))
	if m == nil {
		return nil, fmt.Errorf("variable %s: query %q is not label_values(selector, label)", v.Name, v.QueryText())
	}
	sel, err := Substitute(m[1], vars)
	if err != nil {
		return nil, fmt.Errorf("variable %s: %w", v.Name, err)
	}
	vals, err := c.LabelValues(ctx, m[2], sel)
	if err != nil {
		return nil, fmt.Errorf("variable %s: %w", v.Name, err)
	}
	if len(vals) == 0 {
		return nil, fmt.Errorf("variable %s: label_values(%s, %s) is empty", v.Name, sel, m[2])
	}
	return vals, nil
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// Rule is one loaded rule as /api/v1/rules reports it.
type Rule struct {
	Name      string `json:"name"`
	Type      string `json:"type"`   // alerting or recording
	Health    string `json:"health"` // ok, err, unknown
	LastError string `json:"lastError"`
	State     string `json:"state"` // alerting rules: inactive, pending, firing
}

// Rules returns every rule Prometheus has loaded.
func (c *Client) Rules(ctx context.Context) ([]Rule, error) {
	data, err := c.get(ctx, "/api/v1/rules", url.Values{})
	if err != nil {
		return nil, err
	}
	var res struct {
		Groups []struct {
			Rules []Rule `json:"rules"`
		} `json:"groups"`
	}
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("decode rules: %w", err)
	}
	var out []Rule
	for _, g := range res.Groups {
		out = append(out, g.Rules...)
	}
	return out, nil
}

// Result is the outcome of one dashboard query.
type Result struct {
	Query   Query
	Expr    string // after substitution
	Series  int
	Err     error
	NoData  string // why having no data is fine, from the allow-list; "" if data is required
	Missing bool   // no series although data is required
}

// Failed reports whether the result fails the check.
func (r Result) Failed() bool { return r.Err != nil || r.Missing }

// CheckDashboard runs every query of d against Prometheus with vars substituted. A query
// fails when Prometheus rejects it, or when it returns no series and allow does not name
// it (by Query.Name) with a reason.
func CheckDashboard(ctx context.Context, c *Client, d *Dashboard, vars map[string]string, allow map[string]string) []Result {
	var out []Result
	for _, q := range d.Queries() {
		r := Result{Query: q, NoData: allow[q.Name()]}
		expr, err := Substitute(q.Expr, vars)
		if err != nil {
			r.Err = err
			out = append(out, r)
			continue
		}
		r.Expr = expr
		samples, err := c.Query(ctx, expr)
		if err != nil {
			r.Err = err
		}
		r.Series = len(samples)
		r.Missing = err == nil && r.Series == 0 && r.NoData == ""
		out = append(out, r)
	}
	return out
}

// Pass is one run of every dashboard query with one set of variable values.
type Pass struct {
	Vars    map[string]string
	Results []Result
}

// CheckAllPasses checks the dashboard the way users look at it: first with every variable
// at "All" (as it opens), then once per value of the first query variable (domain) with
// the others at "All", so that every per-domain view is proven too. Variables in pinned
// hold in every pass; pinning the first variable leaves a single pass.
func CheckAllPasses(ctx context.Context, c *Client, d *Dashboard, pinned map[string]string, allow map[string]string) ([]Pass, error) {
	fixedSets := []map[string]string{pinned}
	var first *Variable
	for i, v := range d.Templating.List {
		if v.Type == "query" {
			first = &d.Templating.List[i]
			break
		}
	}
	if first != nil {
		if _, ok := pinned[first.Name]; !ok {
			vals, err := VariableValues(ctx, c, *first, BuiltinVars)
			if err != nil {
				return nil, err
			}
			for _, val := range vals {
				f := map[string]string{first.Name: val}
				for k, v := range pinned {
					f[k] = v
				}
				fixedSets = append(fixedSets, f)
			}
		}
	}
	var out []Pass
	for _, fixed := range fixedSets {
		vars, err := ResolveVariables(ctx, c, d, fixed)
		if err != nil {
			return nil, err
		}
		out = append(out, Pass{Vars: vars, Results: CheckDashboard(ctx, c, d, vars, allow)})
	}
	return out, nil
}

// WriteReport prints every pass as a table and a total line, and returns how many queries
// failed.
func WriteReport(w io.Writer, d *Dashboard, passes []Pass) int {
	total, failed := 0, 0
	for _, p := range passes {
		var names []string
		for _, v := range d.Templating.List {
			if val, ok := p.Vars[v.Name]; ok {
				names = append(names, v.Name+"="+val)
			}
		}
		fmt.Fprintf(w, "\n== %s\n", strings.Join(names, " "))
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RESULT\tSERIES\tPANEL/QUERY\tNOTE")
		for _, r := range p.Results {
			status, note := "ok", ""
			switch {
			case r.Err != nil:
				status, note = "FAIL", r.Err.Error()
			case r.Missing:
				status, note = "FAIL", "no series: "+strings.Join(strings.Fields(r.Expr), " ")
			case r.Series == 0:
				status, note = "allowed", "no data: "+r.NoData
			case r.NoData != "":
				note = "has data although allow-listed (" + r.NoData + ")"
			}
			if r.Failed() {
				failed++
			}
			fmt.Fprintf(tw, "%s\t%d\t%s\t%s\n", status, r.Series, r.Query.Name(), note)
		}
		tw.Flush()
		total += len(p.Results)
	}
	fmt.Fprintf(w, "\n%d queries in %d passes, %d failed\n", total, len(passes), failed)
	return failed
}
