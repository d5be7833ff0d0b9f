package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/meshgate/meshgate/rules"
)

func init() {
	register("lint", "compile contracts, policies and fixtures; report every error as file:line:col", runLint)
}

// runLint loads (parses and compiles) every directory given and prints all problems. Hash
// steps use the insecure test salt when MESHGATE_HASH_SALT is not set, unless --require-salt.
func runLint(_ context.Context, args []string, stdout, stderr io.Writer) int {
	fs := newFlags("lint", "usage: meshgate lint [--require-salt] [-q] DIR|FILE...", stderr)
	requireSalt := fs.Bool("require-salt", false, "fail, as the worker does, when a contract hashes a field and MESHGATE_HASH_SALT is not set")
	quiet := fs.Bool("q", false, "print errors only, no summary or notes")
	if err := parseInterspersed(fs, args); err != nil {
		return flagExitCode(err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return 2
	}
	code := 0
	for _, dir := range fs.Args() {
		set, err := rules.Load(dir, rules.Options{InsecureTestSalt: !*requireSalt})
		if err != nil {
			var list rules.ErrorList
			if errors.As(err, &list) {
				fmt.Fprintln(stderr, list.Error())
				fmt.Fprintf(stdout, "FAIL\t%s\t%d errors\n", dir, len(list))
			} else {
				fmt.Fprintf(stderr, "meshgate lint: %v\n", err)
				fmt.Fprintf(stdout, "FAIL\t%s\n", dir)
			}
			code = 1
			continue
		}
		if *quiet {
			continue
		}
		for _, n := range set.Notes() {
			fmt.Fprintf(stdout, "note: %s\n", n)
		}
		if os.Getenv("MESHGATE_HASH_SALT") == "" {
			for _, c := range append(append([]*rules.Contract{}, set.Contracts()...), set.Shadows()...) {
				if c.HashesFields() {
					fmt.Fprintf(stdout, "note: %s hashes fields: the worker needs MESHGATE_HASH_SALT (lint used the insecure test salt)\n", c.File)
				}
			}
		}
		fmt.Fprintf(stdout, "ok  \t%s\t%d contracts, %d shadow, %d policies, %d fixture files (set %s)\n",
			dir, len(set.Contracts()), len(set.Shadows()), len(set.Policies()), len(set.Fixtures()), short(set.Hash()))
	}
	return code
}

func short(hash string) string {
	if len(hash) > 12 {
		return hash[:12]
	}
	return hash
}
