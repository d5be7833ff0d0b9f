package checks

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// RepoRoot returns the meshgate repository root: the nearest parent directory of the working
// directory whose go.mod declares module github.com/meshgate/meshgate.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module github.com/meshgate/meshgate\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("no meshgate repository root above the working directory")
		}
		dir = parent
	}
}

// Helm returns the helm binary to use: $HELM, <root>/.cache/bin/helm, or helm on PATH.
func Helm(root string) (string, error) {
	if h := os.Getenv("HELM"); h != "" {
		return h, nil
	}
	if h := filepath.Join(root, ".cache", "bin", "helm"); fileExists(h) {
		return h, nil
	}
	if h, err := exec.LookPath("helm"); err == nil {
		return h, nil
	}
	return "", fmt.Errorf("helm not found: set HELM, run deploy/ci-deploy-checks.sh (builds .cache/bin/helm), or install helm v3")
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir()
}

// KubeVersion is passed to helm template/lint: helm built with `go install` has no version
// stamped and defaults to Kubernetes v1.20, below the chart's kubeVersion constraint.
const KubeVersion = "1.30.0"

// Template runs `helm template` on the chart with the given extra arguments and returns the
// rendered YAML stream, or helm's error output.
func Template(helm, chart, release, namespace string, args ...string) ([]byte, error) {
	full := append([]string{"template", release, chart, "--namespace", namespace, "--kube-version", KubeVersion}, args...)
	cmd := exec.Command(helm, full...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm %s: %v: %s", strings.Join(full, " "), err, stderr.String())
	}
	return stdout.Bytes(), nil
}

// ContractsArgs runs deploy/helm/contracts-args.sh on dir and returns the helm arguments.
func ContractsArgs(root, dir string) ([]string, error) {
	out, err := exec.Command(filepath.Join(root, "deploy", "helm", "contracts-args.sh"), dir).Output()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return nil, fmt.Errorf("contracts-args.sh %s: %v: %s", dir, err, ee.Stderr)
		}
		return nil, err
	}
	return strings.Split(strings.TrimRight(string(out), "\n"), "\n"), nil
}

func execHelm(helm string, args ...string) (string, error) {
	out, err := exec.Command(helm, args...).CombinedOutput()
	return string(out), err
}
