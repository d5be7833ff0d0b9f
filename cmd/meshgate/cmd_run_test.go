package main

import (
	"testing"
	"time"
)

// The whole exit fits in shutdownGrace from the signal, the steps in order, and the worker
// gets nearly all of it.
func TestPlanStop(t *testing.T) {
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	for _, tc := range []struct {
		name  string
		grace time.Duration
		want  stopPlan
	}{
		{"default 25s: reserve capped at 2s", 25 * time.Second, stopPlan{signal: t0, worker: ms(23000), shadow: ms(24000), admin: ms(24500), exit: ms(25000)}},
		{"3s: a fifth in reserve", 3 * time.Second, stopPlan{signal: t0, worker: ms(2400), shadow: ms(2700), admin: ms(2850), exit: ms(3000)}},
		{"1s minimum", time.Second, stopPlan{signal: t0, worker: ms(800), shadow: ms(900), admin: ms(950), exit: ms(1000)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := planStop(t0, tc.grace); got != tc.want {
				t.Errorf("planStop(%v) =\n%+v\nwant\n%+v", tc.grace, got, tc.want)
			}
		})
	}
}
