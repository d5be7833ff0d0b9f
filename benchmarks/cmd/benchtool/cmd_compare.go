package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"text/tabwriter"
)

func init() {
	commands["compare"] = command{"fail unless two check summaries have the same verdicts and counts per rule", runCompare}
}

// summary is the part of a `meshgate check --json` summary compared (the peer and
// `benchtool file` print the same shape).
type summary struct {
	Events      int `json:"events"`
	Passed      int `json:"passed"`
	Warned      int `json:"warned"`
	Quarantined int `json:"quarantined"`
	Rules       []struct {
		Rule     string `json:"rule"`
		Failures int    `json:"failures"`
	} `json:"rules"`
}

func runCompare(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() < 2 {
		fmt.Fprintln(stderr, "usage: benchtool compare REFERENCE.json OTHER.json [OTHER.json...]  (summaries of meshgate check --json, the peer, benchtool file)")
		return 2
	}
	var sums []summary
	for _, p := range fs.Args() {
		data, err := os.ReadFile(p)
		if err != nil {
			fmt.Fprintf(stderr, "benchtool compare: %v\n", err)
			return 1
		}
		var s summary
		if err := json.Unmarshal(data, &s); err != nil {
			fmt.Fprintf(stderr, "benchtool compare: %s: %v\n", p, err)
			return 1
		}
		sums = append(sums, s)
	}
	rows := map[string][]int{}
	set := func(name string, i, n int) {
		if rows[name] == nil {
			rows[name] = make([]int, len(sums))
		}
		rows[name][i] = n
	}
	for i, s := range sums {
		set(" events", i, s.Events)
		set(" passed", i, s.Passed)
		set(" warned", i, s.Warned)
		set(" quarantined", i, s.Quarantined)
		for _, r := range s.Rules {
			if r.Failures > 0 {
				set(r.Rule, i, r.Failures)
			}
		}
	}
	names := make([]string, 0, len(rows))
	for n := range rows {
		names = append(names, n)
	}
	sort.Strings(names)
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "count\t")
	for _, p := range fs.Args() {
		fmt.Fprintf(tw, "%s\t", p)
	}
	fmt.Fprintln(tw, "\t")
	mismatches := 0
	for _, n := range names {
		fmt.Fprintf(tw, "%s\t", n)
		mark := ""
		for _, v := range rows[n] {
			fmt.Fprintf(tw, "%d\t", v)
			if v != rows[n][0] {
				mark = "MISMATCH"
			}
		}
		if mark != "" {
			mismatches++
		}
		fmt.Fprintf(tw, "%s\t\n", mark)
	}
	tw.Flush()
	if mismatches > 0 {
		fmt.Fprintf(stderr, "benchtool compare: %d counts differ: the engines did not reach the same verdicts\n", mismatches)
		return 1
	}
	fmt.Fprintf(stdout, "same verdicts: %d events, %d rules with failures, identical counts\n", sums[0].Events, len(names)-4)
	return 0
}
