package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/meshgate/meshgate/odcs"
	"github.com/meshgate/meshgate/rules"
)

func init() {
	register("odcs", "Open Data Contract Standard: export contracts, validate documents, write threshold alerts", runODCS)
}

const odcsUsage = `usage:
  meshgate odcs export --contracts DIR [--out DIR] DOMAIN
        write DOMAIN's contract as an ODCS v3.1.0 document (stdout, or DOMAIN.odcs.yaml
        and the binding DOMAIN.meshgate.yaml in --out)
  meshgate odcs validate FILE...
        check ODCS documents against the standard (meshgate's strict model)
  meshgate odcs alerts --contracts DIR
        write Prometheus alerting rules for the aggregate quality thresholds of the
        ODCS contracts in DIR`

// runODCS dispatches the odcs subcommands. Exit codes: 0 ok, 1 the checked thing failed,
// 2 usage error.
func runODCS(_ context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintln(stderr, odcsUsage)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	switch args[0] {
	case "export":
		return odcsExport(args[1:], stdout, stderr)
	case "validate":
		return odcsValidate(args[1:], stdout, stderr)
	case "alerts":
		return odcsAlerts(args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "meshgate odcs: unknown subcommand %q\n%s\n", args[0], odcsUsage)
	return 2
}

func odcsFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("odcs "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprintln(stderr, odcsUsage) }
	return fs
}

// loadContracts loads a contracts directory for the odcs commands (hash steps use the
// public test salt: nothing is hashed here).
func loadContracts(dir string, stderr io.Writer) (*rules.Set, bool) {
	set, err := rules.Load(dir, rules.Options{InsecureTestSalt: true})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return nil, false
	}
	return set, true
}

func odcsExport(args []string, stdout, stderr io.Writer) int {
	fs := odcsFlags("export", stderr)
	contracts := fs.String("contracts", "", "contracts directory (required)")
	out := fs.String("out", "", "write DOMAIN.odcs.yaml and DOMAIN.meshgate.yaml to this directory instead of the document to stdout")
	if err := parseInterspersed(fs, args); err != nil {
		return flagExitCode(err)
	}
	if *contracts == "" || fs.NArg() != 1 {
		fs.Usage()
		return 2
	}
	domain := fs.Arg(0)
	set, ok := loadContracts(*contracts, stderr)
	if !ok {
		return 1
	}
	c := set.ByDomain(domain)
	if c == nil {
		c = set.Shadow(domain)
	}
	if c == nil {
		fmt.Fprintf(stderr, "meshgate odcs export: no contract for domain %q in %s\n", domain, *contracts)
		return 1
	}
	dir := *out
	if dir == "" {
		dir = "."
	}
	x, err := odcs.Export(c.Spec, dir, domain)
	if err != nil {
		fmt.Fprintf(stderr, "meshgate odcs export: %v\n", err)
		return 1
	}
	if *out == "" {
		_, err := stdout.Write(x.Document)
		if err != nil {
			return 1
		}
		return 0
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintf(stderr, "meshgate odcs export: %v\n", err)
		return 1
	}
	docFile, bindFile := odcs.ExportFiles(*out, domain)
	for _, f := range []struct {
		path string
		data []byte
	}{{docFile, x.Document}, {bindFile, x.Binding}} {
		if err := os.WriteFile(f.path, f.data, 0o644); err != nil {
			fmt.Fprintf(stderr, "meshgate odcs export: %v\n", err)
			return 1
		}
		fmt.Fprintf(stdout, "wrote %s\n", filepath.ToSlash(f.path))
	}
	return 0
}

func odcsValidate(args []string, stdout, stderr io.Writer) int {
	fs := odcsFlags("validate", stderr)
	if err := parseInterspersed(fs, args); err != nil {
		return flagExitCode(err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	code := 0
	for _, f := range fs.Args() {
		doc, err := odcs.LoadFile(f)
		if err != nil {
			fmt.Fprintln(stderr, err)
			fmt.Fprintf(stdout, "FAIL\t%s\n", f)
			code = 1
			continue
		}
		fmt.Fprintf(stdout, "ok  \t%s\tODCS %s, %d schema objects\n", f, doc.APIVersion, len(doc.Schema))
	}
	return code
}

func odcsAlerts(args []string, stdout, stderr io.Writer) int {
	fs := odcsFlags("alerts", stderr)
	contracts := fs.String("contracts", "", "contracts directory (required)")
	if err := parseInterspersed(fs, args); err != nil {
		return flagExitCode(err)
	}
	if *contracts == "" || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	set, ok := loadContracts(*contracts, stderr)
	if !ok {
		return 1
	}
	cs, err := odcs.FromSet(set)
	if err == nil {
		var groups []odcs.PromGroup
		if groups, err = odcs.Alerts(cs); err == nil {
			var data []byte
			if data, err = odcs.EncodeAlerts(groups); err == nil {
				_, err = stdout.Write(data)
			}
		}
	}
	if err != nil {
		fmt.Fprintf(stderr, "meshgate odcs alerts: %v\n", err)
		return 1
	}
	return 0
}
