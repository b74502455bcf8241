//go:build linux

package lab

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Addresses of the lab. The client is behind a private address, as a
// Cisco VPN client at home would be; the rest use documentation ranges.
// All of them exist only inside the lab's namespaces.
const (
	ClientAddr  = "192.168.50.2"
	RouterCAddr = "192.168.50.1"
	ProxyAddr   = "198.51.100.2"
	RouterPAddr = "198.51.100.1"
	ServerAddr  = "203.0.113.2"
	RouterSAddr = "203.0.113.1"
	// Port is the cTCP port on the proxy and on the server.
	Port = 10000
)

// Interface names inside the namespaces.
const (
	ClientIf  = "c0" // client side of client<->router
	RouterCIf = "rc"
	RouterPIf = "rp"
	ProxyIf   = "p0"
	RouterSIf = "rs"
	ServerIf  = "s0" // server side of server<->router
)

// Lab is one set of namespaces: client, router, proxy and server.
type Lab struct {
	// Client, Router, Proxy and Server are the namespace names.
	Client, Router, Proxy, Server string

	mu    sync.Mutex
	procs []*Proc
}

// Tools lists the commands the lab runs.
var Tools = []string{"ip", "ss", "nft", "socat", "chrt", "tcpdump", "tshark"}

// Missing returns why the lab cannot run here ("" when it can): not Linux,
// not root, or one of Tools absent from PATH.
func Missing() string {
	var why []string
	if os.Geteuid() != 0 {
		why = append(why, "root")
	}
	for _, t := range Tools {
		if _, err := exec.LookPath(t); err != nil {
			why = append(why, t)
		}
	}
	if len(why) == 0 {
		return ""
	}
	return "needs " + strings.Join(why, ", ")
}

// New creates the namespaces, links and routes of a lab with names unique
// to this run. On error everything created so far is removed.
func New() (*Lab, error) {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	id := "ctcplab-" + hex.EncodeToString(b[:])
	l := &Lab{Client: id + "-c", Router: id + "-r", Proxy: id + "-p", Server: id + "-s"}
	if err := l.setup(); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

func (l *Lab) setup() error {
	for _, ns := range []string{l.Client, l.Router, l.Proxy, l.Server} {
		if err := run("ip", "netns", "add", ns); err != nil {
			return err
		}
		if err := l.IP(ns, "link", "set", "lo", "up"); err != nil {
			return err
		}
		// IPv4 only: no IPv6 neighbour discovery in the captures.
		if err := l.Exec(ns, "sh", "-c", "echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6"); err != nil {
			return err
		}
	}
	links := []struct {
		ns, ifc, addr, peerNS, peerIf, peerAddr string
	}{
		{l.Client, ClientIf, ClientAddr, l.Router, RouterCIf, RouterCAddr},
		{l.Proxy, ProxyIf, ProxyAddr, l.Router, RouterPIf, RouterPAddr},
		{l.Server, ServerIf, ServerAddr, l.Router, RouterSIf, RouterSAddr},
	}
	for _, k := range links {
		if err := run("ip", "link", "add", k.ifc, "netns", k.ns, "type", "veth", "peer", "name", k.peerIf, "netns", k.peerNS); err != nil {
			return err
		}
		for _, e := range [][3]string{{k.ns, k.ifc, k.addr}, {k.peerNS, k.peerIf, k.peerAddr}} {
			if err := l.IP(e[0], "addr", "add", e[2]+"/24", "dev", e[1]); err != nil {
				return err
			}
			if err := l.IP(e[0], "link", "set", e[1], "up"); err != nil {
				return err
			}
		}
		if err := l.IP(k.ns, "route", "add", "default", "via", k.peerAddr); err != nil {
			return err
		}
	}
	return l.Exec(l.Router, "sh", "-c", "echo 1 > /proc/sys/net/ipv4/ip_forward")
}

// IP runs ip with args in namespace ns.
func (l *Lab) IP(ns string, args ...string) error {
	return run("ip", append([]string{"-n", ns}, args...)...)
}

// Exec runs a command in namespace ns and waits for it.
func (l *Lab) Exec(ns string, name string, args ...string) error {
	return run("ip", append([]string{"netns", "exec", ns, name}, args...)...)
}

// Nft loads an nftables ruleset into namespace ns.
func (l *Lab) Nft(ns, ruleset string) error {
	cmd := exec.Command("ip", "netns", "exec", ns, "nft", "-f", "-")
	cmd.Stdin = strings.NewReader(ruleset)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("nft in %s: %v: %s", ns, err, bytes.TrimSpace(out))
	}
	return nil
}

// NftList returns the ruleset of namespace ns (with counters).
func (l *Lab) NftList(ns string) string {
	out, err := exec.Command("ip", "netns", "exec", ns, "nft", "list", "ruleset").CombinedOutput()
	if err != nil {
		return fmt.Sprintf("nft list ruleset: %v: %s", err, out)
	}
	return string(out)
}

// Close stops the lab's processes and deletes its namespaces (which
// removes the veth pairs and every socket still open in them).
func (l *Lab) Close() error {
	l.mu.Lock()
	procs := l.procs
	l.procs = nil
	l.mu.Unlock()
	for i := len(procs) - 1; i >= 0; i-- {
		procs[i].Stop()
	}
	var errs []error
	for _, ns := range []string{l.Client, l.Router, l.Proxy, l.Server} {
		if _, err := os.Stat("/run/netns/" + ns); err != nil {
			continue
		}
		if err := run("ip", "netns", "del", ns); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Proc is a process the lab started in a namespace.
type Proc struct {
	cmd    *exec.Cmd
	done   chan struct{}
	err    error
	mu     sync.Mutex
	stderr bytes.Buffer
}

// Start starts name with args in namespace ns. When ready is not empty,
// Start waits (up to 5 s) until the process writes a line containing it
// to standard error.
func (l *Lab) Start(ns, ready string, name string, args ...string) (*Proc, error) {
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, name}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	p := &Proc{cmd: cmd, done: make(chan struct{})}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	l.mu.Lock()
	l.procs = append(l.procs, p)
	l.mu.Unlock()
	seen := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		once := false
		for sc.Scan() {
			p.mu.Lock()
			p.stderr.Write(sc.Bytes())
			p.stderr.WriteByte('\n')
			p.mu.Unlock()
			if !once && ready != "" && strings.Contains(sc.Text(), ready) {
				once = true
				close(seen)
			}
		}
		_, _ = io.Copy(io.Discard, pr)
		p.err = cmd.Wait()
		close(p.done)
	}()
	if ready == "" {
		return p, nil
	}
	select {
	case <-seen:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before it was ready: %v: %s", name, p.err, p.Stderr())
	case <-time.After(5 * time.Second):
		p.Stop()
		return nil, fmt.Errorf("%s not ready after 5 s: %s", name, p.Stderr())
	}
}

// Stderr returns what the process wrote to standard error so far.
func (p *Proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// Stop sends SIGINT to the process group (tcpdump then flushes its file),
// then SIGKILL if it has not exited after 3 s, and waits for it.
func (p *Proc) Stop() {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-p.done:
	case <-time.After(3 * time.Second):
		_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
		<-p.done
	}
}

// WaitListen waits until a TCP socket listens on port in namespace ns.
func (l *Lab) WaitListen(ctx context.Context, ns string, port int) error {
	want := fmt.Sprintf(":%d ", port)
	for {
		out, err := exec.CommandContext(ctx, "ip", "netns", "exec", ns, "ss", "-Hltn").Output()
		if err == nil && strings.Contains(string(out)+" ", want) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing listens on port %d in %s", port, ns)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// InNetns runs f on an OS thread switched into namespace ns. Sockets f
// opens belong to ns and stay there when used from other goroutines.
func InNetns(ns string, f func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open own netns: %w", err)
			return
		}
		defer unix.Close(orig)
		target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("open netns %s: %w", ns, err)
			return
		}
		defer unix.Close(target)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errc <- fmt.Errorf("setns %s: %w", ns, err)
			return
		}
		err = f()
		// A thread that cannot go back stays locked and dies with the
		// goroutine.
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
		errc <- err
	}()
	return <-errc
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}
