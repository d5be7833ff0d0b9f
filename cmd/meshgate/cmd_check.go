package main

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/meshgate/meshgate/rules"
)

func init() {
	register("check", "judge an NDJSON file with the worker's engine; write good and quarantined records", runCheck)
}

// runCheck runs rules.Check over --in with the contract chosen by --domain or --stream (or the
// only contract of the set).
func runCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", "usage: meshgate check --contracts DIR --in FILE|- [--domain D | --stream S] [--shadow]\n"+
		"                      [--good OUT] [--quarantine OUT] [--json] [--now RFC3339] [--workers N]", stderr)
	contracts := fs.String("contracts", "", "contracts directory (required)")
	inPath := fs.String("in", "", "NDJSON input, one record per line; - for stdin (required)")
	goodPath := fs.String("good", "", "write enriched good events here (NDJSON; gzip when the name ends in .gz)")
	quarPath := fs.String("quarantine", "", "write quarantine records here (quarantine.Record NDJSON; gzip when .gz)")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	domain := fs.String("domain", "", "judge with this domain's contract")
	stream := fs.String("stream", "", "judge with the contract whose sources include this stream (and record it as the source)")
	shadow := fs.Bool("shadow", false, "use the domain's shadow contract instead of the active one")
	workers := fs.Int("workers", 0, "parallel evaluators (default: all cores)")
	nowFlag := fs.String("now", "", "judge as of this RFC 3339 time (default: the current time)")
	testSalt := fs.Bool("insecure-test-salt", false, "hash with the public test salt when MESHGATE_HASH_SALT is not set")
	failOnQuarantine := fs.Bool("fail-on-quarantine", false, "exit 1 when any record is quarantined")
	if err := parseInterspersed(fs, args); err != nil {
		return flagExitCode(err)
	}
	if *contracts == "" || *inPath == "" || fs.NArg() > 0 {
		fs.Usage()
		return 2
	}
	var now func() time.Time
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339Nano, *nowFlag)
		if err != nil {
			fmt.Fprintf(stderr, "meshgate check: --now: %v\n", err)
			return 2
		}
		now = func() time.Time { return t }
	}

	set, err := rules.Load(*contracts, rules.Options{InsecureTestSalt: *testSalt})
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	c, msg := pickContract(set, *domain, *stream, *shadow)
	if c == nil {
		fmt.Fprintf(stderr, "meshgate check: %s\n", msg)
		return 2
	}

	in := io.Reader(os.Stdin)
	if *inPath != "-" {
		f, err := os.Open(*inPath)
		if err != nil {
			fmt.Fprintf(stderr, "meshgate check: %v\n", err)
			return 1
		}
		defer f.Close()
		in = f
		if strings.HasSuffix(*inPath, ".gz") {
			zr, err := gzip.NewReader(f)
			if err != nil {
				fmt.Fprintf(stderr, "meshgate check: %s: %v\n", *inPath, err)
				return 1
			}
			in = zr
		}
	}
	good, closeGood, err := createOutput(*goodPath)
	if err != nil {
		fmt.Fprintf(stderr, "meshgate check: %v\n", err)
		return 1
	}
	quar, closeQuar, err := createOutput(*quarPath)
	if err != nil {
		closeGood()
		fmt.Fprintf(stderr, "meshgate check: %v\n", err)
		return 1
	}
	sum, err := rules.Check(ctx, in, rules.CheckConfig{Contract: c, Good: good, Quarantine: quar, Stream: *stream, Workers: *workers, Now: now})
	errGood, errQuar := closeGood(), closeQuar()
	if err == nil {
		err = errors.Join(errGood, errQuar)
	}
	if err != nil {
		fmt.Fprintf(stderr, "meshgate check: %v\n", err)
		return 1
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			fmt.Fprintf(stderr, "meshgate check: %v\n", err)
			return 1
		}
	} else if err := sum.WriteText(stdout); err != nil {
		fmt.Fprintf(stderr, "meshgate check: %v\n", err)
		return 1
	}
	if *failOnQuarantine && sum.Quarantined > 0 {
		return 1
	}
	return 0
}

// pickContract chooses the contract: by domain, by stream, or the only one in the set.
func pickContract(set *rules.Set, domain, stream string, shadow bool) (*rules.Contract, string) {
	switch {
	case domain != "" && shadow:
		if c := set.Shadow(domain); c != nil {
			return c, ""
		}
		return nil, fmt.Sprintf("no shadow contract for domain %q", domain)
	case domain != "":
		if c := set.ByDomain(domain); c != nil {
			return c, ""
		}
		return nil, fmt.Sprintf("no active contract for domain %q (domains: %s)", domain, domains(set))
	case stream != "":
		c := set.ByStream(stream)
		if c == nil {
			return nil, fmt.Sprintf("no active contract judges stream %q", stream)
		}
		if shadow {
			if s := set.Shadow(c.Domain); s != nil {
				return s, ""
			}
			return nil, fmt.Sprintf("no shadow contract for domain %q", c.Domain)
		}
		return c, ""
	}
	if cs := set.Contracts(); len(cs) == 1 && !shadow {
		return cs[0], ""
	}
	return nil, fmt.Sprintf("choose a contract with --domain or --stream (domains: %s)", domains(set))
}

func domains(set *rules.Set) string {
	var ds []string
	for _, c := range set.Contracts() {
		ds = append(ds, c.Domain)
	}
	return strings.Join(ds, ", ")
}

// createOutput opens path for writing (nil writer for ""), buffered, gzip when it ends in .gz.
func createOutput(path string) (io.Writer, func() error, error) {
	if path == "" {
		return nil, func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, nil, err
	}
	bw := bufio.NewWriterSize(f, 256<<10)
	var zw *gzip.Writer
	w := io.Writer(bw)
	if strings.HasSuffix(path, ".gz") {
		zw = gzip.NewWriter(bw)
		w = zw
	}
	return w, func() error {
		var errs []error
		if zw != nil {
			errs = append(errs, zw.Close())
		}
		errs = append(errs, bw.Flush(), f.Close())
		if err := errors.Join(errs...); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		return nil
	}, nil
}
