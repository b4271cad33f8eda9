#!/bin/bash
# Where vivid is absent, integration tests skip -- loudly, with the reason --
# instead of failing or, worse, passing: a host test of the runner itself,
# with an empty stand-in for /sys/class/video4linux.
#   usage: test-skips.sh SRCDIR BUILDDIR     (TAP on stdout)
set -uo pipefail
src=$1 build=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/v4l" "$work/results"
VZ_SYSFS_V4L=$work/v4l VZ_RESULTS=$work/results VZ_TEST_TIMEOUT=60 \
	"$src/tests/integration/run" "$build" \
	'^(run_null_sink_report_json|run_never_requeues_held_frames|run_fan_out_two_sinks_every_frame|gst_fakesink_zero_copy|fault_error_flag)$' \
	>"$work/tap.txt" 2>&1
n=0 failed=0
echo "1..2"
total=$(grep -c '^ok\|^not ok' "$work/tap.txt")
skips=$(grep -c '^ok .* # SKIP .*vivid' "$work/tap.txt")
n=$((n + 1))
if [[ $total -ge 5 && $skips == "$total" ]]; then
	echo "ok $n - $total tests without vivid: every one skips, naming vivid"
else
	failed=1
	echo "not ok $n - $skips of $total tests skipped without vivid"
	sed 's/^/#   /' "$work/tap.txt"
fi
n=$((n + 1))
if ! grep -q '^not ok\|^ok [0-9]* - [a-z_]* ([0-9.]*s)$' "$work/tap.txt"; then
	echo "ok $n - none passed or failed instead"
else
	failed=1
	echo "not ok $n - some passed or failed without a device:"
	grep '^not ok\|^ok [0-9]* - [a-z_]* ([0-9.]*s)$' "$work/tap.txt" | sed 's/^/#   /'
fi
exit $failed
