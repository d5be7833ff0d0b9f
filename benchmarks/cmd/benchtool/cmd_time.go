package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

func init() {
	commands["time"] = command{"run a command; append wall, user, sys and peak RSS as one line of a timings file", runTime}
}

// A timing line: label cores rep events wall_s user_s sys_s maxrss_bytes (tab-separated).
func runTime(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("time", flag.ContinueOnError)
	fs.SetOutput(stderr)
	label := fs.String("label", "", "what ran (e.g. meshgate)")
	cores := fs.Int("cores", 1, "cores the command was given")
	rep := fs.Int("rep", 1, "repetition number")
	events := fs.Int("events", 0, "events the command handles")
	out := fs.String("o", "", "append the timing line to this file (default stdout)")
	cmdOut := fs.String("stdout", "", "write the command's stdout to this file (default: discard)")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 || *label == "" || strings.ContainsAny(*label, "\t\n") {
		fmt.Fprintln(stderr, "usage: benchtool time -label L -cores N -rep N -events N [-o FILE] [-stdout FILE] -- command [args]")
		return 2
	}
	cmd := exec.CommandContext(ctx, fs.Arg(0), fs.Args()[1:]...)
	cmd.Stderr = stderr
	if *cmdOut != "" {
		f, err := os.Create(*cmdOut)
		if err != nil {
			fmt.Fprintf(stderr, "benchtool time: %v\n", err)
			return 1
		}
		defer f.Close()
		cmd.Stdout = f
	}
	start := time.Now()
	err := cmd.Run()
	wall := time.Since(start)
	if err != nil {
		fmt.Fprintf(stderr, "benchtool time: %s: %v\n", *label, err)
		return 1
	}
	ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if !ok {
		fmt.Fprintln(stderr, "benchtool time: no resource usage for the command")
		return 1
	}
	line := fmt.Sprintf("%s\t%d\t%d\t%d\t%.4f\t%.4f\t%.4f\t%d\n", *label, *cores, *rep, *events, wall.Seconds(),
		time.Duration(ru.Utime.Nano()).Seconds(), time.Duration(ru.Stime.Nano()).Seconds(), ru.Maxrss<<10)
	w := stdout
	if *out != "" {
		f, err := os.OpenFile(*out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintf(stderr, "benchtool time: %v\n", err)
			return 1
		}
		defer f.Close()
		w = f
	}
	if _, err := io.WriteString(w, line); err != nil {
		fmt.Fprintf(stderr, "benchtool time: %v\n", err)
		return 1
	}
	return 0
}
