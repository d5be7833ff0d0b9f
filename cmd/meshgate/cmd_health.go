package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// health is the container health check for images without a shell or curl (the scratch image):
// ECS runs `/meshgate health` inside the task and treats exit 0 as healthy. It GETs the worker's
// own /healthz (or any URL given) and succeeds only on a 2xx answer within the timeout.
func init() {
	register("health", "probe a running worker's health endpoint (container health check)", runHealth)
}

func runHealth(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("health", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "http://127.0.0.1:9108/healthz", "`URL` to GET; healthy means a 2xx status")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	quiet := fs.Bool("q", false, "print nothing on success")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() != 0 {
		fmt.Fprintf(stderr, "health: unexpected arguments %q\n", fs.Args())
		return 2
	}
	if *timeout <= 0 {
		fmt.Fprintln(stderr, "health: -timeout must be positive")
		return 2
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		fmt.Fprintf(stderr, "health: %v\n", err)
		return 2
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(stderr, "health: unhealthy: %v\n", err)
		return 1
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		fmt.Fprintf(stderr, "health: unhealthy: %s: %s: %s\n", *url, resp.Status, bytes.TrimSpace(body))
		return 1
	}
	if !*quiet {
		fmt.Fprintf(stdout, "health: ok: %s: %s\n", *url, resp.Status)
	}
	return 0
}
