package promcheck

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/meshgate/meshgate/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// TestSimulateFeedsEveryMetric keeps the simulated exporter complete: the strict offline
// dashboard check relies on every meshgate metric having series.
func TestSimulateFeedsEveryMetric(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := metrics.New(reg)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	Simulate(ctx, m, "w", 5*time.Millisecond)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, mf := range mfs {
		if len(mf.Metric) > 0 {
			have[mf.GetName()] = true
		}
	}
	fams, err := metrics.Families()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range fams {
		if strings.HasPrefix(f.Name, "meshgate_") && !have[f.Name] {
			t.Errorf("Simulate never sets %s", f.Name)
		}
	}
}
