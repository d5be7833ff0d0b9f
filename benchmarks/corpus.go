package benchmarks

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/meshgate/meshgate/gen"
	"github.com/meshgate/meshgate/rules"
)

// Now is the judging time of every benchmark and the time generated events are dated from,
// so that freshness rules give the same verdicts in every run.
var Now = time.Date(2026, 3, 14, 9, 30, 0, 0, time.UTC)

// Salt is the hash salt of the benchmarks (meshgate, naive, ceiling and peer all use it).
const Salt = "meshgate-bench-salt"

// Corpus defaults: ~1 KB order events, 10% bad (one defect each), no hostile records (the
// Benthos peer cannot classify all of them the way jsonx does; see README.md).
const (
	DefaultSeed        = 42
	DefaultBadFraction = 0.10
)

// ModuleRoot finds the directory holding the main module's go.mod, starting at the working
// directory and walking up.
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if data, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && isMainModule(data) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("main module root (go.mod of github.com/meshgate/meshgate) not found")
		}
		dir = parent
	}
}

func isMainModule(gomod []byte) bool {
	const want = "module github.com/meshgate/meshgate\n"
	return len(gomod) >= len(want) && string(gomod[:len(want)]) == want
}

// ExamplesDir is examples/contracts of the main module, or the directory named by the
// environment variable MESHGATE_BENCH_CONTRACTS.
func ExamplesDir() (string, error) {
	if dir := os.Getenv("MESHGATE_BENCH_CONTRACTS"); dir != "" {
		return dir, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "examples", "contracts"), nil
}

// LoadExamples loads the example contracts with the benchmark salt from dir, or from the main
// module's examples/contracts when dir is "".
func LoadExamples(dir string) (*rules.Set, error) {
	if dir == "" {
		var err error
		if dir, err = ExamplesDir(); err != nil {
			return nil, err
		}
	}
	return rules.Load(dir, rules.Options{HashSalt: Salt})
}

// Orders returns the orders contract of LoadExamples(dir).
func Orders(dir string) (*rules.Contract, error) {
	s, err := LoadExamples(dir)
	if err != nil {
		return nil, err
	}
	c := s.ByDomain("orders")
	if c == nil {
		return nil, errors.New("examples have no orders contract")
	}
	return c, nil
}

// Corpus generates n order records (payloads only), deterministic from seed.
func Corpus(n int, seed uint64, badFraction float64) ([][]byte, error) {
	g, err := gen.New(gen.Config{Domain: gen.DomainOrders, Seed: seed, BadFraction: badFraction, Now: Now})
	if err != nil {
		return nil, fmt.Errorf("corpus: %w", err)
	}
	out := make([][]byte, n)
	for i := range out {
		out[i] = g.Next().Data
	}
	return out, nil
}

// Bytes is the total size of recs.
func Bytes(recs [][]byte) int {
	n := 0
	for _, r := range recs {
		n += len(r)
	}
	return n
}
