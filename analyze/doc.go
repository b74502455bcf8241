// Package analyze reads a capture, decodes each frame, tracks TCP
// connections and VPN flows with Wireshark's sequence-analysis rules, and
// classifies each flow's transport. It keeps no packets: memory grows with
// the number of live flows, not with the file.
package analyze
