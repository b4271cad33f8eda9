# The libcamera backend on vimc, and libv4l2 converting for real.  These
# run in their own VM boot with vimc loaded (tests/integration/meson.build:
# integration-vimc); the main boot leaves them out (VZ_EXCLUDE=^vimc).
#
# vimc under libcamera 0.0.3 streams BGR888 (vzero's RGB3); its scaler
# triples the sensor's size, so sizes are multiples of 3 (480x360).

LC_SIZE=480x360

need_vimc() {
	[[ -d /sys/bus/platform/drivers/vimc ]] ||
		skip "vimc is not loaded (run under tools/vivid-vm --module vimc)"
	command -v cam >/dev/null || skip "cam (libcamera-tools) is not installed: run tools/setup"
}

# The node of vimc's entity NAME ("Raw Capture 1") by its sysfs name.
vimc_node() {
	local f
	for f in /sys/class/video4linux/video*/name; do
		[[ $(cat "$f") == "$1" ]] && { echo "/dev/$(basename "$(dirname "$f")")"; return 0; }
	done
	return 1
}

vimc_media() {
	local m
	for m in /dev/media*; do
		media-ctl -d "$m" -p 2>/dev/null | grep -q 'driver *vimc' && { echo "$m"; return 0; }
	done
	return 1
}

test_vimc_devices_lists_libcamera_camera() {
	need_vimc
	run "$VZ" devices
	assert_eq "$rc" 0 "vzero devices"
	"$VZ" devices >d.txt
	assert_contains d.txt "libcamera:0  'Sensor B'"
	assert_contains d.txt "BGR888   (-f RGB3)"
	"$VZ" devices --json >d.json
	assert_eq "$(json_get d.json 'list(x["id"] for x in d if x.get("backend") == "libcamera")')" \
		"['platform/vimc.0 Sensor B']" "libcamera cameras in the JSON listing"
	assert_eq "$(json_get d.json 'list(f["fourcc"] for x in d if x.get("backend") == "libcamera" for f in x["formats"])[0]')" \
		RGB3 "first format's vzero fourcc"
	"$VZ" devices -d libcamera:sensor >one.txt
	assert_contains one.txt 'id "platform/vimc.0 Sensor B"'
	run "$VZ" devices -d libcamera:nosuch
	assert_eq "$rc" 1 "devices -d libcamera:nosuch"
}

# capture -> stamp -> GStreamer, each PNG's stamp decoded: the frames that
# left through GStreamer are libcamera's, in order, and nothing copied them
# on the way in.
test_vimc_run_stamp_gst() {
	local files n
	need_vimc
	run "$VZ" run -d libcamera: -s $LC_SIZE --process stamp \
		--sink gst:"videoconvert ! pngenc snapshot=false compression-level=1 ! multifilesink location=f%04d.png" \
		--budget 2 -n 30 --stats-json s.json
	assert_eq "$rc" 0 "exit status"
	assert_eq "$(json_get s.json '["io"]')" libcamera io
	assert_eq "$(json_get s.json '["format"]["fourcc"]')" RGB3 fourcc
	assert_eq "$(json_get s.json '["bytes_copied"]')" 0 "bytes copied by vzero"
	assert_eq "$(json_get s.json '["sinks"][0]["frames"]')" 30 "gst sink frames"
	python3 - s.json <<'PY' || fail "the report does not say the fds are read-write and which clocks"
import json, sys
r = json.load(open(sys.argv[1]))
notes = " ".join(r["source_notes"])
assert "read-write" in notes, notes
assert "CLOCK_MONOTONIC" in notes and "SensorTimestamp" in notes, notes
assert "read-write" in r["sinks"][0]["proof"], r["sinks"][0]["proof"]
PY
	files=(f*.png)
	n=${#files[@]}
	[[ -e ${files[0]} ]] || fail "no PNG written"
	assert_eq "$n" 30 "PNG files"
	run "$VZH/vz-gst-check" "${files[@]}"
	assert_eq "$rc" 0 "vz-gst-check (stamps readable, sequence increasing)"
	cp "${files[0]}" "$VZ_RESULTS/vimc-stamp-first.png"
}

# Sequence continuity and monotonic timestamps, frame by frame, and the
# accounting invariant: frames + driver drops + error frames = span.
test_vimc_jitter_sequence_and_clock() {
	need_vimc
	run "$VZ" jitter -d libcamera: -s $LC_SIZE -n 60 --json --timeline-csv t.csv
	assert_eq "$rc" 0 "vzero jitter"
	"$VZ" jitter -d libcamera: -s $LC_SIZE -n 5 >human.txt
	assert_contains human.txt "SensorTimestamp:"
	assert_contains human.txt "interval (driver clock)"
	python3 - t.csv <<'PY' || fail "sequence or timestamps broken"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
assert len(rows) == 60, len(rows)
seq = [int(r["sequence"]) for r in rows]
gaps = [int(r["gap"]) for r in rows]
drv = [int(r["t_driver_ns"]) for r in rows]
dq = [int(r["t_dqbuf_ns"]) for r in rows]
for i in range(1, len(rows)):
    assert seq[i] == seq[i - 1] + 1 + gaps[i], (i, seq[i - 1], seq[i], gaps[i])
    assert drv[i] > drv[i - 1], ("driver time not increasing", i)
    assert dq[i] >= dq[i - 1], ("dqbuf time going back", i)
    # the buffer timestamp is on CLOCK_MONOTONIC: before we saw it, by < 1 s
    assert 0 <= dq[i] - drv[i] < 1e9, ("driver time not CLOCK_MONOTONIC?", dq[i] - drv[i])
print("60 frames, sequence", seq[0], "..", seq[-1], "gaps", sum(gaps))
PY
}

# A frame held by a slow sink is never requeued under it: the stamp read
# back at release is the one written at push.  vimc grants 4 buffers and
# vzero keeps 2 in the driver, so the slow sink's budget is 1.
test_vimc_never_requeues_held_frames() {
	need_vimc
	run "$VZH/vz-hold-sink" libcamera: 40 400 1
	assert_eq "$rc" 0 "vz-hold-sink exit status"
}

# Unplug and replug: vimc's platform device unbound while streaming, bound
# again.  libcamera learns of the new camera through udev, so udevd runs for
# this test (and stops with it).
test_vimc_unplug_replug() {
	local pid
	need_vimc
	[[ -x /lib/systemd/systemd-udevd ]] || skip "systemd-udevd (package udev) is not installed: run tools/setup"
	# udevd stays up for the rest of this boot (the vimc tests' own): it
	# only adds the events libcamera listens to.
	SYSTEMD_IGNORE_CHROOT=1 /lib/systemd/systemd-udevd --daemon >/dev/null 2>&1 ||
		fail "systemd-udevd would not start"
	trap '[[ -e /sys/bus/platform/devices/vimc.0/driver ]] || echo vimc.0 >/sys/bus/platform/drivers/vimc/bind 2>/dev/null || true' EXIT
	"$VZ" run -d libcamera: -s $LC_SIZE --sink null -t 40 --reconnect=30 --quiet \
		--stats-json r.json >out.txt 2>err.txt &
	pid=$!
	sleep 8
	echo vimc.0 >/sys/bus/platform/drivers/vimc/unbind || fail "cannot unbind vimc"
	sleep 4
	echo vimc.0 >/sys/bus/platform/drivers/vimc/bind || fail "cannot bind vimc again"
	# a few seconds of the camera back, then the end a user gives it (the
	# 40 s bound is for a reconnect that never comes)
	if wait_until 250 grep -q "the device is back" err.txt; then
		sleep 5
		kill -INT $pid 2>/dev/null || true
	fi
	set +e
	wait $pid
	rc=$?
	set -e
	cat err.txt >&2
	assert_eq "$rc" 0 "vzero run across the unplug"
	assert_contains err.txt "the device is gone"
	assert_contains err.txt "the device is back"
	assert_eq "$(json_get r.json '["capture"]["disconnects"]')" 1 disconnects
	assert_eq "$(json_get r.json '["capture"]["reconnects"]')" 1 reconnects
	# frames came from the camera after it returned, in a new buffer set
	assert_contains "$(json_get r.json '["sinks"][0]["proof"]')" "from 2 buffer set(s)"
	assert_ge "$(json_get r.json '["frames"]')" 40 "frames across the unplug"
}

test_vimc_libcamera_errors() {
	need_vimc
	run "$VZ" run -d libcamera:7 --sink null -n 1
	assert_eq "$rc" 1 "an absent camera"
	run "$VZ" run -d libcamera: -f YUYV --sink null -n 1
	assert_eq "$rc" 1 "a format the camera does not stream"
	"$VZ" run -d libcamera: -f YUYV --sink null -n 1 2>e.txt || true
	assert_contains e.txt "cannot stream it (it offers BGR888)"
	run "$VZ" run -d libcamera: --libv4l2 --sink null -n 1
	assert_eq "$rc" 1 "--libv4l2 with libcamera"
	"$VZ" run -d libcamera: -s $LC_SIZE --sink ipc:"$PWD/s.sock" -n 1 2>ipc.txt || true
	assert_contains ipc.txt "rw=allow"
}

# A media graph whose formats do not match the capture node's: STREAMON
# fails with EPIPE, and vzero says what to do, in one line.
test_vimc_graph_mismatch_clear_error() {
	local raw md
	need_vimc
	raw=$(vimc_node "Raw Capture 1") || fail "no 'Raw Capture 1' node"
	md=$(vimc_media) || fail "no vimc media device"
	media-ctl -d "$md" -V '"Sensor B":0[fmt:SGRBG8_1X8/640x480]' || fail "media-ctl -V"
	run "$VZ" capture -d "$raw" -f RGB3 -s 640x480 -n 3
	assert_eq "$rc" 1 "capture RGB3 from a Bayer sensor"
	"$VZ" capture -d "$raw" -f RGB3 -s 640x480 -n 3 2>e.txt >/dev/null || true
	assert_eq "$(wc -l <e.txt)" 1 "lines of error"
	assert_contains e.txt "media-ctl -V"
}

# libv4l2 converting for real: vimc's capture nodes offer RGB and Bayer,
# never YU12, so `--libv4l2 -f YU12` makes libv4l2 convert each RGB3 frame
# the RGB/YUV node captures, and each converted byte counts as copied.  The
# whole graph is set here (libcamera's runs leave it configured their way):
# STREAMON validates every enabled link, the raw node's included.
test_vimc_libv4l2_converts_and_counts() {
	local rgb raw md frames copied
	need_vimc
	rgb=$(vimc_node "RGB/YUV Capture") || fail "no 'RGB/YUV Capture' node"
	raw=$(vimc_node "Raw Capture 0") || fail "no 'Raw Capture 0' node"
	md=$(vimc_media) || fail "no vimc media device"
	# One pad or link per call: media-ctl keeps only the last -V or -l.
	media-ctl -d "$md" -l '"Debayer B":1->"Scaler":0[0]' || fail "media-ctl -l"
	media-ctl -d "$md" -l '"Debayer A":1->"Scaler":0[1]' || fail "media-ctl -l"
	media-ctl -d "$md" -V '"Sensor A":0[fmt:SRGGB8_1X8/640x480]' || fail "media-ctl -V"
	media-ctl -d "$md" -V '"Debayer A":0[fmt:SRGGB8_1X8/640x480]' || fail "media-ctl -V"
	media-ctl -d "$md" -V '"Scaler":0[fmt:RGB888_1X24/640x480 crop:(0,0)/640x480]' ||
		fail "media-ctl -V"
	media-ctl -d "$md" -V '"Scaler":1[fmt:RGB888_1X24/640x480]' || fail "media-ctl -V"
	v4l2-ctl -d "$raw" --set-fmt-video=pixelformat=RGGB,width=640,height=480 ||
		fail "v4l2-ctl --set-fmt-video on the raw node"
	v4l2-ctl -d "$rgb" --list-formats >fmts.txt
	grep -q "'YU12'" fmts.txt && fail "the RGB/YUV node offers YU12 itself: libv4l2 would not convert"

	run "$VZ" capture -d "$rgb" --libv4l2 -f YU12 -s 640x480 -n 15 --json
	if [[ $rc != 0 ]]; then
		media-ctl -d "$md" -p >&2 || true
		dmesg | grep "link validate" | tail -4 >&2 || true
	fi
	assert_eq "$rc" 0 "capture YU12 through libv4l2"
	"$VZ" capture -d "$rgb" --libv4l2 -f YU12 -s 640x480 -n 15 --json >c.json
	assert_eq "$(json_get c.json '["format"]["fourcc"]')" YU12 "delivered format"
	frames=$(json_get c.json '["frames"]')
	copied=$(json_get c.json '["capture"]["bytes_copied"]')
	assert_eq "$frames" 15 "frames"
	# 640x480 YU12 is 460800 bytes: every frame converted, whole.
	assert_eq "$copied" $((frames * 460800)) "bytes copied = frames x YU12 frame size"

	"$VZ" run -d "$rgb" --libv4l2 -f YU12 -s 640x480 -n 15 --sink null \
		--stats-json r.json >r.txt 2>&1 || fail "vzero run through libv4l2"
	assert_contains r.txt "copied:     460800.0 B/frame"
	assert_contains r.txt "NOT zero-copy"
	assert_eq "$(json_get r.json '["bytes_copied_per_frame"]')" 460800.0 "run: bytes per frame"

	# Control: the node's own format through libv4l2 passes through.
	"$VZ" capture -d "$rgb" --libv4l2 -f RGB3 -s 640x480 -n 5 --json >p.json ||
		fail "capture RGB3 through libv4l2"
	assert_eq "$(json_get p.json '["capture"]["bytes_copied"]')" 0 "RGB3 passes through"
}

# Ctrl-C and SIGTERM end a libcamera run with its report, and a program
# that blocks its signals only after opening the camera still receives
# them: libcamera's threads start with every signal blocked
# (capture/libcamera-shim.cpp), so none takes one and dies of it.
test_vimc_signals_end_the_run_with_its_report() {
	local sig
	need_vimc
	for sig in INT TERM; do
		run_ends_with_report_on "$sig" -d libcamera: -s $LC_SIZE --sink null
	done
	run "$VZH/vz-signal-check" libcamera: 10
	assert_eq "$rc" 0 "a process-directed signal while libcamera's threads run"
}
