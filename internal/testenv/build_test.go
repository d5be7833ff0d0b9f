package testenv_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/meshgate/meshgate/internal/testenv"
)

func TestBuildMeshgate(t *testing.T) {
	t.Parallel()
	bin := testenv.BuildMeshgate(t)
	if again := testenv.BuildMeshgate(t); again != bin {
		t.Errorf("second BuildMeshgate = %s, want the cached %s", again, bin)
	}
	out, err := exec.Command(bin, "version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s version: %v\n%s", bin, err, out)
	}
	if !strings.HasPrefix(string(out), "meshgate testenv ") {
		t.Errorf("meshgate version = %q, want it to report the build-time version testenv", out)
	}
}
