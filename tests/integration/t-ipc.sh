# The local sink against vivid: one camera, many processes, read-only
# DMA-buf fds.  Clients are `vzero probe` (checks and times every frame),
# vz-ipc-hold (takes frames and never gives them back), raw sockets and
# GStreamer's vzerosrc.  Sourced by run after lib.sh.

# Starts `vzero run` serving vivid on ./cam.sock (stdout run.json, stderr
# run.err) and waits for the socket.  Extra arguments go to vzero run.
_ipc_serve() { # dev sink-options run-args...
	local d=$1 opts=$2
	shift 2
	# a failing check must not leave the server holding the device
	trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
	"$VZ" run -d "$d" -s 320x180 -r 25 --process stamp --json --status \
		--sink "ipc:$PWD/cam.sock${opts:+?$opts}" "$@" >run.json 2>run.err &
	srv=$!
	wait_until 300 test -S cam.sock || { cat run.err; fail "the ipc sink never made its socket"; }
	wait_until 300 grep -q 'frames |' run.err || { cat run.err; fail "vzero run never streamed"; }
}

_ipc_stop() {
	kill -INT "$srv" 2>/dev/null || true
	rc=0
	wait "$srv" || rc=$?
	cat run.err >&2
	assert_eq "$rc" 0 "vzero run's exit status"
	[[ ! -e cam.sock ]] || fail "the socket file outlived the run"
}

_ipc_counter() { # json name
	python3 - "$1" "$2" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = [x for x in r["sinks"] if x["name"].startswith("ipc")][0]
print(s["counters"][sys.argv[2]])
PY
}

_ipc_probe_get() { # json python-expression-on-p
	python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["probe"]; print(eval(sys.argv[2]))' "$1" "$2"
}

# Two clients at once, one slow (budget 2, holding each frame 400 ms --
# longer than vivid takes to refill a requeued buffer, so an early requeue
# would show as a changed frame or a stamp naming another frame): the slow
# one loses frames to its budget, counted on both sides; the fast one gets
# every frame; neither sees a frame change while it holds it.
test_ipc_fast_and_slow_probes() {
	local d
	d=$(need_vivid 0)
	vivid_reset "$d"
	_ipc_serve "$d" "budget=2" --buffers 8
	"$VZ" probe "ipc:$PWD/cam.sock" -n 12 --hold 400 --json --require-stamp >slow.json 2>slow.err &
	local slow=$!
	"$VZ" probe "ipc:$PWD/cam.sock" -n 150 --require-stamp >fast.txt 2>fast.err ||
		{ cat fast.txt fast.err; fail "the fast probe failed"; }
	rc=0
	wait "$slow" || rc=$?
	cat fast.txt slow.err >&2
	assert_eq "$rc" 0 "the slow probe's exit status"
	_ipc_stop
	"$VZ" probe --help >/dev/null
	cp fast.txt "$VZ_RESULTS/ipc-probe.txt"
	assert_contains fast.txt "verdict: ok"
	assert_contains fast.txt "changed while held:  0 of 150 frames"
	assert_contains fast.txt "this client's budget 0, dropped before the sink 0"
	assert_contains fast.txt "stamp->received ms"
	assert_eq "$(_ipc_probe_get slow.json 'p["changed_while_held"]')" 0 "slow probe: frames changed while held"
	assert_eq "$(_ipc_probe_get slow.json 'p["stamp_wrong"]')" 0 "slow probe: stamps naming another frame"
	assert_eq "$(_ipc_probe_get slow.json 'p["stamped"]')" 12 "slow probe: stamped frames"
	local sd
	sd=$(_ipc_probe_get slow.json 'p["budget_drops"]')
	assert_ge "$sd" 50 "slow probe: frames lost to its budget in 12 x 400 ms at 25 fps"
	assert_ge "$(_ipc_counter run.json client_drops)" "$sd" "the server's count of budget drops"
	assert_eq "$(_ipc_counter run.json clients)" 2 "clients served"
	assert_eq "$(_ipc_counter run.json bad_clients)" 0 "clients thrown out"
	assert_eq "$(json_get run.json '["sinks"][0]["bytes_copied"]')" 0 "bytes the ipc sink copied"
	# The latency rows a reader looks for, from the probe's own report.
	grep -E '^sink 0 (hand-off|capture->shown)' fast.txt >&2
}

# A client killed while it holds frames: they come back, capture goes on,
# and the fds it was given were read-only DMA-bufs.
test_ipc_killed_client_returns_frames() {
	local d hold
	d=$(need_vivid 0)
	vivid_reset "$d"
	_ipc_serve "$d" "budget=3" --buffers 8
	"$VZ_BUILD/tests/integration/vz-ipc-hold" "$PWD/cam.sock" 3 >hold.txt 2>hold.err &
	hold=$!
	wait_until 300 grep -q 'holding 3' hold.txt || { cat hold.txt hold.err; fail "the holder never held 3 frames"; }
	cat hold.txt >&2
	assert_contains hold.txt "write-map: EACCES"
	grep -q '^dmabuf: videobuf2' hold.txt || fail "the fd is not a videobuf2 DMA-buf: $(grep dmabuf hold.txt)"
	sleep 1
	kill -KILL "$hold"
	wait "$hold" 2>/dev/null || true
	# Capture went on and still goes on: a probe after the kill gets frames.
	"$VZ" probe "ipc:$PWD/cam.sock" -n 25 >after.txt 2>&1 || { cat after.txt; fail "no frames after the kill"; }
	_ipc_stop
	# The killed client's 3, plus what the probe still had in flight when it
	# left after its 25 frames (0 to the budget of 3, by timing).
	assert_ge "$(_ipc_counter run.json held_at_exit)" 3 "frames the killed client held, returned"
	assert_le "$(_ipc_counter run.json held_at_exit)" 6 "frames returned at exit (killed client + probe)"
	assert_eq "$(json_get run.json '["sinks"][0]["released"]')" "$(json_get run.json '["sinks"][0]["frames"]')" \
		"frames released vs pushed"
}

# allow= and the socket's mode: a uid not on the list is refused with a
# reason, one the mode keeps out gets the kernel's EACCES and the hint.
test_ipc_disallowed_uid_refused() {
	local d
	command -v setpriv >/dev/null || fail "setpriv (util-linux) is missing"
	d=$(need_vivid 0)
	vivid_reset "$d"
	chmod 755 .
	_ipc_serve "$d" "mode=0666&allow=uid:0"
	rc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups "$VZ" probe "ipc:$PWD/cam.sock" -n 5 \
		>nobody.txt 2>&1 || rc=$?
	cat nobody.txt >&2
	assert_eq "$rc" 1 "a disallowed uid's probe exit status"
	assert_contains nobody.txt "uid 65534 (gid 65534) is not allowed"
	"$VZ" probe "ipc:$PWD/cam.sock" -n 5 >root.txt 2>&1 || { cat root.txt; fail "root (allowed) was refused"; }
	_ipc_stop
	assert_eq "$(_ipc_counter run.json refused)" 1 "clients refused"
	assert_eq "$(_ipc_counter run.json clients)" 1 "clients served"

	_ipc_serve "$d" "mode=0600"
	local mrc=0
	setpriv --reuid=65534 --regid=65534 --clear-groups "$VZ" probe "ipc:$PWD/cam.sock" -n 5 \
		>mode.txt 2>&1 || mrc=$?
	cat mode.txt >&2
	_ipc_stop
	assert_eq "$mrc" 1 "a probe the socket's mode keeps out"
	assert_contains mode.txt "permission denied"
}

# Garbage from one client disconnects it alone; the probe beside it gets
# every frame.
test_ipc_garbage_disconnects_only_sender() {
	local d probe
	d=$(need_vivid 0)
	vivid_reset "$d"
	_ipc_serve "$d" ""
	"$VZ" probe "ipc:$PWD/cam.sock" -n 100 >probe.txt 2>&1 &
	probe=$!
	sleep 1
	python3 - "$PWD/cam.sock" <<'PY' || fail "the server did not throw the garbage sender out"
import socket, sys, time
for junk in (b"\x00" * 7, b"VZ" + b"\xff" * 300, b"hello, camera"):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(sys.argv[1])
    time.sleep(0.2)
    s.send(junk)
    s.settimeout(5)
    try:
        while s.recv(4096):
            pass
    except ConnectionResetError:
        pass
    s.close()
PY
	rc=0
	wait "$probe" || rc=$?
	cat probe.txt >&2
	assert_eq "$rc" 0 "the well-behaved probe"
	assert_contains probe.txt "verdict: ok"
	_ipc_stop
	assert_eq "$(_ipc_counter run.json bad_clients)" 3 "clients thrown out"
	assert_contains "$(json_get run.json '["sinks"][0]["ended"]')" "malformed"
}

# vivid's disconnect button mid-stream: the run reconnects, the probe stays
# connected, receives the new buffer set and streams on.
test_ipc_reconnect_keeps_clients() {
	local d probe
	d=$(need_vivid 0)
	vivid_reset "$d"
	_ipc_serve "$d" "" --reconnect=30
	"$VZ" probe "ipc:$PWD/cam.sock" -t 9 --json >probe.json 2>probe.err &
	probe=$!
	sleep 2
	v4l2-ctl -d "$d" -c disconnect=1 || fail "could not press vivid's disconnect button"
	rc=0
	wait "$probe" || rc=$?
	cat probe.err >&2
	assert_eq "$rc" 0 "the probe across the reconnect"
	_ipc_stop
	assert_eq "$(json_get run.json '["capture"]["reconnects"]')" 1 reconnects
	assert_eq "$(_ipc_probe_get probe.json 'p["buffer_sets"]')" 2 "buffer sets the probe saw"
	assert_eq "$(_ipc_probe_get probe.json 'p["verdict"]')" ok "the probe's verdict"
	assert_eq "$(_ipc_counter run.json clients)" 1 "connections (the probe never reconnected)"
	assert_ge "$(_ipc_probe_get probe.json 'p["frames"]')" 100 "frames the probe received in 9 s at 25 fps"
}

# Any GStreamer program shares the camera: vzerosrc (the plain build's
# plugin: gst-launch is not an ASan program) makes PNGs of vivid's frames,
# and a fakesink pipeline holds the very DMA-bufs the server exported (the
# same inodes in both processes' fd tables), and every frame comes back.
test_ipc_vzerosrc_gst_launch() {
	local d gpid plugin=${VZ_PLAIN_BUILD:-}/tools/vzerosrc
	[[ -n ${VZ_PLAIN_BUILD:-} && -e $plugin/libgstvzerosrc.so ]] ||
		fail "no plain build's vzerosrc (VZ_PLAIN_BUILD=${VZ_PLAIN_BUILD:-unset}): tools/run-tests passes build/"
	# a registry of its own (the plugin is this build's), started from the
	# boot's: an empty one makes GStreamer load every plugin, ~20 s in TCG
	cp "${GST_REGISTRY:-/nonexistent}" gst-registry.bin 2>/dev/null || true
	export GST_PLUGIN_PATH=$plugin GST_REGISTRY=$PWD/gst-registry.bin
	d=$(need_vivid 0)
	vivid_reset "$d"
	_ipc_serve "$d" "budget=4" --buffers 6
	gst-launch-1.0 -q vzerosrc socket="$PWD/cam.sock" num-buffers=5 ! videoconvert ! pngenc ! \
		multifilesink location=frame%02d.png >png.log 2>&1 || { cat png.log; fail "vzerosrc ! pngenc failed"; }
	local n
	n=$(ls frame*.png 2>/dev/null | wc -l)
	assert_eq "$n" 5 "PNGs written through vzerosrc"
	assert_eq "$(ffprobe -v error -show_entries stream=width,height -of csv=p=0 frame04.png)" "320,180" "the PNG's size"
	cp frame04.png "$VZ_RESULTS/vzerosrc-frame.png"
	gst-launch-1.0 -q vzerosrc socket="$PWD/cam.sock" num-buffers=250 ! fakesink >fake.log 2>&1 &
	gpid=$!
	# DMA-bufs are files of their own: one inode each, the same in every
	# process that holds one.
	dmabufs() { for f in /proc/"$1"/fd/*; do [[ $(readlink "$f") == /dmabuf:* ]] && stat -L -c %i "$f"; done | sort -u; }
	_gst_has_dmabufs() { dmabufs "$gpid" >gst.ino; [[ -s gst.ino ]]; }
	wait_until 300 _gst_has_dmabufs || { cat fake.log; fail "gst-launch never held a DMA-buf"; }
	# The sample that saw them is the one compared: a listing takes seconds
	# under emulation, long enough for the stream to end before a second.
	dmabufs "$srv" >server.ino
	echo "server holds $(wc -l <server.ino) DMA-bufs, gst-launch $(wc -l <gst.ino)" >&2
	assert_ge "$(wc -l <gst.ino)" 1 "DMA-bufs gst-launch holds"
	assert_eq "$(comm -13 server.ino gst.ino | wc -l)" 0 "DMA-bufs in gst-launch that are not the server's"
	rc=0
	wait "$gpid" || rc=$?
	cat fake.log >&2
	assert_eq "$rc" 0 "vzerosrc ! fakesink exit status"
	_ipc_stop
	assert_eq "$(_ipc_counter run.json clients)" 2 "clients served"
	assert_eq "$(_ipc_counter run.json bad_clients)" 0 "clients thrown out"
	# gst-launch closes the socket at its element's stop, while the last
	# buffers may still be in its pipeline (fakesink's last sample): those
	# come back by its leaving, at most its budget each (two gst-launch
	# clients, budget 4); every frame came back.
	assert_le "$(_ipc_counter run.json held_at_exit)" 8 "frames the two gst-launch clients held when they left"
	assert_eq "$(json_get run.json '["sinks"][0]["released"]')" "$(json_get run.json '["sinks"][0]["frames"]')" \
		"frames released vs pushed"
}
