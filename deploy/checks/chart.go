package checks

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"
)

// ChartExpect is what one set of values asks of the rendered chart.
type ChartExpect struct {
	// RoleArn is the IRSA role; empty means the ServiceAccount has no role annotation.
	RoleArn string
	// CreateServiceAccount: the chart renders the ServiceAccount.
	CreateServiceAccount bool
	HTTPPort             int32
	PDB                  bool
	Service              bool
	ServiceMonitor       bool
	PodAnnotations       bool
	// Contracts source: GitSync, or a ConfigMap named ContractsConfigMap whose items are Items
	// (path by key; nil means the keys are the file names). ContractFiles, when set, are the
	// files the chart must render into that ConfigMap (path -> content).
	GitSync            bool
	ContractsConfigMap string
	Items              map[string]string
	ContractFiles      map[string]string
	// ContractsS3: the worker reads its contracts from an S3 prefix (contracts.s3Uri; the URI
	// is ContractsDir): nothing is mounted for them, no contracts ConfigMap or git-sync is
	// rendered, and /tmp has room for a download.
	ContractsS3 bool
	// ContractsDir is where the worker config must point.
	ContractsDir string
	// PrometheusRuleGroups are the rule groups the chart's PrometheusRule must carry, in order
	// (RuleFileGroups of the alert files given); nil means no PrometheusRule is rendered.
	// PrometheusRuleLabels must be among its labels.
	PrometheusRuleGroups []monitoringv1.RuleGroup
	PrometheusRuleLabels map[string]string
}

// ChartProblems checks the properties the chart promises and returns every violation found.
func ChartProblems(m *Manifests, want ChartExpect) []string {
	var p []string
	add := func(format string, args ...any) { p = append(p, fmt.Sprintf(format, args...)) }

	if len(m.Deployments) != 1 {
		return []string{fmt.Sprintf("%d Deployments, want 1", len(m.Deployments))}
	}
	d := m.Deployments[0]
	pod := d.Spec.Template.Spec
	objNames(m, add)

	// Selector and labels.
	sel, err := metav1LabelSelector(d)
	if err != nil {
		add("deployment selector: %v", err)
	} else if !sel.Matches(labels.Set(d.Spec.Template.Labels)) {
		add("deployment selector %v does not match the pod labels %v", d.Spec.Selector.MatchLabels, d.Spec.Template.Labels)
	}

	// Rolling update without surge.
	if s := d.Spec.Strategy; s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil ||
		s.RollingUpdate.MaxSurge == nil || s.RollingUpdate.MaxSurge.String() != "0" {
		add("strategy %+v: want RollingUpdate with maxSurge 0 (never more workers than replicas fighting over leases)", s)
	}

	// The worker container.
	var worker *corev1.Container
	for i := range pod.Containers {
		if pod.Containers[i].Name == "meshgate" {
			worker = &pod.Containers[i]
		}
	}
	if worker == nil {
		return append(p, "no container named meshgate")
	}
	if !hasWorkerIDFromPodName(worker.Env) {
		add("env MESHGATE_WORKER_ID must come from the downward API (fieldRef metadata.name)")
	}
	if !reflect.DeepEqual(worker.Args, []string{"run", "--config", "/etc/meshgate/config.yaml"}) {
		add("args %q: want run --config /etc/meshgate/config.yaml", worker.Args)
	}

	// Ports and probes.
	var httpPort *corev1.ContainerPort
	for i := range worker.Ports {
		if worker.Ports[i].Name == "http" {
			httpPort = &worker.Ports[i]
		}
	}
	if httpPort == nil || httpPort.ContainerPort != want.HTTPPort {
		add("container port http: got %+v, want %d", httpPort, want.HTTPPort)
	}
	checkProbe(add, "liveness", worker.LivenessProbe, "/healthz")
	checkProbe(add, "readiness", worker.ReadinessProbe, "/readyz")
	checkProbe(add, "startup", worker.StartupProbe, "/healthz")

	// Resources.
	if worker.Resources.Requests.Cpu().IsZero() || worker.Resources.Requests.Memory().IsZero() {
		add("resources: set cpu and memory requests")
	}
	if worker.Resources.Limits.Memory().IsZero() {
		add("resources: set a memory limit")
	}

	// Config: mounted, valid shape, grace below the termination grace period.
	cfgMap := findConfigMap(m, volumeConfigMap(pod, worker, "/etc/meshgate"))
	if cfgMap == nil {
		add("no ConfigMap mounted at /etc/meshgate")
	} else {
		cfg := map[string]any{}
		if err := yaml.Unmarshal([]byte(cfgMap.Data["config.yaml"]), &cfg); err != nil || len(cfg) == 0 {
			add("config.yaml in %s: %v", cfgMap.Name, err)
		}
		if cfg["contracts"] != want.ContractsDir {
			add("config contracts %v, want %s", cfg["contracts"], want.ContractsDir)
		}
		if h, _ := cfg["http"].(map[string]any); h == nil || h["listen"] != fmt.Sprintf("0.0.0.0:%d", want.HTTPPort) {
			add("config http.listen %v, want 0.0.0.0:%d (the kubelet probes the pod IP)", cfg["http"], want.HTTPPort)
		}
		if _, ok := cfg["workerID"]; ok {
			add("config sets workerID: every pod would share it; it must come from the pod name")
		}
		grace := 25 * time.Second
		if g, ok := cfg["shutdownGrace"].(string); ok {
			if grace, err = time.ParseDuration(g); err != nil {
				add("config shutdownGrace %q: %v", g, err)
			}
		}
		if tg := pod.TerminationGracePeriodSeconds; tg == nil || time.Duration(*tg)*time.Second <= grace {
			add("terminationGracePeriodSeconds %v must exceed the worker's shutdownGrace %s", deref(tg), grace)
		}
		if d.Spec.Template.Annotations["checksum/config"] == "" {
			add("pod template lacks the checksum/config annotation: config changes would not roll the pods")
		}
	}

	// Contracts.
	checkContracts(add, m, pod, worker, want)

	// Security context.
	checkSecurity(add, pod)

	// Service account and IRSA.
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		add("automountServiceAccountToken must be false: the worker calls no Kubernetes API")
	}
	if want.CreateServiceAccount {
		if len(m.ServiceAccounts) != 1 || m.ServiceAccounts[0].Name != pod.ServiceAccountName {
			add("want one ServiceAccount named %q (the pod's), got %d", pod.ServiceAccountName, len(m.ServiceAccounts))
		} else if got := m.ServiceAccounts[0].Annotations["eks.amazonaws.com/role-arn"]; got != want.RoleArn {
			add("ServiceAccount annotation eks.amazonaws.com/role-arn %q, want %q", got, want.RoleArn)
		}
	} else if len(m.ServiceAccounts) != 0 {
		add("ServiceAccount rendered although serviceAccount.create is false")
	}

	// Prometheus.
	ann := d.Spec.Template.Annotations
	if want.PodAnnotations {
		if ann["prometheus.io/scrape"] != "true" || ann["prometheus.io/port"] != strconv.Itoa(int(want.HTTPPort)) || ann["prometheus.io/path"] != "/metrics" {
			add("pod annotations %v: want prometheus.io/scrape=true, port=%d, path=/metrics", ann, want.HTTPPort)
		}
	} else if _, ok := ann["prometheus.io/scrape"]; ok {
		add("prometheus.io annotations rendered although disabled")
	}

	// PodDisruptionBudget.
	if want.PDB {
		if len(m.PDBs) != 1 {
			add("%d PodDisruptionBudgets, want 1", len(m.PDBs))
		} else if pdb := m.PDBs[0]; pdb.Spec.Selector == nil || !reflect.DeepEqual(pdb.Spec.Selector.MatchLabels, d.Spec.Selector.MatchLabels) ||
			pdb.Spec.MaxUnavailable == nil || pdb.Spec.MinAvailable != nil {
			add("PodDisruptionBudget %+v: want the deployment's selector and maxUnavailable", pdb.Spec)
		}
	} else if len(m.PDBs) != 0 {
		add("PodDisruptionBudget rendered although disabled")
	}

	// Service and ServiceMonitor.
	if want.Service {
		if len(m.Services) != 1 {
			add("%d Services, want 1", len(m.Services))
		} else {
			svc := m.Services[0]
			if !labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(d.Spec.Template.Labels)) || len(svc.Spec.Selector) == 0 {
				add("Service selector %v does not select the worker pods", svc.Spec.Selector)
			}
			if len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "http" || svc.Spec.Ports[0].TargetPort.String() != "http" {
				add("Service ports %+v: want one port named http targeting http", svc.Spec.Ports)
			}
			if want.ServiceMonitor {
				if len(m.ServiceMonitors) != 1 {
					add("%d ServiceMonitors, want 1", len(m.ServiceMonitors))
				} else {
					sm := m.ServiceMonitors[0]
					if !labels.SelectorFromSet(sm.Spec.Selector.MatchLabels).Matches(labels.Set(svc.Labels)) || len(sm.Spec.Selector.MatchLabels) == 0 {
						add("ServiceMonitor selector %v does not select the Service", sm.Spec.Selector.MatchLabels)
					}
					if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "http" || sm.Spec.Endpoints[0].Path != "/metrics" {
						add("ServiceMonitor endpoints %+v: want port http, path /metrics", sm.Spec.Endpoints)
					}
				}
			}
		}
	} else if len(m.Services) != 0 {
		add("Service rendered although disabled")
	}
	if !want.ServiceMonitor && len(m.ServiceMonitors) != 0 {
		add("ServiceMonitor rendered although disabled")
	}
	checkPrometheusRule(add, m, want)
	return p
}

func deref(p *int64) any {
	if p == nil {
		return nil
	}
	return *p
}

func metav1LabelSelector(d *appsv1.Deployment) (labels.Selector, error) {
	if d.Spec.Selector == nil || len(d.Spec.Selector.MatchLabels) == 0 {
		return nil, fmt.Errorf("empty")
	}
	return labels.SelectorFromSet(d.Spec.Selector.MatchLabels), nil
}

// objNames checks object names and label keys/values against the API's validation rules.
func objNames(m *Manifests, add func(string, ...any)) {
	type named struct {
		kind, name string
		labels     map[string]string
	}
	var all []named
	for _, o := range m.Deployments {
		all = append(all, named{"Deployment", o.Name, o.Labels}, named{"Deployment pod template", "", o.Spec.Template.Labels})
	}
	for _, o := range m.ConfigMaps {
		all = append(all, named{"ConfigMap", o.Name, o.Labels})
		for k := range o.Data {
			for _, e := range validation.IsConfigMapKey(k) {
				add("ConfigMap %s key %q: %s", o.Name, k, e)
			}
		}
	}
	for _, o := range m.ServiceAccounts {
		all = append(all, named{"ServiceAccount", o.Name, o.Labels})
	}
	for _, o := range m.Services {
		all = append(all, named{"Service", o.Name, o.Labels})
	}
	for _, o := range m.PDBs {
		all = append(all, named{"PodDisruptionBudget", o.Name, o.Labels})
	}
	for _, o := range m.ServiceMonitors {
		all = append(all, named{"ServiceMonitor", o.Name, o.Labels})
	}
	for _, o := range m.PrometheusRules {
		all = append(all, named{"PrometheusRule", o.Name, o.Labels})
	}
	for _, o := range all {
		if o.name != "" {
			for _, e := range validation.IsDNS1123Subdomain(o.name) {
				add("%s name %q: %s", o.kind, o.name, e)
			}
		}
		for k, v := range o.labels {
			for _, e := range validation.IsQualifiedName(k) {
				add("%s %s label key %q: %s", o.kind, o.name, k, e)
			}
			for _, e := range validation.IsValidLabelValue(v) {
				add("%s %s label %s value %q: %s", o.kind, o.name, k, v, e)
			}
		}
	}
}

func hasWorkerIDFromPodName(env []corev1.EnvVar) bool {
	for _, e := range env {
		if e.Name == "MESHGATE_WORKER_ID" {
			return e.Value == "" && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name"
		}
	}
	return false
}

func checkProbe(add func(string, ...any), name string, pr *corev1.Probe, path string) {
	if pr == nil || pr.HTTPGet == nil {
		add("%s probe: want an HTTP GET of %s on port http", name, path)
		return
	}
	if pr.HTTPGet.Path != path || pr.HTTPGet.Port.String() != "http" {
		add("%s probe GETs %s on port %s, want %s on http", name, pr.HTTPGet.Path, pr.HTTPGet.Port.String(), path)
	}
}

// volumeConfigMap returns the name of the ConfigMap volume c mounts at path ("" if none).
func volumeConfigMap(pod corev1.PodSpec, c *corev1.Container, path string) string {
	v := volumeAt(pod, c, path)
	if v == nil || v.ConfigMap == nil {
		return ""
	}
	return v.ConfigMap.Name
}

func volumeAt(pod corev1.PodSpec, c *corev1.Container, path string) *corev1.Volume {
	for _, vm := range c.VolumeMounts {
		if vm.MountPath != path {
			continue
		}
		for i := range pod.Volumes {
			if pod.Volumes[i].Name == vm.Name {
				return &pod.Volumes[i]
			}
		}
	}
	return nil
}

func findConfigMap(m *Manifests, name string) *corev1.ConfigMap {
	for _, cm := range m.ConfigMaps {
		if cm.Name == name {
			return cm
		}
	}
	return nil
}

func checkContracts(add func(string, ...any), m *Manifests, pod corev1.PodSpec, worker *corev1.Container, want ChartExpect) {
	if want.ContractsS3 {
		checkS3Contracts(add, m, pod, worker)
		return
	}
	var mount *corev1.VolumeMount
	for i := range worker.VolumeMounts {
		if worker.VolumeMounts[i].Name == "contracts" {
			mount = &worker.VolumeMounts[i]
		}
	}
	if mount == nil || !mount.ReadOnly || mount.MountPath != "/contracts" {
		add("contracts must be mounted read-only at /contracts, got %+v", mount)
		return
	}
	v := volumeAt(pod, worker, mount.MountPath)
	if want.GitSync {
		if v == nil || v.EmptyDir == nil {
			add("git-sync: the contracts volume must be an emptyDir shared with git-sync")
		}
		names := []string{}
		for _, c := range pod.InitContainers {
			names = append(names, "init:"+c.Name)
		}
		for _, c := range pod.Containers {
			names = append(names, c.Name)
		}
		sort.Strings(names)
		if !reflect.DeepEqual(names, []string{"git-sync", "init:git-sync-init", "meshgate"}) {
			add("git-sync: containers %v, want an init clone, a sync sidecar and the worker", names)
		}
		return
	}
	if v == nil || v.ConfigMap == nil || v.ConfigMap.Name != want.ContractsConfigMap {
		add("contracts volume %+v: want ConfigMap %s", v, want.ContractsConfigMap)
		return
	}
	items := map[string]string{}
	for _, it := range v.ConfigMap.Items {
		items[it.Key] = it.Path
	}
	if len(want.Items) == 0 && len(items) > 0 || len(want.Items) > 0 && !reflect.DeepEqual(items, want.Items) {
		add("contracts items %v, want %v", items, want.Items)
	}
	if want.ContractFiles == nil {
		return
	}
	if d := m.Deployments[0]; d.Spec.Template.Annotations["checksum/contracts"] == "" {
		add("pod template lacks the checksum/contracts annotation: changed contracts would not roll the pods")
	}
	cm := findConfigMap(m, want.ContractsConfigMap)
	if cm == nil {
		add("the chart did not render the contracts ConfigMap %s", want.ContractsConfigMap)
		return
	}
	// Project the ConfigMap the way the kubelet does and compare with the files.
	got := map[string]string{}
	for key, content := range cm.Data {
		path, ok := items[key]
		if !ok {
			add("contracts ConfigMap key %q is not projected by any item", key)
			continue
		}
		got[path] = content
	}
	if !reflect.DeepEqual(got, want.ContractFiles) {
		add("contracts as mounted differ from the files: got %d files %v, want %d files %v", len(got), keys(got), len(want.ContractFiles), keys(want.ContractFiles))
		for path, content := range want.ContractFiles {
			if got[path] != content {
				add("contracts file %s differs once mounted", path)
			}
		}
	}
}

// maxS3ContractsBytes is reload.MaxS3Bytes (this module does not import the product's): the
// most an S3 contracts source may hold, all of it downloaded into /tmp on each (re)load.
const maxS3ContractsBytes = 64 << 20

// checkS3Contracts: with contracts from S3 the pod mounts nothing for them (a leftover volume
// would mean a second, unused source), the only ConfigMap is the worker config, no git-sync
// runs, nothing overrides the config's contracts URI, and /tmp holds a whole download.
func checkS3Contracts(add func(string, ...any), m *Manifests, pod corev1.PodSpec, worker *corev1.Container) {
	all := append(append([]corev1.Container(nil), pod.InitContainers...), pod.Containers...)
	if len(all) != 1 {
		add("S3 contracts: %d containers, want the worker alone (no git-sync)", len(all))
	}
	for _, c := range all {
		for _, vm := range c.VolumeMounts {
			if vm.Name == "contracts" || vm.MountPath == "/contracts" {
				add("S3 contracts: container %s mounts %s at %s; nothing is mounted for S3 contracts", c.Name, vm.Name, vm.MountPath)
			}
		}
	}
	for _, v := range pod.Volumes {
		if v.Name == "contracts" {
			add("S3 contracts: the pod still has a contracts volume")
		}
	}
	cfgName := volumeConfigMap(pod, worker, "/etc/meshgate")
	for _, cm := range m.ConfigMaps {
		if cm.Name != cfgName {
			add("S3 contracts: ConfigMap %s rendered; the only ConfigMap is the worker config", cm.Name)
		}
	}
	if _, ok := m.Deployments[0].Spec.Template.Annotations["checksum/contracts"]; ok {
		add("S3 contracts: checksum/contracts annotation rendered although the chart renders no contracts")
	}
	for _, e := range worker.Env {
		if e.Name == "MESHGATE_CONTRACTS" {
			add("S3 contracts: env MESHGATE_CONTRACTS overrides the config's contracts URI")
		}
	}
	tmp := volumeAt(pod, worker, "/tmp")
	switch {
	case tmp == nil || tmp.EmptyDir == nil:
		add("S3 contracts: /tmp must be an emptyDir (the download goes there; the root file system is read-only)")
	case tmp.EmptyDir.SizeLimit == nil || tmp.EmptyDir.SizeLimit.Value() <= maxS3ContractsBytes:
		add("S3 contracts: /tmp sizeLimit %v must exceed 64Mi, the largest S3 contracts download", tmp.EmptyDir.SizeLimit)
	}
}

func keys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// checkSecurity checks the pod and every container (init containers and sidecars included).
func checkSecurity(add func(string, ...any), pod corev1.PodSpec) {
	psc := pod.SecurityContext
	if psc == nil || psc.RunAsNonRoot == nil || !*psc.RunAsNonRoot {
		add("pod securityContext.runAsNonRoot must be true")
	}
	if psc == nil || psc.SeccompProfile == nil || psc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		add("pod securityContext.seccompProfile must be RuntimeDefault")
	}
	all := append(append([]corev1.Container(nil), pod.InitContainers...), pod.Containers...)
	for _, c := range all {
		sc := c.SecurityContext
		if sc == nil {
			add("container %s has no securityContext", c.Name)
			continue
		}
		if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem {
			add("container %s: readOnlyRootFilesystem must be true", c.Name)
		}
		if sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation {
			add("container %s: allowPrivilegeEscalation must be false", c.Name)
		}
		if sc.Privileged != nil && *sc.Privileged {
			add("container %s: privileged", c.Name)
		}
		if sc.Capabilities == nil || !containsCap(sc.Capabilities.Drop, "ALL") || len(sc.Capabilities.Add) > 0 {
			add("container %s: capabilities must drop ALL and add none", c.Name)
		}
		if sc.RunAsNonRoot != nil && !*sc.RunAsNonRoot {
			add("container %s: runAsNonRoot false", c.Name)
		}
		if sc.RunAsUser != nil && *sc.RunAsUser == 0 {
			add("container %s: runs as uid 0", c.Name)
		}
	}
}

func containsCap(caps []corev1.Capability, c corev1.Capability) bool {
	for _, x := range caps {
		if strings.EqualFold(string(x), string(c)) {
			return true
		}
	}
	return false
}
