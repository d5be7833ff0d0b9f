package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/meshgate/meshgate/admin"
	"github.com/meshgate/meshgate/awsclient"
	"github.com/meshgate/meshgate/config"
	"github.com/meshgate/meshgate/logging"
	"github.com/meshgate/meshgate/metrics"
	"github.com/meshgate/meshgate/processor"
	"github.com/meshgate/meshgate/reload"
	"github.com/meshgate/meshgate/rules"
)

func init() {
	register("run", "run the worker: judge raw streams, route to curated streams and quarantine", runRun)
}

// runRun is `meshgate run [--config FILE]`: load the configuration and the contracts, build
// the AWS clients, serve /metrics /healthz /readyz, and run the worker until SIGTERM/SIGINT,
// then stop gracefully and exit 0, the whole exit within shutdownGrace of the signal.
//
// SIGHUP (and a change of the contracts source, polled every contractsReload) reloads the
// contracts: the whole new set compiles first and replaces the running one between batches,
// or the running one stays and the error is logged (see package reload).
//
// With MESHGATE_RECORD_AWS_CALLS=PATH it writes, on exit, every AWS operation it called
// (service, operation, IAM action, count) as JSON to PATH.
func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("run", "usage: meshgate run [--config FILE]", stderr)
	cfgPath := fs.String("config", "", "worker configuration `FILE` (YAML); without it only defaults and MESHGATE_* variables apply")
	if err := fs.Parse(args); err != nil {
		return flagExitCode(err)
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

	reg := prometheus.NewRegistry()
	m := metrics.New(reg)

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

	// Contracts: loaded whole, then hot-reloaded on SIGHUP and when the source changes
	// (reload.Reloader swaps whole sets between batches; a bad set never replaces a good one).
	var source reload.Source = reload.DirSource{Dir: cfg.Contracts}
	if bucket, prefix, ok := reload.ParseS3URI(cfg.Contracts); ok {
		source = &reload.S3Source{Client: clients.S3, Bucket: bucket, Prefix: prefix}
	}
	contracts, err := reload.New(ctx, reload.Config{
		Source: source, Check: func(s *rules.Set) error { return processor.CheckSet(cfg, s) },
		Interval: cfg.ContractsReload.D(), Metrics: m, Describe: processor.ContractMetrics, Logger: log,
	})
	if err != nil {
		log.Error("contracts do not load", slog.String("source", source.String()), slog.String("error", err.Error()))
		if errors.Is(err, reload.ErrRejected) {
			fmt.Fprintf(stderr, "meshgate run: %v\n", err)
			return 2
		}
		fmt.Fprintf(stderr, "meshgate run: contracts in %s do not load:\n%v\n", source, err)
		return 1
	}
	set := contracts.Current()
	log.Info("contracts loaded", slog.String("source", source.String()), slog.String("hash", set.Hash()),
		slog.Int("contracts", len(set.Contracts())), slog.Int("shadows", len(set.Shadows())), slog.Int("policies", len(set.Policies())),
		slog.String("reloadEvery", cfg.ContractsReload.D().String()))
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	reloadCtx, stopReload := context.WithCancel(ctx)
	reloadDone := make(chan struct{})
	go func() { defer close(reloadDone); contracts.Run(reloadCtx) }()
	go func() {
		for {
			select {
			case <-hup:
				log.Info("SIGHUP: reloading contracts")
				contracts.Trigger()
			case <-reloadCtx.Done():
				return
			}
		}
	}()
	defer func() { stopReload(); <-reloadDone }()

	var shadow *processor.ShadowSampler
	if cfg.Shadow.Samples > 0 {
		shadow, err = processor.NewShadowSampler(processor.ShadowConfig{
			S3: clients.S3, Bucket: cfg.Quarantine.Bucket, Prefix: cfg.Quarantine.Prefix, KMSKeyID: cfg.Quarantine.KMSKeyID,
			Worker: cfg.WorkerID, Interval: cfg.Shadow.SampleInterval.D(), PerObject: cfg.Shadow.Samples, Metrics: m, Logger: log,
		})
		if err != nil {
			log.Error("shadow sampler", slog.String("error", err.Error()))
			return 2
		}
	}
	w, err := processor.New(cfg, processor.Deps{AWS: clients, Rules: contracts.Current, Metrics: m, Logger: log, Shadow: shadow})
	if err != nil {
		log.Error("worker configuration does not fit the contracts", slog.String("error", err.Error()))
		fmt.Fprintf(stderr, "meshgate run: %v\n", err)
		return 2
	}

	var srv *admin.Server
	if cfg.HTTP.Listen != "" {
		srv = admin.New(reg, log)
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
	}

	// One deadline for the whole stop, because orchestrators SIGKILL at their own grace
	// period: from SIGTERM/SIGINT, shutdownGrace bounds the worker's drain and checkpoints,
	// the shadow samples' flush and the admin server's close together (planStop). /readyz
	// fails from the signal on (the worker reports not ready once stopping begins), while
	// /metrics and /healthz keep answering until the admin server closes.
	began := time.Now()
	planned := make(chan stopPlan, 1)
	go func() {
		<-ctx.Done()
		plan := planStop(time.Now(), cfg.ShutdownGrace.D())
		planned <- plan
		wctx, cancel := context.WithDeadline(context.Background(), plan.worker)
		defer cancel()
		_ = w.Stop(wctx) // Run returns its result
	}()
	err = w.Run(context.WithoutCancel(ctx)) // until the goroutine above stops it
	plan := <-planned                       // Run returns only after Stop began
	if shadow != nil {                      // what is pending, then the admin server
		sctx, cancel := context.WithDeadline(context.Background(), plan.shadow)
		shadow.Close(sctx)
		cancel()
	}
	if srv != nil {
		sctx, cancel := context.WithDeadline(context.Background(), plan.admin)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	if err != nil {
		log.Error("worker stopped with an error", slog.String("error", err.Error()))
		return 1
	}
	log.Info("meshgate stopped", slog.Duration("uptime", time.Since(began)), slog.Duration("stopTook", time.Since(plan.signal)))
	return 0
}

// stopPlan is the deadlines of a graceful exit, all inside shutdownGrace from the signal.
type stopPlan struct {
	signal time.Time // SIGTERM/SIGINT
	worker time.Time // drain in-flight batches, checkpoint what the sinks acknowledged, release leases
	shadow time.Time // flush the pending shadow samples
	admin  time.Time // close the admin server (in-flight scrapes and probes)
	exit   time.Time // signal + shutdownGrace: the last log lines and the AWS call recording before it
}

// planStop splits grace: the worker gets all but a reserve of a fifth of it (at most 2 s,
// 200 ms at the 1 s minimum); the shadow flush the first half of the reserve, the admin
// server the next quarter, and the last quarter is left for logging and exiting.
func planStop(signal time.Time, grace time.Duration) stopPlan {
	reserve := min(grace/5, 2*time.Second)
	exit := signal.Add(grace)
	return stopPlan{
		signal: signal,
		worker: exit.Add(-reserve),
		shadow: exit.Add(-reserve / 2),
		admin:  exit.Add(-reserve / 4),
		exit:   exit,
	}
}
