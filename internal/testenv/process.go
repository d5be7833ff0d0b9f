package testenv

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"testing"
	"time"
)

// startTimeout bounds how long an emulator may take to print its ready line. Node starts in well
// under a second on an idle machine; CI machines can be very busy.
const startTimeout = 60 * time.Second

// stopTimeout is how long a stopped emulator gets between SIGTERM and SIGKILL.
const stopTimeout = 3 * time.Second

var readyLine = regexp.MustCompile(`listening on (http://127\.0\.0\.1:[0-9]+)`)

// process is one emulator started by startNode.
type process struct {
	name  string
	cmd   *exec.Cmd
	stdin io.WriteCloser // closing it makes the emulator exit (--exit-on-stdin-close)
	url   string
	done  chan struct{} // closed when the process has exited and its output is drained
	out   *syncBuffer   // stdout and stderr, for failure reports

	stopOnce sync.Once
}

func nodePath() (string, error) {
	p, err := exec.LookPath("node")
	if err != nil {
		return "", errors.New("node not found on PATH")
	}
	return p, nil
}

// startNode runs `node script --port 0 --exit-on-stdin-close` in a process group of its own and
// waits for its ready line, which names the port it bound on 127.0.0.1.
func startNode(name, script string) (*process, error) {
	node, err := nodePath()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(node, script, "--port", "0", "--exit-on-stdin-close")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Env = append(os.Environ(), "AWS_REGION="+Region) // kinesalite puts the region in ARNs
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, stdin: stdin, done: make(chan struct{}), out: &syncBuffer{}}

	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.out.WriteString(line + "\n")
			if m := readyLine.FindStringSubmatch(line); m != nil {
				select {
				case ready <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	go func() {
		_ = cmd.Wait()
		pw.Close()
		close(p.done)
	}()

	select {
	case p.url = <-ready:
		return p, nil
	case <-p.done:
		return p, fmt.Errorf("%s exited during start-up (%v); output:\n%s", name, cmd.ProcessState, p.out.String())
	case <-time.After(startTimeout):
		return p, fmt.Errorf("%s printed no ready line within %v; output:\n%s", name, startTimeout, p.out.String())
	}
}

// stop ends the process and its group: stdin closed and SIGTERM, then SIGKILL after stopTimeout.
// It logs the emulator's output when t failed, to help explain the failure.
func (p *process) stop(t testing.TB) {
	p.stopOnce.Do(func() {
		// Signal the group only while its leader is unreaped, so the pgid cannot have been reused.
		pgid := p.cmd.Process.Pid
		_ = p.stdin.Close()
		select {
		case <-p.done:
		default:
			_ = syscall.Kill(-pgid, syscall.SIGTERM)
		}
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			_ = syscall.Kill(-pgid, syscall.SIGKILL)
			<-p.done
		}
		if t.Failed() {
			t.Logf("testenv: %s output:\n%s", p.name, p.out.String())
		}
	})
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) WriteString(s string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	const max = 1 << 20 // keep memory bounded for chatty emulators
	if b.buf.Len() < max {
		b.buf.WriteString(s)
	}
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
