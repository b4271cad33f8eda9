#!/bin/bash
# The command line on a machine with no V4L2 device at all (this host):
# one clear line each, the right exit status, and the vivid hint only here,
# where no capture device exists.  A host test: no VM.
#   usage: test-host-cli.sh BUILDDIR     (TAP on stdout)
set -uo pipefail
vz=$1/tools/vzero
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" || exit 1
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); failed=1; echo "not ok $n - $1"; sed 's/^/#   /' err.txt; }
echo "1..5"
if compgen -G "/dev/video*" >/dev/null; then
	# Not this machine's case: say so rather than pretend.
	for i in 1 2 3 4 5; do echo "ok $i - # SKIP this host has /dev/video* nodes"; done
	exit 0
fi
"$vz" run -d /dev/video0 --sink null -n 1 >out.txt 2>err.txt
rc=$?
if [[ $rc == 1 && $(wc -l <err.txt) == 1 ]] && grep -q "modprobe vivid" err.txt; then
	ok "no capture device anywhere: one line, exit 1, and how to get one (vivid)"
else
	bad "no capture device anywhere (exit $rc)"
fi
"$vz" run -d vivid --sink bogus -n 1 >out.txt 2>err.txt
rc=$?
if [[ $rc == 2 ]] && grep -q -- "--sink bogus: unknown sink kind" err.txt && ! grep -q vivid err.txt; then
	ok "a bad sink spec is a usage error found before any device is looked for"
else
	bad "bad sink spec (exit $rc)"
fi
"$vz" devices >out.txt 2>err.txt
rc=$?
if [[ $rc == 0 ]] && grep -q "modprobe vivid" out.txt; then
	ok "vzero devices with none: exit 0, says how to get one"
else
	cp out.txt err.txt
	bad "vzero devices with no device (exit $rc)"
fi
"$vz" run --sink gst:fakesink -d /dev/video0 -n 1 >out.txt 2>err.txt
rc=$?
if [[ $rc == 1 ]] && ! grep -q "module" err.txt; then
	ok "a gst: sink loads its module (the failure is the missing device, not the module)"
else
	bad "gst sink module (exit $rc)"
fi
# Outside the build tree a program loads installed modules only; one that
# is there but broken is named, with the loader's reason.
mkdir -p mods && echo "not an ELF file" >mods/vzero-gst.so && cp "$vz" ./vzero
VZ_MODULE_PATH=$work/mods ./vzero run --sink gst:fakesink -d /dev/video0 -n 1 >out.txt 2>err.txt
rc=$?
if [[ $rc == 1 ]] && grep -q "vzero-gst module (vzero-gst.so) could not be loaded: $work/mods/vzero-gst.so: " err.txt &&
	grep -q "looked in: $work/mods/vzero-gst.so" err.txt && grep -q "VZ_MODULE_PATH" err.txt; then
	ok "a broken module: named, with the loader's reason and where it looked"
else
	bad "broken module (exit $rc)"
fi
exit $failed
