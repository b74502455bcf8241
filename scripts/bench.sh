#!/usr/bin/env bash
# bench.sh measures ctcpdiag against the targets of docs/performance.md, every
# ratio in the same run: analyze vs cat, and (issue 14, item 1) vs the
# per-packet floor (scripts/floor: gopacket's DecodingLayerParser alone) and,
# with the SHA-256, vs openssl's; pcapng vs pcap, gzip/zstd analyze vs
# gzip -dc / zstd -dc and (issue 14, item 5) the pure-Go zstd decoder's own
# ceiling (scripts/zstdcat), scan of 2,000 small files vs cat of them, start-up,
# peak RSS; correlate of a generated pair of captures vs analyzing both files
# alone, and its peak RSS (issue 12, item 5); plus tshark on a 100,000-packet
# slice when tshark is installed.
#
# Usage: scripts/bench.sh            (from anywhere inside the repository)
#
# Environment:
#   BENCH_DIR      where the data and binaries are cached (default: a directory
#                  under ${TMPDIR:-/tmp}; never inside the repository)
#   BENCH_PACKETS  packets in the large capture (default 1,200,000: about 1.2 GB)
#                  and in each file of the pair (about 1.1 GB each)
#   BENCH_RUNS     runs per timing; the fastest is kept (default 3)
#   BENCH_GO=1     also run the Go stage benchmarks (go test -bench)
#   BENCH_CAPTURE  a pcap to measure instead of the generated capture, e.g.
#                  real kernel traffic from scripts/realcap.sh (copied into
#                  BENCH_DIR with its pcapng, gzip and zstd copies)
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
dir=${BENCH_DIR:-${TMPDIR:-/tmp}/ctcpdiag-bench}
packets=${BENCH_PACKETS:-1200000}
runs=${BENCH_RUNS:-3}
mkdir -p "$dir/bin"
case "$dir" in "$repo"/*) echo "bench.sh: BENCH_DIR must be outside the repository" >&2; exit 2 ;; esac

echo "== build"
(cd "$repo" && go build -o "$dir/bin/ctcpdiag" ./cmd/ctcpdiag &&
	go build -o "$dir/bin/gen" ./samples/gen &&
	go build -o "$dir/bin/topcapng" ./scripts/topcapng &&
	go build -o "$dir/bin/mksmall" ./scripts/mksmall &&
	go build -o "$dir/bin/floor" ./scripts/floor &&
	go build -o "$dir/bin/zstdcat" ./scripts/zstdcat)
bin=$dir/bin/ctcpdiag

echo "== data in $dir"
large=$dir/large-$packets.pcap
if [ -n "${BENCH_CAPTURE:-}" ]; then
	# A capture of one's own (a pcap; e.g. from scripts/realcap.sh): its
	# pcapng, gzip and zstd copies are made beside the generated data.
	large=$dir/$(basename "${BENCH_CAPTURE%.pcap}").pcap
	if [ ! "$large" -ef "$BENCH_CAPTURE" ] && [ ! -s "$large" ]; then
		cp "$BENCH_CAPTURE" "$large"
	fi
elif [ ! -s "$large" ]; then
	"$dir/bin/gen" -o "$dir/gen.tmp" -large "$packets"
	mv "$dir/gen.tmp/large.pcap" "$large"
	rm -f "$large.gz" "$large.zst" "${large%.pcap}.pcapng"
fi
[ -s "${large%.pcap}.pcapng" ] || "$dir/bin/topcapng" "$large" "${large%.pcap}.pcapng"
[ -s "$large.gz" ] || gzip -k "$large"
have_zstd=0
if command -v zstd >/dev/null; then
	have_zstd=1
	[ -s "$large.zst" ] || zstd -q -k "$large"
fi
# The pair for correlate: the same traffic on both sides of a device
# (samples/gen -pair), written under a temporary name, so that an
# interrupted run leaves no half pair behind.
pair_a=$dir/pair-$packets-client-side.pcap
pair_b=$dir/pair-$packets-headend-side.pcap
if [ ! -s "$pair_a" ] || [ ! -s "$pair_b" ]; then
	"$dir/bin/gen" -o "$dir/gen.tmp" -pair "$packets"
	mv "$dir/gen.tmp/$(basename "$pair_a")" "$pair_a"
	mv "$dir/gen.tmp/$(basename "$pair_b")" "$pair_b"
fi
small=$dir/small
[ -s "$small/c1999.pcap" ] || "$dir/bin/mksmall" -n 2000 -packets 100 "$small"
ls -l "$large" "${large%.pcap}.pcapng" "$large.gz" $([ $have_zstd = 1 ] && echo "$large.zst") "$pair_a" "$pair_b"

# best CMD...: the fastest wall time of $runs runs, in seconds; the peak RSS
# (KiB) of that run goes to $dir/rss. Output is discarded.
best() {
	local b="" t0 t1 t rss
	for _ in $(seq "$runs"); do
		t0=$(date +%s%N)
		/usr/bin/time -f %M -o "$dir/rss.tmp" "$@" >/dev/null 2>&1 || true
		t1=$(date +%s%N)
		t=$(((t1 - t0) / 1000))
		rss=$(tail -1 "$dir/rss.tmp")
		if [ -z "$b" ] || [ "$t" -lt "$b" ]; then b=$t; echo "$rss" >"$dir/rss"; fi
	done
	awk -v u="$b" 'BEGIN { printf "%.3f", u / 1e6 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
verdict() { awk -v r="$1" -v g="$2" 'BEGIN { print (r <= g ? "met" : "NOT met") }'; }
rows=()
row() { rows+=("$(printf '| %-40s | %9s | %-20s | %9s | %6s | %-7s |' "$@")"); }

echo "== timings (best of $runs; load average $(cut -d' ' -f1-3 /proc/loadavg))"
cat "$large" "${large%.pcap}.pcapng" "$large.gz" >/dev/null # page cache

t_cat=$(best cat "$large")
have_openssl=0
if command -v openssl >/dev/null; then
	have_openssl=1
	t_sha=$(best openssl dgst -sha256 "$large")
fi
# The per-packet floor (issue 14, item 1): gopacket's DecodingLayerParser
# over Ethernet, IPv4, IPv6, TCP and UDP, each record handed in place from
# the read buffer, nothing else (scripts/floor). It reads Ethernet pcaps
# only: for other captures its rows are left out.
t_floor=""
if "$dir/bin/floor" "$large" >"$dir/floor.out" 2>&1; then
	echo "floor: $(cat "$dir/floor.out")"
	t_floor=$(best "$dir/bin/floor" "$large")
else
	echo "bench.sh: no floor for this capture: $(head -c 300 "$dir/floor.out")" >&2
fi
# Target 1 is the analysis (all detectors, JSON out); the SHA-256 of the
# file that every report carries by default runs at about 1.2 GB/s and is
# measured on its own row: --no-hash leaves it out.
t_nh=$(best "$bin" analyze --no-hash --format json "$large")
rss_nh=$(awk -v k="$(cat "$dir/rss")" 'BEGIN { printf "%.1f", k / 1024 }')
r=$(ratio "$t_nh" "$t_cat")
row "1. analyze pcap (json, --no-hash) vs cat" "$t_nh s" "cat $t_cat s" "${r}x" "3x" "$(verdict "$r" 3)"
if [ -n "$t_floor" ]; then
	row "(floor) DecodingLayerParser of the pcap" "$t_floor s" "cat $t_cat s" "$(ratio "$t_floor" "$t_cat")x" "-" "-"
	r=$(ratio "$t_nh" "$t_floor")
	row "1. analyze pcap --no-hash vs the floor" "$t_nh s" "floor $t_floor s" "${r}x" "1.5x" "$(verdict "$r" 1.5)"
fi
row "2. peak RSS, analyze pcap --no-hash" "$rss_nh MiB" "-" "-" "64 MiB" "$(verdict "$rss_nh" 64)"
# Issue 14, item 2: cores. --threads N uses N cores (the default: all of
# them; the row above). One core: GOMAXPROCS=1. Three or more: one reads,
# the others analyze by conversation; on a machine with fewer cores the
# shards share them (docs/performance.md has what that costs).
t_one=$(best env GOMAXPROCS=1 "$bin" analyze --no-hash --threads 1 --format json "$large")
row "2. --threads 1, GOMAXPROCS=1, --no-hash" "$t_one s" "cat $t_cat s" "$(ratio "$t_one" "$t_cat")x" "-" "-"
for n in 3 4 8; do
	t_n=$(best "$bin" analyze --no-hash --threads "$n" --format json "$large")
	rss_n=$(awk -v k="$(cat "$dir/rss")" 'BEGIN { printf "%.1f", k / 1024 }')
	row "2. --threads $n ($((n - 1)) shards), --no-hash" "$t_n s" "cat $t_cat s" "$(ratio "$t_n" "$t_cat")x" "-" "$rss_n MiB"
done
t_pcap=$(best "$bin" analyze --format json "$large")
rss_pcap=$(cat "$dir/rss")
r=$(ratio "$t_pcap" "$t_cat")
row "1. same, with the SHA-256 (default)" "$t_pcap s" "cat $t_cat s" "${r}x" "3x" "$(verdict "$r" 3)"
if [ $have_openssl = 1 ]; then
	r=$(ratio "$t_pcap" "$t_sha")
	row "1. analyze pcap (default) vs openssl" "$t_pcap s" "openssl $t_sha s" "${r}x" "1x" "$(verdict "$r" 1)"
fi
rss_mib=$(awk -v k="$rss_pcap" 'BEGIN { printf "%.1f", k / 1024 }')
row "2. peak RSS, analyze pcap" "$rss_mib MiB" "-" "-" "64 MiB" "$(verdict "$rss_mib" 64)"

t_ng=$(best "$bin" analyze --format json "${large%.pcap}.pcapng")
rss_ng=$(awk -v k="$(cat "$dir/rss")" 'BEGIN { printf "%.1f", k / 1024 }')
r=$(ratio "$t_ng" "$t_pcap")
row "3. analyze pcapng vs pcap" "$t_ng s" "pcap $t_pcap s" "${r}x" "1.2x" "$(verdict "$r" 1.2)"
row "2. peak RSS, analyze pcapng" "$rss_ng MiB" "-" "-" "64 MiB" "$(verdict "$rss_ng" 64)"

t_gzc=$(best gzip -dc "$large.gz")
t_gz=$(best "$bin" analyze --format json "$large.gz")
rss_gz=$(awk -v k="$(cat "$dir/rss")" 'BEGIN { printf "%.1f", k / 1024 }')
r=$(ratio "$t_gz" "$t_gzc")
row "4. analyze .gz vs gzip -dc" "$t_gz s" "gzip -dc $t_gzc s" "${r}x" "1x" "$(verdict "$r" 1)"
row "2. peak RSS, analyze .gz" "$rss_gz MiB" "-" "-" "64 MiB" "$(verdict "$rss_gz" 64)"
if [ $have_zstd = 1 ]; then
	# Issue 14, item 5: within 1.2x zstd -dc, beside the pure-Go decoder's
	# own ceiling: decoding alone, to io.Discard, with the decoder options
	# of analyze/capfile (scripts/zstdcat).
	t_zsc=$(best zstd -dc "$large.zst")
	t_zceil=$(best "$dir/bin/zstdcat" "$large.zst")
	row "(ceiling) Go zstd decoder alone" "$t_zceil s" "zstd -dc $t_zsc s" "$(ratio "$t_zceil" "$t_zsc")x" "-" "-"
	t_zs=$(best "$bin" analyze --no-hash --format json "$large.zst")
	rss_zs=$(awk -v k="$(cat "$dir/rss")" 'BEGIN { printf "%.1f", k / 1024 }')
	r=$(ratio "$t_zs" "$t_zsc")
	row "4. analyze .zst --no-hash vs zstd -dc" "$t_zs s" "zstd -dc $t_zsc s" "${r}x" "1.2x" "$(verdict "$r" 1.2)"
	row "4. same, vs the Go ceiling" "$t_zs s" "Go $t_zceil s" "$(ratio "$t_zs" "$t_zceil")x" "-" "-"
	row "2. peak RSS, analyze .zst --no-hash" "$rss_zs MiB" "-" "-" "64 MiB" "$(verdict "$rss_zs" 64)"
	t_zs=$(best "$bin" analyze --format json "$large.zst")
	r=$(ratio "$t_zs" "$t_zsc")
	row "4. same, with the SHA-256 (default)" "$t_zs s" "zstd -dc $t_zsc s" "${r}x" "1.2x" "$(verdict "$r" 1.2)"
fi

t_catsmall=$(best sh -c "cat '$small'/*.pcap")
t_scan=$(best "$bin" scan --jobs 2 --quiet "$small")
r=$(ratio "$t_scan" "$t_catsmall")
row "5. scan 2,000 small, 2 jobs vs cat" "$t_scan s" "cat $t_catsmall s" "${r}x" "3x" "$(verdict "$r" 3)"
t_scan=$(best "$bin" scan --jobs 2 --quiet --format jsonl "$small")
r=$(ratio "$t_scan" "$t_catsmall")
row "5. same, --format jsonl" "$t_scan s" "cat $t_catsmall s" "${r}x" "3x" "$(verdict "$r" 3)"

tiny=$small/c0000.pcap
if command -v hyperfine >/dev/null; then
	hyperfine -N -w 5 -r 50 --export-json "$dir/hf.json" "$bin version" "$bin analyze --format json $tiny" >/dev/null 2>&1 || true
	read -r t_ver t_tiny < <(python3 -c "import json; r=json.load(open('$dir/hf.json'))['results']; print(*('%.1f' % (x['mean']*1000) for x in r))")
else
	t0=$(date +%s%N); for _ in $(seq 50); do "$bin" version >/dev/null; done; t1=$(date +%s%N)
	t_ver=$(awk -v n=$((t1 - t0)) 'BEGIN { printf "%.1f", n / 50 / 1e6 }')
	t0=$(date +%s%N); for _ in $(seq 50); do "$bin" analyze --format json "$tiny" >/dev/null || true; done; t1=$(date +%s%N)
	t_tiny=$(awk -v n=$((t1 - t0)) 'BEGIN { printf "%.1f", n / 50 / 1e6 }')
fi
row "6. start-up: ctcpdiag version" "$t_ver ms" "-" "-" "20 ms" "$(verdict "$t_ver" 20)"
row "6. start-up: analyze 100-packet file" "$t_tiny ms" "-" "-" "20 ms" "$(verdict "$t_tiny" 20)"

# Target 7 (issue 12, item 5): correlate of the pair in at most twice the
# time of analyzing its two files one after the other, within 64 MiB.
cat "$pair_a" "$pair_b" >/dev/null # page cache
rc=0
"$bin" correlate --no-hash --format json "$pair_a" "$pair_b" >/dev/null 2>"$dir/correlate.err" || rc=$?
if [ "$rc" -gt 1 ]; then
	echo "bench.sh: correlate failed (exit $rc): $(head -c 300 "$dir/correlate.err")" >&2
	row "7. correlate pair: FAILED (exit $rc)" "-" "-" "-" "2x" "NOT met"
else
	t_pa=$(best "$bin" analyze --no-hash --format json "$pair_a")
	t_pb=$(best "$bin" analyze --no-hash --format json "$pair_b")
	t_ab=$(awk -v a="$t_pa" -v b="$t_pb" 'BEGIN { printf "%.3f", a + b }')
	t_cor=$(best "$bin" correlate --no-hash --format json "$pair_a" "$pair_b")
	rss_cor=$(cat "$dir/rss")
	r=$(ratio "$t_cor" "$t_ab")
	row "7. correlate pair (json, --no-hash)" "$t_cor s" "analyze A+B $t_ab s" "${r}x" "2x" "$(verdict "$r" 2)"
	t_pa=$(best "$bin" analyze --format json "$pair_a")
	t_pb=$(best "$bin" analyze --format json "$pair_b")
	t_ab=$(awk -v a="$t_pa" -v b="$t_pb" 'BEGIN { printf "%.3f", a + b }')
	t_cor=$(best "$bin" correlate --format json "$pair_a" "$pair_b")
	rss_cor=$(awk -v a="$rss_cor" -v b="$(cat "$dir/rss")" 'BEGIN { printf "%.1f", (a > b ? a : b) / 1024 }')
	r=$(ratio "$t_cor" "$t_ab")
	row "7. same, with the SHA-256 (default)" "$t_cor s" "analyze A+B $t_ab s" "${r}x" "2x" "$(verdict "$r" 2)"
	row "7. peak RSS, correlate pair" "$rss_cor MiB" "-" "-" "64 MiB" "$(verdict "$rss_cor" 64)"
fi

# The SHA-256 of the stored file is in every report by default and bounds
# the default rows of targets 1 and 4: its speed alone, on this machine.
if [ $have_openssl = 1 ]; then
	row "(bound) openssl sha256 of the pcap" "$t_sha s" "cat $t_cat s" "$(ratio "$t_sha" "$t_cat")x" "-" "-"
fi

if command -v tshark >/dev/null && command -v editcap >/dev/null; then
	slice=$dir/slice-100k-$(basename "$large")
	[ -s "$slice" ] || editcap -r "$large" "$slice" 1-100000
	t_ts=$(best tshark -n -r "$slice" -Y tcp.analysis.duplicate_ack)
	t_us=$(best "$bin" analyze --format json "$slice")
	ts_dups=$(tshark -n -r "$slice" -Y tcp.analysis.duplicate_ack 2>/dev/null | wc -l)
	our_dups=$({ "$bin" analyze --format json "$slice" 2>/dev/null || true; } |
		python3 -c "import json,sys; print(json.load(sys.stdin)['capture']['stats']['tcp_analysis']['dup_acks'])")
	r=$(ratio "$t_ts" "$t_us")
	row "tshark on 100,000 packets" "$t_ts s" "ctcpdiag $t_us s" "${r}x" "-" "-"
	ok=NOT; [ "$ts_dups" = "$our_dups" ] && ok=equal
	row "dup ACKs on the slice (tshark/ours)" "$ts_dups" "ours $our_dups" "-" "equal" "$ok"
fi

echo
echo "| target | ctcpdiag | reference | ratio | goal | |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"

if [ "${BENCH_GO:-0}" = 1 ]; then
	echo
	echo "== Go stage benchmarks"
	cd "$repo"
	go test -run '^$' -bench 'Read' -benchmem ./analyze/capfile/
	go test -run '^$' -bench 'Decode' -benchmem ./analyze/decode/
	go test -run '^$' -bench 'Track|Analyze|ReaderSmall' -benchmem ./analyze/
	go test -run '^$' -bench 'RunLarge' -benchmem ./detect/
	go test -run '^$' -bench 'Render' -benchmem ./report/
fi
