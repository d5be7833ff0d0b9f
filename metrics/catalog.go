package metrics

import (
	"fmt"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Family describes one metric family New registers.
type Family struct {
	Name   string
	Type   string   // counter, gauge, histogram, summary, untyped
	Labels []string // variable label names, sorted; nil for none
	Help   string
}

// Families returns every metric family New registers, meshgate's own and those of the Go
// runtime and process collectors, sorted by name. It builds a throwaway registry, gives
// each labelled vector one child (so that it shows up when gathered) and gathers it, so
// the answer is what a scrape of a fresh worker would show, not a list kept by hand.
// Tools that check docs and dashboards against the code use it.
func Families() ([]Family, error) {
	reg := prometheus.NewRegistry()
	rec := &recorder{Registerer: reg}
	New(rec)
	for _, c := range rec.collectors {
		if err := touch(c); err != nil {
			return nil, err
		}
	}
	mfs, err := reg.Gather()
	if err != nil {
		return nil, fmt.Errorf("gather: %w", err)
	}
	out := make([]Family, 0, len(mfs))
	for _, mf := range mfs {
		f := Family{Name: mf.GetName(), Type: strings.ToLower(mf.GetType().String()), Help: mf.GetHelp()}
		if len(mf.Metric) > 0 {
			for _, lp := range mf.Metric[0].Label {
				f.Labels = append(f.Labels, lp.GetName())
			}
			sort.Strings(f.Labels)
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// recorder is a Registerer that remembers what it registered.
type recorder struct {
	prometheus.Registerer
	collectors []prometheus.Collector
}

func (r *recorder) Register(c prometheus.Collector) error {
	if err := r.Registerer.Register(c); err != nil {
		return err
	}
	r.collectors = append(r.collectors, c)
	return nil
}

func (r *recorder) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// touch creates one child of a labelled vector. The label count is found by trying: a
// vector accepts exactly its number of label values.
func touch(c prometheus.Collector) error {
	var get func(vals ...string) error
	switch v := c.(type) {
	case *prometheus.CounterVec:
		get = func(vals ...string) error { _, err := v.GetMetricWithLabelValues(vals...); return err }
	case *prometheus.GaugeVec:
		get = func(vals ...string) error { _, err := v.GetMetricWithLabelValues(vals...); return err }
	case *prometheus.HistogramVec:
		get = func(vals ...string) error { _, err := v.GetMetricWithLabelValues(vals...); return err }
	case *prometheus.SummaryVec:
		get = func(vals ...string) error { _, err := v.GetMetricWithLabelValues(vals...); return err }
	default:
		return nil // not a vector: it shows up by itself
	}
	vals := []string{"x", "x", "x", "x", "x", "x", "x", "x", "x", "x"}
	for n := 0; n <= len(vals); n++ {
		if get(vals[:n]...) == nil {
			return nil
		}
	}
	return fmt.Errorf("metrics: cannot find the label count of %T", c)
}
