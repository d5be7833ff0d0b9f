// Command dashcheck proves meshgate's Grafana dashboard against a real Prometheus. It is
// driven by deploy/prometheus/check-dashboard.sh:
//
//	dashcheck fake -listen 127.0.0.1:0        serve simulated worker metrics (offline runs)
//	dashcheck check -prometheus URL [flags]   run every panel query; exit 1 on a failure
//	dashcheck queries [-var k=v]...           print every panel query, variables substituted
//	dashcheck wait -prometheus URL -query Q   wait until Q returns a series with a value > 0
//	dashcheck rules -prometheus URL -min N    fail unless N+ rules are loaded and all evaluate cleanly
//	dashcheck get URL                         print a URL's body (curl for machines without it)
//	dashcheck freeport                        print a free TCP port on 127.0.0.1
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/meshgate/meshgate/admin"
	"github.com/meshgate/meshgate/deploy/grafana"
	"github.com/meshgate/meshgate/deploy/prometheus/promcheck"
	"github.com/meshgate/meshgate/logging"
	"github.com/meshgate/meshgate/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, "usage: dashcheck fake|check|queries|wait|rules|get|freeport [flags]")
		return 2
	}
	switch args[0] {
	case "fake":
		return cmdFake(ctx, args[1:], stdout, stderr)
	case "check":
		return cmdCheck(ctx, args[1:], stdout, stderr)
	case "queries":
		return cmdQueries(args[1:], stdout, stderr)
	case "wait":
		return cmdWait(ctx, args[1:], stdout, stderr)
	case "rules":
		return cmdRules(ctx, args[1:], stdout, stderr)
	case "get":
		return cmdGet(ctx, args[1:], stdout, stderr)
	case "freeport":
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		defer ln.Close()
		fmt.Fprintln(stdout, ln.Addr().(*net.TCPAddr).Port)
		return 0
	default:
		fmt.Fprintf(stderr, "dashcheck: unknown command %q\n", args[0])
		return 2
	}
}

// varsFlag collects -var name=value.
type varsFlag map[string]string

func (v varsFlag) String() string { return fmt.Sprint(map[string]string(v)) }
func (v varsFlag) Set(s string) error {
	name, val, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return errors.New("want name=value")
	}
	v[name] = val
	return nil
}

func loadDashboard(path string) (*promcheck.Dashboard, error) {
	b := grafana.Dashboard
	if path != "" {
		var err error
		if b, err = os.ReadFile(path); err != nil {
			return nil, err
		}
	}
	return promcheck.ParseDashboard(b)
}

func cmdFake(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("fake", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "admin listen `address`")
	tick := fs.Duration("tick", 200*time.Millisecond, "simulated batch interval")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger, _ := logging.New(stderr, "warn")
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	srv := admin.New(reg, logger)
	srv.Condition("simulation").Set(nil)
	if err := srv.Start(ctx, *listen); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	fmt.Fprintln(stdout, srv.Addr())
	promcheck.Simulate(ctx, m, "fake-worker", *tick)
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}

func cmdQueries(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("queries", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dash := fs.String("dashboard", "", "dashboard JSON `file` (default: the embedded deploy/grafana one)")
	vars := varsFlag{}
	fs.Var(vars, "var", "template variable `name=value` (repeatable); builtins default to short-run values")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	d, err := loadDashboard(*dash)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	all := map[string]string{}
	for k, v := range promcheck.BuiltinVars {
		all[k] = v
	}
	for k, v := range vars {
		all[k] = v
	}
	rc := 0
	for _, q := range d.Queries() {
		expr, err := promcheck.Substitute(q.Expr, all)
		if err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", q.Name(), err)
			rc = 1
			continue
		}
		fmt.Fprintf(stdout, "%s\t%s\n", q.Name(), strings.Join(strings.Fields(expr), " "))
	}
	return rc
}

func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	promURL := fs.String("prometheus", "http://127.0.0.1:9090", "Prometheus base `URL`")
	dash := fs.String("dashboard", "", "dashboard JSON `file` (default: the embedded deploy/grafana one)")
	strict := fs.Bool("strict", false, "require data from every query (ignore the no-data allow-list); for the simulated exporter")
	vars := varsFlag{}
	fs.Var(vars, "var", "template variable `name=value` (repeatable); query variables default to the first value Prometheus has")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	d, err := loadDashboard(*dash)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	c := &promcheck.Client{URL: *promURL}
	allow := promcheck.NoDataInHealthyRun
	if *strict {
		allow = nil
	}
	passes, err := promcheck.CheckAllPasses(ctx, c, d, vars, allow)
	if err != nil {
		fmt.Fprintln(stderr, "dashcheck:", err)
		return 1
	}
	if failed := promcheck.WriteReport(stdout, d, passes); failed > 0 {
		return 1
	}
	return 0
}

func cmdWait(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("wait", flag.ContinueOnError)
	fs.SetOutput(stderr)
	promURL := fs.String("prometheus", "http://127.0.0.1:9090", "Prometheus base `URL`")
	query := fs.String("query", "", "PromQL `expression` to wait for (a series with a value > 0)")
	timeout := fs.Duration("timeout", time.Minute, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *query == "" {
		fmt.Fprintln(stderr, "wait: -query is required")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c := &promcheck.Client{URL: *promURL}
	var last error
	for {
		samples, err := c.Query(ctx, *query)
		last = err
		for _, s := range samples {
			if s.Value > 0 {
				fmt.Fprintf(stdout, "%s = %g\n", *query, s.Value)
				return 0
			}
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(stderr, "wait: %q returned no positive value within %v (last error: %v)\n", *query, *timeout, last)
			return 1
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func cmdRules(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("rules", flag.ContinueOnError)
	fs.SetOutput(stderr)
	promURL := fs.String("prometheus", "http://127.0.0.1:9090", "Prometheus base `URL`")
	minRules := fs.Int("min", 1, "fail if fewer rules are loaded")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	c := &promcheck.Client{URL: *promURL}
	rules, err := c.Rules(ctx)
	if err != nil {
		fmt.Fprintln(stderr, "rules:", err)
		return 1
	}
	bad := 0
	for _, r := range rules {
		note := ""
		if r.Health != "ok" {
			bad++
			note = r.LastError
		}
		fmt.Fprintf(stdout, "%-4s %-8s %-34s %s\n", r.Health, r.State, r.Name, note)
	}
	if len(rules) < *minRules {
		fmt.Fprintf(stderr, "rules: %d loaded, want at least %d\n", len(rules), *minRules)
		return 1
	}
	if bad > 0 {
		fmt.Fprintf(stderr, "rules: %d rule(s) failed to evaluate\n", bad)
		return 1
	}
	return 0
}

func cmdGet(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		fmt.Fprintln(stderr, "usage: dashcheck get URL")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, args[0], nil)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		fmt.Fprintf(stderr, "GET %s: %s\n", args[0], resp.Status)
		return 1
	}
	if _, err := io.Copy(stdout, resp.Body); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	return 0
}
