package detect

import (
	"fmt"
	"math"
	"net/netip"
	"testing"

	"github.com/ctcpdiag/ctcpdiag/analyze"
)

// TestPluralDigits checks plural's number against fmt's %d.
func TestPluralDigits(t *testing.T) {
	for _, n := range []int{0, 1, 2, -1, 10, math.MaxInt, math.MinInt} {
		want := fmt.Sprintf("%d packets", n)
		if n == 1 {
			want = "1 packet"
		}
		if got := plural(n, "packet"); got != want {
			t.Errorf("plural(%d) = %q, want %q", n, got, want)
		}
	}
	if got := plural(uint64(math.MaxUint64), "frame"); got != "18446744073709551615 frames" {
		t.Errorf("plural(MaxUint64) = %q", got)
	}
	if got := plural(int64(math.MinInt64), "frame"); got != "-9223372036854775808 frames" {
		t.Errorf("plural(MinInt64) = %q", got)
	}
}

// TestDescribeSessionAddrs checks describeSession against fmt's %s of
// the addresses, including invalid and zoned ones.
func TestDescribeSessionAddrs(t *testing.T) {
	aps := []netip.AddrPort{
		{},
		netip.MustParseAddrPort("10.0.0.1:51000"),
		netip.MustParseAddrPort("[2001:db8::1]:443"),
		netip.MustParseAddrPort("[::ffff:10.0.0.1]:0"),
		netip.MustParseAddrPort("[fe80::1%eth0]:10000"),
	}
	for _, a := range aps {
		for _, b := range aps {
			s := &analyze.Session{ID: 12, Transport: analyze.TransportCTCP, Client: a, Headend: b}
			want := fmt.Sprintf("session %d (%s %s -> %s)", s.ID, s.Transport.Label(), s.Client, s.Headend)
			if got := describeSession(s); got != want {
				t.Errorf("describeSession = %q, want %q", got, want)
			}
		}
	}
}
