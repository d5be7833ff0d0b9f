package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/meshgate/meshgate/benchmarks"
)

func init() {
	commands["file"] = command{"the hand-written ceiling (or the naive way) over an NDJSON file, like meshgate check", runFile}
}

func runFile(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("file", flag.ContinueOnError)
	fs.SetOutput(stderr)
	engine := fs.String("engine", "ceiling", "ceiling or naive")
	inPath := fs.String("in", "", "NDJSON input (required)")
	goodPath := fs.String("good", "", "write good events here")
	quarPath := fs.String("quarantine", "", "write quarantine records here")
	nowFlag := fs.String("now", benchmarks.Now.Format(time.RFC3339), "judge as of this RFC 3339 time")
	contracts := fs.String("contracts", "", "examples directory (default: the module's examples/contracts)")
	workers := fs.Int("workers", 0, "parallel judges (default GOMAXPROCS)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	now, err := time.Parse(time.RFC3339Nano, *nowFlag)
	if *inPath == "" || err != nil || fs.NArg() > 0 {
		fmt.Fprintln(stderr, "usage: benchtool file -in FILE [-engine ceiling|naive] [-good FILE] [-quarantine FILE] [-now RFC3339]")
		return 2
	}
	if err := fileRun(ctx, *contracts, *engine, *inPath, *goodPath, *quarPath, now, *workers, stdout); err != nil {
		fmt.Fprintf(stderr, "benchtool file: %v\n", err)
		return 1
	}
	return 0
}

func fileRun(ctx context.Context, contracts, engine, inPath, goodPath, quarPath string, now time.Time, workers int, stdout io.Writer) error {
	c, err := benchmarks.Orders(contracts)
	if err != nil {
		return err
	}
	cfg := benchmarks.FileConfig{Contract: c, Now: now, Workers: workers, Worker: "benchtool-" + engine}
	switch engine {
	case "ceiling":
		if _, err := benchmarks.NewCeiling(c, benchmarks.Salt); err != nil {
			return err
		}
		cfg.New = func() func([]byte) benchmarks.Result {
			cl, _ := benchmarks.NewCeiling(c, benchmarks.Salt)
			return func(b []byte) benchmarks.Result { return cl.Judge(b, now) }
		}
	case "naive":
		if _, err := benchmarks.NewNaive(c, benchmarks.Salt); err != nil {
			return err
		}
		cfg.New = func() func([]byte) benchmarks.Result {
			n, _ := benchmarks.NewNaive(c, benchmarks.Salt)
			return func(b []byte) benchmarks.Result {
				r, err := n.Judge(b, now)
				if err != nil {
					return benchmarks.Result{Outcome: r.Outcome, Failed: []string{"decode"}}
				}
				return r
			}
		}
	default:
		return fmt.Errorf("unknown engine %q", engine)
	}
	in, err := os.Open(inPath)
	if err != nil {
		return err
	}
	defer in.Close()
	good, closeGood, err := create(goodPath)
	if err != nil {
		return err
	}
	quar, closeQuar, err := create(quarPath)
	if err != nil {
		closeGood()
		return err
	}
	cfg.Good, cfg.Quarantine = good, quar
	sum, err := benchmarks.RunFile(ctx, in, cfg)
	if err = errors.Join(err, closeGood(), closeQuar()); err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(sum)
}

// create opens a buffered output file; "" discards.
func create(path string) (io.Writer, func() error, error) {
	if path == "" {
		return nil, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	return bw, func() error { return errors.Join(bw.Flush(), f.Close()) }, nil
}
