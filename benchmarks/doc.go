// Package benchmarks measures meshgate's contract engine and per-shard pipeline against two
// references that do the same work on the same events:
//
//   - Naive: the simplest way a Go programmer would write the gate — encoding/json into a
//     map[string]any, one expr.Run per rule (each rule compiled once, from the very expressions
//     of the contract and its policies), enrichment on the map, json.Marshal. See naive.go.
//   - Ceiling: the example orders contract and envelope policy written by hand in Go, with no
//     rule engine at all, over the same fidelity decoder and patching encoder meshgate uses
//     (jsonx). It is what the engine could at best approach. See ceiling.go.
//
// Tests hold both references to meshgate's verdicts, record by record, on a generated corpus,
// so that a reference doing less work than meshgate fails the tests instead of flattering the
// ratios. The benchmarks (bench_test.go) and the harness (cmd/benchtool) report ns, allocations
// and events per second per core; benchmarks/run.sh (make bench) adds the whole-file runs of
// `meshgate check`, the Benthos peer (benchmarks/peer, its own module) and the ceiling.
// README.md explains every figure.
package benchmarks
