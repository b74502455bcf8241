//go:build linux

package lab

import (
	"net"
	"net/netip"
	"slices"
	"sync"
	"time"
)

// Headend is the kernel TCP listener standing in for the VPN headend over
// real TCP: it keeps what it receives and writes one cTCP-framed ESP
// packet to every connection each Interval, so that headend -> client data
// exists, until Quiet. It never tears a connection down itself.
type Headend struct {
	ln       net.Listener
	interval time.Duration
	stop     chan struct{}
	quiet    chan struct{}
	quietOne sync.Once
	wg       sync.WaitGroup
	writers  sync.WaitGroup
	open     []net.Conn

	mu    sync.Mutex
	conns []*headendConn
}

type headendConn struct {
	peer netip.AddrPort
	recv []byte
	sent []uint32
}

// HeadendConn is what one connection of a Headend carried.
type HeadendConn struct {
	// Peer is the connection's remote address.
	Peer netip.AddrPort
	// Received is the byte stream received; ESPSent the ESP sequence
	// numbers written.
	Received []byte
	ESPSent  []uint32
}

// ListenHeadend listens on addr (ip:port) in namespace ns.
func ListenHeadend(ns, addr string, interval time.Duration) (*Headend, error) {
	h := &Headend{interval: interval, stop: make(chan struct{}), quiet: make(chan struct{})}
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

// Conns returns what each connection carried so far, in accept order.
func (h *Headend) Conns() []HeadendConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []HeadendConn
	for _, c := range h.conns {
		out = append(out, HeadendConn{Peer: c.peer, Received: slices.Clone(c.recv), ESPSent: slices.Clone(c.sent)})
	}
	return out
}

// Quiet stops writing (the connections stay open) and waits for the
// writers to stop.
func (h *Headend) Quiet() {
	h.quietOne.Do(func() { close(h.quiet) })
	h.writers.Wait()
}

// Close stops the listener and closes the connections.
func (h *Headend) Close() {
	select {
	case <-h.stop:
		return
	default:
	}
	h.Quiet()
	close(h.stop)
	h.ln.Close()
	h.mu.Lock()
	for _, c := range h.open {
		c.Close()
	}
	h.mu.Unlock()
	h.wg.Wait()
}

func (h *Headend) accept() {
	defer h.wg.Done()
	for {
		conn, err := h.ln.Accept()
		if err != nil {
			return
		}
		c := &headendConn{peer: conn.RemoteAddr().(*net.TCPAddr).AddrPort()}
		c.peer = netip.AddrPortFrom(c.peer.Addr().Unmap(), c.peer.Port())
		h.mu.Lock()
		h.conns = append(h.conns, c)
		h.open = append(h.open, conn)
		h.mu.Unlock()
		h.wg.Add(1)
		h.writers.Add(1)
		go func() {
			defer h.wg.Done()
			buf := make([]byte, 65536)
			for {
				n, err := conn.Read(buf)
				h.mu.Lock()
				c.recv = append(c.recv, buf[:n]...)
				h.mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
		go func() {
			defer h.writers.Done()
			realtime() // keep the pace on a busy machine
			f := NewFramer(false)
			for {
				select {
				case <-h.quiet:
					return
				case <-time.After(h.interval):
				}
				p, seq := f.ESP(256)
				conn.SetWriteDeadline(time.Now().Add(time.Second))
				if _, err := conn.Write(p); err != nil {
					return
				}
				h.mu.Lock()
				c.sent = append(c.sent, seq)
				h.mu.Unlock()
			}
		}()
	}
}

// KernelClient sends cTCP-framed payloads over a kernel TCP connection
// (which retransmits), the real-TCP control case for the raw client.
type KernelClient struct {
	conn net.Conn
	wg   sync.WaitGroup
	mu   sync.Mutex
	recv []byte
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
		buf := make([]byte, 65536)
		for {
			n, err := k.conn.Read(buf)
			k.mu.Lock()
			k.recv = append(k.recv, buf[:n]...)
			k.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	return k, nil
}

// Local returns the connection's local address.
func (k *KernelClient) Local() netip.AddrPort {
	a := k.conn.LocalAddr().(*net.TCPAddr).AddrPort()
	return netip.AddrPortFrom(a.Addr().Unmap(), a.Port())
}

// Send writes p (one write: with Nagle off, Go's default, one segment
// when the path is clear).
func (k *KernelClient) Send(p []byte) error {
	_, err := k.conn.Write(p)
	return err
}

// Received returns the byte stream received so far.
func (k *KernelClient) Received() []byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.recv)
}

// Close closes the connection.
func (k *KernelClient) Close() {
	k.conn.Close()
	k.wg.Wait()
}
