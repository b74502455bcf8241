//go:build linux

package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Timing and choices of every scenario.
const (
	// ClientPace is the client's send interval; HeadendPace the headend's.
	ClientPace  = 30 * time.Millisecond
	HeadendPace = 100 * time.Millisecond
	// IKEMessages is how many IKE messages the client sends before ESP.
	IKEMessages = 4
	// DPDTimeout is how long the raw headend goes without client data,
	// while it keeps sending, before it resets the connection (dead-peer
	// detection tearing the tunnel down).
	DPDTimeout = 3 * time.Second
	// DropClientESP is the client ESP sequence number the router drops
	// toward the headend; DropHeadendESP the headend's, toward the client.
	DropClientESP  = 20
	DropHeadendESP = 10
	// UDPAttempts is how many IKE messages the client sends on each of UDP
	// 500 and 4500 when UDP is blocked, UDPInterval apart.
	UDPAttempts = 3
	UDPInterval = 250 * time.Millisecond
	// BurstEvery and BurstLen: with Case.Bursts, every BurstEvery-th
	// ESP tick the client sends BurstLen messages back to back.
	BurstEvery = 8
	BurstLen   = 4
	// Settle is how long the captures go on after the last packet sent.
	Settle = 300 * time.Millisecond
	// SeqShift is what the router's sequence randomizer (Case.SeqShift)
	// adds to the client's TCP sequence numbers toward the headend, and
	// takes from the headend's ACK numbers toward the client, as an ASA
	// does by default. nftables can XOR a header field, not add to it:
	// XOR with SeqShift adds it to every number whose bits under it are
	// clear, which the raw client's are (its ISS is 0x5eed0000 plus its
	// port, and it sends far less than the 1 MB that would carry into
	// the top byte); the headend's ACKs then have them all set, and XOR
	// takes it away. The lab's correlate check proves the offset constant.
	SeqShift = 0xa1000000
	// NATAddr and NATPorts are what the router's NAT (Case.NAT) turns the
	// client's address and port into toward the headend.
	NATAddr  = RouterSAddr
	NATPorts = "61000-61999"
)

// Capture point names, as the report's capture_point spells them.
const (
	ClientSide  = "client-side"
	HeadendSide = "headend-side"
)

// Case is one scenario of the lab: who the endpoints are, whether a proxy
// stands between them, what the router drops.
type Case struct {
	Name string
	// Proxy puts socat in the proxy namespace between client and headend
	// (the client dials ProxyAddr); otherwise the router only routes (the
	// client dials ServerAddr). ProxyBlock, when > 0, is socat's -b block
	// size: it re-segments the stream.
	Proxy      bool
	ProxyBlock int
	// Kernel uses kernel TCP endpoints (DialKernel and ListenHeadend)
	// instead of the raw cTCP endpoints.
	Kernel bool
	// DropToHeadend makes the router drop, once, the client segment that
	// carries ESP sequence number DropClientESP, on the first leg from
	// the client; DropToClient the headend's segment with DropHeadendESP,
	// on the last leg to the client.
	DropToHeadend, DropToClient bool
	// BlockUDP makes the client try IKE on UDP 500 and 4500 (UDPAttempts
	// each) before cTCP, and the router drop it.
	BlockUDP bool
	// Bursts makes the client send BurstLen ESP messages back to back
	// every BurstEvery ticks.
	Bursts bool
	// NAT makes the router translate the client's address and port
	// toward the headend (NATAddr, NATPorts); SeqShift makes it add
	// SeqShift to the client's sequence numbers (and take it from the
	// headend's ACKs), an ASA-like sequence randomizer. Both need a
	// routed case with raw endpoints.
	NAT, SeqShift bool
	// Length is how long the client sends after the cTCP handshake.
	Length time.Duration
	// Pace is the client's send interval (ClientPace when 0); CT the ESP
	// ciphertext size (small inner packets when 0).
	Pace time.Duration
	CT   int
	// WindowScale, RetransmitAfter, HandshakeDelay and InOrderAck are
	// the raw client's RawOptions.
	WindowScale     int
	RetransmitAfter int
	HandshakeDelay  time.Duration
	InOrderAck      bool
}

// Cases are the lab's scenarios: the seven that show each verdict rule
// from both sides of the device (doc.go says what each shows), three kept
// from the first lab (bulk transfer with window scaling, and a raw client
// made to retransmit), a client that acknowledges in order only, the
// failure captured too briefly to see the teardown (at-risk, possible),
// and routed loss through a NAT and through a sequence randomizer (for
// correlating the two captures).
var Cases = []Case{
	{Name: "proxy-loss-to-headend", Proxy: true, DropToHeadend: true, Length: 6 * time.Second},
	{Name: "routed-loss", DropToHeadend: true, DropToClient: true, Length: 6 * time.Second},
	{Name: "kernel-loss", Kernel: true, DropToHeadend: true, Length: 6 * time.Second},
	{Name: "proxy-healthy", Proxy: true, Length: 6 * time.Second},
	{Name: "proxy-loss-to-client", Proxy: true, DropToClient: true, Length: 6 * time.Second},
	{Name: "proxy-coalescing", Proxy: true, ProxyBlock: 400, Bursts: true, Length: 6 * time.Second},
	{Name: "udp-blocked", Proxy: true, DropToHeadend: true, BlockUDP: true, Length: 6 * time.Second},
	{Name: "ctcp-loss-bulk", Proxy: true, DropToHeadend: true, Length: 6 * time.Second, Pace: 5 * time.Millisecond, CT: 1280, WindowScale: 8},
	{Name: "raw-retransmit", Proxy: true, DropToHeadend: true, Length: 2500 * time.Millisecond, RetransmitAfter: 3},
	{Name: "raw-retransmit-ooo", Proxy: true, DropToHeadend: true, Length: 2500 * time.Millisecond, RetransmitAfter: 1, HandshakeDelay: 20 * time.Millisecond},
	{Name: "proxy-loss-to-client-inorder", Proxy: true, DropToClient: true, Length: 6 * time.Second, InOrderAck: true},
	{Name: "proxy-loss-to-headend-short", Proxy: true, DropToHeadend: true, Length: 3 * time.Second},
	{Name: "routed-nat", NAT: true, DropToHeadend: true, DropToClient: true, Length: 3 * time.Second},
	{Name: "routed-seq-randomizer", SeqShift: true, DropToHeadend: true, DropToClient: true, Length: 3 * time.Second},
}

// Log is what the lab itself did in one run, written as JSON next to the
// captures (<case>.lab.json). Addresses are ip:port; times RFC 3339.
type Log struct {
	Case    string    `json:"case"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended"`
	// Client and Headend are the cTCP endpoints; Proxy is null when no
	// proxy stood between them.
	Client  EndpointLog `json:"client"`
	Headend EndpointLog `json:"headend"`
	Proxy   *ProxyLog   `json:"proxy"`
	// Directions are client->headend and headend->client: what the
	// sending endpoint sent and the receiving endpoint received.
	Directions []DirectionLog `json:"directions"`
	// Drops are the router's drop rules, read back from nftables with
	// their counters.
	Drops []DropLog `json:"drops"`
	// Teardown is the headend's, when its dead-peer detection fired.
	Teardown *TeardownLog `json:"teardown"`
	// Rewrites are the router's rules that change the packets it
	// forwards (Case.NAT, Case.SeqShift), as nft lists them; SeqShift
	// is what its sequence randomizer adds to the client's sequence
	// numbers (0: none).
	Rewrites []string `json:"rewrites"`
	SeqShift uint32   `json:"seq_shift"`
	// ClientEnd says why and when the client stopped sending: "end" (the
	// run's length), "fin" or "rst" (the connection was closed on it).
	ClientEnd EndLog `json:"client_end"`
	// Captures are the two capture points, each with what crossed it,
	// derived from the directions and drops above.
	Captures []CaptureLog `json:"captures"`
}

// EndpointLog is one cTCP endpoint.
type EndpointLog struct {
	// Kind is "raw" (userspace cTCP: never retransmits) or "kernel".
	Kind string `json:"kind"`
	// Namespace and Address are where it ran; Peer is the other end of
	// its TCP connection (for the client, the address it dialed).
	Namespace string `json:"namespace"`
	Address   string `json:"address"`
	Peer      string `json:"peer"`
	// DupAcksIgnored, Retransmissions, ResetReceived and FINReceived are
	// a raw endpoint's counts (zero for kernel ones).
	DupAcksIgnored  int  `json:"dup_acks_ignored"`
	Retransmissions int  `json:"retransmissions"`
	ResetReceived   bool `json:"reset_received"`
	FINReceived     bool `json:"fin_received"`
}

// ProxyLog is the socat proxy.
type ProxyLog struct {
	// Listen is where the client connects; Upstream the proxy's own
	// address on its connection to the headend (as the headend saw it).
	Listen    string   `json:"listen"`
	Upstream  string   `json:"upstream"`
	Command   []string `json:"command"`
	BlockSize int      `json:"block_size"`
}

// DirectionLog is one direction of the cTCP stream.
type DirectionLog struct {
	From string `json:"from"` // "client" or "headend"
	To   string `json:"to"`
	SPI  string `json:"spi"`
	// IKESent and ESPSent are what the sender handed to its socket, in
	// order; IKEReceived and ESPReceived what the receiver found in the
	// bytes it received (sorted, distinct).
	IKESent     int      `json:"ike_sent"`
	ESPSent     []uint32 `json:"esp_sent"`
	IKEReceived int      `json:"ike_received"`
	ESPReceived []uint32 `json:"esp_received"`
}

// DropLog is one drop rule of the router.
type DropLog struct {
	// Kind is "tcp" (one cTCP segment, chosen by its ESP SPI and
	// sequence number, dropped once) or "udp" (every datagram to Port).
	Kind      string `json:"kind"`
	Direction string `json:"direction"` // "client->headend" or "headend->client"
	// Leg is the link the packet came in on: "client->proxy",
	// "proxy->client", "client->headend" or "headend->client".
	Leg      string `json:"leg"`
	RouterIn string `json:"router_in"`
	Source   string `json:"source"`
	SPI      string `json:"spi,omitempty"`
	ESPSeq   uint32 `json:"esp_seq,omitempty"`
	Port     int    `json:"port,omitempty"`
	// Packets is the rule's counter; PassedAfter counts later copies of
	// the same segment let through (a kernel's retransmissions).
	Packets     int `json:"packets"`
	PassedAfter int `json:"passed_after"`
	// Rule is the rule as nft lists it.
	Rule string `json:"rule"`
	// BeforeCapture lists the capture points the drop lies before (the
	// packet would have crossed them after the router).
	BeforeCapture []string `json:"before_capture"`
}

// TeardownLog is the headend's dead-peer teardown.
type TeardownLog struct {
	By   string    `json:"by"`   // "headend"
	Kind string    `json:"kind"` // "rst"
	At   time.Time `json:"at"`
	// LastClientData is when client data last reached the headend.
	LastClientData time.Time `json:"last_client_data"`
	// ESPSentWhileSilent counts the headend's ESP messages sent after it.
	ESPSentWhileSilent int `json:"esp_sent_while_silent"`
}

// EndLog says why and when an endpoint stopped.
type EndLog struct {
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// CaptureLog is one capture point.
type CaptureLog struct {
	Point     string `json:"point"` // ClientSide or HeadendSide
	File      string `json:"file"`
	Namespace string `json:"namespace"`
	Interface string `json:"interface"`
	// Client and Headend are the cTCP connection's ends as this capture
	// sees them (beyond a proxy, the proxy is the client).
	Client  string `json:"client"`
	Headend string `json:"headend"`
	// Directions: what crossed this point.
	Directions []PointDirection `json:"directions"`
	// KernelDropped is what tcpdump reported as "packets dropped by
	// kernel" when it stopped: packets that crossed the point but are
	// not in the file (a loaded machine), so the file is not the whole
	// truth of the log.
	KernelDropped int `json:"kernel_dropped"`
}

// PointDirection is what crossed a capture point in one direction.
type PointDirection struct {
	// From and To are addresses as this capture sees them; Sender is
	// "client" or "headend".
	From   string `json:"from"`
	To     string `json:"to"`
	Sender string `json:"sender"`
	// ESPMessages counts the distinct ESP sequence numbers that crossed
	// the point (the sender's at its own interface, the receiver's at
	// its own). ESPMissingSeqs are the ones dropped before the point and
	// never seen there, below the highest seen (a hole the capture
	// shows); ESPMissing their count.
	ESPMessages    int      `json:"esp_messages"`
	ESPMissing     int      `json:"esp_missing"`
	ESPMissingSeqs []uint32 `json:"esp_missing_seqs"`
	ESPFirst       uint32   `json:"esp_first"`
	ESPLast        uint32   `json:"esp_last"`
}

// CaptureFile is where Run writes the capture of one point.
func CaptureFile(dir, name, point string) string {
	return filepath.Join(dir, name+"-"+point+".pcap")
}

// LogFile is where Run writes a run's Log.
func LogFile(dir, name string) string {
	return filepath.Join(dir, name+".lab.json")
}

// Run runs scenario c in a new lab, writes the two captures and the log
// into dir and returns the log. It takes c.Length plus a second or two.
//
// Runs may go on at once, each in its own namespaces. They take turns
// (busy) for the parts that start processes or touch many kernel objects,
// from building the lab to the end of the handshakes, and from stopping
// the captures to deleting the namespaces, so that no run's handshake or
// first messages wait for another's work: the raw endpoints then answer
// within a millisecond, as kernels do, and socat forwards one message at
// a time.
func Run(c Case, dir string) (lg *Log, err error) {
	r := &runner{c: c, dir: dir, lg: &Log{Case: c.Name}}
	r.hold()
	defer r.idle()
	r.lg.Started = time.Now()
	l, err := New()
	if err != nil {
		return nil, fmt.Errorf("building the lab: %w", err)
	}
	r.l = l
	defer func() {
		r.hold()
		if cerr := l.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("tearing the lab down: %w", cerr)
		}
	}()
	defer r.closeEndpoints()
	if err := r.do(); err != nil {
		return nil, fmt.Errorf("%s: %w", c.Name, err)
	}
	b, err := json.MarshalIndent(r.lg, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(LogFile(dir, c.Name), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	return r.lg, nil
}

// busy is held by one run at a time for its process-heavy parts.
var busy sync.Mutex

type runner struct {
	c      Case
	l      *Lab
	dir    string
	lg     *Log
	isBusy bool // holds busy

	dial       netip.AddrPort // what the client dials
	drops      []dropRule
	rawClient  *RawEndpoint
	kernClient *KernelClient
	rawHead    *RawEndpoint
	kernHead   *Headend
	closeOnce  sync.Once
}

// hold takes busy unless the run holds it; idle lets it go.
func (r *runner) hold() {
	if !r.isBusy {
		busy.Lock()
		r.isBusy = true
	}
}

func (r *runner) idle() {
	if r.isBusy {
		busy.Unlock()
		r.isBusy = false
	}
}

func (r *runner) closeEndpoints() {
	r.closeOnce.Do(func() {
		if r.rawClient != nil {
			r.rawClient.Close()
		}
		if r.kernClient != nil {
			r.kernClient.Close()
		}
		if r.rawHead != nil {
			r.rawHead.Close()
		}
		if r.kernHead != nil {
			r.kernHead.Close()
		}
	})
}

// dropRule is one router rule the run installs.
type dropRule struct {
	DropLog
	comment string
	match   string // nft match expression, without the verdict
}

var headendAddr = netip.AddrPortFrom(netip.MustParseAddr(ServerAddr), Port)

func (r *runner) do() error {
	c, l := r.c, r.l
	r.dial = headendAddr
	if c.Proxy {
		r.dial = netip.AddrPortFrom(netip.MustParseAddr(ProxyAddr), Port)
	}
	if !c.Kernel {
		// The namespaces' kernels know nothing of the raw connections
		// and would reset them: drop their RSTs before they reach the
		// wire (and the captures, which tap after netfilter). The raw
		// endpoints' own packets carry RawMark.
		for _, k := range [][2]string{{l.Client, ClientIf}, {l.Server, ServerIf}} {
			err := l.Nft(k[0], fmt.Sprintf(`table inet lab {
	chain out {
		type filter hook output priority 0; policy accept;
		oifname %q tcp flags & rst == rst meta mark != %#x drop
	}
}`, k[1], RawMark))
			if err != nil {
				return err
			}
		}
	}
	if err := r.routerRules(); err != nil {
		return err
	}

	// The headend.
	f := NewFramer(false)
	if c.Kernel {
		he, err := ListenHeadend(l.Server, headendAddr.String(), HeadendPace)
		if err != nil {
			return err
		}
		r.kernHead = he
	} else {
		he, err := ListenRaw(l.Server, headendAddr, RawOptions{})
		if err != nil {
			return err
		}
		r.rawHead = he
	}
	var proxyCmd []string
	if c.Proxy {
		if c.ProxyBlock > 0 {
			proxyCmd = append(proxyCmd, "-b", fmt.Sprint(c.ProxyBlock))
		}
		// No tail loss probe in the proxy's kernel: its probe timer is a
		// few milliseconds on these links, so that a raw endpoint's ACK
		// delayed by the Go scheduler would draw a spurious
		// retransmission. Loss recovery by duplicate ACKs, SACK and the
		// retransmission timeout (200 ms at least) stays as it is.
		if err := l.Exec(l.Proxy, "sh", "-c", "echo 0 > /proc/sys/net/ipv4/tcp_early_retrans"); err != nil {
			return err
		}
		// nodelay: no Nagle, so that each read socat makes leaves as one
		// segment (Nagle would hold a message behind an unacknowledged
		// one and coalesce them). chrt: real-time scheduling, so that
		// socat reads each message as it comes, even while other runs
		// build their labs (it uses little CPU). socat then forwards
		// one message per segment unless ProxyBlock splits them or the
		// client sends a burst.
		proxyCmd = append(proxyCmd,
			fmt.Sprintf("TCP-LISTEN:%d,fork,reuseaddr,nodelay,bind=%s", Port, ProxyAddr),
			fmt.Sprintf("TCP:%s,nodelay", headendAddr))
		if _, err := l.Start(l.Proxy, "", "chrt", append([]string{"--fifo", "10", "socat"}, proxyCmd...)...); err != nil {
			return err
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := l.WaitListen(ctx, l.Proxy, Port); err != nil {
			return err
		}
	}

	// The captures.
	var dumps []*Proc
	for _, k := range []struct{ point, ns, ifc string }{{ClientSide, l.Client, ClientIf}, {HeadendSide, l.Server, ServerIf}} {
		file := CaptureFile(r.dir, c.Name, k.point)
		p, err := l.Start(k.ns, "listening on", "tcpdump", "-i", k.ifc, "-n", "-s", "0", "--immediate-mode", "-U", "-Z", "root", "-w", file)
		if err != nil {
			return err
		}
		dumps = append(dumps, p)
		r.lg.Captures = append(r.lg.Captures, CaptureLog{Point: k.point, File: filepath.Base(file), Namespace: k.ns, Interface: k.ifc})
	}
	stopDumps := func() {
		for _, p := range dumps {
			p.Stop()
		}
	}
	defer stopDumps()

	// The raw headend's application: accept, then an ESP message every
	// HeadendPace until the run ends, the client closes, or dead-peer
	// detection resets the connection.
	var (
		headSent []uint32
		headErr  error
		wg       sync.WaitGroup
		stopOnce sync.Once
	)
	stopHead, accepted, headDone := make(chan struct{}), make(chan struct{}), make(chan struct{})
	stopHeadend := func() {
		stopOnce.Do(func() { close(stopHead) })
		wg.Wait()
		if r.kernHead != nil {
			r.kernHead.Quiet()
		}
	}
	defer stopHeadend()
	if r.rawHead != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer close(headDone)
			headSent, headErr = r.headend(f, accepted, stopHead)
		}()
	} else {
		close(accepted) // the kernel accepts during DialKernel
	}

	if c.BlockUDP {
		if err := r.udpAttempts(); err != nil {
			return err
		}
	}

	// The client.
	var send func([]byte) error
	if c.Kernel {
		k, err := DialKernel(l.Client, r.dial.String())
		if err != nil {
			return err
		}
		r.kernClient = k
		send = k.Send
	} else {
		port := 49152 + uint16(rand.IntN(8000))
		e, err := DialRaw(l.Client, netip.AddrPortFrom(netip.MustParseAddr(ClientAddr), port), r.dial,
			RawOptions{WindowScale: c.WindowScale, RetransmitAfter: c.RetransmitAfter, HandshakeDelay: c.HandshakeDelay, InOrderAck: c.InOrderAck})
		if err != nil {
			return err
		}
		r.rawClient = e
		send = e.Send
	}
	select {
	case <-accepted:
	case <-headDone:
		return fmt.Errorf("headend: %w", headErr)
	case <-time.After(5 * time.Second):
		return errors.New("the headend accepted no connection within 5 s")
	}
	r.idle()

	// The client's application: IKE, then ESP (bursts with c.Bursts), one
	// message each pace, on a real-time thread so that it keeps its pace
	// on a busy machine. It sleeps between messages rather than ticking,
	// so that after a stall it does not send two messages back to back
	// (which socat would forward in one segment).
	up, err := r.client(send)
	if err != nil {
		return err
	}
	stopHeadend()
	if headErr != nil {
		return headErr
	}
	time.Sleep(Settle)
	stopDumps()
	for i, p := range dumps {
		r.lg.Captures[i].KernelDropped = kernelDropped(p.Stderr())
	}
	r.hold()
	r.lg.Ended = time.Now()

	// What the lab did.
	if err := r.readDrops(); err != nil {
		return err
	}
	down := DirectionLog{From: "headend", To: "client", SPI: fmt.Sprintf("%#08x", ServerSPI)}
	lg := r.lg
	lg.Client = EndpointLog{Kind: "raw", Namespace: l.Client, Peer: r.dial.String()}
	lg.Headend = EndpointLog{Kind: "raw", Namespace: l.Server, Address: headendAddr.String()}
	var headPeer netip.AddrPort
	if r.rawClient != nil {
		st := r.rawClient.Stats()
		lg.Client.Address = r.rawClient.Local().String()
		lg.Client.DupAcksIgnored, lg.Client.Retransmissions = st.DupAcks, st.Retransmissions
		lg.Client.ResetReceived, lg.Client.FINReceived = st.Reset, st.FIN
		down.IKEReceived, down.ESPReceived = parseChunks(r.rawClient.Received(), ServerSPI)
	} else {
		lg.Client.Kind = "kernel"
		lg.Client.Address = r.kernClient.Local().String()
		down.IKEReceived, down.ESPReceived = parseChunks([][]byte{r.kernClient.Received()}, ServerSPI)
	}
	if r.rawHead != nil {
		st := r.rawHead.Stats()
		headPeer = r.rawHead.Peer()
		lg.Headend.DupAcksIgnored, lg.Headend.Retransmissions = st.DupAcks, st.Retransmissions
		lg.Headend.ResetReceived, lg.Headend.FINReceived = st.Reset, st.FIN
		up.IKEReceived, up.ESPReceived = parseChunks(r.rawHead.Received(), ClientSPI)
		down.ESPSent = headSent
	} else {
		lg.Headend.Kind = "kernel"
		conns := r.kernHead.Conns()
		if len(conns) != 1 {
			return fmt.Errorf("kernel headend accepted %d connections, want 1", len(conns))
		}
		headPeer = conns[0].Peer
		up.IKEReceived, up.ESPReceived = parseChunks([][]byte{conns[0].Received}, ClientSPI)
		down.ESPSent = conns[0].ESPSent
	}
	lg.Headend.Peer = headPeer.String()
	if c.Proxy {
		lg.Proxy = &ProxyLog{Listen: r.dial.String(), Upstream: headPeer.String(),
			Command: append([]string{"socat"}, proxyCmd...), BlockSize: c.ProxyBlock}
	}
	lg.Directions = []DirectionLog{up, down}
	r.derivePoints()
	return nil
}

// client runs the client's application on a real-time thread until the
// run's length is over (after its connection was closed it waits out the
// rest) and returns what it sent.
func (r *runner) client(send func([]byte) error) (up DirectionLog, err error) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		realtime()
		up, err = r.clientLoop(send)
	}()
	<-done
	return up, err
}

func (r *runner) clientLoop(send func([]byte) error) (DirectionLog, error) {
	c := r.c
	cf := NewFramer(true)
	up := DirectionLog{From: "client", To: "headend", SPI: fmt.Sprintf("%#08x", ClientSPI)}
	pace := c.Pace
	if pace == 0 {
		pace = ClientPace
	}
	end := time.Now().Add(c.Length)
	r.lg.ClientEnd = EndLog{Reason: "end"}
	for i := 0; time.Now().Before(end); i++ {
		var msgs [][]byte
		var seqs []uint32
		if i < IKEMessages {
			msgs = append(msgs, cf.IKE(120+40*i))
		} else {
			n := 1
			if c.Bursts && (i-IKEMessages)%BurstEvery == BurstEvery-1 {
				n = BurstLen
			}
			for j := 0; j < n; j++ {
				ct := c.CT
				if ct == 0 {
					ct = 64 + 16*((i+j)%5)
				}
				p, seq := cf.ESP(ct)
				msgs = append(msgs, p)
				seqs = append(seqs, seq)
			}
		}
		for j, p := range msgs {
			if err := send(p); err != nil {
				if !errors.Is(err, ErrClosed) && !c.Kernel {
					return up, fmt.Errorf("client send: %w", err)
				}
				// The connection was closed on the client: it stops.
				r.lg.ClientEnd = EndLog{Reason: "closed", At: time.Now()}
				if r.rawClient != nil {
					if st := r.rawClient.Stats(); st.Reset {
						r.lg.ClientEnd.Reason = "rst"
					} else if st.FIN {
						r.lg.ClientEnd.Reason = "fin"
					}
				}
				time.Sleep(time.Until(end))
				return up, nil
			}
			if seqs == nil {
				up.IKESent++
			} else {
				up.ESPSent = append(up.ESPSent, seqs[j])
			}
		}
		time.Sleep(pace)
	}
	r.lg.ClientEnd.At = time.Now()
	return up, nil
}

// headend runs the raw headend's application and returns the ESP
// sequence numbers it sent.
func (r *runner) headend(f *Framer, accepted chan<- struct{}, stop <-chan struct{}) ([]uint32, error) {
	he := r.rawHead
	timeout := 5 * time.Second
	if r.c.BlockUDP {
		timeout += 2 * UDPAttempts * UDPInterval
	}
	if err := he.Accept(timeout); err != nil {
		return nil, err
	}
	close(accepted)
	realtime() // keep the pace on a busy machine; the thread ends with the goroutine
	var sent []uint32
	var times []time.Time
	for {
		// Sleep, not tick: never two messages back to back.
		select {
		case <-stop:
			return sent, nil
		case <-time.After(HeadendPace):
		}
		st := he.Stats()
		if time.Since(st.LastData) >= DPDTimeout {
			td := &TeardownLog{By: "headend", Kind: "rst", LastClientData: st.LastData, At: time.Now()}
			for _, at := range times {
				if at.After(st.LastData) {
					td.ESPSentWhileSilent++
				}
			}
			if err := he.Reset(); err != nil && !errors.Is(err, ErrClosed) {
				return sent, err
			}
			r.lg.Teardown = td
			return sent, nil
		}
		p, seq := f.ESP(256)
		if err := he.Send(p); err != nil {
			if errors.Is(err, ErrClosed) {
				return sent, nil
			}
			return sent, err
		}
		sent = append(sent, seq)
		times = append(times, time.Now())
	}
}

// routerRules loads the router's table: the drop rules of the case, each
// with a counter and a comment to read it back by.
func (r *runner) routerRules() error {
	c := r.c
	if c.DropToHeadend {
		leg := "client->headend"
		if c.Proxy {
			leg = "client->proxy"
		}
		r.drops = append(r.drops, dropRule{
			DropLog: DropLog{Kind: "tcp", Direction: "client->headend", Leg: leg, RouterIn: RouterCIf,
				BeforeCapture: []string{HeadendSide}},
			match: fmt.Sprintf("iifname %q ip saddr %s tcp dport %d tcp doff 8 @th,256,32 %#x @th,288,32 %d",
				RouterCIf, ClientAddr, Port, uint32(ClientSPI), DropClientESP),
		})
	}
	if c.DropToClient {
		in, src, leg := RouterSIf, ServerAddr, "headend->client"
		if c.Proxy {
			in, src, leg = RouterPIf, ProxyAddr, "proxy->client"
		}
		r.drops = append(r.drops, dropRule{
			DropLog: DropLog{Kind: "tcp", Direction: "headend->client", Leg: leg, RouterIn: in,
				BeforeCapture: []string{ClientSide}},
			match: fmt.Sprintf("iifname %q ip saddr %s tcp sport %d tcp doff 8 @th,256,32 %#x @th,288,32 %d",
				in, src, Port, uint32(ServerSPI), DropHeadendESP),
		})
	}
	if c.BlockUDP {
		leg := "client->headend"
		if c.Proxy {
			leg = "client->proxy"
		}
		for _, port := range []int{500, 4500} {
			r.drops = append(r.drops, dropRule{
				DropLog: DropLog{Kind: "udp", Direction: "client->headend", Leg: leg, RouterIn: RouterCIf,
					BeforeCapture: []string{HeadendSide}},
				match: fmt.Sprintf("iifname %q ip saddr %s udp dport %d", RouterCIf, ClientAddr, port),
			})
		}
	}
	var rules, sets, nat strings.Builder
	if c.SeqShift {
		// Before the drop rules, whose "once" rules accept.
		fmt.Fprintf(&rules, "\t\tiifname %q ip saddr %s tcp dport %d tcp sequence set tcp sequence ^ %#x comment \"lab-seq-shift\"\n",
			RouterCIf, ClientAddr, Port, uint32(SeqShift))
		fmt.Fprintf(&rules, "\t\tiifname %q ip saddr %s tcp sport %d tcp ackseq set tcp ackseq ^ %#x comment \"lab-ack-shift\"\n",
			RouterSIf, ServerAddr, Port, uint32(SeqShift))
		r.lg.SeqShift = SeqShift
	}
	if c.NAT {
		fmt.Fprintf(&nat, `table ip labnat {
	chain post {
		type nat hook postrouting priority srcnat; policy accept;
		oifname %q ip saddr %s ip protocol tcp snat to %s:%s comment "lab-nat"
	}
}
`, RouterSIf, ClientAddr, NATAddr, NATPorts)
	}
	for i := range r.drops {
		d := &r.drops[i]
		d.comment = fmt.Sprintf("lab-drop-%d", i)
		if d.Kind == "tcp" {
			// Once: the set remembers the source, so a kernel's
			// retransmission of the segment passes (and is counted).
			fmt.Fprintf(&sets, "\tset once%d {\n\t\ttype ipv4_addr\n\t\tflags dynamic\n\t}\n", i)
			fmt.Fprintf(&rules, "\t\t%s ip saddr @once%d counter accept comment \"lab-pass-%d\"\n", d.match, i, i)
			fmt.Fprintf(&rules, "\t\t%s add @once%d { ip saddr } counter drop comment %q\n", d.match, i, d.comment)
		} else {
			fmt.Fprintf(&rules, "\t\t%s counter drop comment %q\n", d.match, d.comment)
		}
	}
	if err := r.l.Nft(r.l.Router, fmt.Sprintf(`table inet lab {
%s	chain forward {
		type filter hook forward priority 0; policy accept;
%s	}
}
%s`, sets.String(), rules.String(), nat.String())); err != nil {
		return err
	}
	if c.NAT {
		// Connection tracking, which the NAT needs, must not give up on
		// the raw endpoints' connections (its window checks would leave
		// a packet untranslated).
		return r.l.Exec(r.l.Router, "sh", "-c", "echo 1 > /proc/sys/net/netfilter/nf_conntrack_tcp_be_liberal")
	}
	return nil
}

// readDrops reads the drop rules back from the router's ruleset: what
// each matches and its counters.
func (r *runner) readDrops() error {
	out, err := exec.Command("ip", "netns", "exec", r.l.Router, "nft", "-j", "list", "ruleset").Output()
	if err != nil {
		return fmt.Errorf("nft -j list ruleset: %w", err)
	}
	var doc struct {
		Nftables []struct {
			Rule *struct {
				Comment string            `json:"comment"`
				Expr    []json.RawMessage `json:"expr"`
			} `json:"rule"`
		} `json:"nftables"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return fmt.Errorf("nft -j list ruleset: %w", err)
	}
	text := r.l.NftList(r.l.Router)
	r.lg.Rewrites = []string{}
	for _, line := range strings.Split(text, "\n") {
		for _, c := range []string{"lab-seq-shift", "lab-ack-shift", "lab-nat"} {
			if strings.Contains(line, fmt.Sprintf("comment %q", c)) {
				r.lg.Rewrites = append(r.lg.Rewrites, strings.TrimSpace(line))
			}
		}
	}
	r.lg.Drops = []DropLog{}
	for i, d := range r.drops {
		dl := d.DropLog
		found := false
		for _, e := range doc.Nftables {
			if e.Rule == nil {
				continue
			}
			switch e.Rule.Comment {
			case d.comment:
				found = true
				if err := ruleFacts(e.Rule.Expr, &dl); err != nil {
					return fmt.Errorf("rule %s: %w", d.comment, err)
				}
			case fmt.Sprintf("lab-pass-%d", i):
				var pass DropLog
				if err := ruleFacts(e.Rule.Expr, &pass); err != nil {
					return err
				}
				dl.PassedAfter = pass.Packets
			}
		}
		if !found {
			return fmt.Errorf("rule %s not in the router's ruleset", d.comment)
		}
		for _, line := range strings.Split(text, "\n") {
			if strings.Contains(line, fmt.Sprintf("comment %q", d.comment)) {
				dl.Rule = strings.TrimSpace(line)
			}
		}
		r.lg.Drops = append(r.lg.Drops, dl)
	}
	return nil
}

// ruleFacts reads, from a rule's nftables JSON expressions, the source
// address, the ESP SPI and sequence number or the UDP port it matches,
// and its packet counter.
func ruleFacts(exprs []json.RawMessage, d *DropLog) error {
	for _, raw := range exprs {
		var x struct {
			Match *struct {
				Left struct {
					Payload *struct {
						Protocol string `json:"protocol"`
						Field    string `json:"field"`
						Base     string `json:"base"`
						Offset   int    `json:"offset"`
						Len      int    `json:"len"`
					} `json:"payload"`
				} `json:"left"`
				Right json.RawMessage `json:"right"`
			} `json:"match"`
			Counter *struct {
				Packets int `json:"packets"`
			} `json:"counter"`
		}
		if err := json.Unmarshal(raw, &x); err != nil {
			return err
		}
		if x.Counter != nil {
			d.Packets = x.Counter.Packets
		}
		if x.Match == nil || x.Match.Left.Payload == nil {
			continue
		}
		p := x.Match.Left.Payload
		var num uint64
		var str string
		_ = json.Unmarshal(x.Match.Right, &num)
		_ = json.Unmarshal(x.Match.Right, &str)
		switch {
		case p.Protocol == "ip" && p.Field == "saddr" && !strings.HasPrefix(str, "@"):
			d.Source = str
		case p.Base == "th" && p.Offset == 256 && p.Len == 32:
			d.SPI = fmt.Sprintf("%#08x", num)
		case p.Base == "th" && p.Offset == 288 && p.Len == 32:
			d.ESPSeq = uint32(num)
		case p.Protocol == "udp" && p.Field == "dport":
			d.Port = int(num)
		}
	}
	return nil
}

// udpAttempts sends IKE on UDP 500 and then on UDP 4500 to the address
// the client will dial for cTCP, UDPAttempts times each, as a client that
// falls back to TCP does.
func (r *runner) udpAttempts() error {
	f := NewFramer(true)
	for _, port := range []int{500, 4500} {
		var conn *net.UDPConn
		err := InNetns(r.l.Client, func() error {
			var err error
			conn, err = net.DialUDP("udp4",
				&net.UDPAddr{IP: net.ParseIP(ClientAddr), Port: port},
				&net.UDPAddr{IP: r.dial.Addr().AsSlice(), Port: port})
			return err
		})
		if err != nil {
			return fmt.Errorf("UDP %d: %w", port, err)
		}
		for i := 0; i < UDPAttempts; i++ {
			if _, err := conn.Write(f.UDPIKE(180, port == 4500)); err != nil {
				conn.Close()
				return fmt.Errorf("UDP %d: %w", port, err)
			}
			time.Sleep(UDPInterval)
		}
		conn.Close()
	}
	return nil
}

// parseChunks finds the cTCP messages in the chunks of a received stream
// and returns how many IKE messages and which ESP sequence numbers with
// the given SPI (sorted, distinct) it holds.
func parseChunks(chunks [][]byte, spi uint32) (ike int, esp []uint32) {
	esp = []uint32{}
	for _, ch := range chunks {
		for _, m := range ParseMessages(ch) {
			switch {
			case m.Proto == protoISAKMP:
				ike++
			case m.ESP() && m.SPI == spi:
				esp = append(esp, m.Seq)
			}
		}
	}
	slices.Sort(esp)
	return ike, slices.Compact(esp)
}

// derivePoints fills in what crossed each capture point: at the client's
// interface what the client sent and received, at the headend's what the
// headend received and sent. Missing are the drops before the point that
// never crossed it, below the highest sequence number that did.
func (r *runner) derivePoints() {
	lg := r.lg
	up, down := lg.Directions[0], lg.Directions[1]
	for i := range lg.Captures {
		cp := &lg.Captures[i]
		var upSeen, downSeen []uint32
		if cp.Point == ClientSide {
			cp.Client, cp.Headend = lg.Client.Address, lg.Client.Peer
			upSeen, downSeen = sortedSet(up.ESPSent), down.ESPReceived
		} else {
			cp.Client, cp.Headend = lg.Headend.Peer, lg.Headend.Address
			upSeen, downSeen = up.ESPReceived, sortedSet(down.ESPSent)
		}
		cp.Directions = []PointDirection{
			r.point(cp.Point, "client->headend", "client", cp.Client, cp.Headend, upSeen),
			r.point(cp.Point, "headend->client", "headend", cp.Headend, cp.Client, downSeen),
		}
	}
}

func (r *runner) point(point, dir, sender, from, to string, seen []uint32) PointDirection {
	pd := PointDirection{From: from, To: to, Sender: sender, ESPMessages: len(seen), ESPMissingSeqs: []uint32{}}
	if len(seen) == 0 {
		return pd
	}
	pd.ESPFirst, pd.ESPLast = seen[0], seen[len(seen)-1]
	for _, d := range r.lg.Drops {
		if d.Kind != "tcp" || d.Direction != dir || !slices.Contains(d.BeforeCapture, point) || d.Packets == 0 {
			continue
		}
		if _, ok := slices.BinarySearch(seen, d.ESPSeq); !ok && d.ESPSeq < pd.ESPLast {
			pd.ESPMissingSeqs = append(pd.ESPMissingSeqs, d.ESPSeq)
		}
	}
	pd.ESPMissing = len(pd.ESPMissingSeqs)
	return pd
}

func sortedSet(s []uint32) []uint32 {
	s = slices.Clone(s)
	slices.Sort(s)
	return slices.Compact(s)
}

// kernelDropped reads tcpdump's closing statistics ("N packets dropped by
// kernel") from its standard error; 0 when absent.
func kernelDropped(stderr string) int {
	for _, line := range strings.Split(stderr, "\n") {
		if n, ok := strings.CutSuffix(strings.TrimSpace(line), " packets dropped by kernel"); ok {
			if v, err := strconv.Atoi(n); err == nil {
				return v
			}
		}
	}
	return 0
}
