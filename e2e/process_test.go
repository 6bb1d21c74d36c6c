package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// hubBinary is the cmd/hub binary built once for the tests that run the
// hub as a separate process, so that they can kill it with SIGKILL.
var (
	hubBinaryOnce sync.Once
	hubBinaryPath string
	hubBinaryErr  error
)

func buildHub(t *testing.T) string {
	t.Helper()
	hubBinaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "obmenhub-e2e-bin-")
		if err != nil {
			hubBinaryErr = err
			return
		}
		hubBinaryPath = filepath.Join(dir, "hub")
		out, err := exec.Command("go", "build", "-o", hubBinaryPath, "obmenhub/cmd/hub").CombinedOutput()
		if err != nil {
			hubBinaryErr = fmt.Errorf("go build cmd/hub: %v\n%s", err, out)
		}
	})
	if hubBinaryErr != nil {
		t.Fatal(hubBinaryErr)
	}
	return hubBinaryPath
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// hubProcess is a hub running as a child process.
type hubProcess struct {
	t      *testing.T
	name   string
	addr   string
	config string
	env    []string
	cmd    *exec.Cmd
	done   chan struct{}
	mu     sync.Mutex
	log    strings.Builder
}

// startProcess starts the hub binary with the config text, which must
// contain "listen: {{ADDR}}"; the placeholder becomes a free address.
func startProcess(t *testing.T, name, configText string, env ...string) *hubProcess {
	t.Helper()
	p := &hubProcess{t: t, name: name, addr: freeAddr(t), env: env}
	p.config = filepath.Join(t.TempDir(), name+".yaml")
	text := strings.ReplaceAll(configText, "{{ADDR}}", p.addr)
	if err := os.WriteFile(p.config, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	p.start()
	t.Cleanup(p.kill)
	return p
}

func (p *hubProcess) start() {
	p.t.Helper()
	cmd := exec.Command(buildHub(p.t), "-config", p.config)
	cmd.Env = append(os.Environ(), p.env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		p.t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.cmd = cmd
	p.done = make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if testing.Verbose() {
				fmt.Fprintf(os.Stderr, "[%s] %s\n", p.name, sc.Text())
			}
		}
		cmd.Wait()
		close(p.done)
	}()
	p.waitReady()
}

// waitReady waits until the hub answers /healthz.
func (p *hubProcess) waitReady() {
	p.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			p.t.Fatalf("hub %s exited at start:\n%s", p.name, p.logs())
		default:
		}
		resp, err := http.Get("http://" + p.addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.t.Fatalf("hub %s not ready after 30 s:\n%s", p.name, p.logs())
}

// kill sends SIGKILL and waits for the process to end.
func (p *hubProcess) kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// restart kills the process and starts it again on the same config.
func (p *hubProcess) restart() {
	p.t.Helper()
	p.kill()
	p.start()
}

func (p *hubProcess) logs() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

func (p *hubProcess) exchangeURL() string { return "http://" + p.addr + "/1c/exchange" }

// withTimeout returns a context that ends after d.
func withTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}
