package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/meshgate/meshgate/gen"
)

func init() {
	register("gen", "write realistic example events (NDJSON) with bad and hostile ones mixed in", runGen)
}

func runGen(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("gen", "usage: meshgate gen [--domain orders|customers|payments|mixed] [--count N] [--bad-fraction F]\n"+
		"                    [--hostile-fraction F] [--seed N] [--now RFC3339] [--out FILE] [--manifest FILE]", stderr)
	domain := fs.String("domain", "orders", "event domain: orders, customers, payments (the ODCS-native example) or mixed (70% orders, 30% customers)")
	count := fs.Int("count", 1000, "number of records")
	bad := fs.Float64("bad-fraction", 0.1, "share of bad events (one defect each), 0..1")
	hostile := fs.Float64("hostile-fraction", 0, "share of hostile records (decode failures), 0..1")
	seed := fs.Uint64("seed", 1, "random seed; the same flags give byte-identical output")
	nowFlag := fs.String("now", "", "RFC 3339 time event times are relative to (default: current time)")
	out := fs.String("out", "", "write records to this file instead of stdout")
	manifest := fs.String("manifest", "", "also write one JSON line per record with its kind and expected verdict")
	listKinds := fs.Bool("list-kinds", false, "print the bad and hostile kinds and exit")
	if err := fs.Parse(args); err != nil {
		return flagExitCode(err)
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "meshgate gen: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *listKinds {
		tw := tabwriter.NewWriter(stdout, 2, 8, 2, ' ', 0)
		fmt.Fprintln(tw, "DOMAIN\tCLASS\tKIND\tWEIGHT\tOUTCOME\tCAUGHT BY\tDESCRIPTION")
		for _, k := range gen.Kinds() {
			by := strings.Join(k.Rules, ",")
			if k.Decode != "" {
				by = "decode:" + k.Decode
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\t%s\n", k.Domain, k.Class, k.Name, k.Weight, k.Outcome, by, k.Description)
		}
		tw.Flush()
		return 0
	}
	if *count < 0 {
		fmt.Fprintln(stderr, "meshgate gen: --count must not be negative")
		return 2
	}
	now := time.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *nowFlag)
		if err != nil {
			fmt.Fprintf(stderr, "meshgate gen: --now: %v\n", err)
			return 2
		}
		now = t
	}
	g, err := gen.New(gen.Config{Domain: *domain, Seed: *seed, BadFraction: *bad, HostileFraction: *hostile, Now: now})
	if err != nil {
		fmt.Fprintf(stderr, "meshgate gen: %v\n", err)
		return 2
	}

	w, where := stdout, "stdout"
	if *out != "" {
		f, err := os.Create(*out)
		if err != nil {
			fmt.Fprintf(stderr, "meshgate gen: %v\n", err)
			return 1
		}
		defer f.Close()
		w, where = f, *out
	}
	var mw io.Writer
	if *manifest != "" {
		f, err := os.Create(*manifest)
		if err != nil {
			fmt.Fprintf(stderr, "meshgate gen: %v\n", err)
			return 1
		}
		defer f.Close()
		mw = f
	}
	st, err := gen.Write(ctx, g, *count, w, mw)
	if err != nil {
		fmt.Fprintf(stderr, "meshgate gen: %v\n", err)
		return 1
	}
	if c, ok := w.(io.Closer); ok && *out != "" {
		if err := c.Close(); err != nil {
			fmt.Fprintf(stderr, "meshgate gen: %v\n", err)
			return 1
		}
	}
	if c, ok := mw.(io.Closer); ok {
		if err := c.Close(); err != nil {
			fmt.Fprintf(stderr, "meshgate gen: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "meshgate gen: wrote %d records (%d good, %d bad, %d hostile), %d bytes, to %s\n",
		st.Records, st.Good, st.Bad, st.Hostile, st.Bytes, where)
	return 0
}
