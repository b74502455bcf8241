//go:build linux

package lab

import (
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Headend is the kernel TCP listener standing in for the VPN headend: it
// reads and discards what it receives and writes one cTCP-framed ESP packet
// to every connection each Interval, so that headend -> client data exists.
type Headend struct {
	ln       net.Listener
	interval time.Duration
	received atomic.Int64
	stop     chan struct{}
	wg       sync.WaitGroup
}

// ListenHeadend listens on addr (ip:port) in namespace ns.
func ListenHeadend(ns, addr string, interval time.Duration) (*Headend, error) {
	h := &Headend{interval: interval, stop: make(chan struct{})}
	err := InNetns(ns, func() error {
		ln, err := net.Listen("tcp4", addr)
		h.ln = ln
		return err
	})
	if err != nil {
		return nil, err
	}
	h.wg.Add(1)
	go h.accept()
	return h, nil
}

// Received returns the bytes received on all connections so far.
func (h *Headend) Received() int64 { return h.received.Load() }

// Close stops the listener and the connections.
func (h *Headend) Close() {
	select {
	case <-h.stop:
		return
	default:
	}
	close(h.stop)
	h.ln.Close()
	h.wg.Wait()
}

func (h *Headend) accept() {
	defer h.wg.Done()
	for {
		conn, err := h.ln.Accept()
		if err != nil {
			return
		}
		h.wg.Add(2)
		go func() {
			defer h.wg.Done()
			buf := make([]byte, 65536)
			for {
				n, err := conn.Read(buf)
				h.received.Add(int64(n))
				if err != nil {
					return
				}
			}
		}()
		go func() {
			defer h.wg.Done()
			defer conn.Close()
			f := NewFramer(false)
			t := time.NewTicker(h.interval)
			defer t.Stop()
			for {
				select {
				case <-h.stop:
					return
				case <-t.C:
				}
				p, _ := f.ESP(256)
				conn.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := conn.Write(p); err != nil {
					return
				}
			}
		}()
	}
}

// KernelClient sends cTCP-framed payloads over a kernel TCP connection
// (which retransmits), the control case for RawClient.
type KernelClient struct {
	conn net.Conn
	wg   sync.WaitGroup
}

// DialKernel connects from namespace ns to addr.
func DialKernel(ns, addr string) (*KernelClient, error) {
	k := &KernelClient{}
	err := InNetns(ns, func() error {
		c, err := net.DialTimeout("tcp4", addr, 3*time.Second)
		k.conn = c
		return err
	})
	if err != nil {
		return nil, err
	}
	k.wg.Add(1)
	go func() {
		defer k.wg.Done()
		_, _ = io.Copy(io.Discard, k.conn)
	}()
	return k, nil
}

// Send writes p (one write: with Nagle off, one segment when the path is
// clear).
func (k *KernelClient) Send(p []byte) error {
	_, err := k.conn.Write(p)
	return err
}

// Close closes the connection.
func (k *KernelClient) Close() {
	k.conn.Close()
	k.wg.Wait()
}
