// Package samplegen builds the deterministic sample captures committed under
// samples/, a large synthetic capture for benchmarks ([Large]) and a large
// pair of captures of the same traffic taken on both sides of a device, for
// correlate's benchmark ([LargePair]).
//
// # Scenarios
//
// [Scenarios] lists every committed sample: its file name, the verdict
// ctcpdiag is expected to reach, a description, and a Build function that
// returns the file's bytes. Building is deterministic: each scenario uses a
// fixed seed and a fixed start time, so the same bytes come out on every run
// and on every platform. Tests in this package compare the committed files
// with a fresh build.
//
// # Realism
//
// Frames are built byte by byte: Ethernet II (or Linux SLL / raw IP for the
// multi-interface sample), IPv4 with per-host incrementing IP IDs, DF where
// real stacks set it and correct header checksums, IPv6, and TCP with the
// SYN options Windows, Linux and an ASA send (MSS, SACK-permitted, window
// scale, timestamps) and correct checksums. Timing uses a seeded PRNG for
// jitter around round-trip times of 20–80 ms.
//
// # cTCP trailer
//
// Cisco IPsec over TCP carries one IKE (UDP 500->500 header + ISAKMP) or ESP
// packet per TCP segment followed by a 16-byte trailer: 4 zero bytes, a
// 2-byte counter, 2 bytes of IKE direction (0x4000 client to server, 0x0000
// server to client, 0 for ESP), 5 magic bytes, a protocol byte (0x11 ISAKMP,
// 0x32 ESP) and 2 magic bytes. The meaning of the magic bytes is not public;
// this package uses the fixed values [TrailerMagic1] and [TrailerMagic2].
package samplegen
