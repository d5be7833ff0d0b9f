package main

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
	"gopkg.in/yaml.v3"

	// Only the components the peer uses: file input/output (io) and the processors and
	// Bloblang functions (pure).
	_ "github.com/redpanda-data/benthos/v4/public/components/io"
	_ "github.com/redpanda-data/benthos/v4/public/components/pure"
)

// The Bloblang the peer runs. {{...}} placeholders are filled in by render.
var (
	//go:embed validate.blobl
	validateBlobl string
	//go:embed enrich.blobl
	enrichBlobl string
	//go:embed quarantine.blobl
	quarantineBlobl string
)

// Config says what one peer run does.
type Config struct {
	// In is the NDJSON input; Good and Quarantine the outputs ("" discards).
	In, Good, Quarantine string
	// Lookup is the country → region CSV (code,region,...) the orders contract names; it
	// becomes a Bloblang object literal.
	Lookup string
	// Now is the judging time (freshness, processing metadata, quarantine provenance).
	Now time.Time
	// Salt is the hash salt (the mapping reads it from MESHGATE_HASH_SALT).
	Salt string
	// Threads is the number of pipeline threads; Batch the input batch size.
	Threads, Batch int
}

// Summary is what the peer decided, in the JSON shape of `meshgate check --json` (the fields
// benchtool compare reads).
type Summary struct {
	Events      int             `json:"events"`
	Passed      int             `json:"passed"`
	Warned      int             `json:"warned"`
	Quarantined int             `json:"quarantined"`
	Rules       []RuleCount     `json:"rules"`
	Decode      map[string]int  `json:"decode"`
	byRule      map[string]*int `json:"-"`
	mu          sync.Mutex      `json:"-"`
}

// RuleCount is how often one rule failed.
type RuleCount struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	Failures int    `json:"failures"`
}

// Run runs the peer pipeline over cfg.In to the end and returns its summary.
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if cfg.Salt == "" {
		return nil, errors.New("no hash salt")
	}
	if err := os.Setenv("MESHGATE_HASH_SALT", cfg.Salt); err != nil {
		return nil, err
	}
	// Benthos's file output appends; start both outputs empty, as meshgate check does.
	for _, path := range []string{cfg.Good, cfg.Quarantine} {
		if path != "" {
			if err := os.WriteFile(path, nil, 0o644); err != nil {
				return nil, err
			}
		}
	}
	regions, err := regionsLiteral(cfg.Lookup)
	if err != nil {
		return nil, err
	}
	r := strings.NewReplacer("{{REGIONS}}", regions, "{{NOW_NS}}", strconv.FormatInt(cfg.Now.UnixNano(), 10),
		"{{NOW}}", cfg.Now.UTC().Format(time.RFC3339Nano),
		"{{PROCESSED_AT}}", cfg.Now.UTC().Truncate(time.Second).Format(time.RFC3339))

	sum := &Summary{Decode: map[string]int{}, byRule: map[string]*int{}}
	env := service.NewEnvironment()
	if err := env.RegisterBatchProcessor("meshgate_tally", service.NewConfigSpec(), func(*service.ParsedConfig, *service.Resources) (service.BatchProcessor, error) {
		return tally{sum}, nil
	}); err != nil {
		return nil, err
	}
	conf, err := yaml.Marshal(pipelineConfig(cfg, r))
	if err != nil {
		return nil, err
	}
	b := env.NewStreamBuilder()
	if err := b.SetYAML(string(conf)); err != nil {
		return nil, fmt.Errorf("peer config: %w\n%s", err, conf)
	}
	stream, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("build peer stream: %w", err)
	}
	if err := stream.Run(ctx); err != nil {
		return nil, fmt.Errorf("run peer stream: %w", err)
	}
	sum.finish()
	return sum, nil
}

// pipelineConfig is the Benthos config: file input in batches → validate → (decode failures
// caught) → enrich what is not quarantined → tally → good file or quarantine file.
func pipelineConfig(cfg Config, r *strings.Replacer) map[string]any {
	out := func(path string) map[string]any {
		if path == "" {
			return map[string]any{"drop": map[string]any{}}
		}
		return map[string]any{"file": map[string]any{"path": path, "codec": "lines"}}
	}
	quarOut := out(cfg.Quarantine)
	quarOut["processors"] = []any{map[string]any{"mapping": r.Replace(quarantineBlobl)}}
	return map[string]any{
		"input": map[string]any{
			"broker": map[string]any{
				"inputs": []any{map[string]any{"file": map[string]any{
					"paths":   []string{cfg.In},
					"scanner": map[string]any{"lines": map[string]any{"max_buffer_size": 8 << 20}},
				}}},
				"batching": map[string]any{"count": cfg.Batch, "period": "20ms"},
			},
		},
		"pipeline": map[string]any{
			"threads": cfg.Threads,
			"processors": []any{
				map[string]any{"mapping": r.Replace(validateBlobl)},
				map[string]any{"catch": []any{map[string]any{"mutation": `meta verdict = "quarantined"
meta failures = [{"rule": "decode", "severity": "error", "message": error()}]`}}},
				map[string]any{"switch": []any{map[string]any{
					"check":      `@verdict != "quarantined"`,
					"processors": []any{map[string]any{"mutation": r.Replace(enrichBlobl)}},
				}}},
				map[string]any{"meshgate_tally": map[string]any{}},
			},
		},
		"output": map[string]any{
			"switch": map[string]any{"cases": []any{
				map[string]any{"check": `@verdict == "quarantined"`, "output": quarOut},
				map[string]any{"output": out(cfg.Good)},
			}},
		},
		"http":             map[string]any{"enabled": false},
		"metrics":          map[string]any{"none": map[string]any{}},
		"logger":           map[string]any{"level": "WARN"},
		"shutdown_timeout": "30s",
	}
}

// regionsLiteral renders the lookup CSV (header row; columns code and region) as a Bloblang
// object literal.
func regionsLiteral(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("lookup table: %w", err)
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil || len(recs) < 2 {
		return "", fmt.Errorf("lookup table %s: not a CSV with a header row: %v", path, err)
	}
	ki, vi := -1, -1
	for i, h := range recs[0] {
		switch strings.TrimSpace(h) {
		case "code":
			ki = i
		case "region":
			vi = i
		}
	}
	if ki < 0 || vi < 0 {
		return "", fmt.Errorf("lookup table %s: no code and region columns", path)
	}
	m := map[string]string{}
	for _, rec := range recs[1:] {
		m[rec[ki]] = rec[vi]
	}
	lit, err := json.Marshal(m)
	return string(lit), err
}

// tally counts verdicts and rule failures from the metadata the validation mapping sets.
type tally struct{ s *Summary }

func (t tally) ProcessBatch(_ context.Context, b service.MessageBatch) ([]service.MessageBatch, error) {
	t.s.mu.Lock()
	defer t.s.mu.Unlock()
	for _, m := range b {
		t.s.Events++
		verdict, _ := m.MetaGetMut("verdict")
		switch verdict {
		case "passed":
			t.s.Passed++
		case "warned":
			t.s.Warned++
		default:
			t.s.Quarantined++
		}
		fs, _ := m.MetaGetMut("failures")
		list, _ := fs.([]any)
		for _, f := range list {
			fm, _ := f.(map[string]any)
			rule, _ := fm["rule"].(string)
			if rule == "decode" {
				t.s.Decode["decode"]++
				continue
			}
			sev, _ := fm["severity"].(string)
			if t.s.byRule[rule] == nil {
				t.s.byRule[rule] = new(int)
				t.s.Rules = append(t.s.Rules, RuleCount{Rule: rule, Severity: sev})
			}
			*t.s.byRule[rule]++
		}
	}
	return []service.MessageBatch{b}, nil
}

func (tally) Close(context.Context) error { return nil }

func (s *Summary) finish() {
	for i := range s.Rules {
		s.Rules[i].Failures = *s.byRule[s.Rules[i].Rule]
	}
	sort.Slice(s.Rules, func(i, j int) bool { return s.Rules[i].Rule < s.Rules[j].Rule })
}
