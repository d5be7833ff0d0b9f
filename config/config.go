// Package config is the worker's configuration: `meshgate run --config FILE`.
//
// The file is YAML decoded strictly: an unknown key, a value of the wrong type or a
// duplicate key is an error naming file:line:col. Missing keys take the values of
// Default(). Environment variables (listed in envVars, documented in the README) override
// the file where operators expect it: region, worker id, endpoints, bucket, listen address,
// log level, grace period and the KCL tuning. Load then checks the result as a whole and
// reports every problem at once.
//
// Credentials never appear here: the AWS SDK's default chain supplies them (environment,
// shared profile, ECS task role, EKS IRSA). A key that looks like a credential is rejected
// with a message saying so.
package config

import (
	"fmt"
	"time"

	"gopkg.in/yaml.v3"
)

// Config is the whole worker configuration.
type Config struct {
	// Application is the KCL application name. The lease table is named after it: the
	// application name itself for one source stream, "<application>-<stream>" for each
	// stream when there are several, unless a stream names its own (Stream.LeaseTable; see
	// LeaseTable).
	Application string `yaml:"application"`
	// Region is the AWS region. Order: MESHGATE_REGION, this field, AWS_REGION,
	// AWS_DEFAULT_REGION.
	Region string `yaml:"region"`
	// WorkerID identifies this worker in the lease table. Default: the host name (the pod
	// name in Kubernetes). Two processes with the same id are one worker to the KCL, so
	// give each process on one host its own id (MESHGATE_WORKER_ID).
	WorkerID string `yaml:"workerID"`
	// Contracts is the directory of contracts, policies and fixtures. A relative path in
	// the file is relative to the file's directory; one from MESHGATE_CONTRACTS is relative
	// to the working directory. An s3://bucket/prefix URI reads them from S3 instead.
	Contracts string `yaml:"contracts"`
	// ContractsReload is how often the worker checks the contracts for changes (file sizes
	// and times of a directory, ETags of an S3 prefix) and hot-reloads them; 0 disables the
	// polling (SIGHUP still reloads). See docs/contracts-lifecycle.md.
	ContractsReload Duration   `yaml:"contractsReload"`
	Streams         []Stream   `yaml:"streams"`
	Quarantine      Quarantine `yaml:"quarantine"`
	Endpoints       Endpoints  `yaml:"endpoints"`
	KCL             KCL        `yaml:"kcl"`
	Shadow          Shadow     `yaml:"shadow"`
	HTTP            HTTP       `yaml:"http"`
	Log             Log        `yaml:"log"`
	// ShutdownGrace bounds a graceful stop: finish the batches in flight, checkpoint what
	// the sinks acknowledged, release the leases. Keep it below the orchestrator's kill
	// timeout (ECS: 30 s, Kubernetes: terminationGracePeriodSeconds).
	ShutdownGrace Duration `yaml:"shutdownGrace"`
}

// Stream is one raw source stream.
type Stream struct {
	Name string `yaml:"name"`
	// Contract is the domain whose contract judges this stream. Default: the active
	// contract whose sources list the stream.
	Contract string `yaml:"contract"`
	// Curated overrides the curated stream named by the contract.
	Curated string `yaml:"curated"`
	// LeaseTable pins the DynamoDB lease/checkpoint table of this stream. Default: derived
	// from the application name (see Config.LeaseTable). Pin it on the first stream
	// (leaseTable: <application>) before adding a second one, or the first stream's table is
	// renamed and its shards restart from kcl.initialPosition. Env: MESHGATE_LEASE_TABLES.
	LeaseTable string `yaml:"leaseTable"`
}

// Quarantine is where bad records go.
type Quarantine struct {
	Bucket string `yaml:"bucket"`
	Prefix string `yaml:"prefix"`
	// KMSKeyID requests SSE-KMS with this key; empty means SSE-S3 (AES256).
	KMSKeyID string `yaml:"kmsKeyID"`
}

// Endpoints override the AWS endpoints, for local emulators. Empty means the default.
type Endpoints struct {
	Kinesis  string `yaml:"kinesis"`
	DynamoDB string `yaml:"dynamodb"`
	S3       string `yaml:"s3"`
}

// KCL is the vmware-go-kcl-v2 tuning.
type KCL struct {
	// InitialPosition is where a shard without a checkpoint starts: TRIM_HORIZON or LATEST.
	InitialPosition string `yaml:"initialPosition"`
	// MaxRecords per GetRecords call (1..10000).
	MaxRecords int `yaml:"maxRecords"`
	// IdleTimeBetweenReads is the pause after an empty GetRecords.
	IdleTimeBetweenReads Duration `yaml:"idleTimeBetweenReads"`
	// FailoverTime is the lease duration: a worker that does not renew within it loses
	// its shards to others.
	FailoverTime Duration `yaml:"failoverTime"`
	// MaxLeasesPerWorker caps the shards one worker takes; 0 means no limit.
	MaxLeasesPerWorker int `yaml:"maxLeasesPerWorker"`
	// ShardSyncInterval is the period of the KCL's shard/lease loop. The library takes at
	// most one new lease per iteration, so this bounds how fast a worker owns its shards.
	ShardSyncInterval Duration `yaml:"shardSyncInterval"`
	// LeaseStealing lets a worker with fewer than its share of leases claim one from the
	// busiest worker; without it a worker that joins late gets no shards.
	LeaseStealing bool `yaml:"leaseStealing"`
}

// Shadow tunes the samples of events that shadow (candidate) contracts judge differently
// from the active ones, written to <quarantine prefix>/_shadow/ for review.
type Shadow struct {
	// SampleInterval is how often a worker writes its samples: at most one object per
	// domain and interval, none when nothing diverged.
	SampleInterval Duration `yaml:"sampleInterval"`
	// Samples is the size of each object: a uniform random sample of the interval's
	// divergences. 0 disables sampling (divergences are still counted).
	Samples int `yaml:"samples"`
}

// HTTP is the metrics and health server.
type HTTP struct {
	// Listen is host:port for /metrics, /healthz and /readyz; empty disables the server.
	Listen string `yaml:"listen"`
}

// Log is the structured logger's setting.
type Log struct {
	// Level is debug, info, warn or error.
	Level string `yaml:"level"`
}

// Initial positions.
const (
	TrimHorizon = "TRIM_HORIZON"
	Latest      = "LATEST"
)

// Default returns the configuration used for every key the file and the environment
// leave unset. Application, region, worker id, streams and the quarantine bucket have no
// useful default; Load requires them (worker id falls back to the host name).
func Default() Config {
	return Config{
		Application: "meshgate",
		Contracts:   "./contracts",
		// Polling a directory's stats (or one S3 listing) every 10 s costs nothing.
		ContractsReload: Duration(10 * time.Second),
		Quarantine:      Quarantine{Prefix: "quarantine"},
		KCL: KCL{
			InitialPosition:      TrimHorizon,
			MaxRecords:           1000,
			IdleTimeBetweenReads: Duration(time.Second),
			FailoverTime:         Duration(10 * time.Second),
			MaxLeasesPerWorker:   0,
			ShardSyncInterval:    Duration(time.Second),
			LeaseStealing:        true,
		},
		Shadow:        Shadow{SampleInterval: Duration(5 * time.Minute), Samples: 100},
		HTTP:          HTTP{Listen: "127.0.0.1:9108"},
		Log:           Log{Level: "info"},
		ShutdownGrace: Duration(25 * time.Second),
	}
}

// LeaseTable is the DynamoDB lease table of a source stream (one KCL worker, and so one
// lease table, per stream): the stream's leaseTable when set; otherwise the application
// name when the worker reads one stream, "<application>-<stream>" when it reads several.
//
// Without leaseTable, adding a second stream to a worker that read one renames the first
// stream's table; the new table has no checkpoints, so that stream restarts from
// kcl.initialPosition. Setting leaseTable: <application> on the first stream before adding
// the second keeps its table and checkpoints.
func (c *Config) LeaseTable(stream string) string {
	for _, s := range c.Streams {
		if s.Name == stream && s.LeaseTable != "" {
			return s.LeaseTable
		}
	}
	return c.derivedLeaseTable(stream)
}

// derivedLeaseTable is the lease table of a stream without leaseTable.
func (c *Config) derivedLeaseTable(stream string) string {
	if len(c.Streams) <= 1 {
		return c.Application
	}
	return c.Application + "-" + stream
}

// Duration is a time.Duration written as a Go duration string ("1s", "250ms", "2m30s").
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// String formats like time.Duration.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalYAML writes the duration string.
func (d Duration) MarshalYAML() (any, error) { return d.String(), nil }

// UnmarshalYAML reads a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := parseDuration(n.Value)
	if err != nil {
		return err
	}
	*d = v
	return nil
}

func parseDuration(s string) (Duration, error) {
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("want a duration like 10s or 250ms, got %q", s)
	}
	return Duration(v), nil
}
