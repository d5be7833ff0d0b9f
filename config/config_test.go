package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func envMap(m map[string]string) Env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

const minimal = `
region: eu-west-1
streams: [{name: orders-raw}]
quarantine: {bucket: meshgate-quarantine}
`

func TestParseFull(t *testing.T) {
	src := `
application: shop-gate
region: eu-central-1
workerID: pod-7
contracts: ../contracts
contractsReload: 30s
streams:
  - name: orders-raw
    contract: orders
    curated: orders-curated
  - name: customers-raw
quarantine: {bucket: meshgate-quarantine, prefix: q, kmsKeyID: alias/meshgate}
endpoints: {kinesis: "http://127.0.0.1:4567", dynamodb: "http://127.0.0.1:4568", s3: "http://127.0.0.1:4569"}
kcl:
  initialPosition: LATEST
  maxRecords: 500
  idleTimeBetweenReads: 250ms
  failoverTime: 20s
  maxLeasesPerWorker: 8
  shardSyncInterval: 500ms
  leaseStealing: false
shadow: {sampleInterval: 1m, samples: 50}
http: {listen: ":9200"}
log: {level: debug}
shutdownGrace: 20s
`
	got, err := Parse("/etc/meshgate/worker.yaml", []byte(src), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		Application: "shop-gate", Region: "eu-central-1", WorkerID: "pod-7",
		Contracts: "/etc/contracts", ContractsReload: Duration(30 * time.Second),
		Streams: []Stream{
			{Name: "orders-raw", Contract: "orders", Curated: "orders-curated"},
			{Name: "customers-raw"},
		},
		Quarantine: Quarantine{Bucket: "meshgate-quarantine", Prefix: "q", KMSKeyID: "alias/meshgate"},
		Endpoints:  Endpoints{Kinesis: "http://127.0.0.1:4567", DynamoDB: "http://127.0.0.1:4568", S3: "http://127.0.0.1:4569"},
		KCL: KCL{InitialPosition: Latest, MaxRecords: 500, IdleTimeBetweenReads: Duration(250 * time.Millisecond),
			FailoverTime: Duration(20 * time.Second), MaxLeasesPerWorker: 8,
			ShardSyncInterval: Duration(500 * time.Millisecond), LeaseStealing: false},
		Shadow:        Shadow{SampleInterval: Duration(time.Minute), Samples: 50},
		HTTP:          HTTP{Listen: ":9200"},
		Log:           Log{Level: "debug"},
		ShutdownGrace: Duration(20 * time.Second),
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got  %+v\nwant %+v", got, want)
	}
	if lt := got.LeaseTable("orders-raw"); lt != "shop-gate-orders-raw" {
		t.Errorf("LeaseTable with two streams = %q", lt)
	}
}

func TestParseDefaults(t *testing.T) {
	got, err := Parse("w.yaml", []byte(minimal), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Region = "eu-west-1"
	want.Streams = []Stream{{Name: "orders-raw"}}
	want.Quarantine.Bucket = "meshgate-quarantine"
	want.Contracts = "contracts" // ./contracts relative to w.yaml's directory "."
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("got  %+v\nwant %+v", *got, want)
	}
	if lt := got.LeaseTable("orders-raw"); lt != "meshgate" {
		t.Errorf("LeaseTable with one stream = %q, want the application name", lt)
	}
}

func TestEnvOverrides(t *testing.T) {
	env := map[string]string{
		"MESHGATE_APPLICATION":                 "app-env",
		"MESHGATE_REGION":                      "us-east-1",
		"AWS_REGION":                           "ignored-when-region-set",
		"MESHGATE_WORKER_ID":                   "w-env",
		"MESHGATE_CONTRACTS":                   "rel/contracts",
		"MESHGATE_CONTRACTS_RELOAD":            "0s",
		"MESHGATE_SHADOW_SAMPLE_INTERVAL":      "30s",
		"MESHGATE_SHADOW_SAMPLES":              "0",
		"MESHGATE_STREAMS":                     "a-raw, b-raw,",
		"MESHGATE_LEASE_TABLES":                " b-raw = b-leases ,",
		"MESHGATE_QUARANTINE_BUCKET":           "env-bucket",
		"MESHGATE_QUARANTINE_PREFIX":           "envq",
		"MESHGATE_QUARANTINE_KMS_KEY_ID":       "key-1",
		"MESHGATE_KINESIS_ENDPOINT":            "http://127.0.0.1:1",
		"MESHGATE_DYNAMODB_ENDPOINT":           "http://127.0.0.1:2",
		"MESHGATE_S3_ENDPOINT":                 "http://127.0.0.1:3",
		"MESHGATE_LISTEN":                      "",
		"MESHGATE_LOG_LEVEL":                   "warn",
		"MESHGATE_SHUTDOWN_GRACE":              "5s",
		"MESHGATE_KCL_INITIAL_POSITION":        "LATEST",
		"MESHGATE_KCL_MAX_RECORDS":             "42",
		"MESHGATE_KCL_IDLE_TIME_BETWEEN_READS": "100ms",
		"MESHGATE_KCL_FAILOVER_TIME":           "3s",
		"MESHGATE_KCL_MAX_LEASES_PER_WORKER":   "2",
		"MESHGATE_KCL_SHARD_SYNC_INTERVAL":     "200ms",
		"MESHGATE_KCL_LEASE_STEALING":          "false",
	}
	got, err := Parse("x/w.yaml", []byte(minimal), envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	want := Config{
		Application: "app-env", Region: "us-east-1", WorkerID: "w-env", Contracts: "rel/contracts",
		Streams:    []Stream{{Name: "a-raw"}, {Name: "b-raw", LeaseTable: "b-leases"}},
		Quarantine: Quarantine{Bucket: "env-bucket", Prefix: "envq", KMSKeyID: "key-1"},
		Endpoints:  Endpoints{Kinesis: "http://127.0.0.1:1", DynamoDB: "http://127.0.0.1:2", S3: "http://127.0.0.1:3"},
		KCL: KCL{InitialPosition: Latest, MaxRecords: 42, IdleTimeBetweenReads: Duration(100 * time.Millisecond),
			FailoverTime: Duration(3 * time.Second), MaxLeasesPerWorker: 2,
			ShardSyncInterval: Duration(200 * time.Millisecond), LeaseStealing: false},
		Shadow:        Shadow{SampleInterval: Duration(30 * time.Second), Samples: 0},
		HTTP:          HTTP{Listen: ""},
		Log:           Log{Level: "warn"},
		ShutdownGrace: Duration(5 * time.Second),
	}
	if !reflect.DeepEqual(*got, want) {
		t.Errorf("got  %+v\nwant %+v", *got, want)
	}
	if len(EnvVars()) != len(env)-1 { // all but AWS_REGION
		t.Errorf("EnvVars() lists %d variables, the test sets %d", len(EnvVars()), len(env)-1)
	}
}

func TestRegionFallback(t *testing.T) {
	for _, tc := range []struct {
		name string
		file string
		env  map[string]string
		want string
	}{
		{"file wins over AWS_REGION", "region: eu-west-1\n", map[string]string{"AWS_REGION": "us-east-2"}, "eu-west-1"},
		{"AWS_REGION when file has none", "", map[string]string{"AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "x"}, "us-east-2"},
		{"AWS_DEFAULT_REGION last", "", map[string]string{"AWS_DEFAULT_REGION": "ap-south-1"}, "ap-south-1"},
		{"MESHGATE_REGION over file", "region: eu-west-1\n", map[string]string{"MESHGATE_REGION": "sa-east-1"}, "sa-east-1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"MESHGATE_STREAMS": "s", "MESHGATE_QUARANTINE_BUCKET": "bkt"}
			for k, v := range tc.env {
				env[k] = v
			}
			c, err := Parse("w.yaml", []byte(tc.file), envMap(env))
			if err != nil {
				t.Fatal(err)
			}
			if c.Region != tc.want {
				t.Errorf("region = %q, want %q", c.Region, tc.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		src  string
		env  map[string]string
		want string
	}{
		{
			name: "unknown top-level key",
			src:  minimal + "shards: 4\n",
			want: "w.yaml:5:1: shards: unknown field (known: application, contracts, contractsReload, endpoints, http, kcl, log, quarantine, region, shadow, shutdownGrace, streams, workerID)",
		},
		{
			name: "unknown nested key",
			src:  minimal + "kcl:\n  maxRecord: 10\n",
			want: "w.yaml:6:3: kcl.maxRecord: unknown field (known: failoverTime, idleTimeBetweenReads, initialPosition, leaseStealing, maxLeasesPerWorker, maxRecords, shardSyncInterval)",
		},
		{
			name: "credential key",
			src:  minimal + "awsSecretAccessKey: abc\n",
			want: "w.yaml:5:1: awsSecretAccessKey: unknown field: credentials never go in the config file; the AWS default chain supplies them (environment, profile, ECS task role, EKS IRSA)",
		},
		{
			name: "wrong types, all reported",
			src:  minimal + "kcl:\n  maxRecords: many\n  leaseStealing: yes please\n  failoverTime: 10\nhttp: [1]\n",
			want: "w.yaml:6:15: kcl.maxRecords: want an integer, got \"many\"\n" +
				"w.yaml:7:18: kcl.leaseStealing: want true or false, got \"yes please\"\n" +
				"w.yaml:8:17: kcl.failoverTime: want a duration like 10s or 250ms, got \"10\"\n" +
				"w.yaml:9:7: http: want a mapping for http, got a list",
		},
		{
			name: "streams not a list",
			src:  "region: r\nstreams: orders-raw\nquarantine: {bucket: bkt}\n",
			want: "w.yaml:2:10: streams: want a list, got \"orders-raw\"",
		},
		{
			name: "unknown key in a stream",
			src:  "region: r\nstreams:\n  - name: a\n    shards: 2\nquarantine: {bucket: bkt}\n",
			want: "w.yaml:4:5: streams[0].shards: unknown field (known: contract, curated, leaseTable, name)",
		},
		{
			name: "duplicate key",
			src:  minimal + "region: us-east-1\n",
			want: "w.yaml:5:1: region: duplicate key (first at line 2)",
		},
		{
			name: "syntax error",
			src:  "region: [unclosed\n",
			want: "w.yaml:1:1: invalid YAML: did not find expected ',' or ']'",
		},
		{
			name: "two documents",
			src:  minimal + "---\nregion: x\n",
			want: "w.yaml:6:1: more than one YAML document; want one",
		},
		{
			name: "top level not a mapping",
			src:  "- a\n- b\n",
			want: "w.yaml:1:1: want a mapping for the configuration, got a list",
		},
		{
			name: "missing required values",
			src:  "kcl: {maxRecords: 10}\n",
			want: "w.yaml: region: required (set region, MESHGATE_REGION or AWS_REGION)\n" +
				"w.yaml: streams: at least one source stream is required (or MESHGATE_STREAMS)\n" +
				"w.yaml: quarantine.bucket: required (or MESHGATE_QUARANTINE_BUCKET)",
		},
		{
			name: "semantic checks positioned",
			src: `
application: "x"
region: eu-west-1
streams:
  - name: orders-raw
    curated: customers-raw
  - name: "bad name!"
  - name: customers-raw
  - name: orders-raw
quarantine: {bucket: Bad_Bucket, prefix: /q}
endpoints: {kinesis: "127.0.0.1:4567"}
kcl:
  initialPosition: AT_TIMESTAMP
  maxRecords: 20000
  idleTimeBetweenReads: 0s
  failoverTime: 500ms
  maxLeasesPerWorker: -1
  shardSyncInterval: 0s
http: {listen: "9108"}
log: {level: verbose}
shutdownGrace: 0s
`,
			want: `w.yaml:2:14: application: "x" is not usable as a DynamoDB table name (3..200 of a-z A-Z 0-9 _ . -)
w.yaml:7:11: streams[1].name: "bad name!" is not a valid Kinesis stream name (1..128 of a-z A-Z 0-9 _ . -)
w.yaml:9:11: streams[3].name: stream "orders-raw" is listed twice
w.yaml:6:14: streams[0].curated: curated stream "customers-raw" is also a source stream: events would loop
w.yaml:10:22: quarantine.bucket: "Bad_Bucket" is not a valid S3 bucket name
w.yaml:10:42: quarantine.prefix: must not start with /: object keys are relative to the bucket
w.yaml:11:22: endpoints.kinesis: want an http:// or https:// URL, got "127.0.0.1:4567"
w.yaml:13:20: kcl.initialPosition: want TRIM_HORIZON or LATEST, got "AT_TIMESTAMP"
w.yaml:14:15: kcl.maxRecords: want 1..10000 (the GetRecords limit), got 20000
w.yaml:15:25: kcl.idleTimeBetweenReads: want 1ms..1m, got 0s
w.yaml:16:17: kcl.failoverTime: want 1s..10m, got 500ms
w.yaml:17:23: kcl.maxLeasesPerWorker: want 0 (no limit) or more, got -1
w.yaml:18:22: kcl.shardSyncInterval: want 100ms..10m, got 0s
w.yaml:19:16: http.listen: want host:port (or empty to disable), got "9108"
w.yaml:20:14: log.level: want debug, info, warn or error, got "verbose"
w.yaml:21:16: shutdownGrace: want 1s..10m, got 0s`,
		},
		{
			name: "lease tables: invalid names and shared tables",
			src: `
application: shop
region: eu-west-1
streams:
  - name: a-raw
    leaseTable: ab
  - name: b-raw
    leaseTable: "b leases"
  - name: c-raw
    leaseTable: shop
  - name: d-raw
    leaseTable: shop
  - name: e-raw
    leaseTable: shop-f-raw
  - name: f-raw
quarantine: {bucket: bkt}
`,
			want: `w.yaml:6:17: streams[0].leaseTable: "ab" is not a valid DynamoDB table name (3..255 of a-z A-Z 0-9 _ . -)
w.yaml:8:17: streams[1].leaseTable: "b leases" is not a valid DynamoDB table name (3..255 of a-z A-Z 0-9 _ . -)
w.yaml:12:17: streams[3].leaseTable: lease table "shop" is also the lease table of stream "c-raw"; each stream needs its own
w.yaml:15:11: streams[5].name: lease table "shop-f-raw" is also the lease table of stream "e-raw"; each stream needs its own`,
		},
		{
			name: "lease table too long",
			src:  "region: r\nstreams:\n  - name: a-raw\n    leaseTable: " + strings.Repeat("t", 256) + "\nquarantine: {bucket: bkt}\n",
			want: `w.yaml:4:17: streams[0].leaseTable: "` + strings.Repeat("t", 256) + `" is not a valid DynamoDB table name (3..255 of a-z A-Z 0-9 _ . -)`,
		},
		{
			name: "lease tables from the environment",
			src:  minimal,
			env:  map[string]string{"MESHGATE_STREAMS": "a-raw,b-raw", "MESHGATE_LEASE_TABLES": "a-raw=tab1,b-raw=tab1"},
			want: `env MESHGATE_LEASE_TABLES: streams[1].leaseTable: lease table "tab1" is also the lease table of stream "a-raw"; each stream needs its own`,
		},
		{
			name: "lease tables env: unknown stream",
			src:  minimal,
			env:  map[string]string{"MESHGATE_LEASE_TABLES": "orders-raw=meshgate,customers-raw=x-leases"},
			want: `env MESHGATE_LEASE_TABLES: stream "customers-raw" is not a configured source stream`,
		},
		{
			name: "lease tables env: malformed",
			src:  minimal,
			env:  map[string]string{"MESHGATE_LEASE_TABLES": "orders-raw"},
			want: `env MESHGATE_LEASE_TABLES: want stream=table pairs separated by commas, got "orders-raw"`,
		},
		{
			name: "bad environment values",
			src:  minimal,
			env: map[string]string{
				"MESHGATE_KCL_MAX_RECORDS":    "lots",
				"MESHGATE_SHUTDOWN_GRACE":     "25",
				"MESHGATE_KCL_LEASE_STEALING": "maybe",
			},
			want: "env MESHGATE_SHUTDOWN_GRACE: want a duration like 10s or 250ms, got \"25\"\n" +
				"env MESHGATE_KCL_MAX_RECORDS: want an integer, got \"lots\"\n" +
				"env MESHGATE_KCL_LEASE_STEALING: want true or false, got \"maybe\"",
		},
		{
			name: "semantic error from the environment names the variable",
			src:  minimal,
			env:  map[string]string{"MESHGATE_LOG_LEVEL": "loud", "MESHGATE_STREAMS": "ok,not ok"},
			want: "env MESHGATE_STREAMS: streams[1].name: \"not ok\" is not a valid Kinesis stream name (1..128 of a-z A-Z 0-9 _ . -)\n" +
				"env MESHGATE_LOG_LEVEL: log.level: want debug, info, warn or error, got \"loud\"",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("w.yaml", []byte(tc.src), envMap(tc.env))
			if err == nil {
				t.Fatal("no error")
			}
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("error is %T, want ErrorList", err)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error text:\n%s\nwant:\n%s", got, tc.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "worker.yaml")
	if err := os.WriteFile(path, []byte(minimal), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("MESHGATE_WORKER_ID", "")
	os.Unsetenv("MESHGATE_WORKER_ID")
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if c.WorkerID != host {
		t.Errorf("worker id = %q, want the host name %q", c.WorkerID, host)
	}
	if c.Contracts != filepath.Join(dir, "contracts") {
		t.Errorf("contracts = %q, want it relative to the file", c.Contracts)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "read config") {
		t.Errorf("missing file: %v", err)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add([]byte("kcl: {maxRecords: [1]}\nstreams: [{name: &a x}, *a]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("f.yaml", data, envMap(nil))
		if err == nil && (c.Region == "" || len(c.Streams) == 0 || c.Quarantine.Bucket == "") {
			t.Fatalf("accepted a config without required values: %+v", c)
		}
	})
}

func TestContractsFromS3AreNotRelative(t *testing.T) {
	c, err := Parse("/etc/meshgate/w.yaml", []byte(minimal+"contracts: s3://contracts-bucket/prod\ncontractsReload: 1m\n"), envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Contracts != "s3://contracts-bucket/prod" || c.ContractsReload.D() != time.Minute {
		t.Errorf("contracts %q every %v", c.Contracts, c.ContractsReload)
	}
	if _, err := Parse("w.yaml", []byte(minimal+"contractsReload: -1s\n"), envMap(nil)); err == nil || !strings.Contains(err.Error(), "contractsReload: must not be negative") {
		t.Errorf("negative interval: %v", err)
	}
}

func TestLeaseTable(t *testing.T) {
	for _, tc := range []struct {
		name    string
		streams string
		env     map[string]string
		want    map[string]string // stream -> lease table
	}{
		{"one stream: the application", "[{name: orders-raw}]", nil,
			map[string]string{"orders-raw": "shop"}},
		{"several: application-stream", "[{name: orders-raw}, {name: customers-raw}]", nil,
			map[string]string{"orders-raw": "shop-orders-raw", "customers-raw": "shop-customers-raw"}},
		// The migration: the first stream keeps its table when a second one is added.
		{"pinned first stream keeps its table", "[{name: orders-raw, leaseTable: shop}, {name: customers-raw}]", nil,
			map[string]string{"orders-raw": "shop", "customers-raw": "shop-customers-raw"}},
		{"pinned single stream", "[{name: orders-raw, leaseTable: orders-leases}]", nil,
			map[string]string{"orders-raw": "orders-leases"}},
		{"from the environment", "[{name: orders-raw, leaseTable: from-file}, {name: customers-raw}]",
			map[string]string{"MESHGATE_LEASE_TABLES": "customers-raw=cust.leases_1,orders-raw=shop"},
			map[string]string{"orders-raw": "shop", "customers-raw": "cust.leases_1"}},
		{"empty environment value changes nothing", "[{name: orders-raw, leaseTable: from-file}]",
			map[string]string{"MESHGATE_LEASE_TABLES": ""},
			map[string]string{"orders-raw": "from-file"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := "application: shop\nregion: r\nquarantine: {bucket: bkt}\nstreams: " + tc.streams + "\n"
			c, err := Parse("w.yaml", []byte(src), envMap(tc.env))
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, s := range c.Streams {
				got[s.Name] = c.LeaseTable(s.Name)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("lease tables %v, want %v", got, tc.want)
			}
		})
	}
}
