#!/bin/bash
# The client library as a user gets it: installed (meson install into a
# scratch DESTDIR), found by pkg-config, the example built against it and
# run.  With a server (the fake one, if built) it must receive frames; with
# none it must say how to start one.  A host test: no VM.
#   usage: test-pkgconfig.sh SRCDIR BUILDDIR     (TAP on stdout)
set -uo pipefail
src=$1 build=$2
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null; rm -rf "$work"' EXIT
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
bad() { n=$((n + 1)); echo "not ok $n - $1"; sed 's/^/#   /' "$work/log"; }
echo "1..4"
if meson install -C "$build" --destdir "$work/root" --no-rebuild >"$work/log" 2>&1; then
	ok "meson install into a DESTDIR"
else
	bad "meson install into a DESTDIR"
fi
pc=$(find "$work/root" -name vzero.pc | head -n 1)
export PKG_CONFIG_PATH=${pc%/*} PKG_CONFIG_SYSROOT_DIR=$work/root
if [[ -n $pc ]] && cc -std=c11 -Wall -Wextra -Werror "$src/tools/examples/ipc-client.c" \
	$(pkg-config --cflags --libs vzero) -o "$work/ipc-client" >"$work/log" 2>&1; then
	ok "the example builds with \$(pkg-config --cflags --libs vzero) alone"
else
	bad "the example builds with pkg-config (vzero.pc: ${pc:-none})"
fi
libdir=$(dirname "$(find "$work/root" -name 'libvzero.so*' | head -n 1)")
LD_LIBRARY_PATH=$libdir "$work/ipc-client" "$work/none.sock" >"$work/log" 2>&1
rc=$?
if [[ $rc == 1 ]] && grep -q -- "--sink ipc:$work/none.sock" "$work/log"; then
	ok "no server: exit 1 and how to start one"
else
	echo "exit $rc" >>"$work/log"
	bad "no server: exit 1 and how to start one"
fi
server=$build/tests/unit/vz-ipc-fake-server
if [[ ! -x $server ]]; then
	echo "ok 4 - # SKIP no fake server built ($server)"
	exit 0
fi
LD_LIBRARY_PATH=$libdir "$server" "$work/s.sock" 30 --wait-clients 1 >"$work/srv.log" 2>&1 &
for _ in $(seq 100); do [[ -S $work/s.sock ]] && break; sleep 0.05; done
LD_LIBRARY_PATH=$libdir "$work/ipc-client" "$work/s.sock" 20 >"$work/log" 2>&1
rc=$?
if [[ $rc == 0 ]] && [[ $(grep -c 'ms after capture' "$work/log") == 20 ]]; then
	ok "the installed library receives 20 frames from a server"
else
	echo "exit $rc" >>"$work/log"
	bad "the installed library receives 20 frames from a server"
fi
