// Command peer is the Benthos peer of `meshgate check`: the example orders contract and
// envelope policy written as Bloblang (validate.blobl, enrich.blobl, quarantine.blobl) and
// run by github.com/redpanda-data/benthos/v4 (public/service, pinned in go.mod) over the same
// NDJSON file, writing good events and quarantine records. It prints a summary in the JSON
// shape of `meshgate check --json`, which `benchtool compare` holds to meshgate's.
//
//	peer -in FILE [-good FILE] [-quarantine FILE] -lookup country_regions.csv -now RFC3339
//	     [-threads N] [-batch N]
//
// The salt comes from MESHGATE_HASH_SALT, as for meshgate. It lives in its own module
// (benchmarks/peer) so that meshgate's module does not depend on Benthos.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("peer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.StringVar(&cfg.In, "in", "", "NDJSON input (required)")
	fs.StringVar(&cfg.Good, "good", "", "write enriched good events here")
	fs.StringVar(&cfg.Quarantine, "quarantine", "", "write quarantine records here")
	fs.StringVar(&cfg.Lookup, "lookup", "", "country → region CSV the orders contract names (required)")
	now := fs.String("now", "", "judge as of this RFC 3339 time (default: the current time)")
	fs.IntVar(&cfg.Threads, "threads", runtime.GOMAXPROCS(0), "pipeline threads")
	fs.IntVar(&cfg.Batch, "batch", 256, "input batch size")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if cfg.In == "" || cfg.Lookup == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	cfg.Now = time.Now()
	if *now != "" {
		t, err := time.Parse(time.RFC3339Nano, *now)
		if err != nil {
			fmt.Fprintf(stderr, "peer: -now: %v\n", err)
			return 2
		}
		cfg.Now = t
	}
	cfg.Salt = os.Getenv("MESHGATE_HASH_SALT")
	sum, err := Run(ctx, cfg)
	if err != nil {
		fmt.Fprintf(stderr, "peer: %v\n", err)
		return 1
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(sum); err != nil {
		fmt.Fprintf(stderr, "peer: %v\n", err)
		return 1
	}
	return 0
}
