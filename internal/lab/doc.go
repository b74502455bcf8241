// Package lab checks ctcpdiag against captures of real kernel TCP stacks.
//
// Its test builds four Linux network namespaces (client, router, proxy,
// server) joined by veth pairs, runs socat in the proxy namespace as a real
// TCP-terminating proxy in front of a kernel TCP listener in the server
// namespace, and drives a userspace cTCP client in the client namespace: a
// raw-socket TCP endpoint that, like Cisco's IPsec-over-TCP client, sends
// one ESP or IKE packet plus the Cisco trailer per segment, acknowledges
// what it receives and never retransmits. nftables in the router namespace
// drops exactly one client segment, chosen by the ESP sequence number it
// carries. tcpdump captures on the client and server sides; the test then
// runs analyze, detect and report on the captures and compares the result
// with what tshark says about the same files.
//
// The helpers here (namespaces, processes, the raw cTCP client and the
// cTCP framing) exist for that test only. They need Linux, root, ip
// (iproute2), nft (nftables), socat, tcpdump and tshark; the test skips
// naming whatever is missing.
package lab
