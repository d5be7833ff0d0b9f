// Package reload keeps a worker's contract set current: it loads the contracts from a
// Source (a local directory, or an S3 prefix polled by ETag), and on SIGHUP or when the
// source changes it compiles the whole new set, vets it, and swaps it in atomically. On any
// problem the running set stays, the problems are logged with their file:line:col, and the
// metrics say so.
//
// The swap is a single atomic pointer store. The worker's pipelines read the set once at
// the start of each batch (processor.PipelineConfig.Rules = Reloader.Current), so a batch is
// judged entirely by the old set or entirely by the new one, never by a half-loaded one.
//
// The library never handles signals: the command does (signal.Notify for SIGHUP) and calls
// Trigger.
//
// Metrics (on the injected *metrics.Metrics): meshgate_contract_reloads_total{result},
// meshgate_contracts_last_reload_successful, meshgate_contracts_last_reload_success_timestamp_seconds,
// meshgate_contract_info{domain,version,hash,stage} and meshgate_contracts_loaded.
package reload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/meshgate/meshgate/metrics"
	"github.com/meshgate/meshgate/rules"
)

// ErrRejected is wrapped by the error of a load whose set compiled but failed Config.Check.
var ErrRejected = errors.New("do not fit the worker")

// Config is what a Reloader needs. Source is required.
type Config struct {
	Source Source
	// Options are passed to rules.Load (hash salt, limits).
	Options rules.Options
	// Check vets a freshly compiled set before it replaces the running one, e.g. that every
	// configured stream still has a contract and a curated stream. A set it rejects is
	// treated like one that does not compile. Optional.
	Check func(*rules.Set) error
	// Interval is how often Run polls the source's stamp; 0 disables polling (Trigger still
	// reloads). Settle is how long a changed stamp must stay the same before the change is
	// loaded, so that a directory being written file by file is loaded once it is complete
	// (default: Interval/4, at most 1s).
	Interval time.Duration
	Settle   time.Duration
	// Metrics (optional) and Describe, which turns a set into the contract info series
	// (processor.ContractMetrics); both or neither.
	Metrics  *metrics.Metrics
	Describe func(*rules.Set) []metrics.ContractInfo
	// Logger (default: discard) and Now (default time.Now).
	Logger *slog.Logger
	Now    func() time.Time
}

// Reloader owns the current contract set. Current is safe for concurrent use and never
// blocks; loads are serialised.
type Reloader struct {
	cfg     Config
	log     *slog.Logger
	current atomic.Pointer[rules.Set]
	trigger chan struct{}

	mu         sync.Mutex // serialises loads; guards the fields below
	stamp      string     // stamp of the running set's source
	failed     string     // stamp of the last content that failed to load ("" if none)
	lastResult error
	stampErr   string // the last Stamp error logged, so a lasting one is logged once
}

// New loads the first set from cfg.Source and returns a Reloader holding it, or the load's
// error (a rules.ErrorList for contracts that do not compile). The first load is recorded
// in the metrics as a successful reload; a failed first load is not recorded (the worker
// does not start).
func New(ctx context.Context, cfg Config) (*Reloader, error) {
	if cfg.Source == nil {
		return nil, errors.New("reload: Config.Source is required")
	}
	if (cfg.Metrics == nil) != (cfg.Describe == nil) {
		return nil, errors.New("reload: Config.Metrics and Config.Describe go together")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Settle <= 0 {
		cfg.Settle = min(cfg.Interval/4, time.Second)
	}
	r := &Reloader{cfg: cfg, log: cfg.Logger, trigger: make(chan struct{}, 1)}
	set, stamp, err := r.load(ctx)
	if err != nil {
		return nil, err
	}
	r.swap(set, stamp)
	return r, nil
}

// Current returns the running set. Callers keep what it returns for the duration of one
// unit of work (a batch) and call it again for the next.
func (r *Reloader) Current() *rules.Set { return r.current.Load() }

// Trigger asks Run to reload now (SIGHUP), even if the source looks unchanged. It never
// blocks; triggers that arrive while one is pending are merged.
func (r *Reloader) Trigger() {
	select {
	case r.trigger <- struct{}{}:
	default:
	}
}

// Run polls the source every Interval and serves Trigger until ctx ends; it returns nil
// then. A poll that finds a new stamp waits Settle, checks that the stamp held, and
// reloads. Content that failed to load is not retried until it changes again (or a
// Trigger).
func (r *Reloader) Run(ctx context.Context) error {
	var tick <-chan time.Time
	if r.cfg.Interval > 0 {
		t := time.NewTicker(r.cfg.Interval)
		defer t.Stop()
		tick = t.C
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-r.trigger:
			r.Reload(ctx, "signal")
		case <-tick:
			r.poll(ctx)
		}
	}
}

// poll reloads when the source's stamp differs from the running set's and from the last
// failed one, and has settled.
func (r *Reloader) poll(ctx context.Context) {
	stamp, err := r.cfg.Source.Stamp(ctx)
	r.mu.Lock()
	if err != nil {
		if ctx.Err() == nil && err.Error() != r.stampErr {
			r.log.Warn("contracts source not readable; keeping the running set", slog.String("source", r.cfg.Source.String()), slog.String("error", err.Error()))
		}
		r.stampErr = err.Error()
		r.mu.Unlock()
		return
	}
	r.stampErr = ""
	seen := stamp == r.stamp || stamp == r.failed
	r.mu.Unlock()
	if seen {
		return
	}
	t := time.NewTimer(r.cfg.Settle)
	select {
	case <-ctx.Done():
		t.Stop()
		return
	case <-t.C:
	}
	again, err := r.cfg.Source.Stamp(ctx)
	if err != nil || again != stamp {
		return // still changing: the next poll sees it
	}
	r.Reload(ctx, "source changed")
}

// Reload loads the source now. When the new set compiles and passes Check it replaces the
// running one (a set with the same content hash as the running one is kept as it is) and
// Reload returns nil; otherwise the running set stays and Reload returns the error, which
// is also logged with every problem's file:line:col and counted in the metrics.
func (r *Reloader) Reload(ctx context.Context, why string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	old := r.current.Load()
	set, stamp, err := r.load(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return err // shutting down: not a reload failure
		}
		r.failed, r.lastResult = stamp, err
		if r.cfg.Metrics != nil {
			r.cfg.Metrics.ReloadFailed()
		}
		attrs := []slog.Attr{slog.String("source", r.cfg.Source.String()), slog.String("trigger", why),
			slog.String("running", old.Hash()), slog.String("error", err.Error())}
		var list rules.ErrorList
		if errors.As(err, &list) {
			attrs = append(attrs, slog.Int("problems", len(list)), slog.Any("positions", positions(list)))
		}
		r.log.LogAttrs(ctx, slog.LevelError, "contracts reload failed; keeping the running set", attrs...)
		return err
	}
	r.failed, r.lastResult = "", nil
	if old != nil && set.Hash() == old.Hash() {
		r.stamp = stamp
		if r.cfg.Metrics != nil {
			r.cfg.Metrics.ReloadSucceeded(r.cfg.Describe(old), r.cfg.Now())
		}
		r.log.LogAttrs(ctx, slog.LevelInfo, "contracts reloaded: unchanged", slog.String("source", r.cfg.Source.String()),
			slog.String("trigger", why), slog.String("hash", old.Hash()))
		return nil
	}
	r.swap(set, stamp)
	attrs := []slog.Attr{slog.String("source", r.cfg.Source.String()), slog.String("trigger", why),
		slog.String("hash", set.Hash()), slog.Int("contracts", len(set.Contracts())), slog.Int("shadows", len(set.Shadows())),
		slog.Int("policies", len(set.Policies()))}
	if old != nil {
		attrs = append(attrs, slog.String("previous", old.Hash()), slog.Any("changes", changes(old, set)))
	}
	r.log.LogAttrs(ctx, slog.LevelInfo, "contracts reloaded", attrs...)
	return nil
}

// LastError returns the error of the most recent load attempt, nil when it succeeded.
func (r *Reloader) LastError() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastResult
}

// load fetches, compiles and vets a set. Errors name the source's files (an S3 source's
// temporary directory is replaced by its s3:// URI). The stamp is returned even on error.
func (r *Reloader) load(ctx context.Context) (*rules.Set, string, error) {
	dir, stamp, cleanup, err := r.cfg.Source.Fetch(ctx)
	if err != nil {
		return nil, stamp, fmt.Errorf("fetch contracts from %s: %w", r.cfg.Source, err)
	}
	defer cleanup()
	set, err := rules.Load(dir, r.cfg.Options)
	if err != nil {
		return nil, stamp, renameFiles(err, dir, r.cfg.Source.String())
	}
	if r.cfg.Check != nil {
		if err := r.cfg.Check(set); err != nil {
			return nil, stamp, fmt.Errorf("contracts from %s %w: %w", r.cfg.Source, ErrRejected, err)
		}
	}
	return set, stamp, nil
}

// swap publishes set and records the success.
func (r *Reloader) swap(set *rules.Set, stamp string) {
	r.current.Store(set)
	r.stamp = stamp
	if r.cfg.Metrics != nil {
		r.cfg.Metrics.ReloadSucceeded(r.cfg.Describe(set), r.cfg.Now())
	}
}

// renameFiles replaces dir by name in the file names of a rules.ErrorList (and in the text
// of any other error).
func renameFiles(err error, dir, name string) error {
	if dir == name {
		return err
	}
	var list rules.ErrorList
	if errors.As(err, &list) {
		for _, e := range list {
			if rest, ok := strings.CutPrefix(e.File, dir); ok {
				e.File = strings.TrimSuffix(name, "/") + rest
			}
		}
		return list
	}
	return errors.New(strings.ReplaceAll(err.Error(), dir, strings.TrimSuffix(name, "/")))
}

// positions lists "file:line:col: msg" for each problem (without the snippets).
func positions(list rules.ErrorList) []string {
	out := make([]string, 0, len(list))
	for _, e := range list {
		first, _, _ := strings.Cut(e.Error(), "\n")
		out = append(out, first)
	}
	return out
}

// changes describes how the contracts differ between two sets: "orders 2.1.0 -> 2.2.0",
// "orders shadow + 2.2.0-rc1", "payments - 1.0.0", "orders 2.1.0 (changed)".
func changes(old, cur *rules.Set) []string {
	var out []string
	type key struct{ domain, stage string }
	before := map[key]*rules.Contract{}
	for _, c := range append(append([]*rules.Contract{}, old.Contracts()...), old.Shadows()...) {
		before[key{c.Domain, c.Stage}] = c
	}
	label := func(k key) string {
		if k.stage == rules.StageShadow {
			return k.domain + " shadow"
		}
		return k.domain
	}
	for _, c := range append(append([]*rules.Contract{}, cur.Contracts()...), cur.Shadows()...) {
		k := key{c.Domain, c.Stage}
		prev, ok := before[k]
		delete(before, k)
		switch {
		case !ok:
			out = append(out, label(k)+" + "+c.Version)
		case prev.Version != c.Version:
			out = append(out, label(k)+" "+prev.Version+" -> "+c.Version)
		case prev.Hash != c.Hash:
			out = append(out, label(k)+" "+c.Version+" (changed)")
		}
	}
	var gone []string
	for k, c := range before {
		gone = append(gone, label(k)+" - "+c.Version)
	}
	sort.Strings(gone)
	return append(out, gone...)
}
