#!/bin/bash
# The benchmark harness measures every program alike, and says so: a host
# test with synthetic peers (no VM; nothing here is a timing threshold).
#   usage: test-bench.sh SRCDIR BUILDDIR     (TAP on stdout)
set -uo pipefail
src=$1 build=$2
harness=$src/tools/bench/harness
preload=$build/tools/vz-malloc-count.so
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; shift; for l in "$@"; do echo "#   $l"; done; }
check() { # description command...
	local d=$1
	shift
	if "$@" >"$work/check.out" 2>&1; then ok "$d"; else not_ok "$d" "$(tail -n 5 "$work/check.out")"; fi
}
echo "1..13"

cat >"$work/peers" <<'P'
suite selftest vm="" sizes=64x64@50 format=YUYV control=quiet
selftest quiet   sleep 1000
selftest chatty  while :; do echo "frame $((i++))"; sleep 0.005; done
selftest alsoq   sleep 1001
selftest copier  while :; do echo "0:00:01.0 INFO GST_PERFORMANCE gstkmssink.c:1867:get_input_buffer: frame copy" >&2; sleep 0.02; done
suite unfair vm="" sizes=64x64@50 format=YUYV control=quiet
unfair quiet     sleep 1000
unfair tofile    exec >"$TMP/own.out"; while :; do echo frame; sleep 0.01; done
P
"$harness" --peers "$work/peers" --suite selftest --out "$work/out" --rounds 3 \
	--warmup 0.5 --measure 1 --dev none --settle 0 --preload "$preload" >"$work/table.txt" 2>"$work/log.txt"
rc=$?
check "harness exits 0 for a fair suite" test "$rc" = 0
sum=$work/out/summary.json
j() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$sum" "$1"; }
tmpfs_kind=$(stat -f -c %T /tmp)
check "every program: stdout on /dev/null, stderr in tmpfs, counter preloaded" \
	test "$(j 'd["treatment"]')" = "[['/dev/null', '$tmpfs_kind', 'yes']]"
check "a chatty program's output went nowhere near the results" \
	bash -c "! grep -rqE 'frame [0-9]' '$work/out' && [ \$(du -sk '$work/out' | cut -f1) -lt 200 ]"
records=$work/out/records.tsv
check "the control ran twice per round, 3 rounds" \
	test "$(awk -F'\t' '$4 == "quiet"' "$records" | wc -l)" = 6
check "the order rotates each round" \
	bash -c "test \$(awk -F'\t' '!seen[\$2]++ {print \$3 \":\" \$4}' '$records' | sort -u | wc -l) = 3"
check "CPU is counted: the chatty program costs more than sleep" \
	python3 -c "import json; d=json.load(open('$sum'))['sizes']['64x64']['programs']; assert d['chatty']['median'] > 10 * max(d['quiet']['median'], 1e-6), d"
check "copies a program admits (GST_PERFORMANCE frame copy) counted per frame" \
	python3 -c "import json; d=json.load(open('$sum'))['sizes']['64x64']['programs']; c=d['copier']['bytes_copied_per_frame']; assert 0.5 * 8192 < c < 1.2 * 8192 and d['quiet']['bytes_copied_per_frame'] is None, d"
check "the table names the noise floor and the treatment" \
	bash -c "grep -q 'noise floor' '$work/table.txt' && grep -q 'measured alike' '$work/table.txt'"
# A suite that counts frames (frames=): a fake DQBUF trace at ~50 Hz in
# the trace's format, every 10th sequence number missing.
cat >"$work/fake-trace" <<'F'
#!/bin/bash
f=${0%/*}/fake.trace
case $1 in
start)
	[[ -f $f.pid ]] && kill "$(cat "$f.pid")" 2>/dev/null
	: >"$f"
	(i=0; while :; do
		i=$((i + 1)); ((i % 10)) || continue
		printf '  x-1 [000] ..... %s: v4l2_dqbuf: minor = 1, index = 0, flags = TIMESTAMP_MONOTONIC, timestamp = %s, sequence = %d\n' \
			"$(date +%s.%N)" "$(date +%s%N)" "$i"
		sleep 0.02
	done >>"$f") </dev/null >/dev/null 2>&1 &
	echo $! >"$f.pid"
	echo "$f" ;;
stop) kill "$(cat "$f.pid")"; rm -f "$f.pid"; cp "$f" "$2" ;;
esac
F
chmod +x "$work/fake-trace"
cat >"$work/peers3" <<P
suite counted vm="" sizes=64x64@0 format=YUYV control=quiet frames=$work/fake-trace
counted quiet   sleep 1000
P
"$harness" --peers "$work/peers3" --suite counted --out "$work/out3" --rounds 2 \
	--warmup 0.5 --measure 1 --dev none --settle 0 --preload "$preload" >"$work/table3.txt" 2>"$work/log3.txt"
rc=$?
check "harness exits 0 for a suite that counts frames" test "$rc" = 0
check "frames counted in the window, not a nominal rate (FPS 0)" \
	awk -F'\t' '$15 !~ /^[0-9]+$/ || $15 < 10 || $15 > 200 {bad = 1} END {exit bad || NR != 4}' "$work/out3/records.tsv"
check "the rate and the sequence gaps come from the trace" \
	python3 -c "import json; d=json.load(open('$work/out3/summary.json'))['sizes']['64x64']['programs']['quiet']['frames']; assert 10 < d['fps'] < 60 and 0 < d['gaps'] < d['frames'] / 5 and 15 < d['dqbuf_ms']['p50'] < 100, d"
check "the table shows the counted frames" \
	bash -c "grep -q \"DQBUF trace\" '$work/table3.txt' && grep -qE '^64x64 +quiet +[0-9.]+ +[0-9]+ ' '$work/table3.txt'"
"$harness" --peers "$work/peers" --suite unfair --out "$work/out2" --rounds 1 \
	--warmup 0.5 --measure 0.5 --dev none --settle 0 --preload "$preload" >"$work/table2.txt" 2>&1
rc=$?
check "a program measured differently is called out (exit 3, UNFAIR)" \
	bash -c "test $rc = 3 && grep -q UNFAIR '$work/table2.txt'"
exit $((failed > 0))
