package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Env looks up an environment variable; os.LookupEnv in production, a map in tests.
type Env func(key string) (string, bool)

// Load reads the configuration file at path (no file when path is ""), applies the
// environment overrides from the process environment, fills the worker id from the host
// name when unset, and checks the result. The error, if any, is an ErrorList.
func Load(path string) (*Config, error) {
	var data []byte
	if path != "" {
		var err error
		if data, err = os.ReadFile(path); err != nil {
			return nil, fmt.Errorf("read config: %w", err)
		}
	}
	c, err := Parse(path, data, os.LookupEnv)
	if err != nil {
		return nil, err
	}
	if c.WorkerID == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			return nil, ErrorList{{File: path, Field: "workerID", Msg: "not set and the host name is unknown; set MESHGATE_WORKER_ID"}}
		}
		c.WorkerID = host
	}
	return c, nil
}

// Parse decodes data (the contents of file; file only names it in errors and anchors
// relative paths) over Default(), applies the overrides from env and checks the result.
// Empty data means no file: defaults and environment only. The worker id is left empty
// when neither the file nor env sets it (Load fills in the host name).
func Parse(file string, data []byte, env Env) (*Config, error) {
	c := Default()
	d := &decoder{file: file, sources: map[string]source{}}
	if len(bytes.TrimSpace(data)) > 0 {
		var root yaml.Node
		dec := yaml.NewDecoder(bytes.NewReader(data))
		if err := dec.Decode(&root); err != nil {
			return nil, ErrorList{yamlSyntaxError(file, err)}
		}
		var extra yaml.Node
		if err := dec.Decode(&extra); err == nil {
			at := &extra
			if len(extra.Content) > 0 {
				at = extra.Content[0]
			}
			return nil, ErrorList{{File: file, Line: at.Line, Col: at.Column, Msg: "more than one YAML document; want one"}}
		} else if !errors.Is(err, io.EOF) {
			return nil, ErrorList{yamlSyntaxError(file, err)}
		}
		if len(root.Content) == 1 {
			d.decode(root.Content[0], reflect.ValueOf(&c).Elem(), "")
		}
		if len(d.errs) > 0 {
			return nil, d.errs
		}
		if c.Contracts != "" && !filepath.IsAbs(c.Contracts) && !strings.HasPrefix(c.Contracts, "s3://") && file != "" {
			c.Contracts = filepath.Join(filepath.Dir(file), c.Contracts)
		}
	}
	d.applyEnv(&c, env)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	d.check(&c)
	if len(d.errs) > 0 {
		return nil, d.errs
	}
	return &c, nil
}

var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// yamlSyntaxError turns yaml.v3's "yaml: line N: msg" into a positioned Error.
func yamlSyntaxError(file string, err error) *Error {
	msg := err.Error()
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return &Error{File: file, Line: line, Col: 1, Msg: "invalid YAML: " + m[2]}
	}
	return &Error{File: file, Msg: "invalid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

// envVar is one environment override: the variable, the field path it sets, and how.
type envVar struct {
	name  string
	field string
	set   func(c *Config, v string) error
}

func str(p func(c *Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *p(c) = v; return nil }
}

func integer(p func(c *Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		i, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("want an integer, got %q", v)
		}
		*p(c) = i
		return nil
	}
}

func duration(p func(c *Config) *Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := parseDuration(strings.TrimSpace(v))
		if err != nil {
			return err
		}
		*p(c) = d
		return nil
	}
}

func boolean(p func(c *Config) *bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("want true or false, got %q", v)
		}
		*p(c) = b
		return nil
	}
}

// envVars are the environment overrides, applied in this order after the file.
// MESHGATE_STREAMS replaces the stream list with comma-separated names (contract and
// curated stream then come from the contracts, lease tables from MESHGATE_LEASE_TABLES or
// the application name).
var envVars = []envVar{
	{"MESHGATE_APPLICATION", "application", str(func(c *Config) *string { return &c.Application })},
	{"MESHGATE_REGION", "region", str(func(c *Config) *string { return &c.Region })},
	{"MESHGATE_WORKER_ID", "workerID", str(func(c *Config) *string { return &c.WorkerID })},
	{"MESHGATE_CONTRACTS", "contracts", str(func(c *Config) *string { return &c.Contracts })},
	{"MESHGATE_CONTRACTS_RELOAD", "contractsReload", duration(func(c *Config) *Duration { return &c.ContractsReload })},
	{"MESHGATE_STREAMS", "streams", func(c *Config, v string) error {
		c.Streams = nil
		for _, name := range strings.Split(v, ",") {
			if name = strings.TrimSpace(name); name != "" {
				c.Streams = append(c.Streams, Stream{Name: name})
			}
		}
		return nil
	}},
	{"MESHGATE_LEASE_TABLES", "streams.leaseTable", setLeaseTables},
	{"MESHGATE_QUARANTINE_BUCKET", "quarantine.bucket", str(func(c *Config) *string { return &c.Quarantine.Bucket })},
	{"MESHGATE_QUARANTINE_PREFIX", "quarantine.prefix", str(func(c *Config) *string { return &c.Quarantine.Prefix })},
	{"MESHGATE_QUARANTINE_KMS_KEY_ID", "quarantine.kmsKeyID", str(func(c *Config) *string { return &c.Quarantine.KMSKeyID })},
	{"MESHGATE_KINESIS_ENDPOINT", "endpoints.kinesis", str(func(c *Config) *string { return &c.Endpoints.Kinesis })},
	{"MESHGATE_DYNAMODB_ENDPOINT", "endpoints.dynamodb", str(func(c *Config) *string { return &c.Endpoints.DynamoDB })},
	{"MESHGATE_S3_ENDPOINT", "endpoints.s3", str(func(c *Config) *string { return &c.Endpoints.S3 })},
	{"MESHGATE_SHADOW_SAMPLE_INTERVAL", "shadow.sampleInterval", duration(func(c *Config) *Duration { return &c.Shadow.SampleInterval })},
	{"MESHGATE_SHADOW_SAMPLES", "shadow.samples", integer(func(c *Config) *int { return &c.Shadow.Samples })},
	{"MESHGATE_LISTEN", "http.listen", str(func(c *Config) *string { return &c.HTTP.Listen })},
	{"MESHGATE_LOG_LEVEL", "log.level", str(func(c *Config) *string { return &c.Log.Level })},
	{"MESHGATE_SHUTDOWN_GRACE", "shutdownGrace", duration(func(c *Config) *Duration { return &c.ShutdownGrace })},
	{"MESHGATE_KCL_INITIAL_POSITION", "kcl.initialPosition", str(func(c *Config) *string { return &c.KCL.InitialPosition })},
	{"MESHGATE_KCL_MAX_RECORDS", "kcl.maxRecords", integer(func(c *Config) *int { return &c.KCL.MaxRecords })},
	{"MESHGATE_KCL_IDLE_TIME_BETWEEN_READS", "kcl.idleTimeBetweenReads", duration(func(c *Config) *Duration { return &c.KCL.IdleTimeBetweenReads })},
	{"MESHGATE_KCL_FAILOVER_TIME", "kcl.failoverTime", duration(func(c *Config) *Duration { return &c.KCL.FailoverTime })},
	{"MESHGATE_KCL_MAX_LEASES_PER_WORKER", "kcl.maxLeasesPerWorker", integer(func(c *Config) *int { return &c.KCL.MaxLeasesPerWorker })},
	{"MESHGATE_KCL_SHARD_SYNC_INTERVAL", "kcl.shardSyncInterval", duration(func(c *Config) *Duration { return &c.KCL.ShardSyncInterval })},
	{"MESHGATE_KCL_LEASE_STEALING", "kcl.leaseStealing", boolean(func(c *Config) *bool { return &c.KCL.LeaseStealing })},
}

// setLeaseTables applies MESHGATE_LEASE_TABLES: comma-separated stream=table pairs that set
// the leaseTable of streams already configured (by the file or MESHGATE_STREAMS, which is
// applied first). An empty value changes nothing.
func setLeaseTables(c *Config, v string) error {
	for _, pair := range strings.Split(v, ",") {
		if pair = strings.TrimSpace(pair); pair == "" {
			continue
		}
		stream, table, ok := strings.Cut(pair, "=")
		stream, table = strings.TrimSpace(stream), strings.TrimSpace(table)
		if !ok || stream == "" || table == "" {
			return fmt.Errorf("want stream=table pairs separated by commas, got %q", pair)
		}
		i := slices.IndexFunc(c.Streams, func(s Stream) bool { return s.Name == stream })
		if i < 0 {
			return fmt.Errorf("stream %q is not a configured source stream", stream)
		}
		c.Streams[i].LeaseTable = table
	}
	return nil
}

// EnvVars lists the names of the environment variables Load reads, in order of
// application (AWS_REGION and AWS_DEFAULT_REGION are read only when no region is set).
func EnvVars() []string {
	out := make([]string, len(envVars))
	for i, e := range envVars {
		out[i] = e.name
	}
	return out
}

func (d *decoder) applyEnv(c *Config, env Env) {
	if env == nil {
		return
	}
	for _, e := range envVars {
		v, ok := env(e.name)
		if !ok {
			continue
		}
		before := make([]string, len(c.Streams))
		for i, s := range c.Streams {
			before[i] = s.LeaseTable
		}
		if err := e.set(c, v); err != nil {
			d.errs = append(d.errs, &Error{Env: e.name, Msg: err.Error()})
			continue
		}
		d.sources[e.field] = source{env: e.name}
		switch e.field {
		case "streams":
			for i := range c.Streams {
				d.sources[fmt.Sprintf("streams[%d].name", i)] = source{env: e.name}
			}
		case "streams.leaseTable":
			for i, s := range c.Streams {
				if i < len(before) && s.LeaseTable != before[i] {
					d.sources[fmt.Sprintf("streams[%d].leaseTable", i)] = source{env: e.name}
				}
			}
		}
	}
	if c.Region == "" {
		for _, name := range []string{"AWS_REGION", "AWS_DEFAULT_REGION"} {
			if v, ok := env(name); ok && v != "" {
				c.Region = v
				d.sources["region"] = source{env: name}
				break
			}
		}
	}
}

// problem records a semantic error about field, positioned where its value came from.
func (d *decoder) problem(field, format string, args ...any) {
	e := &Error{File: d.file, Field: field, Msg: fmt.Sprintf(format, args...)}
	if s, ok := d.sources[field]; ok {
		e.Line, e.Col, e.Env = s.line, s.col, s.env
	}
	d.errs = append(d.errs, e)
}

var (
	// Kinesis stream names; DynamoDB table names allow the same characters (3..255).
	nameRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)
	// S3 bucket names (general purpose buckets): lowercase letters, digits, dots, hyphens.
	bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$`)
)

func (d *decoder) check(c *Config) {
	switch {
	case c.Application == "":
		d.problem("application", "required: it names the lease table")
	case !nameRE.MatchString(c.Application) || len(c.Application) < 3 || len(c.Application) > 200:
		d.problem("application", "%q is not usable as a DynamoDB table name (3..200 of a-z A-Z 0-9 _ . -)", c.Application)
	}
	if c.Region == "" {
		d.problem("region", "required (set region, MESHGATE_REGION or AWS_REGION)")
	}
	if c.Contracts == "" {
		d.problem("contracts", "required: the directory of contracts")
	}
	if c.ContractsReload < 0 {
		d.problem("contractsReload", "must not be negative (0 disables polling)")
	}
	if c.Shadow.Samples < 0 || c.Shadow.Samples > 10000 {
		d.problem("shadow.samples", "must be 0 (no sampling) to 10000")
	}
	if c.Shadow.SampleInterval < Duration(time.Second) {
		d.problem("shadow.sampleInterval", "must be at least 1s")
	}
	if len(c.Streams) == 0 {
		d.problem("streams", "at least one source stream is required (or MESHGATE_STREAMS)")
	}
	seen := map[string]bool{}
	for i, s := range c.Streams {
		p := fmt.Sprintf("streams[%d]", i)
		switch {
		case s.Name == "":
			d.problem(p+".name", "required")
		case !validStreamName(s.Name):
			d.problem(p+".name", "%q is not a valid Kinesis stream name (1..128 of a-z A-Z 0-9 _ . -)", s.Name)
		case seen[s.Name]:
			d.problem(p+".name", "stream %q is listed twice", s.Name)
		}
		seen[s.Name] = true
		if s.Curated != "" && !validStreamName(s.Curated) {
			d.problem(p+".curated", "%q is not a valid Kinesis stream name (1..128 of a-z A-Z 0-9 _ . -)", s.Curated)
		}
	}
	for i, s := range c.Streams {
		if s.Curated != "" && seen[s.Curated] {
			d.problem(fmt.Sprintf("streams[%d].curated", i), "curated stream %q is also a source stream: events would loop", s.Curated)
		}
	}
	// Lease tables: a pinned name must be a DynamoDB table name; a derived one must fit; no
	// two streams may share a table (their shard ids would collide in it).
	tables := map[string]string{} // table -> the stream that has it
	for i, s := range c.Streams {
		if s.Name == "" {
			continue
		}
		field, t := fmt.Sprintf("streams[%d].name", i), c.LeaseTable(s.Name)
		if s.LeaseTable != "" {
			field = fmt.Sprintf("streams[%d].leaseTable", i)
			if !validTableName(t) {
				d.problem(field, "%q is not a valid DynamoDB table name (3..255 of a-z A-Z 0-9 _ . -)", t)
				continue
			}
		} else if len(t) > 255 {
			d.problem(field, "lease table name %q is longer than 255 characters", t)
			continue
		}
		if other, dup := tables[t]; dup && other != s.Name {
			d.problem(field, "lease table %q is also the lease table of stream %q; each stream needs its own", t, other)
			continue
		}
		tables[t] = s.Name
	}
	switch b := c.Quarantine.Bucket; {
	case b == "":
		d.problem("quarantine.bucket", "required (or MESHGATE_QUARANTINE_BUCKET)")
	case !bucketRE.MatchString(b) || strings.Contains(b, ".."):
		d.problem("quarantine.bucket", "%q is not a valid S3 bucket name", b)
	}
	if strings.HasPrefix(c.Quarantine.Prefix, "/") {
		d.problem("quarantine.prefix", "must not start with /: object keys are relative to the bucket")
	}
	for _, ep := range []struct{ field, v string }{
		{"endpoints.kinesis", c.Endpoints.Kinesis},
		{"endpoints.dynamodb", c.Endpoints.DynamoDB},
		{"endpoints.s3", c.Endpoints.S3},
	} {
		if ep.v == "" {
			continue
		}
		if u, err := url.Parse(ep.v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			d.problem(ep.field, "want an http:// or https:// URL, got %q", ep.v)
		}
	}
	k := c.KCL
	if k.InitialPosition != TrimHorizon && k.InitialPosition != Latest {
		d.problem("kcl.initialPosition", "want TRIM_HORIZON or LATEST, got %q", k.InitialPosition)
	}
	if k.MaxRecords < 1 || k.MaxRecords > 10000 {
		d.problem("kcl.maxRecords", "want 1..10000 (the GetRecords limit), got %d", k.MaxRecords)
	}
	if k.IdleTimeBetweenReads.D() < time.Millisecond || k.IdleTimeBetweenReads.D() > time.Minute {
		d.problem("kcl.idleTimeBetweenReads", "want 1ms..1m, got %s", k.IdleTimeBetweenReads)
	}
	if k.FailoverTime.D() < time.Second || k.FailoverTime.D() > 10*time.Minute {
		d.problem("kcl.failoverTime", "want 1s..10m, got %s", k.FailoverTime)
	}
	if k.MaxLeasesPerWorker < 0 {
		d.problem("kcl.maxLeasesPerWorker", "want 0 (no limit) or more, got %d", k.MaxLeasesPerWorker)
	}
	if k.ShardSyncInterval.D() < 100*time.Millisecond || k.ShardSyncInterval.D() > 10*time.Minute {
		d.problem("kcl.shardSyncInterval", "want 100ms..10m, got %s", k.ShardSyncInterval)
	}
	if c.HTTP.Listen != "" {
		if _, port, err := net.SplitHostPort(c.HTTP.Listen); err != nil {
			d.problem("http.listen", "want host:port (or empty to disable), got %q", c.HTTP.Listen)
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			d.problem("http.listen", "want host:port (or empty to disable), got %q", c.HTTP.Listen)
		}
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		d.problem("log.level", "want debug, info, warn or error, got %q", c.Log.Level)
	}
	if g := c.ShutdownGrace.D(); g < time.Second || g > 10*time.Minute {
		d.problem("shutdownGrace", "want 1s..10m, got %s", c.ShutdownGrace)
	}
}

func validStreamName(s string) bool { return len(s) <= 128 && nameRE.MatchString(s) }

func validTableName(s string) bool { return len(s) >= 3 && len(s) <= 255 && nameRE.MatchString(s) }
