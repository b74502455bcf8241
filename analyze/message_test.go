package analyze_test

import (
	"path/filepath"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
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
