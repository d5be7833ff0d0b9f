package promcheck

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Dashboard is the part of a Grafana dashboard JSON model the checks read.
type Dashboard struct {
	UID           string  `json:"uid"`
	Title         string  `json:"title"`
	SchemaVersion int     `json:"schemaVersion"`
	ID            *int    `json:"id"`
	Panels        []Panel `json:"panels"`
	Templating    struct {
		List []Variable `json:"list"`
	} `json:"templating"`
}

// Panel is one dashboard panel; rows may nest panels when collapsed.
type Panel struct {
	ID          int         `json:"id"`
	Title       string      `json:"title"`
	Type        string      `json:"type"`
	Datasource  *Datasource `json:"datasource"`
	Targets     []Target    `json:"targets"`
	Panels      []Panel     `json:"panels"`
	Description string      `json:"description"`
	GridPos     struct {
		H, W, X, Y int
	} `json:"gridPos"`
}

// Datasource references a Grafana data source.
type Datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

// Target is one query of a panel.
type Target struct {
	RefID      string      `json:"refId"`
	Expr       string      `json:"expr"`
	Instant    bool        `json:"instant"`
	Hide       bool        `json:"hide"`
	Datasource *Datasource `json:"datasource"`
}

// Variable is a template variable.
type Variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Definition string          `json:"definition"`
	Datasource *Datasource     `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
}

// QueryText returns a query variable's query whether stored as a string or as
// {"query": "..."}.
func (v Variable) QueryText() string {
	var s string
	if json.Unmarshal(v.Query, &s) == nil {
		return s
	}
	var o struct {
		Query string `json:"query"`
	}
	if json.Unmarshal(v.Query, &o) == nil {
		return o.Query
	}
	return ""
}

// ParseDashboard decodes a dashboard JSON model.
func ParseDashboard(b []byte) (*Dashboard, error) {
	var d Dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		return nil, fmt.Errorf("parse dashboard: %w", err)
	}
	return &d, nil
}

// AllPanels returns every panel that is not a row, including panels nested in rows, in
// document order.
func (d *Dashboard) AllPanels() []Panel {
	var out []Panel
	var walk func(ps []Panel)
	walk = func(ps []Panel) {
		for _, p := range ps {
			if p.Type != "row" {
				out = append(out, p)
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// Query is one panel target's PromQL.
type Query struct {
	Panel   string // panel title
	PanelID int
	RefID   string
	Expr    string // as written in the dashboard, with template variables
	Instant bool
}

// Name identifies the query in reports and allow-lists: "panel title/refId".
func (q Query) Name() string { return q.Panel + "/" + q.RefID }

// Queries returns the query of every visible target of every panel.
func (d *Dashboard) Queries() []Query {
	var out []Query
	for _, p := range d.AllPanels() {
		for _, t := range p.Targets {
			if t.Hide {
				continue
			}
			out = append(out, Query{Panel: p.Title, PanelID: p.ID, RefID: t.RefID, Expr: t.Expr, Instant: t.Instant})
		}
	}
	return out
}

// varRE matches Grafana variable references: $name, ${name} and ${name:format}. Names start
// with a letter or underscore, so PromQL's "$1" in label_replace is not one.
var varRE = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}|\$([A-Za-z_][A-Za-z0-9_]*)|\[\[([A-Za-z_][A-Za-z0-9_]*)\]\]`)

// Variables returns the names of the template variables expr refers to, sorted.
func Variables(expr string) []string {
	seen := map[string]bool{}
	for _, m := range varRE.FindAllStringSubmatch(expr, -1) {
		seen[m[1]+m[2]+m[3]] = true
	}
	out := make([]string, 0, len(seen))
	for n := range seen {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Substitute replaces every template variable in expr by its value in vars, as Grafana
// would for a single selected value. A variable missing from vars is an error.
func Substitute(expr string, vars map[string]string) (string, error) {
	var missing []string
	out := varRE.ReplaceAllStringFunc(expr, func(ref string) string {
		m := varRE.FindStringSubmatch(ref)
		name := m[1] + m[2] + m[3]
		v, ok := vars[name]
		if !ok {
			missing = append(missing, name)
			return ref
		}
		return v
	})
	if len(missing) > 0 {
		return "", fmt.Errorf("no value for template variable(s) %s in %q", strings.Join(missing, ", "), expr)
	}
	return out, nil
}

// BuiltinVars are values for Grafana's built-in interval variables that suit a short run
// scraped every second.
var BuiltinVars = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "15s",
	"__range":         "1h",
}
