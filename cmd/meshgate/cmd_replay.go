package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/meshgate/meshgate/awsclient"
	"github.com/meshgate/meshgate/processor"
	"github.com/meshgate/meshgate/reload"
	"github.com/meshgate/meshgate/replay"
	"github.com/meshgate/meshgate/rules"
)

func init() {
	register("replay", "re-judge quarantined records with the current contracts; send those that now pass to curated", runReplay)
}

const replayUsage = `usage: meshgate replay --from s3://bucket/prefix[/domain/dt=.../...] [--contracts DIR] [--domain D]
                       [--since DATE] [--until DATE] [--dry-run] [--judge-at arrival|now] [--json]

Exit codes: 0 done (records that still fail stay in quarantine); 1 an infrastructure error
stopped the replay (objects finished before it are complete); 2 usage error or contracts that
do not load. Endpoints: MESHGATE_S3_ENDPOINT, MESHGATE_KINESIS_ENDPOINT; region:
MESHGATE_REGION or AWS_REGION; hash salt: MESHGATE_HASH_SALT (the worker's).`

// runReplay is `meshgate replay`: package replay does the work; this prints progress on a
// terminal and the summary.
func runReplay(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("replay", replayUsage, stderr)
	from := fs.String("from", "", "quarantine objects to replay: s3://bucket/prefix, a domain or day below it, or one object (required)")
	contracts := fs.String("contracts", os.Getenv("MESHGATE_CONTRACTS"), "current contracts `DIR` (default $MESHGATE_CONTRACTS)")
	domain := fs.String("domain", "", "only objects of this domain")
	since := fs.String("since", "", "only objects of this day or later (YYYY-MM-DD, the dt= of their keys)")
	until := fs.String("until", "", "only objects of this day or earlier (YYYY-MM-DD)")
	dryRun := fs.Bool("dry-run", false, "print what would happen; write nothing")
	judgeAt := fs.String("judge-at", replay.JudgeAtArrival, "judging time: arrival (each record's arrival time) or now")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	if err := parseInterspersed(fs, args); err != nil {
		return flagExitCode(err)
	}
	bucket, prefix, ok := reload.ParseS3URI(*from)
	if fs.NArg() != 0 || !ok || *contracts == "" {
		fs.Usage()
		return 2
	}
	if *judgeAt != replay.JudgeAtArrival && *judgeAt != replay.JudgeAtNow {
		fmt.Fprintf(stderr, "meshgate replay: --judge-at: want arrival or now, got %q\n", *judgeAt)
		return 2
	}
	var days [2]time.Time
	for i, s := range []string{*since, *until} {
		if s == "" {
			continue
		}
		t, err := parseDay(s)
		if err != nil {
			fmt.Fprintf(stderr, "meshgate replay: --%s: %v\n", []string{"since", "until"}[i], err)
			return 2
		}
		days[i] = t
	}
	set, err := rules.Load(*contracts, rules.Options{})
	if err != nil {
		fmt.Fprintf(stderr, "meshgate replay: contracts in %s do not load:\n%v\n", *contracts, err)
		return 2
	}
	if *domain != "" && set.ByDomain(*domain) == nil {
		fmt.Fprintf(stderr, "meshgate replay: --domain: no active contract for %q in %s\n", *domain, *contracts)
		return 2
	}
	clients, err := awsclient.New(ctx, awsclient.Options{
		Region:          orDefault(firstEnv("MESHGATE_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"), "us-east-1"),
		KinesisEndpoint: os.Getenv("MESHGATE_KINESIS_ENDPOINT"), S3Endpoint: os.Getenv("MESHGATE_S3_ENDPOINT"),
	})
	if err != nil {
		fmt.Fprintf(stderr, "meshgate replay: %v\n", err)
		return 2
	}
	cfg := replay.Config{
		S3: clients.S3, Bucket: bucket, Prefix: prefix, Domain: *domain, Since: days[0], Until: days[1],
		Rules: set, DryRun: *dryRun, JudgeAt: *judgeAt,
	}
	if !*dryRun {
		cfg.Curated = processor.NewKinesisSink(clients.Kinesis, nil)
	}
	tty := isTerminal(stdout)
	if tty && !*asJSON {
		cfg.Progress = func(done, total int, s *replay.Summary) {
			fmt.Fprintf(stdout, "\rreplay: %d/%d objects · %d records · %d replayed · %d still failing · %d already replayed ",
				done, total, s.Records, s.TotalReplayed(), s.StillFailing, s.AlreadyReplayed)
		}
	}
	sum, runErr := replay.Run(ctx, cfg)
	if tty && !*asJSON && sum != nil && sum.Objects > 0 {
		fmt.Fprintln(stdout)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		enc.Encode(sum)
	} else if sum != nil {
		writeReplaySummary(stdout, *from, sum)
	}
	if runErr != nil {
		fmt.Fprintf(stderr, "meshgate replay: %v\n", runErr)
		return 1
	}
	return 0
}

func parseDay(s string) (time.Time, error) {
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("want YYYY-MM-DD, got %q", s)
	}
	return t, nil
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func writeReplaySummary(w io.Writer, from string, s *replay.Summary) {
	verb := "replayed"
	if s.DryRun {
		verb = "would replay"
		fmt.Fprintf(w, "dry run: nothing is written\n")
		for _, r := range s.Results {
			fmt.Fprintf(w, "  %s: %d records, %s %d%s, %d still failing, %d already replayed\n",
				r.Key, r.Records, verb, sumMap(r.Replayed), streamList(r.Replayed), r.StillFailing, r.AlreadyReplayed)
		}
	}
	fmt.Fprintf(w, "replay %s: %d objects (%d filtered out), %d records\n", from, s.Objects, s.Filtered, s.Records)
	fmt.Fprintf(w, "  %s: %d%s\n", verb, s.TotalReplayed(), streamList(s.Replayed))
	fmt.Fprintf(w, "  still failing (stay in quarantine): %d%s\n", s.StillFailing, countList(s.FailingBy))
	fmt.Fprintf(w, "  already replayed (in manifests): %d\n", s.AlreadyReplayed)
	if !s.DryRun {
		fmt.Fprintf(w, "  manifests written: %d\n", s.Manifests)
	}
}

func sumMap(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

func streamList(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range sortedStrings(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (to " + strings.Join(parts, ", ") + ")"
}

func countList(m map[string]int) string {
	if len(m) == 0 {
		return ""
	}
	var parts []string
	for _, k := range sortedStrings(m) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func sortedStrings(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
