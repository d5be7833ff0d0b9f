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
	os.Exit(run())
}

func run() int {
	fs := flag.NewFlagSet("s3emu", flag.ContinueOnError)
	listen := fs.String("listen", "127.0.0.1:4569", "address to listen on (host:port; port 0 picks a free one)")
	verbose := fs.Bool("v", false, "log every request")
	if err := fs.Parse(os.Args[1:]); err != nil {
		return 2
	}

	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		fmt.Fprintf(os.Stderr, "s3emu: %v\n", err)
		return 1
	}
	var opts []gofakes3.Option
	if *verbose {
		opts = append(opts, gofakes3.WithLogger(gofakes3.StdLog(log.New(os.Stderr, "s3emu ", log.LstdFlags))))
	}
	srv := &http.Server{
		Handler:           gofakes3.New(s3mem.New(), opts...).Server(),
		ReadHeaderTimeout: 10 * time.Second,
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Printf("listening on http://%s\n", ln.Addr())

	select {
	case err := <-errc:
		fmt.Fprintf(os.Stderr, "s3emu: %v\n", err)
		return 1
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "s3emu: shutdown: %v\n", err)
		return 1
	}
	return 0
}
