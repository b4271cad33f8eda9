#!/bin/bash
# Fuzzes vzero's parsers of outside input for a bounded time, as TAP:
# fuzz_ipc_decode (vz_ipc_decode, both directions), fuzz_ipc_client (the
# client library against a hostile server on a real socket), fuzz_specs
# (sink specs and URIs, and the values of -s -r -n -t -f --mask) and
# fuzz_rtpcheck (rtp-check's core against hostile RTP and RTCP).
#
# meson builds vzero with gcc, and libFuzzer is clang's: so this script
# compiles each target itself, with clang -fsanitize=fuzzer,address,undefined,
# from the few base/ files it needs, into BUILDDIR/tests/fuzz/.  The corpus
# stays there between runs (each run starts where the last one got to);
# crashes go to BUILDDIR/tests/fuzz/artifacts/.  Inputs that once failed
# are kept in tests/fuzz/regress/TARGET/ and run first, every time.
#
# Usage: run-fuzz.sh [--time SEC] [SRCDIR [BUILDDIR]]
#   --time SEC    fuzz each target SEC seconds (default 10: the test
#                 command's budget; the corpus grows run by run)
#   SRCDIR        the source tree (default: this script's ../..)
#   BUILDDIR      a meson build dir, for vz-config.h and the output
#                 (default: SRCDIR/build)
# A target that crashes, leaks, breaks an invariant or times out is "not
# ok", with its reproducer and the crash lines; re-run one with
#   VZ_FUZZ_VERBOSE=1 BUILDDIR/tests/fuzz/fuzz_ipc_client REPRODUCER
# Skips, loudly, only when clang or its libFuzzer runtime is not installed
# (Debian: clang, libclang-rt-14-dev -- tools/setup's list should have them).
set -uo pipefail

time_s=10
pos=()
while [[ $# -gt 0 ]]; do
	case $1 in
	--time)
		time_s=${2:-}
		shift
		;;
	-h | --help)
		sed -n '2,24p' "$0" | sed 's/^# \{0,1\}//'
		exit 0
		;;
	-*)
		echo "run-fuzz.sh: unknown option $1 (see --help)" >&2
		exit 2
		;;
	*) pos+=("$1") ;;
	esac
	shift
done
if ! [[ $time_s =~ ^[0-9]+$ ]] || [[ $time_s == 0 ]]; then
	echo "run-fuzz.sh: --time wants a positive number of seconds" >&2
	exit 2
fi
src=$(cd "${pos[0]:-$(dirname "$0")/../..}" && pwd) || exit 2
build=$(cd "${pos[1]:-$src/build}" && pwd) || exit 2

targets=(fuzz_ipc_decode fuzz_ipc_client fuzz_specs fuzz_ipc_opts fuzz_rtpcheck)
# What each target links besides itself: the least of the tree it needs.
declare -A sources=(
	[fuzz_ipc_decode]="base/ipc-proto.c base/format.c base/frame.c"
	[fuzz_ipc_client]="base/ipc-client.c base/ipc-proto.c base/error.c base/buffer.c base/format.c base/frame.c"
	[fuzz_specs]="sink/rtp-session.c sink/drm-kms.c pipeline/mask.c tools/vzero/cli.c base/format.c base/error.c"
	[fuzz_ipc_opts]="sink/ipc-opts.c base/error.c"
	[fuzz_rtpcheck]="tools/vzero/rtpcheck-stats.c base/json.c base/stats.c"
)
declare -A libs=([fuzz_specs]="-ldrm -lm" [fuzz_rtpcheck]="-lm")
# Past the largest message (256), so oversized packets are tried; the
# client's input is a sequence of packets; a command-line argument; a
# stream of datagrams.
declare -A max_len=([fuzz_ipc_decode]=300 [fuzz_ipc_client]=4096 [fuzz_specs]=1200
	[fuzz_ipc_opts]=1200 [fuzz_rtpcheck]=8192)

n=$((2 * ${#targets[@]}))
echo "1..$n"

skip_all() {
	echo "run-fuzz.sh: SKIPPING the fuzz tests: $1" >&2
	for ((i = 1; i <= n; i++)); do
		echo "ok $i # SKIP $1"
	done
	exit 0
}

cc=${CLANG:-} # another clang than the first on PATH
if [[ -z $cc ]]; then
	for c in clang clang-14 clang-15 clang-16; do
		command -v "$c" >/dev/null && { cc=$c; break; }
	done
fi
[[ -n $cc ]] && command -v "$cc" >/dev/null || skip_all "clang is not installed (tools/setup should install clang and libclang-rt-14-dev)"
echo "# $("$cc" --version | head -1)"

out=$build/tests/fuzz
mkdir -p "$out/artifacts" || exit 1
work=$(mktemp -d /tmp/vz-fuzz.XXXXXX) || exit 1
trap 'rm -rf "$work"' EXIT

# libFuzzer is a separate package from clang on Debian: a trivial target
# tells an absent runtime from a broken build of ours.
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }' \
	>"$work/probe.c"
if ! "$cc" -fsanitize=fuzzer,address,undefined "$work/probe.c" -o "$work/probe" 2>"$work/probe.log"; then
	sed 's/^/# /' "$work/probe.log" | head -5
	skip_all "clang has no libFuzzer/sanitizer runtime (install libclang-rt-14-dev; tools/setup should)"
fi

# The project's warnings, -Werror for the targets; base/ is gcc-clean by
# the meson build, and a clang-only warning there is not this test's to fail.
# Pattern-initialised locals: a read of an uninitialised one gives the same
# (wrong) value every run, so what it breaks is reproducible.
cflags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -pthread
	-fsanitize=address,undefined -fno-sanitize-recover=all -ftrivial-auto-var-init=pattern
	-Wall -Wextra -Wshadow -Wno-unused-parameter -Wmissing-prototypes -Wstrict-prototypes
	-I"$src/include/vzero" -I"$src/include" -I"$build" -I"$src/sink" -I"$src/tools/vzero"
	$(pkg-config --cflags libdrm))

export ASAN_OPTIONS=${VZ_FUZZ_ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

t=0
for name in "${targets[@]}"; do
	bin=$out/$name
	t=$((t + 1))
	objs=()
	ok=1
	for s in ${sources[$name]}; do
		o=$work/$name-$(basename "$s" .c).o
		"$cc" "${cflags[@]}" -fsanitize=fuzzer-no-link -c "$src/$s" -o "$o" \
			>>"$work/$name-build.log" 2>&1 || ok=0
		objs+=("$o")
	done
	if [[ $ok == 1 ]] &&
		"$cc" "${cflags[@]}" -Werror -fsanitize=fuzzer "$src/tests/fuzz/$name.c" "${objs[@]}" \
			${libs[$name]:-} -o "$bin" >>"$work/$name-build.log" 2>&1; then
		echo "ok $t - build $name"
	else
		echo "not ok $t - build $name"
		grep -E 'error|warning' -A3 "$work/$name-build.log" | head -30 | sed 's/^/# /'
		t=$((t + 1))
		echo "not ok $t - fuzz $name # not built"
		continue
	fi

	t=$((t + 1))
	seeds=$work/seeds-$name
	corpus=$out/corpus-$name
	mkdir -p "$seeds" "$corpus"
	if ! VZ_FUZZ_WRITE_SEEDS=$seeds "$bin" >"$work/$name-seeds.log" 2>&1; then
		echo "not ok $t - fuzz $name # its seeds could not be written"
		sed 's/^/# /' "$work/$name-seeds.log" | tail -5
		continue
	fi
	log=$out/$name.log
	VZ_FUZZ_SOCKDIR=$work "$bin" -max_total_time="$time_s" -timeout=5 -rss_limit_mb=2048 \
		-max_len="${max_len[$name]}" -print_final_stats=1 \
		-artifact_prefix="$out/artifacts/$name-" "$corpus" "$seeds" \
		$([[ -d $src/tests/fuzz/regress/$name ]] && echo "$src/tests/fuzz/regress/$name") \
		>"$log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	repro=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
	if [[ $rc == 0 && -z $repro ]] && ! grep -qE '^==[0-9]+==ERROR|^SUMMARY: ' "$log"; then
		echo "ok $t - fuzz $name: ${time_s} s, ${runs:-?} runs, ${speed:-?} exec/s, no crash, leak or timeout"
		echo "# corpus: $(find "$corpus" -type f | wc -l) inputs in $corpus"
	else
		echo "not ok $t - fuzz $name (libFuzzer exit $rc)"
		# The first line says why (run-tests shows it under FAILED).
		why=$(grep -m1 -E 'invariant violated|fds open before|ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:' "$log")
		echo "# FAIL: ${why:-see $log}"
		grep -E 'invariant violated|fds open before|runtime error:|^==[0-9]+==ERROR|^SUMMARY:|^    #[0-9] .* in [^_]' "$log" |
			grep -v -E ' in (fuzzer::|__sanitizer|__asan|__ubsan|__interceptor|abort|raise|__libc)' |
			head -20 | sed 's/^/#   /'
		echo "# reproducer: ${repro:-none written (see $log)}"
		[[ -n $repro ]] && echo "# re-run: VZ_FUZZ_VERBOSE=1 $bin $repro"
		echo "# log: $log"
	fi
done
