package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshgate/meshgate/admin"
	"github.com/meshgate/meshgate/awsclient"
	"github.com/meshgate/meshgate/config"
	"github.com/meshgate/meshgate/logging"
	"github.com/meshgate/meshgate/metrics"
	"github.com/meshgate/meshgate/processor"
	"github.com/meshgate/meshgate/rules"
)

func init() {
	register("run", "run the worker: judge raw streams, route to curated streams and quarantine", runRun)
}

// runRun is `meshgate run [--config FILE]`: load the configuration and the contracts, build
// the AWS clients, serve /metrics /healthz /readyz, and run the worker until SIGTERM/SIGINT,
// then stop gracefully within shutdownGrace and exit 0.
//
// With MESHGATE_RECORD_AWS_CALLS=PATH it writes, on exit, every AWS operation it called
// (service, operation, IAM action, count) as JSON to PATH.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "worker configuration `FILE` (YAML); without it only defaults and MESHGATE_* variables apply")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: meshgate run [--config FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return 2
	}
	cfg, err := config.Load(*cfgPath)
	if err != nil {
		fmt.Fprintf(stderr, "meshgate run: invalid configuration:\n%v\n", err)
		return 2
	}
	// logging.New keeps record payloads out of every level above debug (they may hold PII).
	log, err := logging.New(stderr, cfg.Log.Level)
	if err != nil {
		fmt.Fprintf(stderr, "meshgate run: invalid configuration: log.level: %v\n", err)
		return 2
	}
	log.Info("meshgate starting", slog.String("version", version), slog.String("application", cfg.Application),
		slog.String("worker", cfg.WorkerID), slog.String("region", cfg.Region))

	set, err := rules.Load(cfg.Contracts, rules.Options{})
	if err != nil {
		log.Error("contracts do not load", slog.String("dir", cfg.Contracts), slog.String("error", err.Error()))
		fmt.Fprintf(stderr, "meshgate run: contracts in %s do not load:\n%v\n", cfg.Contracts, err)
		return 1
	}
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	m.ReloadSucceeded(processor.ContractMetrics(set), time.Now())
	log.Info("contracts loaded", slog.String("dir", cfg.Contracts), slog.String("hash", set.Hash()),
		slog.Int("contracts", len(set.Contracts())), slog.Int("policies", len(set.Policies())))
	var current atomic.Pointer[rules.Set]
	current.Store(set)

	var recorder *awsclient.Recorder
	if path := os.Getenv("MESHGATE_RECORD_AWS_CALLS"); path != "" {
		recorder = awsclient.NewRecorder()
		defer func() {
			if err := recorder.WriteFile(path); err != nil {
				log.Error("cannot write the recorded AWS calls", slog.String("path", path), slog.String("error", err.Error()))
			}
		}()
	}
	clients, err := awsclient.New(ctx, awsclient.Options{
		Region:          cfg.Region,
		KinesisEndpoint: cfg.Endpoints.Kinesis, DynamoDBEndpoint: cfg.Endpoints.DynamoDB, S3Endpoint: cfg.Endpoints.S3,
		Recorder: recorder,
	})
	if err != nil {
		log.Error("cannot build AWS clients", slog.String("error", err.Error()))
		return 1
	}
	w, err := processor.New(cfg, processor.Deps{AWS: clients, Rules: current.Load, Metrics: m, Logger: log})
	if err != nil {
		log.Error("worker configuration does not fit the contracts", slog.String("error", err.Error()))
		fmt.Fprintf(stderr, "meshgate run: %v\n", err)
		return 2
	}

	if cfg.HTTP.Listen != "" {
		srv := admin.New(reg, log)
		srv.Condition("contracts").Set(nil)
		srv.AddCheck("worker", func(context.Context) error {
			if !w.Ready() {
				return errors.New("not consuming every stream (starting, dependencies unreachable, or stopping)")
			}
			return nil
		})
		if err := srv.Start(ctx, cfg.HTTP.Listen); err != nil {
			log.Error("admin server", slog.String("error", err.Error()))
			return 1
		}
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_ = srv.Shutdown(sctx)
		}()
	}

	began := time.Now()
	err = w.Run(ctx) // until SIGTERM/SIGINT, then a graceful stop bounded by shutdownGrace
	if err != nil {
		log.Error("worker stopped with an error", slog.String("error", err.Error()))
		return 1
	}
	log.Info("meshgate stopped", slog.Duration("uptime", time.Since(began)))
	return 0
}
