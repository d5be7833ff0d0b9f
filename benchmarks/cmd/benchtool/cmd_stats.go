package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/meshgate/meshgate/benchmarks"
)

func init() {
	commands["stats"] = command{"median, spread and ratios of the timing lines benchtool time wrote", runStats}
}

// Targets of issue 6 for the whole-file runs.
const (
	targetVsPeer    = 5.0 // meshgate at least 5x the peer per core
	targetVsCeiling = 2.5 // meshgate within 2.5x of the ceiling
)

type timing struct {
	label                   string
	cores, rep              int
	events                  int
	wall, user, sys         float64
	maxRSS                  int64
	perCoreCPU, perCoreWall float64
}

func runStats(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ref := fs.String("ref", "meshgate", "the label ratios are taken against")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprintln(stderr, "usage: benchtool stats [-ref LABEL] TIMINGS.tsv")
		return 2
	}
	ts, err := readTimings(fs.Arg(0))
	if err != nil {
		fmt.Fprintf(stderr, "benchtool stats: %v\n", err)
		return 1
	}
	type key struct {
		label string
		cores int
	}
	groups := map[key][]timing{}
	var keys []key
	for _, t := range ts {
		k := key{t.label, t.cores}
		if groups[k] == nil {
			keys = append(keys, k)
		}
		groups[k] = append(groups[k], t)
	}
	sort.SliceStable(keys, func(i, j int) bool {
		if keys[i].cores != keys[j].cores {
			return keys[i].cores < keys[j].cores
		}
		return keys[i].label < keys[j].label
	})
	tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "run\tcores\treps\tevents/s per core (CPU)\tspread\tevents/s per core (wall)\tspread\tpeak RSS MiB\t")
	for _, k := range keys {
		var cpu, wall []float64
		var rss int64
		for _, t := range groups[k] {
			cpu = append(cpu, t.perCoreCPU)
			wall = append(wall, t.perCoreWall)
			rss = max(rss, t.maxRSS)
		}
		c, w := benchmarks.Summarize(cpu), benchmarks.Summarize(wall)
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.0f%%\t%s\t%.0f%%\t%.1f\t\n", k.label, k.cores, c.N, c.Format(0), 100*c.Spread(), w.Format(0), 100*w.Spread(), float64(rss)/(1<<20))
	}
	tw.Flush()

	// Ratios per (cores, repetition): the runs of one repetition ran back to back.
	fmt.Fprintf(stdout, "\nratios %s/X of events/s per core, per repetition, median (min..max):\n", *ref)
	tw = tabwriter.NewWriter(stdout, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "ratio\tcores\tCPU-based\twall-based\ttarget\t")
	for _, k := range keys {
		if k.label == *ref {
			continue
		}
		refs := map[int]timing{}
		for _, t := range groups[key{*ref, k.cores}] {
			refs[t.rep] = t
		}
		var rc, rw []float64
		for _, t := range groups[k] {
			if r, ok := refs[t.rep]; ok {
				rc = append(rc, r.perCoreCPU/t.perCoreCPU)
				rw = append(rw, r.perCoreWall/t.perCoreWall)
			}
		}
		if len(rc) == 0 {
			continue
		}
		c, w := benchmarks.Summarize(rc), benchmarks.Summarize(rw)
		target := ""
		switch k.label {
		case "peer":
			target = fmt.Sprintf(">= %.1f: %s", targetVsPeer, met(c.Median >= targetVsPeer))
		case "ceiling":
			target = fmt.Sprintf(">= %.2f (within %.1fx): %s", 1/targetVsCeiling, targetVsCeiling, met(c.Median >= 1/targetVsCeiling))
		}
		fmt.Fprintf(tw, "%s/%s\t%d\t%s\t%s\t%s\t\n", *ref, k.label, k.cores, c.Format(2), w.Format(2), target)
	}
	tw.Flush()
	return 0
}

func met(ok bool) string {
	if ok {
		return "met"
	}
	return "MISSED"
}

func readTimings(path string) ([]timing, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []timing
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) != 8 {
			return nil, fmt.Errorf("%s:%d: want 8 tab-separated fields", path, n)
		}
		var t timing
		var errs [7]error
		t.label = fields[0]
		t.cores, errs[0] = strconv.Atoi(fields[1])
		t.rep, errs[1] = strconv.Atoi(fields[2])
		t.events, errs[2] = strconv.Atoi(fields[3])
		t.wall, errs[3] = strconv.ParseFloat(fields[4], 64)
		t.user, errs[4] = strconv.ParseFloat(fields[5], 64)
		t.sys, errs[5] = strconv.ParseFloat(fields[6], 64)
		t.maxRSS, errs[6] = strconv.ParseInt(fields[7], 10, 64)
		for _, err := range errs {
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %v", path, n, err)
			}
		}
		if t.cores <= 0 || t.wall <= 0 || t.user+t.sys <= 0 {
			return nil, fmt.Errorf("%s:%d: zero time or cores", path, n)
		}
		t.perCoreCPU = float64(t.events) / (t.user + t.sys)
		t.perCoreWall = float64(t.events) / t.wall / float64(t.cores)
		out = append(out, t)
	}
	return out, sc.Err()
}
