package testcaps

import (
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
)

// ExhaustiveEnv names the environment variable that, set to 1, makes the
// tests run their slow per-file sweeps on every public capture: the
// comparisons with tshark, which start a tshark process for each file
// (several seconds of CPU per file). Without it they run on the
// representative subset that Representative chooses, and say so in the
// test log. .ci/run sets it.
const ExhaustiveEnv = "CTCPDIAG_EXHAUSTIVE"

// Exhaustive reports whether ExhaustiveEnv is set to 1.
func Exhaustive() bool { return os.Getenv(ExhaustiveEnv) == "1" }

// figureCols are the MANIFEST.tsv counts a representative subset covers:
// for each, the smallest capture that tshark reads cleanly and where the
// count is not zero.
var figureCols = []string{
	"tcp_streams", "dup_ack", "retransmission", "fast_retransmission", "lost_segment",
	"ack_lost_segment", "out_of_order", "zero_window",
	"esp", "isakmp", "udp_port_4500", "tcp_port_10000", "tcp_port_4500",
}

// domainTags are prefixes of MANIFEST.tsv category tags (the category
// column lists them separated by ";") that a representative subset covers
// too, each of its tags with its smallest capture: the VPN transports and
// duplicate-ACK facts this tool is about.
var domainTags = []string{"vpn-", "dtls", "ipsec-", "ike-", "tcp-dupack", "tcp-sack"}

var (
	subsetOnce  sync.Once
	subsetNames map[string]bool
)

// subset returns the names of the representative captures among all (the
// whole manifest): the smallest (by size, then name) of those that tshark
// reads cleanly with a non-zero count in each of figureCols; the smallest
// of each category tag that starts with one of domainTags and of each
// kind of tshark_status (ok, cut-short, corrupt, ...), preferring one that
// tshark reads cleanly. Link types are not among the criteria: the cheap
// tests compare every capture's counts with tshark's figures in
// MANIFEST.tsv, whatever its link type.
func subset(all []Entry) map[string]bool {
	sorted := append([]Entry(nil), all...)
	size := func(e Entry) int {
		if n := e.Int("bytes"); n > 0 {
			return n
		}
		if st, err := os.Stat(e.Path); err == nil {
			return int(st.Size())
		}
		return 0
	}
	sort.SliceStable(sorted, func(i, j int) bool {
		a, b := size(sorted[i]), size(sorted[j])
		return a < b || a == b && sorted[i].Name < sorted[j].Name
	})
	keep := map[string]bool{}
	ok := func(e Entry) bool { return e.Status() == "ok" }
	for _, col := range figureCols {
		for _, e := range sorted {
			if ok(e) && e.Int(col) > 0 {
				keep[e.Name] = true
				break
			}
		}
	}
	firstOf := func(keys func(Entry) []string) {
		chosen := map[string]Entry{}
		for _, e := range sorted {
			for _, k := range keys(e) {
				if c, seen := chosen[k]; !seen || !ok(c) && ok(e) {
					chosen[k] = e
				}
			}
		}
		for _, e := range chosen {
			keep[e.Name] = true
		}
	}
	firstOf(func(e Entry) []string {
		var tags []string
		for _, tag := range strings.Split(e.Fields["category"], ";") {
			for _, p := range domainTags {
				if strings.HasPrefix(tag, p) {
					tags = append(tags, tag)
				}
			}
		}
		return tags
	})
	firstOf(func(e Entry) []string {
		s, _, _ := strings.Cut(e.Status(), "(")
		return []string{s}
	})
	return keep
}

// Representative returns entries (rows of Manifest) when Exhaustive, and
// otherwise those of them in the representative subset of the public
// captures, logging how many it left out and how to include them. The
// subset is chosen from the whole manifest, so that every test checks the
// same files; it is deterministic.
func Representative(t testing.TB, entries []Entry) []Entry {
	t.Helper()
	if Exhaustive() {
		return entries
	}
	var out []Entry
	for _, e := range entries {
		if IsRepresentative(t, e.Name) {
			out = append(out, e)
		}
	}
	t.Logf("checking %d of %d public captures, a representative subset (the smallest showing each tshark count, VPN or dup-ACK category and damage); %s=1 checks all %d",
		len(out), len(entries), ExhaustiveEnv, len(entries))
	return out
}

// IsRepresentative reports whether the public capture whose base name is
// name is to be swept: always when Exhaustive, else when it is in the
// representative subset (see Representative).
func IsRepresentative(t testing.TB, name string) bool {
	t.Helper()
	if Exhaustive() {
		return true
	}
	subsetOnce.Do(func() {
		subsetNames = map[string]bool{}
		if d, err := Locate(t); err == nil {
			if all, err := readManifest(d); err == nil {
				subsetNames = subset(all)
			}
		}
	})
	return subsetNames[name]
}
