package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meshgate/meshgate/awsclient"
	"github.com/meshgate/meshgate/contractdiff"
	"github.com/meshgate/meshgate/reload"
	"github.com/meshgate/meshgate/rules"
)

func init() {
	register("diff", "classify the changes between two contract directories (CI gate), optionally re-judging a sample", runDiff)
}

const diffUsage = `usage: meshgate diff OLD NEW [--sample FILE.ndjson[.gz]|s3://bucket/key] [--domain D] [--now RFC3339]
                     [--fail-on breaking,tightening,unknown] [--json] [--examples N] [--show-values]

Exit codes: 0 no change with a --fail-on impact; 1 such a change (or, with tightening in
--fail-on, sampled events that would now be quarantined); 2 usage error or contracts that do
not load.`

// runDiff is `meshgate diff OLD NEW`: package contractdiff compares the two contract
// directories and, with --sample, re-judges real events with both.
func runDiff(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("diff", diffUsage, stderr)
	sample := fs.String("sample", "", "re-judge the events of `FILE` (NDJSON of events or quarantine records, .gz allowed) or s3://bucket/key with both sets")
	domain := fs.String("domain", "", "domain judging the sample's raw events (default: the only changed domain)")
	nowFlag := fs.String("now", "", "judging time of raw sample events, RFC 3339 (default: now)")
	failOn := fs.String("fail-on", strings.Join(contractdiff.DefaultFailOn, ","), "impacts that fail the check: breaking, tightening, unknown, loosening, non-breaking, neutral")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	examples := fs.Int("examples", 3, "sample examples per rule")
	showValues := fs.Bool("show-values", false, "show the offending values of sample examples (they may be personal data)")
	if err := parseInterspersed(fs, args); err != nil {
		return flagExitCode(err)
	}
	if fs.NArg() != 2 {
		fs.Usage()
		return 2
	}
	var fail []string
	for _, f := range strings.Split(*failOn, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		if !slices.Contains(contractdiff.ValidImpacts, f) {
			fmt.Fprintf(stderr, "meshgate diff: --fail-on: unknown impact %q (want %s)\n", f, strings.Join(contractdiff.ValidImpacts, ", "))
			return 2
		}
		fail = append(fail, f)
	}
	now := time.Now()
	if *nowFlag != "" {
		t, err := time.Parse(time.RFC3339, *nowFlag)
		if err != nil {
			fmt.Fprintf(stderr, "meshgate diff: --now: %v\n", err)
			return 2
		}
		now = t
	}
	sets := make([]*rules.Set, 2)
	for i, dir := range fs.Args() {
		set, err := rules.Load(dir, rules.Options{InsecureTestSalt: true})
		if err != nil {
			fmt.Fprintf(stderr, "meshgate diff: contracts in %s do not load:\n%v\n", dir, err)
			return 2
		}
		sets[i] = set
	}
	rep := &contractdiff.Report{Old: fs.Arg(0), New: fs.Arg(1), Domains: contractdiff.Compare(sets[0], sets[1])}
	if *sample != "" {
		data, err := readSample(ctx, *sample)
		if err != nil {
			fmt.Fprintf(stderr, "meshgate diff: --sample: %v\n", err)
			return 2
		}
		events, err := contractdiff.ReadSample(bytes.NewReader(data))
		if err != nil {
			fmt.Fprintf(stderr, "meshgate diff: --sample: %v\n", err)
			return 2
		}
		if *domain != "" && sets[0].ByDomain(*domain) == nil && sets[1].ByDomain(*domain) == nil {
			fmt.Fprintf(stderr, "meshgate diff: --domain: no contract for domain %q\n", *domain)
			return 2
		}
		s, err := contractdiff.Rejudge(sets[0], sets[1], events, rep.ChangedDomains(),
			contractdiff.SampleConfig{Domain: *domain, Now: now, Examples: *examples, ShowValues: *showValues})
		if err != nil {
			fmt.Fprintf(stderr, "meshgate diff: --sample: %v\n", err)
			return 2
		}
		rep.Sample = s
		contractdiff.ApplyEvidence(rep.Domains, s)
	}
	failing := rep.Evaluate(fail)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			return 2
		}
	} else {
		rep.WriteText(stdout)
	}
	if failing > 0 {
		return 1
	}
	return 0
}

// readSample reads a local file or an s3://bucket/key object (region and endpoint from
// MESHGATE_REGION/AWS_REGION and MESHGATE_S3_ENDPOINT, credentials from the default chain).
func readSample(ctx context.Context, src string) ([]byte, error) {
	bucket, key, ok := reload.ParseS3URI(src)
	if !ok {
		return os.ReadFile(src)
	}
	if key == "" {
		return nil, fmt.Errorf("%s names no object", src)
	}
	clients, err := awsclient.New(ctx, awsclient.Options{
		Region:     orDefault(firstEnv("MESHGATE_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"), "us-east-1"),
		S3Endpoint: os.Getenv("MESHGATE_S3_ENDPOINT"),
	})
	if err != nil {
		return nil, err
	}
	out, err := clients.S3.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", src, err)
	}
	defer out.Body.Close()
	return io.ReadAll(io.LimitReader(out.Body, 1<<30))
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
