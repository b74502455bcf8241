// Package lab checks ctcpdiag against captures of real kernel TCP stacks,
// taken on both sides of the device that matters.
//
// # The lab
//
// New builds four Linux network namespaces, client, router, proxy and
// server, each joined to the router by a veth pair (addresses in
// netns.go). In them Run plays one Case:
//
//   - the cTCP endpoints: RawEndpoint, a userspace TCP on a raw socket that
//     behaves like cTCP, as the client (DialRaw, active open) and as the
//     headend (ListenRaw and Accept, passive open). It offers SACK and
//     timestamps, sends one ESP or IKE message with Cisco's trailer per
//     segment (Framer), acknowledges the highest byte received (it
//     ignores holes, so it never sends duplicate ACKs for one), ignores
//     the duplicate ACKs it receives and never retransmits. Each
//     namespace's kernel, which knows nothing of these connections, would
//     reset them: nftables drops the kernel's RSTs before the capture
//     point, and lets through the endpoints' own (they carry RawMark).
//     For real TCP, DialKernel and ListenHeadend send the same framing
//     over kernel sockets (which retransmit);
//   - the client sends IKE messages, then ESP, every ClientPace (30 ms);
//     the headend sends ESP every HeadendPace (100 ms) and, as a VPN
//     headend's dead-peer detection does, tears the tunnel down with an
//     RST once no client data has reached it for DPDTimeout (3 s) while
//     it kept sending. A raw endpoint stops sending after an RST, and
//     answers a FIN with its own;
//   - socat in the proxy namespace, a TCP-terminating proxy with kernel
//     TCP on both legs, when the case has one (the client then dials the
//     proxy's address, ProxyAddr). It runs with TCP_NODELAY and real-time
//     scheduling, so that it forwards one message per segment unless a
//     case makes it re-segment, and its kernel has no tail loss probe
//     (on these sub-millisecond links the probe would resend whenever a
//     raw endpoint's ACK came a few milliseconds late); duplicate ACKs,
//     SACK and the retransmission timeout work as ever;
//   - the router forwards, and drops by nftables the one segment a case
//     names by its ESP SPI and sequence number (once: a kernel's
//     retransmission passes), or every IKE datagram on UDP 500 and 4500;
//   - tcpdump on the client's interface (the client-side capture) and on
//     the headend's (the headend-side capture).
//
// Each run writes <case>-client-side.pcap, <case>-headend-side.pcap and
// <case>.lab.json, the Log of what the lab did: the endpoints' addresses,
// the proxy (or null), per direction the ESP sequence numbers one
// endpoint sent and the other received, the router's drops read back
// from the nftables rules and their counters (which leg, which ESP
// sequence number, how many packets, and the capture points they lie
// before), the headend's teardown, and for each capture point what
// crossed it: esp_messages (distinct ESP sequence numbers) and
// esp_missing (dropped before the point and never seen there, below the
// highest sequence number seen there: a hole that capture shows). Its
// test asserts ctcpdiag's JSON report against this log and against
// tshark, never against numbers typed by hand. With
// CTCPDIAG_LAB_EVIDENCE set, the files, and each capture's report as
// <case>-<point>.report.json, are kept in that directory.
//
// # The cases
//
// proxy-loss-to-headend: raw client -> router -> socat -> raw headend; the
// router drops the client's ESP 20 on the client->proxy leg. Client side:
// socat's kernel asks for the hole with duplicate ACKs carrying SACK
// blocks, one per client segment past it, and the client never resends:
// an unanswered retransmit request sent by a path device (affected,
// proven). Headend side: no duplicate ACK and no hole; the proxy's stream
// simply stops after ESP 19 while the headend keeps sending, and 3 s
// later the headend resets (affected, probable); socat then closes the
// client's leg with a FIN.
//
// routed-loss: raw client -> router -> raw headend, no proxy; the router
// drops the client's ESP 20 and the headend's ESP 10. Each side captures
// one hole (Wireshark's "previous segment not captured", then "ACKed
// unseen segment" as the receiver acknowledges past it) and data flowing
// on past it: the receivers tolerate loss (healthy).
//
// kernel-loss: the same framing over kernel sockets, no proxy; the router
// drops the client's ESP 20 once and the kernel retransmits it (healthy:
// the sender is a real TCP stack).
//
// proxy-healthy: as proxy-loss-to-headend without a drop (healthy).
//
// proxy-loss-to-client: as proxy-healthy, the router drops the headend's
// ESP 10 on the proxy->client leg. The client acknowledges past the hole,
// so socat never resends it: the client side shows a hole and an ACK of
// unseen bytes, the headend side nothing (healthy both sides).
//
// proxy-coalescing: as proxy-healthy, with socat reading 400-byte blocks
// (-b 400) and the client sending BurstLen messages back to back every
// BurstEvery ticks: the headend-side stream has segments carrying several
// messages and messages spanning segments (a TCP stack resends the bytes
// in the endpoint's name: at-risk, probable), the client side one message
// per segment (healthy). No ESP sequence number is missing anywhere.
//
// udp-blocked: as proxy-loss-to-headend, but first the client sends IKE
// on UDP 500 and on UDP 4500 (three times each, to the address it then
// dials for cTCP) and the router drops them all, as a firewall blocking
// UDP does: ctcpdiag should recommend AnyConnect first on the client side.
//
// Kept from the first lab: ctcp-loss-bulk (as proxy-loss-to-headend with
// 1.3 kB messages every 5 ms and window scaling; the client also overruns
// socat's receive window, so socat ignores the ACKs in its out-of-window
// segments and resends its own data to the client), raw-retransmit (the
// raw client resends after three duplicate ACKs: healthy on the client
// side; socat then delivers the messages it held behind the hole in one
// segment, whole messages sharing it, which is no evidence of a TCP stack:
// healthy on the headend side too) and raw-retransmit-ooo (it resends at
// the first, after a 20 ms handshake: Wireshark calls the resent segment
// out-of-order).
//
// proxy-loss-to-client-inorder: as proxy-loss-to-client, with a raw
// client that acknowledges only the bytes it got in order (a naive TCP
// imitation, RawOptions.InOrderAck): its duplicate ACKs make socat resend
// the lost segment, with the next message in the same segment. Healthy on
// both sides, and the resent message fills its ESP gap (nothing missing).
//
// proxy-loss-to-headend-short: as proxy-loss-to-headend, but the client
// sends for 3 s only, so the captures end before the headend's 3 s
// dead-peer timeout: the client side still proves the failure, while the
// headend side sees the client->headend stream stop with no teardown
// before the end (at-risk, possible).
//
// routed-nat: as routed-loss (3 s), the router translating the client's
// address and port toward the headend (nftables snat to NATAddr, ports
// NATPorts): the two captures show different client addresses.
//
// routed-seq-randomizer: as routed-loss (3 s), the router adding SeqShift
// to the client's TCP sequence numbers toward the headend and taking it
// from the headend's ACK numbers, as an ASA's sequence randomization does
// (an nftables XOR of the fields, which is that addition for the raw
// client's numbers: see SeqShift; checksums fixed by nftables).
//
// # Correlating the two captures
//
// For proxy-loss-to-headend, proxy-loss-to-client, proxy-healthy,
// routed-loss, routed-nat and routed-seq-randomizer the test also
// correlates the two captures it has (package correlate, client side as
// A) and checks the result against the log: one pair of sessions matched
// by ESP SPI whatever the addresses; per direction the messages seen at
// both points, and as lost between them exactly those that crossed the
// upstream point and not the downstream one (the router's drops with
// their frame in the upstream file, and past proxy-loss-to-headend's hole
// everything the proxy held), none where the log has none, none
// generated; the relation of the TCP views (terminated at the proxy, the
// same connection when routed or NATed, a sequence offset of SeqShift
// through the randomizer); the proxy's duplicate ACKs (tshark's) as
// generated between the points, with their frames; a clock offset within
// the delay (one host's clock); and the same story with the files in the
// other order.
//
// The cases build their own namespaces and run at once, about 12 s in
// all (the whole test about 35 s). They take turns for building and
// tearing down their labs and for the handshakes, and the endpoints'
// timing-critical loops run on real-time threads, so that a busy machine
// changes neither the handshakes' timing nor the segmentation.
//
// The helpers need Linux, root, ip and ss (iproute2), nft (nftables),
// socat, chrt (util-linux), tcpdump and tshark; the test skips naming
// whatever is missing, and under -short.
package lab
