#!/bin/sh
# SPDX-License-Identifier: MIT
#
# test-vzerosrc.sh SERVER CHECKER [B_SANITIZE] -- the GStreamer element
# vzerosrc (tools/vzerosrc) against vz-ipc-fake-server, on the host; TAP.
#
# meson sets GST_PLUGIN_PATH to the build's tools/vzerosrc and GST_REGISTRY
# to a registry of the test's own.  In a sanitized build the plugin is
# instrumented, so GStreamer's own programs get the sanitizer runtime
# preloaded (and scan plugins in-process: the plugin scanner is not);
# the fake server and the checker are built with it.
set -u
server=$1
checker=$2
sanitize=${3:-none}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vzerosrc-test.XXXXXX") || exit 1
pids=""
cleanup() {
	for p in $pids; do kill -KILL "$p" 2>/dev/null; done
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ -z "${GST_PLUGIN_PATH:-}" ]; then
	echo "Bail out! GST_PLUGIN_PATH is not set (run me through meson test)"
	exit 1
fi
export GST_REGISTRY="${GST_REGISTRY:-$tmp/registry.bin}"
preload=""
if [ "$sanitize" != none ]; then
	export GST_REGISTRY_FORK=no
	libs=""
	case "$sanitize" in *address*) libs="libasan.so" ;; esac
	case "$sanitize" in *undefined*) libs="$libs libubsan.so" ;; esac
	for lib in $libs; do
		f=$(${CC:-cc} -print-file-name="$lib" 2>/dev/null)
		[ -e "$f" ] && preload="$preload${preload:+:}$f"
	done
fi

# GStreamer's programs: GLib and GStreamer keep caches to the end, so no
# leak check there (the fake server has its own, below).
gst() {
	if [ -n "$preload" ]; then
		env LD_PRELOAD="$preload" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
			timeout 60 "$@"
	else
		timeout 60 "$@"
	fi
}
# The checker is built with the sanitizers and loads the plugin: leaks of
# vzerosrc (a frame's hold, the client, caps) fail it: GSlice would hide
# them in its magazines.  GLib's and other libraries' load-time
# allocations are theirs for the process' life.
printf 'leak:_dl_init\n' >"$tmp/lsan.supp"
checker() {
	G_SLICE=always-malloc G_DEBUG=gc-friendly ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:fast_unwind_on_malloc=0 \
		LSAN_OPTIONS=suppressions="$tmp/lsan.supp" \
		timeout 60 "$checker" "$@"
}

echo "1..17"
n=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
not_ok() {
	n=$((n + 1))
	echo "not ok $n - $1"
	shift
	for f in "$@"; do
		[ -s "$f" ] && sed -e 's/^/# /' "$f" | tail -n 25
	done
	return 0
}
check() { # DESCRIPTION CONDITION-EXIT-STATUS LOGS...
	d=$1 r=$2
	shift 2
	if [ "$r" -eq 0 ]; then ok "$d"; else not_ok "$d" "$@"; fi
}

# start NAME ARGS...: a fake server on $tmp/NAME.sock; $sock and $spid.
start() {
	name=$1
	shift
	sock=$tmp/$name.sock
	"$server" "$sock" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
	spid=$!
	pids="$pids $spid"
	i=0
	until grep -q '^ready' "$tmp/$name.out" 2>/dev/null; do
		i=$((i + 1))
		if [ $i -gt 200 ] || ! kill -0 "$spid" 2>/dev/null; then
			echo "# the fake server $name did not start:"
			sed -e 's/^/# /' "$tmp/$name.err"
			return 1
		fi
		sleep 0.05
	done
}
# finish NAME: stops the server (END to its clients), waits for its stats.
finish() {
	kill -TERM "$spid" 2>/dev/null
	wait "$spid"
	echo "$?" >"$tmp/$1.status"
}
# returned NAME FRAMES: the server exited well and its one client had
# FRAMES frames, gave every one back itself before leaving (held_at_exit
# counts those the server took back at the disconnect) and broke no rule.
returned() {
	[ "$(cat "$tmp/$1.status")" = 0 ] &&
		grep -q " held_at_exit=0 " "$tmp/$1.out" &&
		grep -q " bad_clients=0 " "$tmp/$1.out" &&
		grep -q "): $2 frames, 0 budget drops" "$tmp/$1.out"
}

# 1. The plugin loads and teaches.
gst gst-inspect-1.0 vzerosrc >"$tmp/inspect.out" 2>&1
r=$?
[ $r -eq 0 ] && grep -q "^  socket  *: .*vzero run" "$tmp/inspect.out" &&
	grep -q "gst-launch-1.0 vzerosrc socket=" "$tmp/inspect.out" &&
	grep -q "Filename .*libgstvzerosrc.so" "$tmp/inspect.out"
check "gst-inspect-1.0 vzerosrc shows the element, its socket property and an example" $? \
	"$tmp/inspect.out"

# 2-3. gst-launch gets exactly num-buffers buffers; the server gets them back.
start launch 20 --stride 160 --wait-clients 1 || true
gst gst-launch-1.0 -v vzerosrc socket="$sock" num-buffers=20 ! fakesink silent=false \
	>"$tmp/launch.log" 2>&1
r=$?
finish launch
got=$(grep -c "last-message = chain" "$tmp/launch.log")
[ $r -eq 0 ] && [ "$got" -eq 20 ] && ! grep -q CRITICAL "$tmp/launch.log"
check "gst-launch-1.0 vzerosrc num-buffers=20 ! fakesink gets 20 buffers (got $got)" $? \
	"$tmp/launch.log" "$tmp/launch.err"
returned launch 20
check "the server got all 20 frames back from gst-launch's client" $? "$tmp/launch.out" \
	"$tmp/launch.err"

# 4-5. Intact, zero-copy, read-only: YUYV with padded lines.
start yuyv 30 --stride 160 --wait-clients 1 || true
checker frames "$sock" "$spid" 30 >"$tmp/yuyv.log" 2>&1
r=$?
finish yuyv
check "YUYV 64x16 stride 160: 30 frames intact, the server's DMA-bufs, read-only" $r \
	"$tmp/yuyv.log"
returned yuyv 30
check "the server got all 30 frames back from the checker" $? "$tmp/yuyv.out" "$tmp/yuyv.err"

# 6-7. Two colour planes in one memory plane: the meta's second offset.
start nv12 30 --format NV12 --size 64x16 --stride 80 --wait-clients 1 || true
checker frames "$sock" "$spid" 30 >"$tmp/nv12.log" 2>&1
r=$?
finish nv12
check "NV12 64x16 stride 80: 30 frames intact (both planes), zero-copy" $r "$tmp/nv12.log"
returned nv12 30
check "the server got all 30 NV12 frames back" $? "$tmp/nv12.out" "$tmp/nv12.err"

# 8. An element that ignores GstVideoMeta gets copies it can read, and a
# warning says so.
start nometa 20 --stride 160 --wait-clients 1 || true
checker frames "$sock" "$spid" 20 --no-meta >"$tmp/nometa.log" 2>&1
r=$?
finish nometa
[ $r -eq 0 ] && returned nometa 20
check "without GstVideoMeta downstream: intact copies, a warning, frames back" $? \
	"$tmp/nometa.log" "$tmp/nometa.out"

# 9-10. A buffer-set change of format mid-stream: new caps, intact frames.
start change 40 --stride 160 --wait-clients 1 --change-at 20 --change-size 96x24 || true
checker frames "$sock" "$spid" 40 --expect-change 96x24 >"$tmp/change.log" 2>&1
r=$?
finish change
check "the server changes to 96x24 at frame 20: caps follow, 40 frames intact" $r \
	"$tmp/change.log"
returned change 40 && grep -q " generation=2 " "$tmp/change.out"
check "the server got all 40 frames of both buffer sets back" $? "$tmp/change.out" \
	"$tmp/change.err"

# 11. A real pipeline: converted and encoded, one file per frame.
start png 5 --stride 160 --wait-clients 1 || true
gst gst-launch-1.0 -q vzerosrc socket="$sock" num-buffers=5 ! videoconvert ! pngenc ! \
	multifilesink location="$tmp/frame-%02d.png" >"$tmp/png.log" 2>&1
r=$?
finish png
pngs=$(find "$tmp" -name "frame-*.png" | wc -l)
[ $r -eq 0 ] && [ "$pngs" -eq 5 ] && ! grep -q CRITICAL "$tmp/png.log" && returned png 5
check "vzerosrc ! videoconvert ! pngenc ! multifilesink writes 5 PNGs (got $pngs)" $? \
	"$tmp/png.log" "$tmp/png.out"

# 12. The server ending its run is end-of-stream, not an error.
start eos 10 --stride 160 --wait-clients 1 --linger-ms 0 || true
gst gst-launch-1.0 -v vzerosrc socket="$sock" ! fakesink silent=false >"$tmp/eos.log" 2>&1
r=$?
wait "$spid"
echo $? >"$tmp/eos.status"
got=$(grep -c "last-message = chain" "$tmp/eos.log")
[ $r -eq 0 ] && [ "$got" -eq 10 ] && grep -q "Got EOS from element" "$tmp/eos.log" &&
	! grep -q CRITICAL "$tmp/eos.log"
check "the server stopping after 10 frames: EOS, exit 0, 10 buffers (got $got)" $? "$tmp/eos.log"

# 13. No server: a clear error, at once.
t0=$(date +%s)
gst gst-launch-1.0 vzerosrc socket="$tmp/nobody.sock" ! fakesink >"$tmp/none.log" 2>&1
r=$?
took=$(($(date +%s) - t0))
[ $r -ne 0 ] && [ $r -ne 124 ] && [ $took -lt 10 ] &&
	grep -q "no vzero server at $tmp/nobody.sock" "$tmp/none.log" &&
	grep -q "vzero run -d DEV --sink ipc:$tmp/nobody.sock" "$tmp/none.log"
check "no server at the socket: exit $r in ${took}s, saying how to start one" $? "$tmp/none.log"

# 14. No socket= at all.
gst gst-launch-1.0 vzerosrc ! fakesink >"$tmp/nosock.log" 2>&1
r=$?
[ $r -ne 0 ] && [ $r -ne 124 ] && grep -q "vzerosrc needs socket=PATH" "$tmp/nosock.log" &&
	grep -q "vzero run -d /dev/video0 --sink ipc:" "$tmp/nosock.log"
check "no socket property: exit $r, saying what it needs" $? "$tmp/nosock.log"

# 15. A server that sends nothing: timeout= bounds the wait.
start silent 0 || true
t0=$(date +%s)
gst gst-launch-1.0 vzerosrc socket="$sock" timeout=300 ! fakesink >"$tmp/silent.log" 2>&1
r=$?
took=$(($(date +%s) - t0))
finish silent
[ $r -ne 0 ] && [ $r -ne 124 ] && [ $took -lt 10 ] &&
	grep -q "No frame from the vzero server in 300 ms" "$tmp/silent.log"
check "a silent server with timeout=300: exit $r in ${took}s, saying so" $? "$tmp/silent.log"

# 16. Stopping while waiting for a frame returns at once (unlock).
start idle 0 || true
checker stop "$sock" 300 >"$tmp/idle.log" 2>&1
r=$?
finish idle
check "PLAYING -> NULL while vzerosrc waits for a frame does not wait" $r "$tmp/idle.log"

# 17. Every server run ended well (in a sanitized build: no leak, no error).
bad=""
for s in launch yuyv nv12 nometa change png eos silent idle; do
	if [ "$(cat "$tmp/$s.status" 2>/dev/null)" != 0 ] ||
		grep -q "Sanitizer\|runtime error" "$tmp/$s.err" 2>/dev/null; then
		bad="$bad $s"
	fi
done
logs=""
for s in $bad; do logs="$logs $tmp/$s.err"; done
[ -z "$bad" ]
# shellcheck disable=SC2086
check "every fake server run exited 0 and clean (sanitize=$sanitize)${bad:+; not:$bad}" $? $logs
