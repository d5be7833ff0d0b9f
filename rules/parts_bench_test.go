package rules

import (
	"testing"

	"github.com/meshgate/meshgate/jsonx"
)

func BenchmarkPartDecode(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		jsonx.Decode(benchOrder, jsonx.Limits{})
	}
}

func BenchmarkPartRules(b *testing.B) {
	s := loadExamples(b)
	c := s.ByDomain("orders")
	e := NewEvaluator()
	m, _ := jsonx.Decode(benchOrder, jsonx.Limits{})
	e.ctx.now = benchNow
	m[ctxIdent] = &e.ctx
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out, err := e.vm.Run(c.all, m)
		if err != nil || out != true {
			b.Fatal(out, err)
		}
	}
}

func BenchmarkPartEnrich(b *testing.B) {
	s := loadExamples(b)
	c := s.ByDomain("orders")
	e := NewEvaluator()
	in := Input{Data: benchOrder, Now: benchNow}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		m, _ := jsonx.Decode(benchOrder, jsonx.Limits{})
		b.StartTimer()
		e.enrich(c, in, m)
	}
}
