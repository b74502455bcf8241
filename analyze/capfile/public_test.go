package capfile_test

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze/capfile"
)

// publicDir returns the directory of the public captures: walk up from the
// package directory to the one holding go.mod, then ../shared/captures/public.
func publicDir(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("no go.mod above the package directory")
		}
		dir = parent
	}
	pub := filepath.Join(dir, "..", "shared", "captures", "public")
	if _, err := os.Stat(filepath.Join(pub, "MANIFEST.tsv")); err != nil {
		t.Skipf("public captures not found at %s (../shared/captures/public from the repo root): %v", pub, err)
	}
	return pub
}

type manifestRow struct {
	file    string // base name
	packets int
	encaps  []int // wiretap encapsulation numbers; nil when "-"
	status  string
}

func readManifest(t testing.TB, pub string) []manifestRow {
	t.Helper()
	f, err := os.Open(filepath.Join(pub, "MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	var col map[string]int
	var rows []manifestRow
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if col == nil {
			col = map[string]int{}
			for i, name := range fields {
				col[name] = i
			}
			for _, need := range []string{"file", "packets", "encap_types", "tshark_status"} {
				if _, ok := col[need]; !ok {
					t.Fatalf("MANIFEST.tsv has no %q column", need)
				}
			}
			continue
		}
		n, err := strconv.Atoi(fields[col["packets"]])
		if err != nil {
			t.Fatalf("MANIFEST.tsv: packets %q: %v", fields[col["packets"]], err)
		}
		r := manifestRow{file: filepath.Base(fields[col["file"]]), packets: n, status: fields[col["tshark_status"]]}
		if e := fields[col["encap_types"]]; e != "-" {
			for _, s := range strings.Split(e, ";") {
				v, err := strconv.Atoi(s)
				if err != nil {
					t.Fatalf("MANIFEST.tsv: encap_types %q: %v", e, err)
				}
				r.encaps = append(r.encaps, v)
			}
		}
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
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
	pub := publicDir(t)
	rows := readManifest(t, pub)
	if len(rows) == 0 {
		t.Fatal("MANIFEST.tsv lists no captures")
	}
	for _, r := range rows {
		t.Run(r.file, func(t *testing.T) {
			path := filepath.Join(pub, r.file)
			src, err := capfile.Open(path)
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
