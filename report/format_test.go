package report

import (
	"fmt"
	"math"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// TestFormatTimeLayout checks FormatTime against time.Time.Format with
// TimeLayout over the whole range of int64 nanoseconds.
func TestFormatTimeLayout(t *testing.T) {
	ns := []int64{0, 1, -1, 999_999_999, 1_000_000_000, -1_000_000_001,
		1_700_000_000_123_456_789, 951_782_400_000_000_000, // 2000-02-29
		math.MaxInt64, math.MinInt64, math.MinInt64 + 1}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 100_000 {
		ns = append(ns, int64(rng.Uint64()))
	}
	for _, n := range ns {
		want := time.Unix(0, n).UTC().Format(TimeLayout)
		if got := FormatTime(n); got != want {
			t.Fatalf("FormatTime(%d) = %q, want %q", n, got, want)
		}
	}
}

// TestSessionStrings checks the strings buildSession formats in one
// buffer against the fmt and netip formatting they replace.
func TestSessionStrings(t *testing.T) {
	aps := []netip.AddrPort{
		{},
		netip.MustParseAddrPort("10.0.0.1:51000"),
		netip.MustParseAddrPort("[2001:db8::1]:443"),
		netip.MustParseAddrPort("[::ffff:10.0.0.1]:4500"),
		netip.MustParseAddrPort("[fe80::1%eth0]:10000"),
	}
	oldAddr := func(ap netip.AddrPort, proto uint8) string {
		if !ap.Addr().IsValid() {
			return ""
		}
		if proto == 50 {
			return ap.Addr().Unmap().String()
		}
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()).String()
	}
	oldFilter := func(s *analyze.Session) string {
		switch {
		case s.Proto == 6 && s.Stream >= 0:
			return fmt.Sprintf("tcp.stream eq %d", s.Stream)
		case s.Proto == 17 && s.Stream >= 0:
			return fmt.Sprintf("udp.stream eq %d", s.Stream)
		}
		if !s.Client.Addr().IsValid() || !s.Headend.Addr().IsValid() {
			return ""
		}
		ip := "ip"
		if s.Client.Addr().Unmap().Is6() {
			ip = "ipv6"
		}
		return fmt.Sprintf("%s.addr eq %s && %s.addr eq %s && esp",
			ip, s.Client.Addr().Unmap(), ip, s.Headend.Addr().Unmap())
	}
	for _, proto := range []uint8{6, 17, 50, 1} {
		for _, stream := range []int{-1, 0, 12345} {
			for _, a := range aps {
				for _, b := range aps {
					s := &analyze.Session{Proto: proto, Stream: stream, Client: a, Headend: b,
						FirstTime: 1_700_000_000_000_000_001, LastTime: -5}
					client, headend, start, end, filter := sessionStrings(s)
					want := [5]string{oldAddr(a, proto), oldAddr(b, proto),
						time.Unix(0, s.FirstTime).UTC().Format(TimeLayout), time.Unix(0, s.LastTime).UTC().Format(TimeLayout), oldFilter(s)}
					if got := [5]string{client, headend, start, end, filter}; got != want {
						t.Errorf("proto %d stream %d %v %v:\n got %q\nwant %q", proto, stream, a, b, got, want)
					}
					if got := FormatAddr(a, proto); got != want[0] {
						t.Errorf("FormatAddr(%v, %d) = %q, want %q", a, proto, got, want[0])
					}
				}
			}
		}
	}
}
