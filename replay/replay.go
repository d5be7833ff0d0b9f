// Package replay re-judges quarantined records with the current contracts and sends the
// ones that now pass to their curated streams, with their provenance (`meshgate replay`).
//
// Records that still fail stay where they are: quarantine objects are never modified.
// Each replayed record is listed in a replay manifest next to its object
// (<key>.replay.json, quarantine.ManifestKey), by sequence and subsequence number, with the
// contract version that accepted it; a record already listed is skipped, so running the
// same replay twice puts nothing twice. The manifest of an object is written after the
// curated stream acknowledged that object's records: a replay interrupted between the two
// (a crash, not an error) sends that object's records again next time — at least once, like
// the worker — and the provenance lets consumers drop the copy. Two replays of the same
// objects must not run at the same time.
//
// Every replayed event gets a "_replay" member (Provenance): the source stream, shard,
// sequence and subsequence number, arrival time, the quarantine object, the contract version
// that rejected it and why, the one that accepted it, and when it was replayed.
//
// A record is judged as of its arrival time (JudgeAt "arrival", the default): freshness
// rules and the processing metadata see the time the event arrived, so an event that was
// fresh then is not rejected now for being old. JudgeAt "now" judges it at the current time.
package replay

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/meshgate/meshgate/audit"
	"github.com/meshgate/meshgate/jsonx"
	"github.com/meshgate/meshgate/processor"
	"github.com/meshgate/meshgate/quarantine"
	"github.com/meshgate/meshgate/rules"
)

// S3API is the part of the S3 client replay uses; *s3.Client satisfies it.
type S3API interface {
	ListObjectsV2(ctx context.Context, in *s3.ListObjectsV2Input, optFns ...func(*s3.Options)) (*s3.ListObjectsV2Output, error)
	GetObject(ctx context.Context, in *s3.GetObjectInput, optFns ...func(*s3.Options)) (*s3.GetObjectOutput, error)
	PutObject(ctx context.Context, in *s3.PutObjectInput, optFns ...func(*s3.Options)) (*s3.PutObjectOutput, error)
}

// JudgeAt values.
const (
	JudgeAtArrival = "arrival"
	JudgeAtNow     = "now"
)

// Field is the member replayed events carry their provenance in.
const Field = "_replay"

// PutTimeout bounds the curated put of one object's records.
const PutTimeout = 2 * time.Minute

// Config is one replay. S3, Bucket, Rules and (unless DryRun) Curated are required.
type Config struct {
	S3     S3API
	Bucket string
	// Prefix selects the objects: a key prefix (a domain, a day, a stream...) or one
	// object's key.
	Prefix string
	// Domain, Since and Until filter the objects by the domain and the dt=YYYY-MM-DD
	// segment of their keys (Since and Until are dates, inclusive; zero means open).
	Domain       string
	Since, Until time.Time
	Rules        *rules.Set
	Curated      processor.CuratedSink
	DryRun       bool
	// JudgeAt is JudgeAtArrival (default) or JudgeAtNow.
	JudgeAt string
	// Now is the clock (default time.Now): replayedAt, and the judging time with JudgeAtNow.
	Now func() time.Time
	// Progress, if set, is called after each object with the counts so far.
	Progress func(done, total int, s *Summary)
	Logger   *slog.Logger
}

// Summary counts what a replay did (or, in a dry run, would do).
type Summary struct {
	DryRun  bool `json:"dryRun"`
	Objects int  `json:"objects"`
	// Filtered are objects under the prefix left out by Domain, Since or Until.
	Filtered int `json:"filtered"`
	Records  int `json:"records"`
	// Replayed records now pass and were sent (would be sent) to Curated streams.
	Replayed map[string]int `json:"replayed"` // by curated stream
	// AlreadyReplayed records are listed in their object's manifest.
	AlreadyReplayed int `json:"alreadyReplayed"`
	// StillFailing records stay in quarantine, by failing rule (or decode reason,
	// "too_large", "no_contract").
	StillFailing int            `json:"stillFailing"`
	FailingBy    map[string]int `json:"failingBy"`
	Manifests    int            `json:"manifests"`
	// Results are per object, in key order.
	Results []ObjectResult `json:"results"`
}

// ObjectResult is what happened to one quarantine object.
type ObjectResult struct {
	Key             string         `json:"key"`
	Records         int            `json:"records"`
	Replayed        map[string]int `json:"replayed,omitempty"`
	AlreadyReplayed int            `json:"alreadyReplayed,omitempty"`
	StillFailing    int            `json:"stillFailing,omitempty"`
}

// TotalReplayed sums Replayed.
func (s *Summary) TotalReplayed() int {
	n := 0
	for _, v := range s.Replayed {
		n += v
	}
	return n
}

// Provenance is the "_replay" member of a replayed event.
type Provenance struct {
	Stream           string    `json:"stream"`
	Shard            string    `json:"shard"`
	SequenceNumber   string    `json:"sequenceNumber"`
	SubSequence      int64     `json:"subSequence"`
	ArrivalTime      time.Time `json:"arrivalTime"`
	QuarantineBucket string    `json:"quarantineBucket"`
	QuarantineKey    string    `json:"quarantineKey"`
	QuarantinedAt    time.Time `json:"quarantinedAt"`
	RejectedBy       Rejection `json:"rejectedBy"`
	AcceptedBy       Contract  `json:"acceptedBy"`
	ReplayedAt       time.Time `json:"replayedAt"`
}

// Rejection is the contract version that quarantined a record, and why.
type Rejection struct {
	Contract string   `json:"contract,omitempty"`
	Version  string   `json:"version,omitempty"`
	Reason   string   `json:"reason"`
	Rules    []string `json:"rules,omitempty"`
}

// Contract names a contract version.
type Contract struct {
	Contract string `json:"contract"`
	Version  string `json:"version"`
	Hash     string `json:"hash"`
}

// Manifest lists the records of one quarantine object that were replayed.
type Manifest struct {
	Object  string          `json:"object"`
	Records []ManifestEntry `json:"records"`
}

// ManifestEntry is one replayed record.
type ManifestEntry struct {
	SequenceNumber string    `json:"sequenceNumber"`
	SubSequence    int64     `json:"subSequence"`
	Curated        string    `json:"curated"`
	AcceptedBy     Contract  `json:"acceptedBy"`
	ReplayedAt     time.Time `json:"replayedAt"`
}

func recordID(seq string, sub int64) string { return seq + "/" + strconv.FormatInt(sub, 10) }

// Run replays the objects cfg selects, one at a time in key order, and returns what it
// did. It stops at the first infrastructure error (listing, reading, a curated put that
// is not acknowledged within PutTimeout, a manifest write) and returns the summary so far
// with it; objects done by then are complete (records and manifest).
func Run(ctx context.Context, cfg Config) (*Summary, error) {
	if cfg.S3 == nil || cfg.Bucket == "" || cfg.Rules == nil || (!cfg.DryRun && cfg.Curated == nil) {
		return nil, errors.New("replay: S3, Bucket, Rules and Curated are required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.JudgeAt == "" {
		cfg.JudgeAt = JudgeAtArrival
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	sum := &Summary{DryRun: cfg.DryRun, Replayed: map[string]int{}, FailingBy: map[string]int{}}
	keys, err := audit.QuarantineKeys(ctx, cfg.S3, cfg.Bucket, cfg.Prefix)
	if err != nil {
		return sum, err
	}
	var selected []string
	for _, k := range keys {
		if keep(k, cfg) {
			selected = append(selected, k)
		} else {
			sum.Filtered++
		}
	}
	ev := rules.NewEvaluator()
	for i, key := range selected {
		if err := ctx.Err(); err != nil {
			return sum, err
		}
		res, err := replayObject(ctx, cfg, ev, key, sum)
		if err != nil {
			return sum, err
		}
		sum.Objects++
		sum.Results = append(sum.Results, res)
		if cfg.Progress != nil {
			cfg.Progress(i+1, len(selected), sum)
		}
	}
	return sum, nil
}

// keyParts reads domain and day from a quarantine object key
// (prefix/domain/dt=YYYY-MM-DD/stream/shard/first-last.ndjson.gz).
func keyParts(key string) (domain string, day time.Time, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) < 5 {
		return "", time.Time{}, false
	}
	dt, found := strings.CutPrefix(parts[len(parts)-4], "dt=")
	if !found {
		return "", time.Time{}, false
	}
	day, err := time.Parse(time.DateOnly, dt)
	if err != nil {
		return "", time.Time{}, false
	}
	return parts[len(parts)-5], day, true
}

func keep(key string, cfg Config) bool {
	if cfg.Domain == "" && cfg.Since.IsZero() && cfg.Until.IsZero() {
		return true
	}
	domain, day, ok := keyParts(key)
	if !ok {
		return false
	}
	if cfg.Domain != "" && domain != cfg.Domain {
		return false
	}
	if !cfg.Since.IsZero() && day.Before(truncDay(cfg.Since)) {
		return false
	}
	if !cfg.Until.IsZero() && day.After(truncDay(cfg.Until)) {
		return false
	}
	return true
}

func truncDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func getObject(ctx context.Context, c S3API, bucket, key string) ([]byte, bool, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		var nsk interface{ ErrorCode() string }
		if errors.As(err, &nsk) && (nsk.ErrorCode() == "NoSuchKey" || nsk.ErrorCode() == "NotFound") {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("get s3://%s/%s: %w", bucket, key, err)
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	if err != nil {
		return nil, false, fmt.Errorf("read s3://%s/%s: %w", bucket, key, err)
	}
	return data, true, nil
}

// replayObject re-judges one object's records.
func replayObject(ctx context.Context, cfg Config, ev *rules.Evaluator, key string, sum *Summary) (ObjectResult, error) {
	res := ObjectResult{Key: key, Replayed: map[string]int{}}
	data, ok, err := getObject(ctx, cfg.S3, cfg.Bucket, key)
	if err != nil {
		return res, err
	}
	if !ok {
		return res, fmt.Errorf("get s3://%s/%s: object vanished", cfg.Bucket, key)
	}
	recs, err := quarantine.Decode(bytes.NewReader(data))
	if err != nil {
		return res, fmt.Errorf("decode s3://%s/%s: %w", cfg.Bucket, key, err)
	}
	man := Manifest{Object: key}
	if data, ok, err := getObject(ctx, cfg.S3, cfg.Bucket, quarantine.ManifestKey(key)); err != nil {
		return res, err
	} else if ok {
		if err := json.Unmarshal(data, &man); err != nil {
			return res, fmt.Errorf("manifest s3://%s/%s: %w", cfg.Bucket, quarantine.ManifestKey(key), err)
		}
	}
	done := map[string]bool{}
	for _, e := range man.Records {
		done[recordID(e.SequenceNumber, e.SubSequence)] = true
	}
	now := cfg.Now().UTC()
	out := map[string][]processor.CuratedRecord{}
	var streams []string
	var entries []ManifestEntry
	fail := func(why string) {
		res.StillFailing++
		sum.StillFailing++
		sum.FailingBy[why]++
	}
	for i := range recs {
		rec := &recs[i]
		res.Records++
		sum.Records++
		id := recordID(rec.SequenceNumber, rec.SubSequence)
		if done[id] {
			res.AlreadyReplayed++
			sum.AlreadyReplayed++
			continue
		}
		c := contractFor(cfg.Rules, rec)
		if c == nil {
			fail(processor.FailureNoContract)
			continue
		}
		at := now
		if cfg.JudgeAt == JudgeAtArrival {
			switch {
			case !rec.ArrivalTime.IsZero():
				at = rec.ArrivalTime
			case !rec.QuarantinedAt.IsZero():
				at = rec.QuarantinedAt
			}
		}
		v := ev.Judge(c, rules.Input{Data: rec.Payload, PartitionKey: rec.PartitionKey, Now: at})
		if v.Outcome == rules.Quarantined {
			if v.Decode != nil {
				fail(processor.FailureDecode + ":" + v.Decode.Reason)
				continue
			}
			for _, vi := range v.Violations {
				if vi.Severity == rules.SeverityError {
					fail(vi.Rule)
					break
				}
			}
			continue
		}
		accepted := Contract{Contract: c.Domain, Version: c.Version, Hash: c.Hash}
		prov := Provenance{
			Stream: rec.Stream, Shard: rec.Shard, SequenceNumber: rec.SequenceNumber, SubSequence: rec.SubSequence,
			ArrivalTime: rec.ArrivalTime, QuarantineBucket: cfg.Bucket, QuarantineKey: key, QuarantinedAt: rec.QuarantinedAt,
			RejectedBy: Rejection{Contract: rec.Contract, Version: rec.ContractVersion, Reason: rec.Reason, Rules: failedRules(rec.Failures)},
			AcceptedBy: accepted, ReplayedAt: now,
		}
		data, err := withProvenance(v.Output, prov)
		if err != nil {
			fail("provenance: " + err.Error())
			continue
		}
		pk := v.PartitionKey
		if pk == "" {
			pk = rec.PartitionKey
		}
		cr := processor.CuratedRecord{Data: data, PartitionKey: pk}
		if err := processor.CheckCurated(cr); err != nil {
			fail(processor.FailureTooLarge)
			continue
		}
		if _, seen := out[c.Curated]; !seen {
			streams = append(streams, c.Curated)
		}
		out[c.Curated] = append(out[c.Curated], cr)
		entries = append(entries, ManifestEntry{SequenceNumber: rec.SequenceNumber, SubSequence: rec.SubSequence,
			Curated: c.Curated, AcceptedBy: accepted, ReplayedAt: now})
		res.Replayed[c.Curated]++
	}
	for _, s := range streams {
		sum.Replayed[s] += len(out[s])
	}
	if cfg.DryRun || len(entries) == 0 {
		return res, nil
	}
	for _, s := range streams {
		pctx, cancel := context.WithTimeout(ctx, PutTimeout)
		err := cfg.Curated.Put(pctx, s, out[s])
		cancel()
		if err != nil {
			return res, fmt.Errorf("replay %s to %s: %w (nothing recorded in its manifest; a new run sends them again)", key, s, err)
		}
	}
	man.Records = append(man.Records, entries...)
	body, err := json.MarshalIndent(man, "", "  ")
	if err != nil {
		return res, err
	}
	mkey := quarantine.ManifestKey(key)
	if _, err := cfg.S3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(cfg.Bucket), Key: aws.String(mkey),
		Body: bytes.NewReader(body), ContentType: aws.String("application/json"), ContentLength: aws.Int64(int64(len(body)))}); err != nil {
		return res, fmt.Errorf("write manifest s3://%s/%s after replaying %d records: %w", cfg.Bucket, mkey, len(entries), err)
	}
	sum.Manifests++
	cfg.Logger.Info("replayed", slog.String("object", key), slog.Int("records", len(entries)))
	return res, nil
}

// contractFor picks the active contract for a quarantined record: its domain's, else the
// one judging its stream (records of a stream that had no contract).
func contractFor(set *rules.Set, rec *quarantine.Record) *rules.Contract {
	if rec.Domain != "" && rec.Domain != processor.NoContractDomain {
		if c := set.ByDomain(rec.Domain); c != nil {
			return c
		}
	}
	return set.ByStream(rec.Stream)
}

func failedRules(fs []quarantine.Failure) []string {
	var out []string
	for _, f := range fs {
		if f.Severity == string(rules.SeverityError) && !slices.Contains(out, f.Rule) {
			out = append(out, f.Rule)
		}
	}
	return out
}

// withProvenance adds the "_replay" member to an enriched event, keeping its other bytes.
func withProvenance(out []byte, p Provenance) ([]byte, error) {
	raw, err := json.Marshal(p)
	if err != nil {
		return nil, err
	}
	var patch jsonx.Patch
	patch.Set([]string{Field}, jsonx.Raw(raw))
	return jsonx.Apply(out, &patch)
}
