package anon

import (
	"bytes"
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// The sample key and mappings published with the Crypto-PAn reference
// implementation (Xu et al.): a known-answer test of the construction.
func TestCryptoPAnKnownAnswers(t *testing.T) {
	key := []byte{21, 34, 23, 141, 51, 164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
		216, 152, 143, 131, 121, 121, 101, 39, 98, 87, 76, 45, 42, 132, 34, 2}
	m := NewMapper(key)
	m.plain = true // the bare construction, without the kept classes
	for in, want := range map[string]string{
		"128.11.68.132":   "135.242.180.132",
		"129.118.74.4":    "134.136.186.123",
		"130.132.252.244": "133.68.164.234",
	} {
		if got := m.Addr(netip.MustParseAddr(in)).String(); got != want {
			t.Errorf("%s -> %s, want %s", in, got, want)
		}
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for i := range a {
		x := a[i] ^ b[i]
		if x != 0 {
			return n + bits.LeadingZeros8(x)
		}
		n += 8
	}
	return n
}

// withPrefix returns a random address sharing exactly k bits with a (k <
// len(a)*8).
func withPrefix(r *rand.Rand, a []byte, k int) []byte {
	b := make([]byte, len(a))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	for i := range k {
		bit := byte(0x80) >> (i % 8)
		b[i/8] = b[i/8]&^bit | a[i/8]&bit
	}
	bit := byte(0x80) >> (k % 8)
	b[k/8] = b[k/8]&^bit | ^a[k/8]&bit
	return b
}

func TestPrefixPreservation(t *testing.T) {
	m := NewMapper(KeyFromString("prefix test"))
	r := rand.New(rand.NewPCG(1, 2))
	for _, size := range []int{4, 16} {
		for k := 0; k < size*8; k++ {
			for range 8 {
				a := make([]byte, size)
				for i := range a {
					a[i] = byte(r.Uint32())
				}
				b := withPrefix(r, a, k)
				if got := commonPrefix(a, b); got != k {
					t.Fatalf("test setup: prefix %d, want %d", got, k)
				}
				var ma, mb []byte
				if size == 4 {
					x, y := m.IPv4([4]byte(a)), m.IPv4([4]byte(b))
					ma, mb = x[:], y[:]
				} else {
					x, y := m.IPv6([16]byte(a)), m.IPv6([16]byte(b))
					ma, mb = x[:], y[:]
				}
				if got := commonPrefix(ma, mb); got != k {
					t.Fatalf("size %d: %x and %x share %d bits, pseudonyms %x and %x share %d", size, a, b, k, ma, mb, got)
				}
			}
		}
	}
}

func TestDeterministicAndKeyed(t *testing.T) {
	a := netip.MustParseAddr("192.0.2.33")
	b := netip.MustParseAddr("2001:db8:1::77")
	m1, m2 := NewMapper(KeyFromString("k")), NewMapper(KeyFromString("k"))
	other := NewMapper(KeyFromString("K"))
	if m1.Addr(a) != m2.Addr(a) || m1.Addr(b) != m2.Addr(b) {
		t.Error("same key, different pseudonyms")
	}
	if m1.Addr(a) == other.Addr(a) || m1.Addr(b) == other.Addr(b) {
		t.Error("different keys, same pseudonym")
	}
	if m1.Addr(a) == a || m1.Addr(b) == b {
		t.Error("address not mapped")
	}
	// Cached and fresh answers agree.
	if m1.Addr(a) != NewMapper(KeyFromString("k")).Addr(a) {
		t.Error("cache changed the answer")
	}
	mac := [6]byte{0x00, 0x1b, 0x54, 0x01, 0x02, 0x03}
	if m1.MAC(mac) != m2.MAC(mac) || m1.MAC(mac) == other.MAC(mac) || m1.MAC(mac) == mac {
		t.Error("MAC mapping not keyed or not deterministic")
	}
	r1, r2 := RandomKey(), RandomKey()
	if len(r1) != KeySize || bytes.Equal(r1, r2) {
		t.Error("RandomKey: bad key")
	}
	// Keys of other lengths are hashed: a passphrase given as bytes
	// equals KeyFromString of it.
	if NewMapper([]byte("k")).Addr(a) != m1.Addr(a) {
		t.Error("short key not hashed like KeyFromString")
	}
}

func TestIPv4MappedIPv6(t *testing.T) {
	m := NewMapper(KeyFromString("mapped"))
	v4 := netip.MustParseAddr("198.51.100.7")
	v6 := netip.MustParseAddr("::ffff:198.51.100.7")
	g4, g6 := m.Addr(v4), m.Addr(v6)
	if !g6.Is4In6() || g6.Unmap() != g4 {
		t.Errorf("::ffff:198.51.100.7 -> %s, 198.51.100.7 -> %s: spellings disagree", g6, g4)
	}
	z := netip.MustParseAddr("fe80::1%eth0")
	if m.Addr(z).Zone() != "" {
		t.Error("zone kept")
	}
	// A native IPv6 pseudonym never lands in the IPv4-mapped block.
	for i := range 2000 {
		a := [16]byte{0: 0x20, 1: 0x01, 14: byte(i >> 8), 15: byte(i)}
		if r := m.IPv6(a); [12]byte(r[:12]) == v4InV6Prefix {
			t.Fatalf("%x maps into ::ffff:0:0/96", a)
		}
	}
}

func TestKeptAddresses(t *testing.T) {
	m := NewMapper(KeyFromString("kept"))
	for _, s := range []string{"0.0.0.0", "255.255.255.255", "127.0.0.1", "::", "::1", "::ffff:0.0.0.0"} {
		a := netip.MustParseAddr(s)
		if m.Addr(a) != a || !Kept(a) {
			t.Errorf("%s not kept", s)
		}
	}
	for _, s := range []string{"127.0.0.2", "10.0.0.1", "224.0.0.5", "fe80::1"} {
		a := netip.MustParseAddr(s)
		if m.Addr(a) == a || Kept(a) {
			t.Errorf("%s kept", s)
		}
	}
	for _, mac := range [][6]byte{{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, {}} {
		if m.MAC(mac) != mac {
			t.Errorf("%x not kept", mac)
		}
	}
	uni := m.MAC([6]byte{0x00, 0x50, 0x56, 0xaa, 0xbb, 0xcc})
	multi := m.MAC([6]byte{0x01, 0x00, 0x5e, 0x00, 0x00, 0x05})
	if uni[0]&1 != 0 || uni[0]&2 == 0 {
		t.Errorf("unicast MAC -> %x: want unicast, locally administered", uni)
	}
	if multi[0]&1 != 1 || multi[0]&2 == 0 {
		t.Errorf("multicast MAC -> %x: want multicast, locally administered", multi)
	}
}

func TestClassesKept(t *testing.T) {
	m := NewMapper(KeyFromString("classes"))
	r := rand.New(rand.NewPCG(3, 4))
	type block struct {
		p netip.Prefix
	}
	blocks := []netip.Prefix{
		netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"),
		netip.MustParsePrefix("fc00::/7"),
	}
	in := func(a netip.Addr) bool {
		for _, b := range blocks {
			if b.Contains(a) {
				return true
			}
		}
		return false
	}
	for range 20000 {
		var a netip.Addr
		if r.IntN(2) == 0 {
			a = netip.AddrFrom4([4]byte{byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32()), byte(r.Uint32())})
		} else {
			var b [16]byte
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			a = netip.AddrFrom16(b)
		}
		if Kept(a) {
			continue
		}
		if g := m.Addr(a); in(g) != in(a) {
			t.Fatalf("%s (private %v) -> %s (private %v)", a, in(a), g, in(g))
		}
	}
	for _, s := range []string{"10.1.2.3", "172.16.5.4", "192.168.1.23", "100.64.0.9", "fd00::1"} {
		a := netip.MustParseAddr(s)
		if g := m.Addr(a); !in(g) || g == a {
			t.Errorf("%s -> %s", a, g)
		}
	}
}

func BenchmarkIPv4Cached(b *testing.B) {
	m := NewMapper(KeyFromString("bench"))
	a := [4]byte{10, 1, 2, 3}
	m.IPv4(a)
	b.ReportAllocs()
	for b.Loop() {
		m.IPv4(a)
	}
}

func BenchmarkIPv6Uncached(b *testing.B) {
	m := NewMapper(KeyFromString("bench"))
	a := [16]byte{0x20, 0x01, 0x0d, 0xb8}
	b.ReportAllocs()
	for b.Loop() {
		m.pan6(a)
	}
}
