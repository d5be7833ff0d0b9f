package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/meshgate/meshgate/awsclient"
	"github.com/meshgate/meshgate/producer"
)

func init() {
	register("put", "put NDJSON records into a Kinesis stream (demo, replays, tests)", runPut)
}

// runPut is `meshgate put --stream S --in FILE`: one record per line (without the newline).
// Partition keys come from a `meshgate gen --manifest` file when given, else from the line
// number. Region and endpoint come from MESHGATE_REGION/AWS_REGION and
// MESHGATE_KINESIS_ENDPOINT (or the flags); credentials from the AWS default chain.
func runPut(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("put", "usage: meshgate put --stream S --in FILE|- [--manifest FILE] [--ledger FILE]", stderr)
	stream := fs.String("stream", "", "Kinesis stream (required)")
	in := fs.String("in", "", "NDJSON `FILE`, one record per line; - for stdin (required)")
	manifest := fs.String("manifest", "", "`FILE` written by meshgate gen --manifest: partition keys per line")
	ledger := fs.String("ledger", "", "write one JSON line per record (line, shard, sequenceNumber or error) to `FILE`")
	region := fs.String("region", firstEnv("MESHGATE_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"), "AWS region")
	endpoint := fs.String("endpoint", os.Getenv("MESHGATE_KINESIS_ENDPOINT"), "Kinesis endpoint `URL` (local emulator)")
	if err := fs.Parse(args); err != nil {
		return flagExitCode(err)
	}
	if *stream == "" || *in == "" || fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	lines, err := readLines(*in)
	if err != nil {
		fmt.Fprintf(stderr, "meshgate put: %v\n", err)
		return 1
	}
	keys := make([]string, len(lines))
	for i := range keys {
		keys[i] = "line-" + strconv.Itoa(i+1)
	}
	if *manifest != "" {
		if err := manifestKeys(*manifest, keys); err != nil {
			fmt.Fprintf(stderr, "meshgate put: %v\n", err)
			return 1
		}
	}
	entries := make([]producer.Entry, len(lines))
	for i := range lines {
		entries[i] = producer.Entry{Data: lines[i], PartitionKey: keys[i]}
	}
	clients, err := awsclient.New(ctx, awsclient.Options{Region: *region, KinesisEndpoint: *endpoint})
	if err != nil {
		fmt.Fprintf(stderr, "meshgate put: %v\n", err)
		return 1
	}
	results, err := producer.Put(ctx, clients.Kinesis, *stream, entries)
	if err != nil {
		fmt.Fprintf(stderr, "meshgate put: %v\n", err)
		return 1
	}
	sent, refused := 0, 0
	for _, r := range results {
		if r.Err != nil {
			refused++
		} else {
			sent++
		}
	}
	if *ledger != "" {
		if err := writeLedger(*ledger, results); err != nil {
			fmt.Fprintf(stderr, "meshgate put: %v\n", err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "meshgate put: %d records into %s; %d not sent (Kinesis would refuse them: over 1 MiB or a bad key)\n", sent, *stream, refused)
	return 0
}

func firstEnv(names ...string) string {
	for _, n := range names {
		if v := os.Getenv(n); v != "" {
			return v
		}
	}
	return ""
}

// readLines returns the lines of path ("-": stdin) without their newlines.
func readLines(path string) ([][]byte, error) {
	var r io.Reader = os.Stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	br := bufio.NewReaderSize(r, 1<<20)
	var lines [][]byte
	for {
		line, err := br.ReadBytes('\n')
		if len(line) > 0 && line[len(line)-1] == '\n' {
			line = line[:len(line)-1]
			lines = append(lines, line)
		} else if len(line) > 0 {
			lines = append(lines, line)
		}
		if errors.Is(err, io.EOF) {
			return lines, nil
		}
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", path, err)
		}
	}
}

func manifestKeys(path string, keys []string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	for {
		var m struct {
			Line         int    `json:"line"`
			PartitionKey string `json:"partitionKey"`
		}
		if err := dec.Decode(&m); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("manifest %s: %w", path, err)
		}
		if m.Line >= 1 && m.Line <= len(keys) && m.PartitionKey != "" {
			keys[m.Line-1] = m.PartitionKey
		}
	}
}

func writeLedger(path string, results []producer.Result) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	enc := json.NewEncoder(w)
	for i, r := range results {
		e := struct {
			Line           int    `json:"line"`
			Shard          string `json:"shard,omitempty"`
			SequenceNumber string `json:"sequenceNumber,omitempty"`
			Error          string `json:"error,omitempty"`
		}{Line: i + 1, Shard: r.Shard, SequenceNumber: r.SequenceNumber}
		if r.Err != nil {
			e.Error = r.Err.Error()
		}
		if err := enc.Encode(e); err != nil {
			f.Close()
			return err
		}
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
