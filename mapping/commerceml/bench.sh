#!/usr/bin/env bash
# Compares the CommerceML parser's throughput and peak memory with libxml2's
# streaming parser (xmllint --stream) and with encoding/xml tokenizing, on
# generated offers packages of two sizes, and prints a Markdown table.
#
# Run from anywhere inside the repository:
#   bash mapping/commerceml/bench.sh
# Needs xmllint (Debian package libxml2-utils) and GNU time (package time).
# Environment: BENCH_OFFERS (default "40000 200000"; 200,000 offers with
# 5 warehouses make about 311 MB), BENCH_RUNS (default 3, best time wins),
# BENCH_DIR (default ./var/bench under the repository root).
set -euo pipefail

root=$(git -C "$(dirname "$0")" rev-parse --show-toplevel)
cd "$root"
offers_list=${BENCH_OFFERS:-"40000 200000"}
runs=${BENCH_RUNS:-3}
dir=${BENCH_DIR:-$root/var/bench}
mkdir -p "$dir"

for tool in xmllint /usr/bin/time; do
	if ! command -v "$tool" >/dev/null; then
		echo "bench.sh: $tool not found; install it with: apt-get install -y libxml2-utils time" >&2
		exit 1
	fi
done

go build -o "$dir/hubctl" ./cmd/hubctl
go build -o "$dir/cmlbench" ./mapping/commerceml/bench
go build -o "$dir/ingestbench" ./hub/ingest/ingestbench

# measure FILE CMD... prints "seconds max_rss_kib" of the fastest of $runs runs.
measure() {
	local best="" rss=0 log="$dir/time.log"
	for _ in $(seq "$runs"); do
		/usr/bin/time -v -o "$log" "$@" >/dev/null
		local s k
		s=$(awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); t=0; for(i=1;i<=n;i++) t=t*60+a[i]; print t}' "$log")
		k=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$log")
		if [ -z "$best" ] || awk -v a="$s" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$s; fi
		if [ "$k" -gt "$rss" ]; then rss=$k; fi
	done
	echo "$best $rss"
}

echo "Machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(go version | cut -d' ' -f3), $(xmllint --version 2>&1 | head -1)"
echo
echo "| file | parser | seconds | MB/s | time ÷ xmllint | peak RSS MiB |"
echo "|---|---|---|---|---|---|"
for n in $offers_list; do
	file="$dir/offers-$n.xml"
	[ -s "$file" ] || "$dir/hubctl" gen-offers --offers "$n" --warehouses 5 -o "$file"
	cat "$file" >/dev/null # warm the page cache
	bytes=$(stat -c %s "$file")
	mb=$(awk -v b="$bytes" 'BEGIN{printf "%.0f", b/1e6}')
	read -r base_s base_k < <(measure xmllint --stream --noout "$file")
	for impl in xmllint hubctl commerceml encoding-xml ingest; do
		case $impl in
		xmllint) s=$base_s k=$base_k label="xmllint --stream --noout" ;;
		hubctl) read -r s k < <(measure "$dir/hubctl" inspect --summary "$file"); label="hubctl inspect --summary" ;;
		commerceml) read -r s k < <(measure "$dir/cmlbench" -impl commerceml "$file"); label="commerceml.Parse" ;;
		encoding-xml) read -r s k < <(measure "$dir/cmlbench" -impl encoding-xml "$file"); label="encoding/xml Token loop" ;;
		ingest) read -r s k < <(measure "$dir/ingestbench" -db "$dir/ingest.db" "$file"); label="full ingest into SQLite ledger" ;;
		esac
		awk -v f="$n offers, $mb MB" -v l="$label" -v s="$s" -v b="$bytes" -v base="$base_s" -v k="$k" \
			'BEGIN{printf "| %s | %s | %.2f | %.0f | %.2f | %.0f |\n", f, l, s, b/1e6/s, s/base, k/1024}'
	done
done
