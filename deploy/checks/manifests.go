package checks

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"sigs.k8s.io/yaml"
)

// Manifests are the objects of one `helm template` run, decoded into their API types.
type Manifests struct {
	Deployments     []*appsv1.Deployment
	ServiceAccounts []*corev1.ServiceAccount
	ConfigMaps      []*corev1.ConfigMap
	Services        []*corev1.Service
	PDBs            []*policyv1.PodDisruptionBudget
	ServiceMonitors []*monitoringv1.ServiceMonitor
	PrometheusRules []*monitoringv1.PrometheusRule
}

var docSep = regexp.MustCompile(`(?m)^---\s*$`)

// Decode splits a rendered YAML stream into documents and decodes each one strictly into the
// API type its apiVersion and kind name: an unknown or misspelt field, a duplicate key or a
// wrong type is an error, and so is a kind the chart is not expected to render.
func Decode(stream []byte) (*Manifests, error) {
	m := &Manifests{}
	var errs []string
	for i, doc := range docSep.Split(string(stream), -1) {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name string `json:"name"`
			} `json:"metadata"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			errs = append(errs, fmt.Sprintf("document %d: %v", i, err))
			continue
		}
		where := fmt.Sprintf("%s %s/%s", head.APIVersion, head.Kind, head.Metadata.Name)
		var err error
		switch head.APIVersion + " " + head.Kind {
		case "apps/v1 Deployment":
			err = strict(doc, &m.Deployments)
		case "v1 ServiceAccount":
			err = strict(doc, &m.ServiceAccounts)
		case "v1 ConfigMap":
			err = strict(doc, &m.ConfigMaps)
		case "v1 Service":
			err = strict(doc, &m.Services)
		case "policy/v1 PodDisruptionBudget":
			err = strict(doc, &m.PDBs)
		case "monitoring.coreos.com/v1 ServiceMonitor":
			err = strict(doc, &m.ServiceMonitors)
		case "monitoring.coreos.com/v1 PrometheusRule":
			err = strict(doc, &m.PrometheusRules)
		default:
			err = fmt.Errorf("unexpected kind")
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", where, err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("decode rendered manifests:\n%s", strings.Join(errs, "\n"))
	}
	return m, nil
}

// strict decodes one YAML document into a new *T and appends it to list.
func strict[T any](doc string, list *[]*T) error {
	obj := new(T)
	if err := yaml.UnmarshalStrict([]byte(doc), obj); err != nil {
		return err
	}
	*list = append(*list, obj)
	return nil
}

func stripComments(doc string) string {
	var b bytes.Buffer
	for _, line := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "#") {
			b.WriteString(line)
			b.WriteByte('\n')
		}
	}
	return b.String()
}
