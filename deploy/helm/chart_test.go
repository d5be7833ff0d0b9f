// Package helm_test checks the chart against meshgate's own packages: the worker config the
// chart renders must load with config.Parse exactly as `meshgate run` will load it, and the
// contracts mounted from the chart's ConfigMap must load with rules.Load. (deploy/checks, its
// own module, decodes the manifests into the Kubernetes API types.)
package helm_test

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/meshgate/meshgate/config"
	"github.com/meshgate/meshgate/deploy/iam"
	_ "github.com/meshgate/meshgate/odcs" // examples/contracts/payments is an ODCS document
	"github.com/meshgate/meshgate/reload"
	"github.com/meshgate/meshgate/rules"
)

const kubeVersion = "1.30.0" // helm built by `go install` defaults to v1.20, below the chart's kubeVersion

func helmBin(t *testing.T) string {
	t.Helper()
	candidates := []string{os.Getenv("HELM"), "../../.cache/bin/helm"}
	if p, err := exec.LookPath("helm"); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			abs, _ := filepath.Abs(c)
			return abs
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("helm not found (HELM, .cache/bin/helm or PATH); deploy/ci-deploy-checks.sh builds it")
	}
	t.Skip("helm not found (HELM, .cache/bin/helm or PATH)")
	return ""
}

// object is the generic shape of a rendered manifest, enough to find what we check.
type object struct {
	Kind     string                `yaml:"kind"`
	Metadata struct{ Name string } `yaml:"metadata"`
	Data     map[string]string     `yaml:"data"`
	Spec     struct {
		Template struct {
			Spec struct {
				Containers []struct {
					Name string `yaml:"name"`
					Env  []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"env"`
				} `yaml:"containers"`
				Volumes []struct {
					Name      string `yaml:"name"`
					ConfigMap *struct {
						Name  string                       `yaml:"name"`
						Items []struct{ Key, Path string } `yaml:"items"`
					} `yaml:"configMap"`
				} `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

func renderObjects(t *testing.T, args ...string) []object {
	t.Helper()
	cmd := exec.Command(helmBin(t), append([]string{"template", "mg", "meshgate", "--kube-version", kubeVersion}, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helm template: %v: %s", err, stderr.String())
	}
	var objs []object
	dec := yaml.NewDecoder(bytes.NewReader(out))
	for {
		var o object
		err := dec.Decode(&o)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if o.Kind != "" {
			objs = append(objs, o)
		}
	}
	return objs
}

func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if o.Kind == kind && (name == "" || o.Metadata.Name == name) {
			return o
		}
	}
	t.Fatalf("no %s %s rendered", kind, name)
	return object{}
}

// workerEnv is the environment the worker container gets, plus the pod name the downward API
// provides as MESHGATE_WORKER_ID.
func workerEnv(t *testing.T, objs []object) config.Env {
	d := find(t, objs, "Deployment", "")
	env := map[string]string{}
	for _, c := range d.Spec.Template.Spec.Containers {
		if c.Name == "meshgate" {
			for _, e := range c.Env {
				env[e.Name] = e.Value
			}
		}
	}
	env["MESHGATE_WORKER_ID"] = "mg-meshgate-7d9c8b6f5-x2x7q"
	return func(k string) (string, bool) { v, ok := env[k]; return v, ok }
}

func TestRenderedConfigLoads(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		streams   int
		listen    string
		grace     string
		tables    map[string]string // stream -> lease table
		contracts string
		reload    string
	}{
		{"default", nil, 2, "0.0.0.0:9108", "25s",
			map[string]string{"orders-raw": "meshgate-orders-raw", "customers-raw": "meshgate-customers-raw"}, "/contracts", "10s"},
		{"production", []string{"-f", "meshgate/ci/production-values.yaml"}, 2, "0.0.0.0:9200", "50s",
			map[string]string{"orders-raw": "meshgate-prod", "customers-raw": "meshgate-prod-customers-raw"}, "/contracts", "10s"},
		{"gitsync", []string{"-f", "meshgate/ci/gitsync-values.yaml"}, 2, "0.0.0.0:9108", "25s", nil, "/contracts/current/contracts", "10s"},
		{"s3", []string{"-f", "meshgate/ci/s3-values.yaml"}, 2, "0.0.0.0:9108", "25s", nil, "s3://acme-meshgate-contracts/meshgate/prod", "30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs := renderObjects(t, tt.args...)
			cm := find(t, objs, "ConfigMap", "mg-meshgate-config")
			cfg, err := config.Parse("/etc/meshgate/config.yaml", []byte(cm.Data["config.yaml"]), workerEnv(t, objs))
			if err != nil {
				t.Fatalf("the worker would refuse the chart's config:\n%v\n%s", err, cm.Data["config.yaml"])
			}
			if len(cfg.Streams) != tt.streams || cfg.HTTP.Listen != tt.listen || cfg.ShutdownGrace.String() != tt.grace {
				t.Errorf("config %+v", cfg)
			}
			for stream, table := range tt.tables {
				if got := cfg.LeaseTable(stream); got != table {
					t.Errorf("lease table of %s = %q, want %q", stream, got, table)
				}
			}
			if cfg.WorkerID != "mg-meshgate-7d9c8b6f5-x2x7q" {
				t.Errorf("worker id %q, want the pod name", cfg.WorkerID)
			}
			if cfg.Contracts != tt.contracts || cfg.ContractsReload.String() != tt.reload {
				t.Errorf("contracts %q every %s, want %q every %s", cfg.Contracts, cfg.ContractsReload, tt.contracts, tt.reload)
			}
		})
	}
}

// With contracts.s3Uri the worker reads the URI the chart rendered, and the policy NOTES.txt
// tells the user to render (`deploy/iam/render -config <the chart's config> -var Partition=aws
// deploy/iam/worker-policy-contracts-s3.json`) grants exactly that prefix.
func TestS3ContractsConfigAndPolicy(t *testing.T) {
	const uri = "s3://acme-meshgate-contracts/meshgate/prod"
	objs := renderObjects(t, "-f", "meshgate/ci/s3-values.yaml")
	for _, o := range objs {
		if o.Kind == "ConfigMap" && o.Metadata.Name != "mg-meshgate-config" {
			t.Errorf("ConfigMap %s rendered; with s3Uri the worker config is the only one", o.Metadata.Name)
		}
	}
	for _, v := range find(t, objs, "Deployment", "").Spec.Template.Spec.Volumes {
		if v.Name == "contracts" {
			t.Errorf("contracts volume %+v rendered with s3Uri", v)
		}
	}
	cm := find(t, objs, "ConfigMap", "mg-meshgate-config")
	cfgFile := filepath.Join(t.TempDir(), "meshgate.yaml")
	if err := os.WriteFile(cfgFile, []byte(cm.Data["config.yaml"]), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse(cfgFile, []byte(cm.Data["config.yaml"]), workerEnv(t, objs))
	if err != nil {
		t.Fatalf("the worker would refuse the chart's config:\n%v", err)
	}
	bucket, prefix, ok := reload.ParseS3URI(cfg.Contracts)
	if !ok || bucket != "acme-meshgate-contracts" || prefix != "meshgate/prod" || cfg.Contracts != uri {
		t.Fatalf("contracts %q: the worker would not read s3://acme-meshgate-contracts/meshgate/prod (bucket %q, prefix %q)", cfg.Contracts, bucket, prefix)
	}
	p, err := iam.Load("../iam/worker-policy-contracts-s3.json")
	if err != nil {
		t.Fatal(err)
	}
	vars := p.Only(iam.VarsFromConfig(cfg))
	vars["Partition"] = []string{"aws"}
	r, err := iam.Render(p, vars)
	if err != nil {
		t.Fatalf("render worker-policy-contracts-s3.json from the chart's config: %v", err)
	}
	if errs := r.Lint(); len(errs) > 0 {
		t.Fatalf("rendered policy fails lint: %v", errs)
	}
	got := map[string][]string{}
	for _, st := range r.Statement {
		got[st.Sid] = append(got[st.Sid], st.Resource...)
		for _, cond := range st.Condition {
			for key, vals := range cond {
				got[st.Sid+" "+key] = append(got[st.Sid+" "+key], vals...)
			}
		}
	}
	want := map[string][]string{
		"ListContracts":           {"arn:aws:s3:::acme-meshgate-contracts"},
		"ListContracts s3:prefix": {"meshgate/prod/*"},
		"ReadContracts":           {"arn:aws:s3:::acme-meshgate-contracts/meshgate/prod/*"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("contracts policy grants %v, want %v", got, want)
	}
}

// The chart-rendered contracts ConfigMap, projected as the kubelet does (key -> item path),
// must be the example contracts exactly and load with rules.Load.
func TestContractsConfigMapLoads(t *testing.T) {
	examples, _ := filepath.Abs("../../examples/contracts")
	if _, err := os.Stat(examples); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("examples/contracts missing")
		}
		t.Skip("examples/contracts missing")
	}
	out, err := exec.Command("./contracts-args.sh", examples).Output()
	if err != nil {
		t.Fatal(err)
	}
	args := strings.Split(strings.TrimSpace(string(out)), "\n")
	objs := renderObjects(t, args...)
	cm := find(t, objs, "ConfigMap", "mg-meshgate-contracts")
	d := find(t, objs, "Deployment", "")
	paths := map[string]string{}
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == "contracts" && v.ConfigMap != nil {
			for _, it := range v.ConfigMap.Items {
				paths[it.Key] = it.Path
			}
		}
	}
	mounted := t.TempDir()
	for key, content := range cm.Data {
		p, ok := paths[key]
		if !ok {
			t.Fatalf("key %s has no item path", key)
		}
		dst := filepath.Join(mounted, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(dst), 0o755)
		if err := os.WriteFile(dst, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Byte-for-byte the same tree.
	var want []string
	filepath.WalkDir(examples, func(path string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			rel, _ := filepath.Rel(examples, path)
			want = append(want, rel)
			a, _ := os.ReadFile(path)
			b, err := os.ReadFile(filepath.Join(mounted, rel))
			if err != nil || !bytes.Equal(a, b) {
				t.Errorf("%s differs once mounted (%v)", rel, err)
			}
		}
		return nil
	})
	if len(cm.Data) != len(want) {
		t.Errorf("ConfigMap has %d files, examples/contracts %d", len(cm.Data), len(want))
	}
	set, err := rules.Load(mounted, rules.Options{HashSalt: "chart-test-salt"})
	if err != nil {
		t.Fatalf("the mounted contracts do not load: %v", err)
	}
	if len(set.Contracts()) == 0 {
		t.Error("no contracts loaded from the mounted ConfigMap")
	}
}

var update = flag.Bool("update", false, "rewrite meshgate/files/alerts.yaml from deploy/prometheus/alerts.yaml (make generate)")

// TestChartAlertsUpToDate: the chart's PrometheusRule carries meshgate/files/alerts.yaml (helm
// reads only files inside the chart), which must be deploy/prometheus/alerts.yaml byte for
// byte; with -update (make generate) it copies the file instead.
func TestChartAlertsUpToDate(t *testing.T) {
	want, err := os.ReadFile("../prometheus/alerts.yaml")
	if err != nil {
		t.Fatal(err)
	}
	const copyPath = "meshgate/files/alerts.yaml"
	if *update {
		if err := os.WriteFile(copyPath, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(copyPath)
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("deploy/helm/%s is not a copy of deploy/prometheus/alerts.yaml (%v).\n"+
			"Copy it with: make generate   (or: go test ./deploy/helm -run '^TestChartAlertsUpToDate$' -update)", copyPath, err)
	}
}
