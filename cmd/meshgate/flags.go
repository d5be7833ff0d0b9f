package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
)

// newFlags returns a subcommand's flag set: parse errors go to stderr, and -h prints the
// usage line(s) followed by the flags and their defaults.
func newFlags(name, usage string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, usage)
		fs.PrintDefaults()
	}
	return fs
}

// flagExitCode is a subcommand's exit code after its flags failed to parse: 0 when -h asked
// for the usage (already printed), 2 for a bad flag (the flag package printed why).
func flagExitCode(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return 2
}

// parseInterspersed parses flags that may follow positional arguments
// (`meshgate test DIR --require-coverage`); "--" ends flag parsing.
func parseInterspersed(fs *flag.FlagSet, args []string) error {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if len(args) > len(rest) && args[len(args)-len(rest)-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
	return fs.Parse(append([]string{"--"}, pos...))
}
