#!/bin/bash
# libcamera is optional at build time: a -Werror build with
# -Dlibcamera=disabled, its unit tests, and a vzero that says how to get
# libcamera when asked for a libcamera camera.  A host test: no VM (the
# V4L2 paths it shares with the main build are the VM suite's).
#   usage: test-no-libcamera.sh SRCDIR     (TAP on stdout)
set -uo pipefail
src=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); echo "not ok $n - $1"; sed 's/^/#   /' "$work/log"; }
check() { # description, then the command
	local d=$1
	shift
	if "$@" >"$work/log" 2>&1; then ok "$d"; else bad "$d"; fi
}
echo "1..7"
b=$work/b
vz=$b/tools/vzero
check "a -Werror build with -Dlibcamera=disabled" bash -c \
	"meson setup '$b' '$src' --werror -Dbuildtype=debugoptimized -Dlibcamera=disabled &&
	 grep -q 'VZ_HAVE_LIBCAMERA 0' '$b/vz-config.h' && ninja -C '$b'"
check "no vzero-libcamera module, and nothing links libcamera or libstdc++" bash -c \
	"test -x '$vz' && test -z \"\$(find '$b' -name 'vzero-libcamera*.so')\" &&
	 ! ldd '$vz' '$b'/libvzero.so | grep -E 'libcamera|libstdc'"
# Every test of the unit suite but this one and the two slow ones that
# never reach capture (the IPC fuzzer, the benchmark harness): the main
# build runs those.
mapfile -t units < <(meson test -C "$b" --list 2>/dev/null | sed -n 's|^vzero:unit / ||p' |
	grep -vxE 'fuzz-ipc|bench-harness|no-libcamera')
if ((${#units[@]} < 10)); then
	echo "meson test --list gave ${#units[@]} unit tests: ${units[*]}" >"$work/log"
	bad "its unit tests pass"
else
	check "its unit tests pass (${#units[@]})" \
		meson test -C "$b" --no-rebuild --suite unit --num-processes 2 "${units[@]}"
fi

# Asked for a libcamera camera: exit 1, one line, what to install.
for cmd in "run -d libcamera: --sink null -n 1" "jitter -d libcamera:0 -n 5" "devices -d libcamera:"; do
	# shellcheck disable=SC2086 # cmd is a word list
	"$vz" $cmd >"$work/out" 2>"$work/log"
	rc=$?
	if [[ $rc == 1 && $(wc -l <"$work/log") == 1 ]] && grep -q "built without libcamera" "$work/log" &&
		grep -q "libcamera-dev" "$work/log"; then
		ok "vzero $cmd: exit 1 and one line saying how to get libcamera"
	else
		echo "exit $rc" >>"$work/log"
		bad "vzero $cmd: exit 1 and one line saying how to get libcamera"
	fi
done
"$vz" devices >"$work/log" 2>&1
if grep -q "libcamera: not available: this vzero was built without libcamera" "$work/log"; then
	ok "vzero devices says the build has no libcamera"
else
	bad "vzero devices says the build has no libcamera"
fi
