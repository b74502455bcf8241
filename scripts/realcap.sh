#!/usr/bin/env bash
# realcap.sh writes a capture of real kernel TCP traffic with loss, the
# kind of input issue 6 is measured on: CONNS parallel bulk downloads
# (socat, random payload) between two network namespaces joined by a veth
# pair, with nftables in the server's namespace dropping LOSS per mille of
# its packets at random and a token bucket (tc tbf) limiting it to RATE, so
# that tcpdump, capturing on the client's side, keeps up (full snaplen,
# segmentation offloads off so that packets are MTU-sized as on a wire).
#
# Usage: scripts/realcap.sh OUT.pcap [MB [LOSS [CONNS [RATE [BUFFER]]]]]
#        (as root; defaults: 400 MB, 3 per mille, 8 connections, 400mbit,
#        tcpdump's default buffer). RATE "none" sends at full speed and a
#        small BUFFER (tcpdump -B, KiB) makes the capturing kernel drop
#        packets, as a busy capture point does: issue 14's lossy capture is
#        scripts/realcap.sh OUT.pcap 1600 5 140 none 1024
# Needs: ip and tc (iproute2), nft (nftables), ethtool, socat, tcpdump.
set -euo pipefail

out=${1:?usage: realcap.sh OUT.pcap [MB [LOSS [CONNS]]]}
mb=${2:-400}
loss=${3:-3}
conns=${4:-8}
rate=${5:-400mbit}
buffer=${6:-}
for t in ip tc nft ethtool socat tcpdump; do
	command -v "$t" >/dev/null || { echo "realcap.sh: $t is not installed" >&2; exit 2; }
done
[ "$(id -u)" = 0 ] || { echo "realcap.sh: needs root (network namespaces)" >&2; exit 2; }

a=ctcpdiag-rc-a-$$ # client
b=ctcpdiag-rc-b-$$ # server
dump=""
cleanup() {
	[ -n "$dump" ] && kill "$dump" 2>/dev/null || true
	ip netns pids "$b" 2>/dev/null | xargs -r kill 2>/dev/null || true
	ip netns del "$a" 2>/dev/null || true
	ip netns del "$b" 2>/dev/null || true
}
trap cleanup EXIT
ip netns add "$a"
ip netns add "$b"
ip link add veth-a netns "$a" type veth peer name veth-b netns "$b"
ip -n "$a" addr add 10.99.0.1/24 dev veth-a
ip -n "$b" addr add 10.99.0.2/24 dev veth-b
for ns in "$a" "$b"; do
	ip -n "$ns" link set lo up
done
ip -n "$a" link set veth-a up
ip -n "$b" link set veth-b up
ip netns exec "$a" ethtool -K veth-a tso off gso off gro off >/dev/null 2>&1 || true
ip netns exec "$b" ethtool -K veth-b tso off gso off gro off >/dev/null 2>&1 || true
if [ "$rate" != none ]; then
	ip netns exec "$b" tc qdisc add dev veth-b root tbf rate "$rate" burst 256kb latency 100ms
fi
ip netns exec "$b" nft -f - <<EOF
table inet realcap {
	chain out {
		type filter hook output priority 0;
		tcp sport 5001 numgen random mod 1000 < $loss drop
	}
}
EOF

per=$((mb * 1024 * 1024 / conns))
ip netns exec "$b" socat TCP-LISTEN:5001,fork,reuseaddr SYSTEM:"head -c $per /dev/urandom" &
sleep 0.5
ip netns exec "$a" tcpdump -i veth-a -n -s 0 ${buffer:+-B "$buffer"} -w "$out" -Z root 2>"$out.tcpdump.log" &
dump=$!
sleep 1
pids=()
for _ in $(seq "$conns"); do
	# A connection that stalls for good (both ends waiting after heavy
	# loss) must not hold the capture open.
	timeout 120 ip netns exec "$a" socat -u TCP:10.99.0.2:5001 /dev/null &
	pids+=($!)
done
wait "${pids[@]}" || true
sleep 1
kill -INT "$dump"
wait "$dump" 2>/dev/null || true
dump=""
tail -n 3 "$out.tcpdump.log" >&2 || true
rm -f "$out.tcpdump.log"
ls -l "$out"
