#!/usr/bin/env bash
# memory.sh measures ctcpdiag's peak memory (maximum resident set size) on
# generated captures streamed through a pipe, so that no input is written
# to disk:
#   - a SYN flood of 1,000,000 distinct flows with real cTCP sessions inside
#   - a mixed capture of about 1 GiB (1,070,000 packets)
#   - a mixed capture of about 10 GiB (10,700,000 packets)
# Usage: scripts/memory.sh [quick]   (quick: skip the 10 GiB run)
# Needs Go and GNU time (/usr/bin/time -v). Figures: docs/memory.md.
set -euo pipefail

cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/ctcpdiag" ./cmd/ctcpdiag
go build -o "$tmp/gen" ./samples/gen

# measure NAME GEN-ARGS...: stream the generator into the analysis and
# print the peak RSS, the wall time and the report's size.
measure() {
	local name=$1
	shift
	"$tmp/gen" "$@" -stdout |
		/usr/bin/time -v -o "$tmp/time" "$tmp/ctcpdiag" analyze --format json - >"$tmp/out.json" || {
		# exit status 1 is "a problem was found" (the verdict), not an error
		[ $? -le 1 ] || { cat "$tmp/time" >&2; exit 1; }
	}
	local rss wall
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tmp/time")
	wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$tmp/time")
	printf '%-26s peak RSS %7.1f MiB  wall %8s  report %6d KiB\n' \
		"$name" "$(echo "$rss / 1024" | bc -l)" "$wall" "$(($(stat -c %s "$tmp/out.json") / 1024))"
}

measure "SYN flood, 1M flows" -flood 1000000
measure "mixed, 1 GiB" -large 1070000
if [ "${1:-}" != quick ]; then
	measure "mixed, 10 GiB" -large 10700000
fi
