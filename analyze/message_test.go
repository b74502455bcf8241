package analyze_test

import (
	"fmt"
	"hash/fnv"
	"net"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// TestOnMessage checks Options.OnMessage against the analysis's own
// counts: per session and direction as many ESP messages as ESPStats
// counts packets (cTCP: framed messages), and the same analysis with
// and without the hook.
func TestOnMessage(t *testing.T) {
	for _, name := range []string{"ctcp-proxy-resegmented.pcap", "ctcp-healthy.pcap", "natt.pcap", "esp.pcap", "ctcp-proxy-stall.pcap", "ctcp-loss-no-proxy.pcap"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", "samples", name)
			type key struct {
				serial uint64
				src    string
			}
			esp := map[key]uint64{}
			ike := map[key]uint64{}
			var last uint64
			next := map[key]uint32{} // cTCP: where the next message starts
			c, err := analyze.File(path, analyze.Options{OnMessage: func(m *analyze.Message) {
				if m.Kind == analyze.MessageData {
					return // TestOnMessageData
				}
				if m.LastFrame < last && !m.Late && m.Kind != analyze.MessageTCP {
					t.Errorf("frame %d after frame %d", m.LastFrame, last)
				}
				last = max(last, m.LastFrame)
				if m.FirstFrame > m.LastFrame {
					t.Errorf("message %+v: first frame after last", *m)
				}
				k := key{m.Session, m.Src.String()}
				if m.Carrier == analyze.TransportCTCP && m.Kind != analyze.MessageTCP && !m.Late {
					if n, ok := next[k]; ok && n != m.TCPSeq && name != "ctcp-loss-no-proxy.pcap" {
						t.Errorf("frame %d: message at seq %d, the last one ended at %d", m.FirstFrame, m.TCPSeq, n)
					}
					next[k] = m.TCPSeq + m.Len
				}
				switch m.Kind {
				case analyze.MessageESP:
					esp[k]++
				case analyze.MessageIKE:
					ike[k]++
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			plain, err := analyze.File(path, analyze.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if len(plain.Sessions) != len(c.Sessions) {
				t.Fatalf("%d sessions with the hook, %d without", len(c.Sessions), len(plain.Sessions))
			}
			total := 0
			for i, s := range c.Sessions {
				if s.Serial == 0 {
					t.Errorf("session %d: no serial", s.ID)
				}
				if a, b := plain.Sessions[i], s; a.ESP[0].Packets != b.ESP[0].Packets || a.ESP[1].Packets != b.ESP[1].Packets || a.ESP[0].SeqMissing != b.ESP[0].SeqMissing || a.Framing != b.Framing {
					t.Errorf("session %d: ESP stats differ with the hook", s.ID)
				}
				if !s.Transport.IsVPN() {
					continue
				}
				for d, src := range []string{s.Client.String(), s.Headend.String()} {
					k := key{s.Serial, src}
					if got, want := esp[k], s.ESP[d].Packets-s.ESP[d].Repeats; s.Transport != analyze.TransportCTCP && got != s.ESP[d].Packets || s.Transport == analyze.TransportCTCP && got != want {
						t.Errorf("session %d (%s) dir %d: %d ESP messages, ESPStats %d (%d repeats)", s.ID, s.Transport, d, got, s.ESP[d].Packets, s.ESP[d].Repeats)
					}
					if got := ike[k]; got != s.IKEPackets[d] && s.Transport != analyze.TransportCTCP || s.Transport == analyze.TransportCTCP && got != s.Framing[d].IKEMessages {
						t.Errorf("session %d (%s) dir %d: %d IKE messages, analysis %d", s.ID, s.Transport, d, got, s.IKEPackets[d])
					}
					total += int(esp[k])
				}
			}
			if total == 0 {
				t.Error("no ESP message")
			}
		})
	}
}

// TestOnMessageData checks the MessageData hashes against gopacket's
// reading of the same frames: for every TCP direction whose SYN is in the
// capture, the first segment starting at the byte after the SYN with at
// least 32 bytes gives one message with the FNV-1a hash of those bytes,
// sent by that direction's sender, and nothing else does.
func TestOnMessageData(t *testing.T) {
	for _, name := range []string{"anyconnect.pcap", "tcp-dupack-answered.pcap", "ctcp-healthy.pcap", "ike-tcp-rfc8229.pcap"} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join("..", "samples", name)
			type hello struct {
				frame uint64
				src   string
				hash  uint64
			}
			var got []hello
			_, err := analyze.File(path, analyze.Options{OnMessage: func(m *analyze.Message) {
				if m.Kind == analyze.MessageData {
					got = append(got, hello{m.FirstFrame, m.Src.String(), m.DataHash})
				}
			}})
			if err != nil {
				t.Fatal(err)
			}
			// The same with gopacket.
			src, err := capfile.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			isn := map[string]uint32{}
			var want []hello
			for frame := uint64(1); src.Next(); frame++ {
				pkt := gopacket.NewPacket(src.Data(), layers.LinkType(src.Info().LinkType), gopacket.DecodeOptions{NoCopy: true})
				tcp, _ := pkt.Layer(layers.LayerTypeTCP).(*layers.TCP)
				if tcp == nil || pkt.NetworkLayer() == nil {
					continue
				}
				from := net.JoinHostPort(pkt.NetworkLayer().NetworkFlow().Src().String(), fmt.Sprint(uint16(tcp.SrcPort)))
				if tcp.SYN {
					isn[from] = tcp.Seq
					continue
				}
				if base, ok := isn[from]; ok && tcp.Seq == base+1 && len(tcp.Payload) >= 32 {
					h := fnv.New64a()
					h.Write(tcp.Payload[:32])
					want = append(want, hello{frame, from, h.Sum64()})
				}
			}
			if err := src.Err(); err != nil {
				t.Fatal(err)
			}
			if name == "anyconnect.pcap" && len(want) == 0 {
				t.Fatal("no stream start in the AnyConnect sample: the test checks nothing")
			}
			t.Logf("%d stream starts", len(want))
			if !slices.Equal(got, want) {
				t.Errorf("MessageData:\n got  %v\n want %v", got, want)
			}
		})
	}
}
