package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
)

// version is set at build time: -ldflags "-X main.version=v1.2.3".
var version = "dev"

func init() {
	register("version", "print the meshgate version", func(_ context.Context, _ []string, stdout, _ io.Writer) int {
		fmt.Fprintf(stdout, "meshgate %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
		return 0
	})
}
