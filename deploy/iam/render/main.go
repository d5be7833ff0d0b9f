// Command render fills the ${Name} placeholders of a deploy/iam policy template and prints the
// policy, checked by iam.Lint. Repeat -var for several values (one ARN per stream):
//
//	go run ./deploy/iam/render -var Partition=aws -var Region=eu-west-1 -var AccountId=123456789012 \
//	  -var RawStream=orders-raw -var RawStream=customers-raw \
//	  -var CuratedStream=orders-curated -var CuratedStream=customers-curated \
//	  -var LeaseTable=meshgate-orders-raw -var LeaseTable=meshgate-customers-raw \
//	  -var QuarantineBucket=acme-meshgate-quarantine -var QuarantinePrefix=quarantine \
//	  deploy/iam/worker-policy.json
//
// With -config WORKER.yaml the values the worker configuration determines are filled from it,
// exactly as the worker derives them (iam.VarsFromConfig): Region, RawStream, LeaseTable
// (pinned streams[].leaseTable or derived), QuarantineBucket, QuarantinePrefix, and
// ContractsBucket/ContractsPrefix for an s3:// contracts source. The MESHGATE_* environment
// overrides apply as they do for the worker. A -var replaces the config's values of its name.
//
//	go run ./deploy/iam/render -config meshgate.yaml -var Partition=aws -var AccountId=123456789012 \
//	  -var CuratedStream=orders-curated deploy/iam/worker-policy.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/meshgate/meshgate/config"
	"github.com/meshgate/meshgate/deploy/iam"
)

type vars map[string][]string

func (v vars) String() string { return fmt.Sprint(map[string][]string(v)) }

func (v vars) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want Name=value, got %q", s)
	}
	v[name] = append(v[name], value)
	return nil
}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	v := vars{}
	fs.Var(v, "var", "placeholder value `Name=value` (repeatable)")
	cfgPath := fs.String("config", "", "fill the placeholders the worker configuration `FILE` determines")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: render [-config WORKER.yaml] -var Name=value ... POLICY.json")
		return 2
	}
	p, err := iam.Load(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if *cfgPath != "" {
		cfg, err := config.Load(*cfgPath)
		if err != nil {
			fmt.Fprintf(stderr, "worker configuration: %v\n", err)
			return 1
		}
		for name, vals := range p.Only(iam.VarsFromConfig(cfg)) {
			if _, set := v[name]; !set {
				v[name] = vals
			}
		}
	}
	r, err := iam.Render(p, v)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if errs := r.Lint(); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(stderr, e)
		}
		return 1
	}
	out, _ := json.MarshalIndent(r, "", "  ")
	fmt.Fprintln(stdout, string(out))
	return 0
}
