// Command benchtool runs meshgate's benchmark harnesses (package benchmarks); benchmarks/run.sh
// (make bench) drives it. Subcommands:
//
//	benchtool engine   [-records N] [-rounds N] [-seed N] [-bad F] [-cpuprofile FILE]
//	    meshgate vs the naive way vs the hand-written ceiling, in-process, GOMAXPROCS=1
//	benchtool ceiling  -in FILE [-good FILE] [-quarantine FILE] [-now RFC3339] [-json]
//	    the hand-written ceiling over an NDJSON file, like `meshgate check`
//	benchtool compare  -meshgate SUMMARY.json -peer TALLY.json
//	    fails (exit 1) unless both judged the same events with the same count per rule
//	benchtool pipeline [-shards 1,8,64] [-batch 500] [-batches N] [-json]
//	    processor.Pipeline with acknowledging in-memory sinks, all shards concurrently
//	benchtool stats    [-group-by N] FILE
//	    median, min and max of timing lines written by run.sh
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"sort"
)

type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) int
}

var commands = map[string]command{}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || commands[args[0]].run == nil {
		fmt.Fprintln(stderr, "usage: benchtool <command> [flags]")
		names := make([]string, 0, len(commands))
		for n := range commands {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			fmt.Fprintf(stderr, "  %-9s %s\n", n, commands[n].summary)
		}
		return 2
	}
	return commands[args[0]].run(context.Background(), args[1:], stdout, stderr)
}
