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
echo "1..8"
b=$work/b
vz=$b/tools/vzero
check "a -Werror build with -Dlibcamera=disabled" bash -c \
	"meson setup '$b' '$src' --werror -Dbuildtype=debugoptimized -Dlibcamera=disabled &&
	 grep -q 'VZ_HAVE_LIBCAMERA 0' '$b/vz-config.h' && ninja -C '$b'"
check "no vzero-libcamera module, and nothing links libcamera or libstdc++" bash -c \
	"test -x '$vz' && test -z \"\$(find '$b' -name 'vzero-libcamera*.so')\" &&
	 ! ldd '$vz' '$b'/libvzero.so | grep -E 'libcamera|libstdc'"
# The unit tests of what the option changes: VZ_HAVE_LIBCAMERA reaches
# capture/libcamera.c alone, so the tests of capture, of the backend's C
# side, of the CLI above them and of the layers.  Everything else is the
# same code as the main build's, tested there.
uses=$(cd "$src" && grep -rl VZ_HAVE_LIBCAMERA --include='*.[ch]' --include='*.cpp' \
	base capture sink pipeline registry tools include | sort | tr '\n' ' ')
if [[ $uses == "capture/libcamera.c " ]]; then
	ok "the option reaches capture/libcamera.c alone"
else
	echo "VZ_HAVE_LIBCAMERA is used in: $uses (run their tests here too)" >"$work/log"
	bad "the option reaches capture/libcamera.c alone"
fi
units=(test_capture test_libcamera test_cli host-cli integration-skips layers)
check "its unit tests of capture and the CLI pass (${units[*]})" \
	meson test -C "$b" --no-rebuild --num-processes 2 "${units[@]}"

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
