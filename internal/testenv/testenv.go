// Package testenv starts meshgate's local AWS emulators for tests: kinesalite (Kinesis) and
// dynalite (DynamoDB) as node processes of their own, and gofakes3 (S3) in-process, each on a free
// 127.0.0.1 port, so that test packages running in parallel never share an emulator or a port.
//
//	func TestSomething(t *testing.T) {
//		s := testenv.Start(t)                // stopped again by t.Cleanup
//		s.CreateStream(t, "orders-raw", 2)   // waits until ACTIVE
//		s.CreateBucket(t, "meshgate-quarantine")
//		kin := s.Kinesis()                   // SDK clients aimed at the emulators
//		...
//		recs := s.ReadStream(t, ctx, "orders-curated")
//	}
//
// The emulators are the pinned npm packages in deploy/local/node_modules (install them with
// deploy/local/install.sh). When they are missing, Start skips the test with a message saying so,
// or fails it when the environment has CI=true.
//
// Emulator processes are stopped by t.Cleanup (their process groups are signalled, then killed).
// They also exit on their own when the test binary dies in any way, a -timeout panic included: each
// one watches its stdin, a pipe whose other end only the test process holds.
package testenv

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Region is the AWS region every client of a Stack uses.
const Region = "us-east-1"

// Dummy credentials accepted by all three emulators (none of them checks signatures).
const (
	AccessKeyID     = "test"
	SecretAccessKey = "test"
)

// Endpoints are the base URLs of a Stack's emulators, e.g. "http://127.0.0.1:41234".
type Endpoints struct {
	Kinesis  string
	DynamoDB string
	S3       string
}

// Environ returns a complete environment for a subprocess (a meshgate binary, the AWS CLI) that
// must use these emulators: the current environment without any AWS_* variable, plus the
// MESHGATE_<SERVICE>_ENDPOINT overrides, the region, dummy credentials, and no shared AWS files or
// instance metadata lookups. Set it as exec.Cmd.Env; append more entries after it (later entries
// win in os/exec).
func (e Endpoints) Environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"MESHGATE_KINESIS_ENDPOINT="+e.Kinesis,
		"MESHGATE_DYNAMODB_ENDPOINT="+e.DynamoDB,
		"MESHGATE_S3_ENDPOINT="+e.S3,
		"MESHGATE_REGION="+Region,
		"AWS_REGION="+Region,
		"AWS_DEFAULT_REGION="+Region,
		"AWS_ACCESS_KEY_ID="+AccessKeyID,
		"AWS_SECRET_ACCESS_KEY="+SecretAccessKey,
		"AWS_CONFIG_FILE="+os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE="+os.DevNull,
		"AWS_EC2_METADATA_DISABLED=true",
	)
}

// Stack is one set of running emulators. Its methods are safe for concurrent use.
type Stack struct {
	endpoints Endpoints

	clientsOnce sync.Once
	clients     clients
}

// Start starts kinesalite, dynalite and an in-process gofakes3 on free 127.0.0.1 ports and
// registers their shutdown with t.Cleanup. It skips t (fails it when CI=true) if the emulators
// are not installed, and fails t if one of them does not start.
func Start(t testing.TB) *Stack {
	t.Helper()
	root, err := ModuleRoot()
	if err != nil {
		t.Fatalf("testenv: %v", err)
	}
	if err := installed(root); err != nil {
		missing(t, fmt.Sprintf("local emulators not installed (%v): run deploy/local/install.sh", err))
	}
	local := filepath.Join(root, "deploy", "local")

	// The two node emulators start concurrently: node start-up is most of the cost.
	type started struct {
		p   *process
		err error
	}
	kinc, ddbc := make(chan started, 1), make(chan started, 1)
	go func() {
		p, err := startNode("kinesalite", filepath.Join(local, "kinesis.js"))
		kinc <- started{p, err}
	}()
	go func() {
		p, err := startNode("dynalite", filepath.Join(local, "dynamodb.js"))
		ddbc <- started{p, err}
	}()
	kin, ddb := <-kinc, <-ddbc
	for _, s := range []started{kin, ddb} {
		if s.p != nil {
			p := s.p
			t.Cleanup(func() { p.stop(t) })
		}
	}
	if err := errors.Join(kin.err, ddb.err); err != nil {
		t.Fatalf("testenv: %v", err)
	}

	s3srv := httptest.NewServer(newS3Handler())
	t.Cleanup(s3srv.Close)

	return &Stack{endpoints: Endpoints{Kinesis: kin.p.url, DynamoDB: ddb.p.url, S3: s3srv.URL}}
}

// Endpoints returns the emulators' base URLs.
func (s *Stack) Endpoints() Endpoints { return s.endpoints }

// newS3Handler is the S3 emulator: gofakes3 with its in-memory backend, configured like
// deploy/local/s3emu. The SDK's default checksum settings and SSE headers work against it as they
// are (see deploy/local/README.md), so no request rewriting is needed.
func newS3Handler() http.Handler {
	return gofakes3.New(s3mem.New()).Server()
}

// ModuleRoot returns the directory holding meshgate's go.mod, found by walking up from the current
// directory (a test's working directory is its package directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find module root: %w", err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && isMeshgateModule(data) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("find module root: no go.mod of github.com/meshgate/meshgate above the working directory")
		}
		dir = parent
	}
}

func isMeshgateModule(gomod []byte) bool {
	const want = "module github.com/meshgate/meshgate\n"
	return len(gomod) >= len(want) && string(gomod[:len(want)]) == want
}

// installed reports why the pinned emulators under deploy/local cannot be used, or nil.
func installed(root string) error {
	for _, pkg := range []string{"kinesalite", "dynalite"} {
		p := filepath.Join(root, "deploy", "local", "node_modules", pkg, "package.json")
		if _, err := os.Stat(p); err != nil {
			return fmt.Errorf("%s missing", filepath.Join("deploy", "local", "node_modules", pkg))
		}
	}
	if _, err := nodePath(); err != nil {
		return err
	}
	return nil
}

// missing skips t, or fails it when the environment says CI=true: in CI, a missing prerequisite
// must not turn into a silently skipped suite.
func missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("testenv: %s (CI=true, so this is an error)", msg)
	}
	t.Skipf("testenv: %s", msg)
}
