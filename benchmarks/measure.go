package benchmarks

import (
	"fmt"
	"math"
	"runtime"
	"slices"
	"syscall"
	"time"
)

// Sample is one timed run of some events.
type Sample struct {
	Events int
	// Wall is the elapsed time; CPU the process's user+system time over the same span (GC and
	// every goroutine included). On a machine shared with other work, wall time also counts the
	// time the process waited for a core, so CPU time is the better measure of cost.
	Wall, CPU time.Duration
	// Allocs and AllocBytes are heap allocations during the run (runtime.MemStats).
	Allocs, AllocBytes uint64
}

// CPUTime is the process's user+system CPU time so far.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// PeakRSS is the process's peak resident set size in bytes (getrusage ru_maxrss).
func PeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Maxrss << 10
}

// Measure runs f, which handles events events, and returns its sample.
func Measure(events int, f func()) Sample {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cpu0, t0 := CPUTime(), time.Now()
	f()
	wall, cpu := time.Since(t0), CPUTime()-cpu0
	runtime.ReadMemStats(&after)
	return Sample{Events: events, Wall: wall, CPU: cpu,
		Allocs: after.Mallocs - before.Mallocs, AllocBytes: after.TotalAlloc - before.TotalAlloc}
}

// PerCPUSecond is events per second of CPU time: events per second on one fully used core.
func (s Sample) PerCPUSecond() float64 { return float64(s.Events) / s.CPU.Seconds() }

// PerSecond is events per second of wall time.
func (s Sample) PerSecond() float64 { return float64(s.Events) / s.Wall.Seconds() }

// CPUNsPerEvent and WallNsPerEvent are the costs of one event.
func (s Sample) CPUNsPerEvent() float64  { return float64(s.CPU.Nanoseconds()) / float64(s.Events) }
func (s Sample) WallNsPerEvent() float64 { return float64(s.Wall.Nanoseconds()) / float64(s.Events) }

// AllocsPerEvent and BytesPerEvent are heap allocations per event.
func (s Sample) AllocsPerEvent() float64 { return float64(s.Allocs) / float64(s.Events) }
func (s Sample) BytesPerEvent() float64  { return float64(s.AllocBytes) / float64(s.Events) }

// Stats summarises repeated measurements of one figure.
type Stats struct {
	Median, Min, Max float64
	N                int
}

// Summarize returns the median, minimum and maximum of xs.
func Summarize(xs []float64) Stats {
	if len(xs) == 0 {
		return Stats{Median: math.NaN(), Min: math.NaN(), Max: math.NaN()}
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	return Stats{Median: med, Min: s[0], Max: s[len(s)-1], N: len(s)}
}

// Spread is (max-min)/median, the relative spread of the repetitions.
func (s Stats) Spread() float64 { return (s.Max - s.Min) / s.Median }

// Format prints "median (min..max)" with prec decimals.
func (s Stats) Format(prec int) string {
	return fmt.Sprintf("%.*f (%.*f..%.*f)", prec, s.Median, prec, s.Min, prec, s.Max)
}
