package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"strconv"
	"strings"

	"github.com/meshgate/meshgate/benchmarks"
)

func init() {
	commands["pipeline"] = command{"processor.Pipeline with acknowledging in-memory sinks, shards concurrently", runPipeline}
}

func runPipeline(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("pipeline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := benchmarks.PipelineConfig{}
	shards := fs.String("shards", "1,8,64", "comma-separated shard counts")
	fs.StringVar(&cfg.Contracts, "contracts", "", "examples directory (default: the module's examples/contracts)")
	fs.IntVar(&cfg.BatchSize, "batch", 500, "records per KCL batch")
	fs.IntVar(&cfg.Events, "events", 64000, "events per shard count")
	fs.Uint64Var(&cfg.Seed, "seed", benchmarks.DefaultSeed, "corpus seed")
	fs.Float64Var(&cfg.BadFraction, "bad", benchmarks.DefaultBadFraction, "share of bad events")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the runs")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	for _, s := range strings.Split(*shards, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n <= 0 {
			fmt.Fprintf(stderr, "benchtool pipeline: bad shard count %q\n", s)
			return 2
		}
		cfg.Shards = append(cfg.Shards, n)
	}
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintf(stderr, "benchtool pipeline: %v\n", err)
			return 1
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintf(stderr, "benchtool pipeline: %v\n", err)
			return 1
		}
		defer pprof.StopCPUProfile()
	}
	if _, err := benchmarks.PipelineReport(stdout, cfg); err != nil {
		fmt.Fprintf(stderr, "benchtool pipeline: %v\n", err)
		return 1
	}
	return 0
}
