package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/meshgate/meshgate/audit"
	"github.com/meshgate/meshgate/awsclient"
)

func init() {
	register("audit", "read back the curated streams and the quarantine bucket and sum them up", runAudit)
}

// runAudit is `meshgate audit --curated S1,S2 --bucket B [--prefix P] [--json]`. Region and
// endpoints come from MESHGATE_REGION/AWS_REGION and MESHGATE_{KINESIS,S3}_ENDPOINT.
func runAudit(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("audit", "usage: meshgate audit --curated S1,S2 --bucket B [--prefix P] [--json]", stderr)
	curated := fs.String("curated", "", "comma-separated curated `STREAMS` to read")
	bucket := fs.String("bucket", "", "quarantine `BUCKET`")
	prefix := fs.String("prefix", "", "quarantine key `PREFIX`")
	asJSON := fs.Bool("json", false, "print the summary as JSON")
	expect := fs.Int("expect", 0, "read again until curated plus quarantined records reach `N` (see --wait)")
	wait := fs.Duration("wait", time.Minute, "with --expect: give up after this long (exit 1)")
	region := fs.String("region", firstEnv("MESHGATE_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"), "AWS region")
	if err := fs.Parse(args); err != nil {
		return flagExitCode(err)
	}
	if (*curated == "" && *bucket == "") || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	clients, err := awsclient.New(ctx, awsclient.Options{Region: *region,
		KinesisEndpoint: os.Getenv("MESHGATE_KINESIS_ENDPOINT"), S3Endpoint: os.Getenv("MESHGATE_S3_ENDPOINT")})
	if err != nil {
		fmt.Fprintf(stderr, "meshgate audit: %v\n", err)
		return 1
	}
	deadline := time.Now().Add(*wait)
	var sum audit.Summary
	for {
		streams := map[string][]audit.StreamRecord{}
		for _, s := range audit.Streams(*curated) {
			recs, err := audit.ReadStream(ctx, clients.Kinesis, s)
			if err != nil {
				fmt.Fprintf(stderr, "meshgate audit: %v\n", err)
				return 1
			}
			streams[s] = recs
		}
		var objs []audit.Object
		if *bucket != "" {
			if objs, err = audit.ReadQuarantine(ctx, clients.S3, *bucket, *prefix); err != nil {
				fmt.Fprintf(stderr, "meshgate audit: %v\n", err)
				return 1
			}
		}
		sum = audit.Summarize(streams, objs)
		got := sum.Total()
		if *expect <= 0 || got >= *expect {
			break
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			fmt.Fprintf(stderr, "meshgate audit: %d of %d records arrived within %v\n", got, *expect, *wait)
			sum.WriteText(stderr)
			return 1
		}
		time.Sleep(time.Second)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return 1
		}
		return 0
	}
	sum.WriteText(stdout)
	return 0
}
