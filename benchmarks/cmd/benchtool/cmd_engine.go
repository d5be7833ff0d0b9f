package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/meshgate/meshgate/benchmarks"
)

func init() {
	commands["engine"] = command{"meshgate vs naive vs hand-written ceiling, in-process, GOMAXPROCS=1", runEngine}
}

func runEngine(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("engine", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := benchmarks.EngineConfig{}
	fs.StringVar(&cfg.Contracts, "contracts", "", "examples directory (default: the module's examples/contracts)")
	fs.IntVar(&cfg.Records, "records", 5000, "records in the corpus")
	fs.IntVar(&cfg.Rounds, "rounds", 7, "measurement rounds")
	fs.Uint64Var(&cfg.Seed, "seed", benchmarks.DefaultSeed, "corpus seed")
	fs.Float64Var(&cfg.BadFraction, "bad", benchmarks.DefaultBadFraction, "share of bad events")
	fs.StringVar(&cfg.CPUProfile, "cpuprofile", "", "write a CPU profile of meshgate judging the corpus")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if _, err := benchmarks.EngineReport(stdout, cfg); err != nil {
		fmt.Fprintf(stderr, "benchtool engine: %v\n", err)
		return 1
	}
	return 0
}
