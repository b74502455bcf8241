package report_test

import (
	"fmt"
	"net/netip"
	"os"

	"github.com/ctcpdiag/ctcpdiag/analyze"
	"github.com/ctcpdiag/ctcpdiag/detect"
	"github.com/ctcpdiag/ctcpdiag/report"
)

// Build a report from what analyze and detect found, then render it.
func Example() {
	s := &analyze.Session{
		ID: 0, Stream: 0, Proto: 6, Transport: analyze.TransportCTCP, TransportSure: true,
		Client:     netip.MustParseAddrPort("198.51.100.7:51234"),
		Headend:    netip.MustParseAddrPort("203.0.113.10:10000"),
		FirstFrame: 1, LastFrame: 9, Packets: 9,
	}
	c := &analyze.Capture{Path: "cap.pcap", Format: "pcap", Compression: "none", Packets: 9,
		Sessions: []*analyze.Session{s}}
	r := &detect.Result{Verdict: detect.Healthy, VerdictWhy: "cTCP without loss",
		Sessions: []detect.SessionResult{{Session: s, Outcome: detect.Running}}}

	rep := report.Build(c, r, report.Tool{Name: "ctcpdiag", Version: "devel"})
	fmt.Println(rep.Verdict, rep.Sessions[0].Client, "->", rep.Sessions[0].Headend)
	if err := report.WriteJSON(os.Stdout, rep, report.JSONOptions{Compact: true}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// healthy 198.51.100.7:51234 -> 203.0.113.10:10000
	// {"schema":"ctcpdiag.report/v1","tool":{"name":"ctcpdiag","version":"devel"},"capture":{"path":"cap.pcap","sha256":"","size":0,"format":"pcap","compression":"none","link_types":[],"packets":9,"start":"1970-01-01T00:00:00.000000000Z","end":"1970-01-01T00:00:00.000000000Z","duration_seconds":0,"warnings":[],"stats":{"ip_packets":0,"tcp_packets":0,"udp_packets":0,"esp_packets":0,"non_ip_packets":0,"undecodable_packets":0,"fragments":0,"truncated_packets":0,"tcp_streams":0,"evicted_flows":0,"dropped_sessions":0,"tcp_analysis":{"dup_acks":0,"retransmissions":0,"fast_retransmissions":0,"spurious_retransmissions":0,"lost_segments":0,"acked_unseen":0,"out_of_order":0,"zero_windows":0,"keep_alives":0,"window_updates":0,"window_full":0}}},"verdict":"healthy","verdict_why":"cTCP without loss","confidence":null,"confidence_why":"","transports":[],"sessions":[{"id":0,"stream":0,"protocol":"tcp","transport":"ctcp","transport_why":"","transport_sure":true,"client":"198.51.100.7:51234","headend":"203.0.113.10:10000","client_by":"","first_frame":1,"last_frame":9,"start":"1970-01-01T00:00:00.000000000Z","end":"1970-01-01T00:00:00.000000000Z","packets":9,"dup_acks":0,"retransmissions":0,"lost_segments":0,"outcome":"running","outcome_frame":0,"next_session":null,"time_to_outcome_seconds":null,"stall":null,"retransmit_requests":[],"unanswered_requests":0,"wireshark_filter":"tcp.stream eq 0","verdict":"","confidence":null,"verdict_why":"","capture_point":"","capture_point_why":"","path":null,"directions":[]}],"findings":[],"recommendations":[]}
}
