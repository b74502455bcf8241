// Package anon maps IP and MAC addresses to pseudonyms under a secret key,
// so that reports and captures can leave the customer without their
// addresses while staying consistent: the same key always gives the same
// pseudonym, in every report and capture.
//
// # IP addresses
//
// IPv4 and IPv6 addresses are mapped with the prefix-preserving scheme of
// Crypto-PAn (Fan, Xu, Ammar, Moon, 2002), with AES-128 as the
// pseudo-random function: bit i of the pseudonym is bit i of the address
// XOR the first bit of AES(K, B_i), where B_i is the first i bits of the
// address followed by the bits i..127 of a pad, and the pad is AES(K, the
// second half of the secret). IPv4 uses the first 32 bits of the block
// and IPv6 all 128. Two addresses sharing exactly a k-bit prefix map to
// pseudonyms sharing exactly a k-bit prefix, so subnets stay subnets.
//
// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is mapped as the IPv4
// address it embeds and written back embedded, so both spellings of one
// address agree. A zone (fe80::1%eth0) is dropped: it names an interface.
//
// # Address classes
//
// Whether an address is private decides some of ctcpdiag's advice (a
// client with a private address is behind NAT), so the mapping keeps
// these classes: an address in 10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16
// (RFC 1918), 100.64.0.0/10 (RFC 6598) or fc00::/7 (unique local) maps
// into the same block, and an address outside them maps outside them.
// This is done inside the Crypto-PAn construction, which gives a
// prefix-preserving permutation for any choice of the pseudo-random bit
// per prefix: the bit is forced to 0 for every proper prefix of those
// blocks (the paths from the root to them), so no bit on those paths is
// ever flipped. The mapping stays prefix-preserving and one-to-one for
// all addresses; the price is that the leading bits an address shares
// with those paths (its top three or four bits for IPv4, the top bit
// for IPv6 addresses outside fc00::/7) are kept.
//
// A few addresses that say nothing about the customer are kept as they
// are, because readers (and tools) recognise them: IPv4 0.0.0.0,
// 127.0.0.1 and 255.255.255.255; IPv6 :: and ::1. To keep the mapping
// one-to-one, an address whose pseudonym would be one of these kept
// addresses walks the permutation on (it takes the pseudonym of its
// pseudonym, and so on: "cycle walking") until it lands on an address that
// is not kept. That loses prefix preservation for those few addresses
// (about one in 2^30 of the IPv4 space), never uniqueness.
//
// # MAC addresses
//
// A MAC address maps to the first six bytes of HMAC-SHA256 under a key
// derived from the secret, except that the individual/group bit of the
// first byte is kept (multicast stays multicast) and the
// universal/local bit is set (a pseudonym is marked locally administered,
// so no pseudonym carries a real vendor's OUI). The broadcast address
// ff:ff:ff:ff:ff:ff and the all-zero address are kept; no other address
// maps to them. The MAC mapping is not prefix-preserving (OUIs are not
// kept on purpose) and, as a truncated hash, could in theory map two
// addresses to one pseudonym (probability about n^2/2^47 for n
// addresses).
//
// # Keys
//
// The secret is 32 bytes: the AES-128 key, then the 16 bytes from which
// the pad is made. KeyFromString derives it from a passphrase (the
// --anon-key flag), RandomKey makes a fresh one; a random key is never
// printed, so its pseudonyms cannot be reversed by anyone.
package anon

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"sync"
)

// KeySize is the length of a secret in bytes.
const KeySize = 32

// KeyFromString derives a secret from a passphrase: its SHA-256. The same
// passphrase gives the same mapping in every report and capture.
func KeyFromString(s string) []byte {
	k := sha256.Sum256([]byte(s))
	return k[:]
}

// RandomKey returns a fresh random secret from crypto/rand.
func RandomKey() []byte {
	k := make([]byte, KeySize)
	rand.Read(k) // never fails (crypto/rand crashes the program instead)
	return k
}

// Mapper maps addresses under one secret. It caches every pseudonym it
// has computed, so a repeated address costs one map lookup. A Mapper is
// safe for concurrent use.
type Mapper struct {
	block  cipher.Block
	pad    [16]byte
	padHi  uint64
	padLo  uint64
	macKey [32]byte

	// plain disables the class-preserving paths (for the known-answer
	// test of the bare construction).
	plain bool

	mu  sync.Mutex
	v4  map[[4]byte][4]byte
	v6  map[[16]byte][16]byte
	mac map[[6]byte][6]byte
}

// NewMapper returns a Mapper for key. A key of KeySize bytes is used as
// it is; a key of any other length (including none) is first hashed with
// SHA-256, as KeyFromString does with a string.
func NewMapper(key []byte) *Mapper {
	if len(key) != KeySize {
		key = KeyFromString(string(key))
	}
	block, err := aes.NewCipher(key[:16])
	if err != nil {
		panic("anon: " + err.Error()) // unreachable: 16-byte AES key
	}
	m := &Mapper{
		block: block,
		v4:    make(map[[4]byte][4]byte),
		v6:    make(map[[16]byte][16]byte),
		mac:   make(map[[6]byte][6]byte),
	}
	block.Encrypt(m.pad[:], key[16:32])
	m.padHi = binary.BigEndian.Uint64(m.pad[:8])
	m.padLo = binary.BigEndian.Uint64(m.pad[8:])
	h := hmac.New(sha256.New, key)
	h.Write([]byte("ctcpdiag anon mac key"))
	copy(m.macKey[:], h.Sum(nil))
	return m
}

// Kept reports whether a is an address the mapping leaves unchanged by
// design: 0.0.0.0, 127.0.0.1, 255.255.255.255, ::, ::1 (and the
// IPv4-mapped spellings of the IPv4 ones).
func Kept(a netip.Addr) bool {
	a = a.Unmap()
	if a.Is4() {
		return kept4(a.As4())
	}
	return a.Is6() && kept6(a.As16())
}

func kept4(a [4]byte) bool {
	return a == [4]byte{} || a == [4]byte{127, 0, 0, 1} || a == [4]byte{255, 255, 255, 255}
}

func kept6(a [16]byte) bool {
	return a == [16]byte{} || a == [16]byte{15: 1}
}

// Addr returns the pseudonym of a: IPv4 for IPv4, IPv6 for IPv6 (an
// IPv4-mapped address stays IPv4-mapped, its IPv4 part mapped as IPv4).
// The zone is dropped. An invalid address is returned as it is.
func (m *Mapper) Addr(a netip.Addr) netip.Addr {
	switch {
	case a.Is4():
		return netip.AddrFrom4(m.IPv4(a.As4()))
	case a.Is6():
		return netip.AddrFrom16(m.IPv6(a.As16()))
	}
	return a
}

// AddrPort returns ap with its address mapped and its port kept.
func (m *Mapper) AddrPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(m.Addr(ap.Addr()), ap.Port())
}

// IPv4 returns the pseudonym of the IPv4 address a.
func (m *Mapper) IPv4(a [4]byte) [4]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ipv4(a)
}

func (m *Mapper) ipv4(a [4]byte) [4]byte {
	if r, ok := m.v4[a]; ok {
		return r
	}
	var r [4]byte
	if kept4(a) {
		r = a
	} else {
		r = m.pan4(a)
		for kept4(r) {
			r = m.pan4(r)
		}
	}
	m.v4[a] = r
	return r
}

// IPv6 returns the pseudonym of the IPv6 address a. An IPv4-mapped
// address (::ffff:a.b.c.d) keeps its ::ffff: prefix and has its IPv4
// part mapped as an IPv4 address.
func (m *Mapper) IPv6(a [16]byte) [16]byte {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.ipv6(a)
}

var v4InV6Prefix = [12]byte{10: 0xff, 11: 0xff}

func (m *Mapper) ipv6(a [16]byte) [16]byte {
	if [12]byte(a[:12]) == v4InV6Prefix {
		r := a
		v := m.ipv4([4]byte(a[12:]))
		copy(r[12:], v[:])
		return r
	}
	if r, ok := m.v6[a]; ok {
		return r
	}
	var r [16]byte
	if kept6(a) {
		r = a
	} else {
		r = m.pan6(a)
		// Cycle walking, also off the IPv4-mapped block, so that the
		// pseudonym of a native IPv6 address never reads as IPv4.
		for kept6(r) || [12]byte(r[:12]) == v4InV6Prefix {
			r = m.pan6(r)
		}
	}
	m.v6[a] = r
	return r
}

// pan4 is Crypto-PAn over the 32 bits of an IPv4 address.
func (m *Mapper) pan4(a [4]byte) [4]byte {
	orig := uint64(binary.BigEndian.Uint32(a[:])) << 32
	var otp uint64
	var in, out [16]byte
	binary.BigEndian.PutUint64(in[8:], m.padLo)
	for i := range 32 {
		// First i bits of the address, the rest from the pad.
		mask := ^uint64(0) << (64 - i)
		if i == 0 {
			mask = 0
		}
		if !m.plain && onPath4(uint32(orig>>32), i) {
			continue // bit kept: the prefix leads to a kept class
		}
		binary.BigEndian.PutUint64(in[:8], orig&mask|m.padHi&^mask)
		m.block.Encrypt(out[:], in[:])
		otp |= uint64(out[0]>>7) << (63 - i)
	}
	var r [4]byte
	binary.BigEndian.PutUint32(r[:], uint32((orig^otp)>>32))
	return r
}

// pan6 is Crypto-PAn over the 128 bits of an IPv6 address.
func (m *Mapper) pan6(a [16]byte) [16]byte {
	hi := binary.BigEndian.Uint64(a[:8])
	lo := binary.BigEndian.Uint64(a[8:])
	var otpHi, otpLo uint64
	var in, out [16]byte
	for i := range 128 {
		var mhi, mlo uint64 // mask of the first i bits
		switch {
		case i == 0:
		case i < 64:
			mhi = ^uint64(0) << (64 - i)
		case i == 64:
			mhi = ^uint64(0)
		default:
			mhi, mlo = ^uint64(0), ^uint64(0)<<(128-i)
		}
		if !m.plain && i < 7 && (i == 0 || (hi^0xfc00<<48)>>(64-i) == 0) {
			continue // on the path to fc00::/7
		}
		binary.BigEndian.PutUint64(in[:8], hi&mhi|m.padHi&^mhi)
		binary.BigEndian.PutUint64(in[8:], lo&mlo|m.padLo&^mlo)
		m.block.Encrypt(out[:], in[:])
		bit := uint64(out[0] >> 7)
		if i < 64 {
			otpHi |= bit << (63 - i)
		} else {
			otpLo |= bit << (127 - i)
		}
	}
	var r [16]byte
	binary.BigEndian.PutUint64(r[:8], hi^otpHi)
	binary.BigEndian.PutUint64(r[8:], lo^otpLo)
	return r
}

// classes4 are the IPv4 blocks whose members stay members (see the
// package comment).
var classes4 = [...]struct {
	prefix uint32
	bits   int
}{
	{0x0a000000, 8},  // 10.0.0.0/8
	{0xac100000, 12}, // 172.16.0.0/12
	{0xc0a80000, 16}, // 192.168.0.0/16
	{0x64400000, 10}, // 100.64.0.0/10
}

// onPath4 reports whether the first i bits of a are a proper prefix of
// one of classes4.
func onPath4(a uint32, i int) bool {
	for _, c := range classes4 {
		if i < c.bits && (i == 0 || (a^c.prefix)>>(32-i) == 0) {
			return true
		}
	}
	return false
}

var (
	macBroadcast = [6]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	macZero      = [6]byte{}
)

// MAC returns the pseudonym of the MAC address a (see the package
// comment): the broadcast and all-zero addresses are kept; otherwise the
// group bit is kept and the locally-administered bit set.
func (m *Mapper) MAC(a [6]byte) [6]byte {
	if a == macBroadcast || a == macZero {
		return a
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if r, ok := m.mac[a]; ok {
		return r
	}
	var r [6]byte
	var sum [sha256.Size]byte
	for ctr := byte(0); ; ctr++ {
		h := hmac.New(sha256.New, m.macKey[:])
		h.Write(a[:])
		if ctr > 0 {
			h.Write([]byte{ctr})
		}
		h.Sum(sum[:0])
		copy(r[:], sum[:6])
		r[0] = r[0]&^0x03 | a[0]&0x01 | 0x02
		if r != macBroadcast {
			break
		}
	}
	m.mac[a] = r
	return r
}
