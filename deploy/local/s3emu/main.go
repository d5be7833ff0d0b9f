// Command s3emu serves an in-memory S3 API (github.com/johannesboyne/gofakes3 with its s3mem
// backend) on a loopback port, for meshgate's local demo stack (deploy/local/stack.sh).
//
// Clients must use path-style addressing (http://127.0.0.1:4569/bucket/key). Everything is kept
// in memory and lost when the process exits.
//
//	s3emu --listen 127.0.0.1:4569
//
// It prints "listening on http://ADDR" once the socket is bound, then serves until SIGINT or
// SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run serves until ctx is done; it returns the process exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("s3emu", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:4569", "address to listen on (host:port; port 0 picks a free one)")
	verbose := fs.Bool("v", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return 2
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(stderr, "s3emu: %v\n", err)
		return 1
	}
	var opts []gofakes3.Option
	if *verbose {
		opts = append(opts, gofakes3.WithLogger(gofakes3.StdLog(log.New(stderr, "s3emu ", log.LstdFlags))))
	}
	srv := &http.Server{
		Handler:           gofakes3.New(s3mem.New(), opts...).Server(),
		ReadHeaderTimeout: 10 * time.Second,
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

	select {
	case err := <-errc:
		fmt.Fprintf(stderr, "s3emu: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(stderr, "s3emu: shutdown: %v\n", err)
		return 1
	}
	return 0
}
