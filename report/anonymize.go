package report

import (
	"net/netip"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/ctcpdiag/ctcpdiag/internal/anon"
)

// Anonymize returns a deep copy of rep in which every IP and MAC address
// written in any string field (addresses, summaries, explanations,
// configuration snippets, Wireshark filters, warnings, everything) is
// replaced by its pseudonym under m, the capture path keeps only its base
// name, and fields that would name a host (see sensitiveField) are
// emptied. Numbers, frames, the verdict, the findings and the
// recommendations are otherwise unchanged: every decision was taken on
// the real addresses before. rep is not modified.
//
// Addresses are found by reading the text (see AnonymizeText), so a field
// added to Report later is covered without change here.
func Anonymize(rep *Report, m *anon.Mapper) *Report {
	if rep == nil {
		return nil
	}
	out := anonValue(reflect.ValueOf(rep), m, "").Interface().(*Report)
	return out
}

// sensitiveField is the one place that decides, from a struct field's
// Go name and JSON name, what the anonymizer does with a string field
// beyond replacing addresses: "base" keeps the base name of a path,
// "drop" empties it (host names, IKE identities, TLS server names: no
// Report field carries one today, but one added later is dropped by its
// name), "" leaves it to the address replacement alone.
func sensitiveField(owner reflect.Type, f reflect.StructField) string {
	if owner == reflect.TypeFor[Capture]() && f.Name == "Path" {
		return "base"
	}
	name := strings.ToLower(f.Name + " " + f.Tag.Get("json"))
	for _, w := range []string{"host", "sni", "server_name", "servername", "identity", "fqdn", "domain", "user"} {
		if strings.Contains(name, w) {
			return "drop"
		}
	}
	return ""
}

// anonValue returns a deep copy of v with every string anonymized; rule
// is the sensitiveField rule of the field v came from.
func anonValue(v reflect.Value, m *anon.Mapper, rule string) reflect.Value {
	out := reflect.New(v.Type()).Elem()
	switch v.Kind() {
	case reflect.String:
		s := v.String()
		switch rule {
		case "drop":
			s = ""
		case "base":
			if s != "" && s != "-" {
				s = filepath.Base(filepath.ToSlash(s))
				if i := strings.LastIndexByte(s, '\\'); i >= 0 {
					s = s[i+1:]
				}
			}
		}
		out.SetString(AnonymizeText(s, m))
	case reflect.Pointer:
		if !v.IsNil() {
			p := reflect.New(v.Type().Elem())
			p.Elem().Set(anonValue(v.Elem(), m, rule))
			out.Set(p)
		}
	case reflect.Slice:
		if !v.IsNil() {
			s := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
			for i := range v.Len() {
				s.Index(i).Set(anonValue(v.Index(i), m, rule))
			}
			out.Set(s)
		}
	case reflect.Array:
		for i := range v.Len() {
			out.Index(i).Set(anonValue(v.Index(i), m, rule))
		}
	case reflect.Map:
		if !v.IsNil() {
			mm := reflect.MakeMapWithSize(v.Type(), v.Len())
			it := v.MapRange()
			for it.Next() {
				mm.SetMapIndex(anonValue(it.Key(), m, ""), anonValue(it.Value(), m, rule))
			}
			out.Set(mm)
		}
	case reflect.Struct:
		out.Set(v) // unexported fields (none today) are copied as they are
		t := v.Type()
		for i := range t.NumField() {
			f := t.Field(i)
			if !f.IsExported() {
				continue
			}
			out.Field(i).Set(anonValue(v.Field(i), m, sensitiveField(t, f)))
		}
	case reflect.Interface:
		if !v.IsNil() {
			out.Set(anonValue(v.Elem(), m, rule))
		}
	default:
		out.Set(v)
	}
	return out
}

// AnonymizeText returns s with every IPv4 address, IPv6 address and MAC
// address replaced by its pseudonym under m. It recognises:
//
//   - IPv4: exactly four dot-separated decimal numbers of 0-255 (one to
//     three digits each), not preceded by a digit or a digit and a dot,
//     not followed by a digit or a dot and a digit, so "4.0.17", "1.2.3.4.5"
//     and "10.0.0.1234" are left alone while a sentence may end in
//     "10.0.0.1.";
//   - IPv6: a run of hex digits, colons and dots holding at least two
//     colons that netip.ParseAddr accepts (one or two trailing colons or
//     dots are left out if needed), with or without "::" compression or
//     an embedded IPv4 part, inside "[...]:port" as well; times such as
//     "09:14:27" do not parse and stay;
//   - MAC: six pairs of hex digits separated by ':' or '-', not adjacent
//     to further hex digits or separators.
//
// Pseudonyms are written in canonical form (IPv6 compressed, lower case).
func AnonymizeText(s string, m *anon.Mapper) string {
	if !mayHoldAddress(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); {
		if n, mac, ok := macAt(s, i); ok {
			r := m.MAC(mac)
			writeMAC(&b, r, s[i+2])
			i += n
			continue
		}
		if isV6Char(s[i]) && (i == 0 || !isV6Char(s[i-1])) {
			if n, a, ok := ipv6At(s, i); ok {
				b.WriteString(mapLiteral(s, i+n, a, m))
				i += n
				continue
			}
		}
		if isDigit(s[i]) && (i == 0 || !isDigit(s[i-1]) && !(s[i-1] == '.' && i >= 2 && isDigit(s[i-2]))) {
			if n, a, ok := ipv4At(s, i); ok {
				b.WriteString(mapLiteral(s, i+n, a, m))
				i += n
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// wellKnown are special-purpose blocks that the tool's own explanations
// name ("RFC 6598, 100.64.0.0/10"): written as a prefix they describe
// address space, not a host of the capture, and stay as they are.
var wellKnown = map[netip.Prefix]bool{
	netip.MustParsePrefix("10.0.0.0/8"):     true,
	netip.MustParsePrefix("172.16.0.0/12"):  true,
	netip.MustParsePrefix("192.168.0.0/16"): true,
	netip.MustParsePrefix("100.64.0.0/10"):  true,
	netip.MustParsePrefix("169.254.0.0/16"): true,
	netip.MustParsePrefix("127.0.0.0/8"):    true,
	netip.MustParsePrefix("224.0.0.0/4"):    true,
	netip.MustParsePrefix("0.0.0.0/0"):      true,
	netip.MustParsePrefix("fc00::/7"):       true,
	netip.MustParsePrefix("fe80::/10"):      true,
	netip.MustParsePrefix("ff00::/8"):       true,
	netip.MustParsePrefix("::/0"):           true,
	netip.MustParsePrefix("2001:db8::/32"):  true,
}

// mapLiteral returns the text for address a found in s and ending at
// end: its pseudonym, or a itself when "/N" follows and makes it one of
// the wellKnown blocks.
func mapLiteral(s string, end int, a netip.Addr, m *anon.Mapper) string {
	if end < len(s) && s[end] == '/' {
		j := end + 1
		for j < len(s) && isDigit(s[j]) && j-end <= 3 {
			j++
		}
		if p, err := netip.ParsePrefix(a.String() + s[end:j]); err == nil && wellKnown[p] {
			return a.String()
		}
	}
	return m.Addr(a).String()
}

// mayHoldAddress is a quick filter: an address needs a dot, a colon or
// a dash.
func mayHoldAddress(s string) bool {
	return strings.ContainsAny(s, ".:-")
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isHex(c byte) bool {
	return isDigit(c) || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func isV6Char(c byte) bool { return isHex(c) || c == ':' || c == '.' }

// ipv4At parses an IPv4 address starting at s[i] (the caller checked the
// left boundary) and returns its length.
func ipv4At(s string, i int) (int, netip.Addr, bool) {
	var a [4]byte
	j := i
	for part := range 4 {
		if part > 0 {
			if j >= len(s) || s[j] != '.' {
				return 0, netip.Addr{}, false
			}
			j++
		}
		n, v := 0, 0
		for j < len(s) && isDigit(s[j]) && n < 4 {
			v = v*10 + int(s[j]-'0')
			j++
			n++
		}
		if n == 0 || n > 3 || v > 255 {
			return 0, netip.Addr{}, false
		}
		a[part] = byte(v)
	}
	if j < len(s) && (isDigit(s[j]) || s[j] == '.' && j+1 < len(s) && isDigit(s[j+1])) {
		return 0, netip.Addr{}, false
	}
	return j - i, netip.AddrFrom4(a), true
}

// ipv6At parses an IPv6 address at the start of the run of hex digits,
// colons and dots that begins at s[i], and returns its length.
func ipv6At(s string, i int) (int, netip.Addr, bool) {
	j := i
	colons := 0
	for j < len(s) && isV6Char(s[j]) {
		if s[j] == ':' {
			colons++
		}
		j++
	}
	if colons < 2 {
		return 0, netip.Addr{}, false
	}
	// A run followed by a letter (such as "ab:cd:ef:gh") is a word, not
	// an address.
	if j < len(s) && (s[j] >= 'g' && s[j] <= 'z' || s[j] >= 'G' && s[j] <= 'Z' || s[j] == '_') {
		return 0, netip.Addr{}, false
	}
	for trim := 0; trim <= 2 && j-trim > i; trim++ {
		end := j - trim
		if trim > 0 && s[end] != ':' && s[end] != '.' {
			break
		}
		if a, err := netip.ParseAddr(s[i:end]); err == nil && a.Is6() {
			return end - i, a, true
		}
	}
	return 0, netip.Addr{}, false
}

// macAt parses a MAC address (six hex pairs separated by ':' or '-', the
// same separator throughout) at s[i].
func macAt(s string, i int) (int, [6]byte, bool) {
	var mac [6]byte
	if i+17 > len(s) || !isHex(s[i]) {
		return 0, mac, false
	}
	if i > 0 && (isHex(s[i-1]) || s[i-1] == ':' || s[i-1] == '-') {
		return 0, mac, false
	}
	sep := s[i+2]
	if sep != ':' && sep != '-' {
		return 0, mac, false
	}
	for k := range 6 {
		p := i + 3*k
		if !isHex(s[p]) || !isHex(s[p+1]) || k < 5 && s[p+2] != sep {
			return 0, mac, false
		}
		mac[k] = unhex(s[p])<<4 | unhex(s[p+1])
	}
	if e := i + 17; e < len(s) && (isHex(s[e]) || s[e] == ':' || s[e] == '-') {
		return 0, mac, false
	}
	return 17, mac, true
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

func writeMAC(b *strings.Builder, mac [6]byte, sep byte) {
	const digits = "0123456789abcdef"
	for k, x := range mac {
		if k > 0 {
			b.WriteByte(sep)
		}
		b.WriteByte(digits[x>>4])
		b.WriteByte(digits[x&15])
	}
}
