package main

// This file registers `meshgate test` (it cannot be called cmd_test.go: that name would make
// it a Go test file).

import (
	"context"
	"fmt"
	"io"

	"github.com/meshgate/meshgate/rules"
)

func init() {
	register("test", "run the fixtures next to the contracts and report rule coverage", runTest)
}

// runTest loads the directories (hash steps always use the public test salt, so fixtures can
// pin hashed values), runs every fixture case and prints go test style results.
func runTest(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("test", "usage: meshgate test [-v] [--require-coverage] DIR...", stderr)
	verbose := fs.Bool("v", false, "print every case, not only failures")
	requireCoverage := fs.Bool("require-coverage", false, "fail when a rule lacks a passing or a failing case")
	if err := parseInterspersed(fs, args); err != nil {
		return flagExitCode(err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	code := 0
	for _, dir := range fs.Args() {
		set, err := rules.Load(dir, rules.Options{HashSalt: rules.TestSalt})
		if err != nil {
			fmt.Fprintln(stderr, err)
			fmt.Fprintf(stdout, "FAIL\t%s\t[load failed]\n", dir)
			code = 1
			continue
		}
		rep := rules.RunFixtures(set)
		rep.WriteReport(stdout, *verbose, *requireCoverage)
		if rep.Failed() || (*requireCoverage && rep.CoverageGaps()) {
			code = 1
		}
	}
	if code != 0 {
		fmt.Fprintln(stdout, "FAIL")
	} else {
		fmt.Fprintln(stdout, "PASS")
	}
	return code
}
