package capfile_test

import (
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
	"github.com/ctcpdiag/ctcpdiag/internal/testkit/testcaps"
)

// manifestRow holds the MANIFEST.tsv columns TestPublicCaptures checks.
type manifestRow struct {
	file    string // base name
	path    string
	packets int
	encaps  []int // wiretap encapsulation numbers; nil when "-"
	status  string
}

// readManifest reads the public captures' MANIFEST.tsv (skipping the test
// when it is absent) and fails the test on a missing column or a
// malformed number.
func readManifest(t testing.TB) []manifestRow {
	t.Helper()
	var rows []manifestRow
	for _, e := range testcaps.Manifest(t) {
		r := manifestRow{file: e.Name, path: e.Path, packets: e.MustInt(t, "packets"), status: e.Col(t, "tshark_status")}
		if enc := e.Col(t, "encap_types"); enc != "-" {
			for _, s := range strings.Split(enc, ";") {
				v, err := strconv.Atoi(s)
				if err != nil {
					t.Fatalf("MANIFEST.tsv: encap_types %q: %v", enc, err)
				}
				r.encaps = append(r.encaps, v)
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// encapLinkTypes maps a wiretap encapsulation number to the LINKTYPE_
// values that produce it.
var encapLinkTypes = map[int][]uint16{
	1:   {1},       // Ethernet
	4:   {9, 50},   // PPP, PPP-HDLC
	7:   {101, 12}, // raw IP
	15:  {0},       // BSD null/loopback
	25:  {113},     // Linux SLL
	58:  {160},     // USER13
	129: {228},     // raw IPv4
	130: {229},     // raw IPv6
	141: {239},     // NFLOG
	210: {276},     // Linux SLL2
}

// TestPublicCaptures checks, for every public capture, that we return the
// number of frames tshark 4.0 reads, refuse what it refuses, stop with
// ErrTruncated where it says the file is cut short, and see the link types
// its encapsulations imply.
func TestPublicCaptures(t *testing.T) {
	rows := readManifest(t)
	if len(rows) == 0 {
		t.Fatal("MANIFEST.tsv lists no captures")
	}
	for _, r := range rows {
		t.Run(r.file, func(t *testing.T) {
			src, err := capfile.Open(r.path)
			broken := strings.HasPrefix(r.status, "unsupported-record") || strings.HasPrefix(r.status, "corrupt")
			if err != nil {
				var ie *capfile.InputError
				if !errors.As(err, &ie) {
					t.Fatalf("Open error %v is not an *InputError", err)
				}
				if broken && r.packets == 0 {
					return
				}
				t.Fatalf("Open: %v (tshark status %s, %d packets)", err, r.status, r.packets)
			}
			defer src.Close()
			var last uint64
			seen := map[uint16]bool{}
			for src.Next() {
				info := src.Info()
				if info.Frame <= last {
					t.Fatalf("frame %d after frame %d", info.Frame, last)
				}
				last = info.Frame
				if len(src.Data()) != info.CapLen {
					t.Fatalf("frame %d: len(Data) %d != CapLen %d", info.Frame, len(src.Data()), info.CapLen)
				}
				seen[info.LinkType] = true
			}
			err = src.Err()
			n := int(src.Frames())
			if n != r.packets {
				t.Errorf("read %d frames, tshark %d (err %v)", n, r.packets, err)
			}
			switch {
			case strings.HasPrefix(r.status, "cut-short"):
				if !errors.Is(err, capfile.ErrTruncated) {
					t.Errorf("Err = %v, want ErrTruncated", err)
				}
				var ie *capfile.InputError
				if errors.As(err, &ie) && ie.Packet != uint64(n+1) {
					t.Errorf("error names packet %d, want %d", ie.Packet, n+1)
				}
			case broken:
				if err == nil {
					t.Errorf("no error, tshark status %s", r.status)
				}
			default:
				if err != nil {
					t.Errorf("Err = %v, tshark read the file cleanly", err)
				}
			}
			if src.SHA256() == "" || src.Size() == 0 {
				t.Errorf("SHA256 %q, Size %d after the end", src.SHA256(), src.Size())
			}
			if r.encaps == nil {
				return
			}
			var got []int
			for lt := range seen {
				found := false
				for encap, lts := range encapLinkTypes {
					if slices.Contains(lts, lt) {
						got = append(got, encap)
						found = true
					}
				}
				if !found {
					t.Errorf("link type %d has no known wiretap encapsulation", lt)
				}
			}
			slices.Sort(got)
			want := slices.Clone(r.encaps)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("encapsulations %v (from link types %v), tshark %v", got, seen, want)
			}
		})
	}
}
