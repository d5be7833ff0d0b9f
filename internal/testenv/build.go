package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
)

// binDirPrefix names the temporary directories BuildMeshgate builds into; the creating process's
// pid follows it, so a later run can remove directories whose process is gone.
const binDirPrefix = "meshgate-testbin-"

var build struct {
	once sync.Once
	path string
	err  error
}

// BuildMeshgate builds ./cmd/meshgate once per test process (go build into a temporary
// directory; later calls return the same path) and returns the binary's path, for end-to-end
// tests that run the real worker. The binary reports version "testenv". It fails t if the build
// fails. Directories left by earlier test processes that have exited are removed.
func BuildMeshgate(t testing.TB) string {
	t.Helper()
	build.once.Do(func() {
		build.path, build.err = buildMeshgate()
	})
	if build.err != nil {
		t.Fatalf("testenv: %v", build.err)
	}
	return build.path
}

func buildMeshgate() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	removeStaleBinDirs()
	dir, err := os.MkdirTemp("", binDirPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return "", fmt.Errorf("build meshgate: %w", err)
	}
	bin := filepath.Join(dir, "meshgate")
	goTool := "go"
	if p, err := exec.LookPath("go"); err == nil {
		goTool = p
	} else if _, err := os.Stat("/usr/local/go/bin/go"); err == nil {
		goTool = "/usr/local/go/bin/go"
	}
	cmd := exec.Command(goTool, "build", "-ldflags", "-X main.version=testenv", "-o", bin, "./cmd/meshgate")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("go build ./cmd/meshgate: %v\n%s", err, out)
	}
	return bin, nil
}

// removeStaleBinDirs deletes BuildMeshgate directories of test processes that no longer exist.
func removeStaleBinDirs() {
	entries, err := os.ReadDir(os.TempDir())
	if err != nil {
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || !strings.HasPrefix(name, binDirPrefix) {
			continue
		}
		pidStr, _, ok := strings.Cut(strings.TrimPrefix(name, binDirPrefix), "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); err == syscall.ESRCH {
			os.RemoveAll(filepath.Join(os.TempDir(), name))
		}
	}
}
