package checks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"
)

// tool returns the repository root and helm, skipping (or failing under CI=true) without helm.
func tool(t *testing.T) (root, helm string) {
	t.Helper()
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	helm, err = Helm(root)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	return root, helm
}

// readTree returns every file under dir (relative path -> content), as contracts-args.sh sees it.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasPrefix(d.Name(), ".") {
			return err
		}
		data, err := os.ReadFile(path)
		rel, _ := filepath.Rel(dir, path)
		files[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func itemsFor(files map[string]string) map[string]string {
	items := map[string]string{}
	for path := range files {
		items[strings.ReplaceAll(path, "/", "__")] = path
	}
	return items
}

func render(t *testing.T, helm, chart string, args ...string) *Manifests {
	t.Helper()
	out, err := Template(helm, chart, "mg", "data", args...)
	if err != nil {
		t.Fatal(err)
	}
	m, err := Decode(out)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestChartLint(t *testing.T) {
	root, helm := tool(t)
	chart := filepath.Join(root, "deploy/helm/meshgate")
	values, _ := filepath.Glob(filepath.Join(chart, "ci", "*-values.yaml"))
	if len(values) < 4 {
		t.Fatalf("found %d ci values files, want at least 4", len(values))
	}
	for _, v := range values {
		out, err := execHelm(helm, "lint", "--strict", "--kube-version", KubeVersion, "-f", v, chart)
		if err != nil {
			t.Errorf("helm lint %s: %v\n%s", filepath.Base(v), err, out)
		}
	}
}

func TestChartRenders(t *testing.T) {
	root, helm := tool(t)
	chart := filepath.Join(root, "deploy/helm/meshgate")
	ci := filepath.Join(chart, "ci")

	fixture := filepath.Join(root, "deploy/checks/testdata/contracts")
	trees := map[string]string{"fixture": fixture}
	if st, err := os.Stat(filepath.Join(root, "examples/contracts")); err == nil && st.IsDir() {
		trees["examples"] = filepath.Join(root, "examples/contracts")
	} else if os.Getenv("CI") == "true" {
		t.Fatal("examples/contracts missing")
	}

	t.Run("default", func(t *testing.T) {
		m := render(t, helm, chart, "-f", filepath.Join(ci, "default-values.yaml"))
		for _, p := range ChartProblems(m, ChartExpect{
			CreateServiceAccount: true, HTTPPort: 9108, PDB: true, Service: true, PodAnnotations: true,
			ContractsConfigMap: "meshgate-contracts", ContractsDir: "/contracts",
		}) {
			t.Error(p)
		}
	})
	for name, dir := range trees {
		t.Run("production+"+name, func(t *testing.T) {
			args, err := ContractsArgs(root, dir)
			if err != nil {
				t.Fatal(err)
			}
			files := readTree(t, dir)
			m := render(t, helm, chart, append([]string{"-f", filepath.Join(ci, "production-values.yaml"), "--set-file", odcsRuleFileArg(root)}, args...)...)
			for _, p := range ChartProblems(m, ChartExpect{
				RoleArn: "arn:aws:iam::123456789012:role/meshgate-worker", CreateServiceAccount: true,
				HTTPPort: 9200, PDB: true, Service: true, ServiceMonitor: true, PodAnnotations: true,
				ContractsConfigMap: "mg-meshgate-contracts", Items: itemsFor(files), ContractFiles: files,
				ContractsDir: "/contracts", PrometheusRuleGroups: alertGroups(t, root, "alerts.yaml", "odcs-alerts.yaml"),
				PrometheusRuleLabels: map[string]string{"release": "kube-prometheus-stack"},
			}) {
				t.Error(p)
			}
		})
	}
	t.Run("gitsync", func(t *testing.T) {
		m := render(t, helm, chart, "-f", filepath.Join(ci, "gitsync-values.yaml"))
		for _, p := range ChartProblems(m, ChartExpect{
			RoleArn: "arn:aws:iam::123456789012:role/meshgate-worker", CreateServiceAccount: true,
			HTTPPort: 9108, GitSync: true, ContractsDir: "/contracts/current/contracts",
		}) {
			t.Error(p)
		}
	})
	t.Run("s3", func(t *testing.T) {
		m := render(t, helm, chart, "-f", filepath.Join(ci, "s3-values.yaml"))
		for _, p := range ChartProblems(m, ChartExpect{
			RoleArn: "arn:aws:iam::123456789012:role/meshgate-worker", CreateServiceAccount: true,
			HTTPPort: 9108, PDB: true, Service: true, PodAnnotations: true,
			ContractsS3: true, ContractsDir: "s3://acme-meshgate-contracts/meshgate/prod",
		}) {
			t.Error(p)
		}
	})
	t.Run("items", func(t *testing.T) {
		m := render(t, helm, chart, "-f", filepath.Join(ci, "items-values.yaml"))
		for _, p := range ChartProblems(m, ChartExpect{
			HTTPPort: 9108, PDB: true, Service: true, PodAnnotations: true,
			ContractsConfigMap: "data-contracts", ContractsDir: "/contracts",
			Items: map[string]string{
				"orders.yaml": "orders.yaml", "policies__envelope.yaml": "policies/envelope.yaml",
				"lookups__country_regions.csv": "lookups/country_regions.csv",
			},
		}) {
			t.Error(p)
		}
	})
}

// odcsRuleFileArg is the --set-file argument that puts the committed ODCS threshold alerts
// (`meshgate odcs alerts --contracts examples/contracts`) into the PrometheusRule, the way a
// contracts repository's CI job passes its own.
func odcsRuleFileArg(root string) string {
	return "metrics.prometheusRule.ruleFiles.odcs=" + filepath.Join(root, "deploy/prometheus/odcs-alerts.yaml")
}

// alertGroups returns the rule groups of deploy/prometheus files, in order.
func alertGroups(t *testing.T, root string, files ...string) []monitoringv1.RuleGroup {
	t.Helper()
	var paths []string
	for _, f := range files {
		paths = append(paths, filepath.Join(root, "deploy/prometheus", f))
	}
	groups, err := RuleFileGroups(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return groups
}

// The PrometheusRule carries the chart's alerts, rule files and extra groups, in that order,
// and exactly them.
func TestChartPrometheusRule(t *testing.T) {
	root, helm := tool(t)
	chart := filepath.Join(root, "deploy/helm/meshgate")
	base := ChartExpect{HTTPPort: 9108, CreateServiceAccount: true, PDB: true, Service: true, PodAnnotations: true,
		ContractsConfigMap: "meshgate-contracts", ContractsDir: "/contracts"}
	extra := `metrics:
  prometheusRule:
    enabled: true
    defaultAlerts: false
    labels: {prometheus: platform}
    extraGroups:
      - name: team-slo
        interval: 30s
        rules:
          - record: meshgate:records_in:rate5m
            expr: sum by (domain) (rate(meshgate_records_in_total[5m]))
          - alert: MeshgateOrdersSilent
            expr: meshgate:records_in:rate5m{domain="orders"} == 0
            for: 15m
            labels: {severity: warning}
            annotations: {summary: no orders for 15 minutes}
`
	extraFile := filepath.Join(t.TempDir(), "extra-values.yaml")
	if err := os.WriteFile(extraFile, []byte(extra), 0o644); err != nil {
		t.Fatal(err)
	}
	var extraGroups struct {
		Metrics struct {
			PrometheusRule struct {
				ExtraGroups []monitoringv1.RuleGroup `json:"extraGroups"`
			} `json:"prometheusRule"`
		} `json:"metrics"`
	}
	if err := yaml.Unmarshal([]byte(extra), &extraGroups); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		args   []string
		groups []monitoringv1.RuleGroup
		labels map[string]string
	}{
		{"disabled by default", nil, nil, nil},
		{"chart alerts only", []string{"--set", "metrics.prometheusRule.enabled=true"}, alertGroups(t, root, "alerts.yaml"), nil},
		{"chart alerts and the ODCS rule file", []string{"--set", "metrics.prometheusRule.enabled=true", "--set-file", odcsRuleFileArg(root)},
			alertGroups(t, root, "alerts.yaml", "odcs-alerts.yaml"), nil},
		{"ODCS rule file only", []string{"--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.prometheusRule.defaultAlerts=false",
			"--set-file", odcsRuleFileArg(root)}, alertGroups(t, root, "odcs-alerts.yaml"), nil},
		{"extra groups from values", []string{"-f", extraFile}, extraGroups.Metrics.PrometheusRule.ExtraGroups, map[string]string{"prometheus": "platform"}},
		{"all three", []string{"-f", extraFile, "--set", "metrics.prometheusRule.defaultAlerts=true", "--set-file", odcsRuleFileArg(root)},
			append(alertGroups(t, root, "alerts.yaml", "odcs-alerts.yaml"), extraGroups.Metrics.PrometheusRule.ExtraGroups...), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := base
			want.PrometheusRuleGroups, want.PrometheusRuleLabels = tt.groups, tt.labels
			for _, p := range ChartProblems(render(t, helm, chart, tt.args...), want) {
				t.Error(p)
			}
		})
	}
	if len(extraGroups.Metrics.PrometheusRule.ExtraGroups) != 1 || len(extraGroups.Metrics.PrometheusRule.ExtraGroups[0].Rules) != 2 {
		t.Fatalf("extra groups decoded as %+v", extraGroups)
	}
}

// The checker must catch each of these breakages of a good render.
func TestChartProblemsCatchBreakage(t *testing.T) {
	root, helm := tool(t)
	chart := filepath.Join(root, "deploy/helm/meshgate")
	fixture := filepath.Join(root, "deploy/checks/testdata/contracts")
	args, err := ContractsArgs(root, fixture)
	if err != nil {
		t.Fatal(err)
	}
	files := readTree(t, fixture)
	want := ChartExpect{
		RoleArn: "arn:aws:iam::123456789012:role/meshgate-worker", CreateServiceAccount: true,
		HTTPPort: 9200, PDB: true, Service: true, ServiceMonitor: true, PodAnnotations: true,
		ContractsConfigMap: "mg-meshgate-contracts", Items: itemsFor(files), ContractFiles: files,
		ContractsDir: "/contracts", PrometheusRuleGroups: alertGroups(t, root, "alerts.yaml", "odcs-alerts.yaml"),
		PrometheusRuleLabels: map[string]string{"release": "kube-prometheus-stack"},
	}
	stream, err := Template(helm, chart, "mg", "data", append([]string{"-f", filepath.Join(chart, "ci", "production-values.yaml"), "--set-file", odcsRuleFileArg(root)}, args...)...)
	if err != nil {
		t.Fatal(err)
	}
	fresh := func() *Manifests {
		m, err := Decode(stream)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if p := ChartProblems(fresh(), want); len(p) > 0 {
		t.Fatalf("the good render has problems: %v", p)
	}
	f, tr := false, true
	tests := []struct {
		name   string
		break_ func(m *Manifests)
		want   string
	}{
		{"writable root fs", func(m *Manifests) {
			m.Deployments[0].Spec.Template.Spec.Containers[0].SecurityContext.ReadOnlyRootFilesystem = &f
		}, "container meshgate: readOnlyRootFilesystem must be true"},
		{"privilege escalation", func(m *Manifests) {
			m.Deployments[0].Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = &tr
		}, "allowPrivilegeEscalation must be false"},
		{"capability added", func(m *Manifests) {
			m.Deployments[0].Spec.Template.Spec.Containers[0].SecurityContext.Capabilities.Add = append(
				m.Deployments[0].Spec.Template.Spec.Containers[0].SecurityContext.Capabilities.Add, "NET_ADMIN")
		}, "capabilities must drop ALL and add none"},
		{"root pod", func(m *Manifests) { m.Deployments[0].Spec.Template.Spec.SecurityContext.RunAsNonRoot = &f }, "runAsNonRoot must be true"},
		{"no seccomp", func(m *Manifests) { m.Deployments[0].Spec.Template.Spec.SecurityContext.SeccompProfile = nil }, "seccompProfile must be RuntimeDefault"},
		{"worker id from hostname", func(m *Manifests) {
			env := m.Deployments[0].Spec.Template.Spec.Containers[0].Env
			env[0].ValueFrom, env[0].Value = nil, "worker-1"
		}, "MESHGATE_WORKER_ID must come from the downward API"},
		{"liveness on metrics", func(m *Manifests) {
			m.Deployments[0].Spec.Template.Spec.Containers[0].LivenessProbe.HTTPGet.Path = "/metrics"
		}, "liveness probe GETs /metrics"},
		{"readiness gone", func(m *Manifests) { m.Deployments[0].Spec.Template.Spec.Containers[0].ReadinessProbe = nil }, "readiness probe"},
		{"grace too short", func(m *Manifests) {
			v := int64(50)
			m.Deployments[0].Spec.Template.Spec.TerminationGracePeriodSeconds = &v
		}, "terminationGracePeriodSeconds 50 must exceed the worker's shutdownGrace 50s"},
		{"surge", func(m *Manifests) {
			one := intstr.FromInt32(1)
			m.Deployments[0].Spec.Strategy.RollingUpdate.MaxSurge = &one
		}, "want RollingUpdate with maxSurge 0"},
		{"no IRSA", func(m *Manifests) { delete(m.ServiceAccounts[0].Annotations, "eks.amazonaws.com/role-arn") }, "eks.amazonaws.com/role-arn"},
		{"token mounted", func(m *Manifests) { m.Deployments[0].Spec.Template.Spec.AutomountServiceAccountToken = &tr }, "automountServiceAccountToken must be false"},
		{"no memory limit", func(m *Manifests) {
			delete(m.Deployments[0].Spec.Template.Spec.Containers[0].Resources.Limits, "memory")
		}, "set a memory limit"},
		{"pdb selects nothing", func(m *Manifests) { m.PDBs[0].Spec.Selector.MatchLabels = map[string]string{"app": "x"} }, "PodDisruptionBudget"},
		{"pdb gone", func(m *Manifests) { m.PDBs = nil }, "0 PodDisruptionBudgets, want 1"},
		{"service misses pods", func(m *Manifests) { m.Services[0].Spec.Selector = map[string]string{"app": "x"} }, "Service selector"},
		{"servicemonitor port", func(m *Manifests) { m.ServiceMonitors[0].Spec.Endpoints[0].Port = "metrics" }, "ServiceMonitor endpoints"},
		{"scrape annotation", func(m *Manifests) { delete(m.Deployments[0].Spec.Template.Annotations, "prometheus.io/scrape") }, "want prometheus.io/scrape=true"},
		{"contract altered", func(m *Manifests) {
			for _, cm := range m.ConfigMaps {
				if cm.Name == "mg-meshgate-contracts" {
					cm.Data["orders.yaml"] += "\n"
				}
			}
		}, "contracts file orders.yaml differs once mounted"},
		{"contract item dropped", func(m *Manifests) {
			for i, v := range m.Deployments[0].Spec.Template.Spec.Volumes {
				if v.Name == "contracts" {
					m.Deployments[0].Spec.Template.Spec.Volumes[i].ConfigMap.Items = v.ConfigMap.Items[1:]
				}
			}
		}, "contracts items"},
		{"config listens on loopback", func(m *Manifests) {
			for _, cm := range m.ConfigMaps {
				if cm.Name == "mg-meshgate-config" {
					cm.Data["config.yaml"] = strings.Replace(cm.Data["config.yaml"], "0.0.0.0:9200", "127.0.0.1:9200", 1)
				}
			}
		}, "config http.listen"},
		{"contracts checksum gone", func(m *Manifests) { delete(m.Deployments[0].Spec.Template.Annotations, "checksum/contracts") }, "checksum/contracts"},
		{"bad label", func(m *Manifests) { m.Services[0].Labels["bad key!"] = "x" }, `label key "bad key!"`},
		{"selector misses template", func(m *Manifests) { m.Deployments[0].Spec.Template.Labels = map[string]string{"other": "x"} }, "does not match the pod labels"},
		{"prometheusrule gone", func(m *Manifests) { m.PrometheusRules = nil }, "0 PrometheusRules, want 1"},
		{"prometheusrule selector label", func(m *Manifests) { delete(m.PrometheusRules[0].Labels, "release") }, "PrometheusRule label release"},
		{"odcs group dropped", func(m *Manifests) {
			g := m.PrometheusRules[0].Spec.Groups
			m.PrometheusRules[0].Spec.Groups = g[:len(g)-1]
		}, "differ from the rule files' groups"},
		{"threshold changed", func(m *Manifests) {
			g := m.PrometheusRules[0].Spec.Groups
			r := &g[len(g)-1].Rules[0]
			r.Expr = intstr.FromString(strings.Replace(r.Expr.String(), "> 2", "> 20", 1))
		}, "PrometheusRule group meshgate-odcs-payments differs from its rule file"},
		{"duplicate group", func(m *Manifests) {
			g := m.PrometheusRules[0].Spec.Groups
			m.PrometheusRules[0].Spec.Groups = append(g, g[0])
		}, "not unique"},
		{"rule without expr", func(m *Manifests) { m.PrometheusRules[0].Spec.Groups[0].Rules[0].Expr = intstr.FromString("") }, "want exactly one of alert/record and an expr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := fresh()
			tt.break_(m)
			got := strings.Join(ChartProblems(m, want), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("problems:\n%s\nwant one containing %q", got, tt.want)
			}
		})
	}
}

// With contracts.s3Uri the checker must catch a render that still mounts, ships or overrides
// a second contracts source, points the worker elsewhere, or leaves /tmp too small.
func TestChartS3ContractsCatchBreakage(t *testing.T) {
	root, helm := tool(t)
	chart := filepath.Join(root, "deploy/helm/meshgate")
	const uri = "s3://acme-meshgate-contracts/meshgate/prod"
	want := ChartExpect{
		RoleArn: "arn:aws:iam::123456789012:role/meshgate-worker", CreateServiceAccount: true,
		HTTPPort: 9108, PDB: true, Service: true, PodAnnotations: true, ContractsS3: true, ContractsDir: uri,
	}
	s3Stream, err := Template(helm, chart, "mg", "data", "-f", filepath.Join(chart, "ci", "s3-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	// The same values with contracts from the chart: its contracts ConfigMap, volume and mount
	// are what a broken S3 render would still carry.
	cmStream, err := Template(helm, chart, "mg", "data", "-f", filepath.Join(chart, "ci", "s3-values.yaml"),
		"--set", "contracts.s3Uri=", "--set", "contracts.files.orders\\.yaml=domain: orders")
	if err != nil {
		t.Fatal(err)
	}
	decode := func(stream []byte) *Manifests {
		m, err := Decode(stream)
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	if p := ChartProblems(decode(s3Stream), want); len(p) > 0 {
		t.Fatalf("the good S3 render has problems: %v", p)
	}
	withCM := decode(cmStream)
	if len(withCM.ConfigMaps) != 2 {
		t.Fatalf("the ConfigMap render has %d ConfigMaps, want config and contracts", len(withCM.ConfigMaps))
	}
	cmPod := withCM.Deployments[0].Spec.Template.Spec
	workerOf := func(m *Manifests) *corev1.Container { return &m.Deployments[0].Spec.Template.Spec.Containers[0] }
	tests := []struct {
		name   string
		break_ func(m *Manifests)
		want   string
	}{
		{"contracts volume and mount kept", func(m *Manifests) {
			m.Deployments[0].Spec.Template.Spec = cmPod
		}, "S3 contracts: container meshgate mounts contracts at /contracts"},
		{"contracts volume kept", func(m *Manifests) {
			pod := &m.Deployments[0].Spec.Template.Spec
			for _, v := range cmPod.Volumes {
				if v.Name == "contracts" {
					pod.Volumes = append(pod.Volumes, v)
				}
			}
		}, "S3 contracts: the pod still has a contracts volume"},
		{"contracts ConfigMap rendered", func(m *Manifests) { m.ConfigMaps = withCM.ConfigMaps },
			"S3 contracts: ConfigMap mg-meshgate-contracts rendered"},
		{"contracts checksum", func(m *Manifests) {
			m.Deployments[0].Spec.Template.Annotations["checksum/contracts"] = "abc"
		}, "S3 contracts: checksum/contracts annotation"},
		{"config points at the mount", func(m *Manifests) { m.ConfigMaps = withCM.ConfigMaps[:1] },
			"config contracts /contracts, want " + uri},
		{"env overrides the URI", func(m *Manifests) {
			w := workerOf(m)
			w.Env = append(w.Env, corev1.EnvVar{Name: "MESHGATE_CONTRACTS", Value: "/contracts"})
		}, "env MESHGATE_CONTRACTS overrides"},
		{"git-sync sidecar", func(m *Manifests) {
			pod := &m.Deployments[0].Spec.Template.Spec
			sidecar := *workerOf(m)
			sidecar.Name = "git-sync"
			pod.Containers = append(pod.Containers, sidecar)
		}, "S3 contracts: 2 containers, want the worker alone"},
		{"tmp too small", func(m *Manifests) {
			for i, v := range m.Deployments[0].Spec.Template.Spec.Volumes {
				if v.Name == "tmp" {
					q := resource.MustParse("64Mi")
					m.Deployments[0].Spec.Template.Spec.Volumes[i].EmptyDir.SizeLimit = &q
				}
			}
		}, "S3 contracts: /tmp sizeLimit 64Mi must exceed 64Mi"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := decode(s3Stream)
			tt.break_(m)
			got := strings.Join(ChartProblems(m, want), "\n")
			if !strings.Contains(got, tt.want) {
				t.Errorf("problems:\n%s\nwant one containing %q", got, tt.want)
			}
		})
	}
}

// Decode must reject what the API server would reject or silently drop.
func TestDecodeIsStrict(t *testing.T) {
	root, helm := tool(t)
	out, err := Template(helm, filepath.Join(root, "deploy/helm/meshgate"), "mg", "data")
	if err != nil {
		t.Fatal(err)
	}
	good := string(out)
	tests := []struct{ name, old, new, want string }{
		{"misspelt field", "revisionHistoryLimit:", "revisionHistoryLimits:", `json: unknown field "revisionHistoryLimits"`},
		{"misspelt probe", "readinessProbe:", "readinesProbe:", `json: unknown field "readinesProbe"`},
		{"wrong type", "replicas: 2", "replicas: two", "cannot unmarshal"},
		{"duplicate key", "  revisionHistoryLimit: 5\n", "  revisionHistoryLimit: 5\n  revisionHistoryLimit: 6\n", `key "revisionHistoryLimit" already set in map`},
		{"unexpected kind", "kind: ServiceAccount", "kind: Role", "v1 Role/mg-meshgate: unexpected kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !strings.Contains(good, tt.old) {
				t.Fatalf("rendered chart lacks %q", tt.old)
			}
			_, err := Decode([]byte(strings.Replace(good, tt.old, tt.new, 1)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// Values the chart must refuse to render.
func TestChartRefusesBadValues(t *testing.T) {
	root, helm := tool(t)
	chart := filepath.Join(root, "deploy/helm/meshgate")
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"grace above termination", []string{"--set", "terminationGracePeriodSeconds=25"}, "terminationGracePeriodSeconds (25) must be above config.shutdownGrace (25s)"},
		{"longer grace", []string{"--set", "config.shutdownGrace=1m30s"}, "terminationGracePeriodSeconds (40) must be above config.shutdownGrace (90s)"},
		{"unknown config key", []string{"--set", "config.workers=3"}, "additional properties 'workers' not allowed"},
		{"chart-owned key", []string{"--set", "config.workerID=w1"}, "additional properties 'workerID' not allowed"},
		{"bad duration", []string{"--set", "config.shutdownGrace=25"}, "/config/shutdownGrace"},
		{"bad role arn", []string{"--set", "serviceAccount.roleArn=meshgate-role"}, "/serviceAccount/roleArn"},
		{"unknown top-level key", []string{"--set", "replicas=3"}, "additional properties 'replicas' not allowed"},
		{"key collision", []string{"--set", "contracts.files.a__b=x", "--set", "contracts.files.a/b=y"}, `map to the same ConfigMap key "a__b"`},
		{"path escape", []string{"-f", "VALUES:contracts: {files: {\"../x\": content}}"}, "must be a relative path without .."},
		{"absolute path", []string{"-f", "VALUES:contracts: {files: {\"/etc/x\": content}}"}, "must be a relative path without .."},
		{"bad key character", []string{"-f", "VALUES:contracts: {files: {\"a b.yaml\": content}}"}, "a ConfigMap key allows only"},
		{"git-sync without repo", []string{"--set", "contracts.gitSync.enabled=true"}, "contracts.gitSync.repo is required"},
		{"monitor without service", []string{"--set", "metrics.serviceMonitor.enabled=true", "--set", "metrics.service.enabled=false"}, "metrics.serviceMonitor.enabled needs metrics.service.enabled"},
		{"rule groups twice", []string{"--set", "metrics.prometheusRule.enabled=true", "--set-file", "metrics.prometheusRule.ruleFiles.again=" + filepath.Join(root, "deploy/prometheus/alerts.yaml")},
			`rule group "meshgate" appears twice`},
		{"rule file not YAML", []string{"--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.prometheusRule.ruleFiles.bad=groups: [x"},
			"metrics.prometheusRule.ruleFiles.bad is not YAML"},
		{"rule file without groups", []string{"--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.prometheusRule.ruleFiles.bad=rules: []"},
			"metrics.prometheusRule.ruleFiles.bad is not a Prometheus rule file"},
		{"no rule groups", []string{"--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.prometheusRule.defaultAlerts=false"},
			"metrics.prometheusRule.enabled without rule groups"},
		{"extra group without name", []string{"-f", "VALUES:metrics: {prometheusRule: {enabled: true, extraGroups: [{rules: [{alert: A, expr: up == 0}]}]}}"},
			"/metrics/prometheusRule/extraGroups/0': missing property 'name'"},
		{"s3 without prefix", []string{"--set", "contracts.s3Uri=s3://acme-contracts"}, "/contracts/s3Uri"},
		{"s3 empty prefix", []string{"--set", "contracts.s3Uri=s3://acme-contracts/"}, "/contracts/s3Uri"},
		{"s3 wildcard prefix", []string{"--set", "contracts.s3Uri=s3://acme-contracts/meshgate*"}, "/contracts/s3Uri"},
		{"s3 empty segment", []string{"--set", "contracts.s3Uri=s3://acme-contracts//meshgate"}, "/contracts/s3Uri"},
		{"s3 dot-dot segment", []string{"--set", "contracts.s3Uri=s3://acme-contracts/meshgate/../other"}, "/contracts/s3Uri"},
		{"s3 bucket with capitals", []string{"--set", "contracts.s3Uri=s3://Acme-Contracts/meshgate"}, "/contracts/s3Uri"},
		{"not an s3 uri", []string{"--set", "contracts.s3Uri=https://acme-contracts.s3.amazonaws.com/meshgate"}, "/contracts/s3Uri"},
		{"contracts URI in config", []string{"--set", "config.contracts=s3://acme-contracts/meshgate"}, "additional properties 'contracts' not allowed"},
		{"bad reload interval", []string{"--set", "config.contractsReload=10"}, "/config/contractsReload"},
		{"s3 and existing ConfigMap", []string{"--set", "contracts.s3Uri=s3://acme-contracts/meshgate", "--set", "contracts.existingConfigMap=data-contracts"},
			"contracts.s3Uri is set, and so is contracts.existingConfigMap: the worker reads its contracts from one source only"},
		{"s3 and items", []string{"-f", "VALUES:contracts: {s3Uri: s3://acme-contracts/meshgate, items: [{key: a.yaml, path: a.yaml}]}"},
			"contracts.s3Uri is set, and so is contracts.items:"},
		{"s3 and files", []string{"--set", "contracts.s3Uri=s3://acme-contracts/meshgate", "--set", "contracts.files.a=x"},
			"contracts.s3Uri is set, and so is contracts.files:"},
		{"s3 and git-sync", []string{"--set", "contracts.s3Uri=s3://acme-contracts/meshgate", "--set", "contracts.gitSync.enabled=true",
			"--set", "contracts.gitSync.repo=https://git.example.com/c.git", "--set", "contracts.existingConfigMap=x"},
			"so is contracts.existingConfigMap and contracts.gitSync.enabled: the worker reads its contracts from one source only (with s3Uri no ConfigMap or git checkout is mounted). Unset contracts.existingConfigMap and contracts.gitSync.enabled, or contracts.s3Uri"},
		{"rule file group without name", []string{"--set", "metrics.prometheusRule.enabled=true", "--set", "metrics.prometheusRule.ruleFiles.bad=groups: [{rules: []}]"},
			"every rule group needs a name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// "VALUES:<yaml>" is written to a values file (keys --set cannot express).
			for i, a := range tt.args {
				if v, ok := strings.CutPrefix(a, "VALUES:"); ok {
					path := filepath.Join(t.TempDir(), "values.yaml")
					if err := os.WriteFile(path, []byte(v+"\n"), 0o644); err != nil {
						t.Fatal(err)
					}
					tt.args[i] = path
				}
			}
			_, err := Template(helm, chart, "mg", "data", tt.args...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("helm template %v: error %v, want one containing %q", tt.args, err, tt.want)
			}
		})
	}
}
