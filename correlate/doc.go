// Package correlate reads two captures of the same traffic taken at two
// points (the client side and the headend side of a proxy, the inside
// and the outside of a firewall) and tells what happened between them.
//
// Each capture is analyzed once by package analyze, with its message
// hook (analyze.Options.OnMessage): every ESP message (cTCP messages as
// framed at Cisco's trailer, NAT-T, Cisco IPsec over UDP, native ESP),
// every IKE message and every TCP control segment (SYN, FIN, RST,
// keep-alive, duplicate ACK) goes into a compact table of about 56
// bytes per message.
//
// Sessions are matched across the files by what survives NAT, sequence
// randomization and proxies: the ESP SPIs per direction, else the IKE
// initiator SPI (cookie), else, for other TCP, identical addresses and
// ports. Messages are matched per direction by SPI and ESP sequence
// number (IKE by initiator SPI, message ID and occurrence). The clock
// offset between the files is the midpoint of the two directions'
// minimum apparent delays (so that a symmetric path cancels); the
// direction in which A's copy comes first has A upstream. A message
// seen only at the upstream point was lost between the points; one seen
// only downstream was generated between them. Only messages inside both
// captures' time windows (after the offset, with a margin of twice the
// largest delay plus 50 ms) are judged.
//
// # Memory
//
// This first version keeps both files' message tables whole (about 56
// bytes per ESP or IKE message and per TCP control segment, nothing per
// data byte or per other packet), then matches them: memory grows with
// the number of VPN messages in the files, not with their size in bytes.
// The tables are built to be consumed in time order: matching one
// direction needs only the messages of the other file within the
// reorder window (the largest delay plus the margin) of the current one,
// so a version that streams both files side by side (each analysis in
// its own goroutine, merged by time) holds only the messages in flight
// between the points.
package correlate
