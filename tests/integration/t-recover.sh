# Lossless recovery: an unplug or a source change keeps every sink running
# and every frame.  Files are counted by tools that are not vzero (ffprobe,
# GStreamer's own demuxer).  Sourced by run after lib.sh.

REC_SINK='queue ! videoconvert ! jpegenc ! matroskamux ! filesink location=rec.mkv'

# Waits until vzero's status line shows frames flowing (stderr file $1).
_vzr_wait_streaming() {
	wait_until 400 grep -q 'frames |' "$1" 2>/dev/null && return 0
	fail "vzero never started streaming (no status line in $1)"
}

# Frames in a video file, as ffprobe decodes them.
_vzr_file_frames() {
	ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames \
		-of csv=p=0 "$1"
}

# The longest gap between consecutive frame timestamps of a file, in ms.
_vzr_max_gap_ms() {
	ffprobe -v error -select_streams v:0 -show_entries frame=pts_time -of csv=p=0 "$1" |
		python3 -c 'import sys
t = [float(l.split(",")[0]) for l in sys.stdin if l.strip() and l.split(",")[0] != "N/A"]
print(int(max(b - a for a, b in zip(t, t[1:])) * 1000) if len(t) > 1 else 0)'
}

_vzr_need_ffprobe() {
	command -v ffprobe >/dev/null || fail "ffprobe is missing (tools/setup installs ffmpeg)"
}

# The platform device behind a vivid node, for a real unplug through sysfs.
_vzr_platform_dev() {
	basename "$(readlink -f "${VZ_SYSFS_V4L:-/sys/class/video4linux}/${1#/dev/}/device")"
}

# Checks a recording run's JSON and file: every frame the sink was pushed is
# in the file, none was lost to the budget, and the outage shows in the
# timestamps.
_vzr_check_recording() { # json file min_gap_ms
	local pushed infile gap
	pushed=$(json_get "$1" '["sinks"][0]["frames"]')
	infile=$(_vzr_file_frames "$2")
	gap=$(_vzr_max_gap_ms "$2")
	echo "pushed $pushed, in the file $infile, longest gap $gap ms" >&2
	assert_eq "$(json_get "$1" '["sinks"][0]["policy"]')" record "the recording's policy"
	assert_eq "$(json_get "$1" '["sinks"][0]["drops_budget"]')" 0 "budget drops of the recording"
	assert_eq "$infile" "$pushed" "frames in the file vs frames pushed"
	assert_ge "$gap" "$3" "the gap in the file's timestamps (ms)"
	assert_eq "$(json_get "$1" '["sinks"][0]["released"]')" "$pushed" "frames released"
	assert_eq "$(json_get "$1" '["sinks"][0]["ended"]')" "" "the recording did not end early"
	# frames + drops by cause = the sequence spans the driver gave, summed
	# over its streaming sessions
	python3 - "$1" <<'PY' || fail "frames and drops do not add up to the driver's sequence spans"
import json, sys
c = json.load(open(sys.argv[1]))["capture"]
assert c["frames"] + c["driver_drops"] + c["error_frames"] == c["seq_span"], c
assert c["sessions"] >= 2, c
PY
}

_vzr_check_outage() { # json min_outage_ms
	python3 - "$1" "$2" <<'PY' || fail "the recovery figures do not fit what the test did"
import json, sys
r = json.load(open(sys.argv[1]))
out, res = r["outage_ms"], r["resume_ms"]
assert out >= float(sys.argv[2]), f"outage {out} ms, the device was away longer"
assert 0 < res < out, f"resume {res} ms is not a part of the {out} ms outage"
PY
}

# Runs `vzero run -d DEV ARGS...` (stdout PREFIX.json, stderr PREFIX.err),
# presses vivid's disconnect button SECS after frames flow, waits for the
# run to end; its exit status is left in rc.
_vzr_run_and_disconnect() { # dev prefix secs args...
	local d=$1 out=$2 secs=$3 pid
	shift 3
	"$VZ" run -d "$d" "$@" >"$out.json" 2>"$out.err" &
	pid=$!
	_vzr_wait_streaming "$out.err"
	sleep "$secs"
	v4l2-ctl -d "$d" -c disconnect=1 || fail "could not press vivid's disconnect button"
	# set -e would end the test on a failing status: keep it
	rc=0
	wait "$pid" || rc=$?
	cat "$out.err"
}

test_run_reconnect_recording_keeps_every_frame() {
	local d
	_vzr_need_ffprobe
	d=$(need_vivid 2)
	vivid_reset "$d"
	_vzr_run_and_disconnect "$d" rec 2 -s 320x180 -r 25 --reconnect=30 --budget 4 -n 150 \
		--status --json --sink gst:"$REC_SINK"
	assert_eq "$rc" 0 "vzero run --reconnect exit status"
	assert_eq "$(json_get rec.json '["capture"]["disconnects"]')" 1 disconnects
	assert_eq "$(json_get rec.json '["capture"]["reconnects"]')" 1 reconnects
	assert_eq "$(json_get rec.json '["sinks"][0]["frames"]')" 150 "frames pushed (-n counts the recording's)"
	# the outage: at least two frame intervals without a frame
	_vzr_check_recording rec.json rec.mkv 80
	_vzr_check_outage rec.json 80
	assert_contains rec.err "the device is gone"
	assert_contains rec.err "the device is back"
	echo "outage: $(json_get rec.json '["outage_ms"]') ms without frames, resume $(json_get rec.json '["resume_ms"]') ms of it from the node's return to the next frame" |
		tee -a "$VZ_RESULTS/recovery-figures.txt" >&2
	cp rec.json "$VZ_RESULTS/reconnect-recording.json"
}

test_run_unbind_recording_keeps_every_frame() {
	local d pid pdev
	_vzr_need_ffprobe
	d=$(need_vivid 2)
	vivid_reset "$d"
	pdev=$(_vzr_platform_dev "$d")
	[[ -e /sys/bus/platform/drivers/vivid/$pdev ]] || fail "no platform device $pdev for $d"
	"$VZ" run -d "$d" -s 320x180 -r 25 --reconnect=30 --budget 4 -n 150 --status --json \
		--sink gst:"$REC_SINK" >rec.json 2>rec.err &
	pid=$!
	_vzr_wait_streaming rec.err
	sleep 2
	echo "$pdev" >/sys/bus/platform/drivers/vivid/unbind || fail "unbind $pdev"
	sleep 2
	echo "$pdev" >/sys/bus/platform/drivers/vivid/bind || fail "bind $pdev"
	# set -e would end the test on a failing status: keep it
	rc=0
	wait "$pid" || rc=$?
	cat rec.err
	assert_eq "$rc" 0 "vzero run across an unbind/bind"
	assert_eq "$(json_get rec.json '["capture"]["reconnects"]')" 1 reconnects
	assert_eq "$(json_get rec.json '["sinks"][0]["frames"]')" 150 "frames pushed"
	_vzr_check_recording rec.json rec.mkv 1000
	_vzr_check_outage rec.json 1500 # unbound for 2 s
	echo "unbind: node back as $(json_get rec.json '["device"]'), outage $(json_get rec.json '["outage_ms"]') ms, resume $(json_get rec.json '["resume_ms"]') ms" |
		tee -a "$VZ_RESULTS/recovery-figures.txt" >&2
}

# A source change (vivid's webcam sends one when the Y'CbCr encoding
# changes) with a slow recording: renegotiated, no frame lost, the file whole.
test_run_source_change_keeps_recording() {
	local d pid
	_vzr_need_ffprobe
	d=$(need_vivid 0)
	vivid_reset "$d"
	v4l2-ctl -d "$d" -c y_cbcr_encoding=0 >/dev/null 2>&1 || true
	# 12.5 fps: the slow sink (20 ms a frame, then JPEG) keeps up on a
	# loaded emulated machine too, so any loss would be the recovery's
	"$VZ" run -d "$d" -s 320x180 -r 12.5 --budget 4 -n 80 --status --json \
		--sink gst:"queue ! identity sleep-time=20000 ! videoconvert ! jpegenc ! matroskamux ! filesink location=rec.mkv" \
		>rec.json 2>rec.err &
	pid=$!
	_vzr_wait_streaming rec.err
	sleep 2
	v4l2-ctl -d "$d" -c y_cbcr_encoding=1 || fail "could not change the Y'CbCr encoding"
	# set -e would end the test on a failing status: keep it
	rc=0
	wait "$pid" || rc=$?
	v4l2-ctl -d "$d" -c y_cbcr_encoding=0 >/dev/null 2>&1 || true
	cat rec.err
	assert_eq "$rc" 0 "vzero run across a source change"
	assert_eq "$(json_get rec.json '["capture"]["source_changes"]')" 1 source_changes
	assert_contains rec.err "renegotiating"
	local ended
	ended=$(json_get rec.json '["sinks"][0]["ended"]')
	if [[ -z $ended ]]; then
		# the encoder's output did not change: one file spans the change
		assert_eq "$(json_get rec.json '["sinks"][0]["frames"]')" 80 "frames pushed"
		_vzr_check_recording rec.json rec.mkv 0
	else
		fail "the recording ended at a change that did not change its encoded format: $ended"
	fi
}

# A format change a muxer cannot take (raw video into matroskamux, whose
# header is written): that sink ends cleanly with its file finalised, says
# so, and the other sink goes on to the end.
test_run_format_change_ends_only_the_refusing_muxer() {
	local d pid
	_vzr_need_ffprobe
	d=$(need_vivid 0)
	vivid_reset "$d"
	v4l2-ctl -d "$d" -c y_cbcr_encoding=0 >/dev/null 2>&1 || true
	"$VZ" run -d "$d" -s 320x180 -r 25 -t 12 --status --json \
		--sink gst:"matroskamux ! filesink location=raw.mkv" \
		--sink gst:"fakesink enable-last-sample=false" >fc.json 2>fc.err &
	pid=$!
	_vzr_wait_streaming fc.err
	sleep 2
	# BT.601 to Rec. 709: the frames' colorimetry, so their caps, change
	v4l2-ctl -d "$d" -c y_cbcr_encoding=2 || fail "could not change the Y'CbCr encoding"
	# set -e would end the test on a failing status: keep it
	rc=0
	wait "$pid" || rc=$?
	v4l2-ctl -d "$d" -c y_cbcr_encoding=0 >/dev/null 2>&1 || true
	cat fc.err
	assert_eq "$rc" 0 "the run goes on when one sink's stream ends"
	local ended frames0 infile total frames1
	ended=$(json_get fc.json '["sinks"][0]["ended"]')
	echo "sink 0 ended: $ended" >&2
	assert_ne "$ended" "" "the muxer's stream ended"
	assert_contains fc.err "ended its stream"
	frames0=$(json_get fc.json '["sinks"][0]["frames"]')
	infile=$(_vzr_file_frames raw.mkv)
	echo "muxer got $frames0 frames, its finalised file holds $infile" >&2
	assert_ge "$infile" 10 "frames in the finalised file"
	assert_le "$infile" "$frames0" "frames in the file"
	total=$(json_get fc.json '["frames"]')
	frames1=$(json_get fc.json '["sinks"][1]["frames"]')
	assert_ge "$(json_get fc.json '["sinks"][0]["drops_ended"]')" 1 "frames not sent to the ended sink"
	assert_eq "$(json_get fc.json '["sinks"][1]["ended"]')" "" "the other sink did not end"
	assert_ge "$frames1" $((total - 5)) "the other sink's frames (of $total)"
}

# Frames of the old buffer set still held when the device is back: their
# release must be forgotten (the new set's buffer of that index may be in
# the driver or in a sink), never requeued.  identity sleeps 700 ms per
# frame, far longer than vivid's ~130 ms outage, so the sink holds old-set
# frames while the new set streams.
test_run_late_release_after_reconnect_is_forgotten() {
	local d
	d=$(need_vivid 2)
	vivid_reset "$d"
	_vzr_run_and_disconnect "$d" late 1 -s 320x180 -r 25 --reconnect=30 --budget 2 -t 6 \
		--status --json --sink gst:"identity sleep-time=700000 ! fakesink"
	assert_eq "$rc" 0 "vzero run --reconnect exit status"
	assert_eq "$(json_get late.json '["capture"]["reconnects"]')" 1 reconnects
	assert_ge "$(json_get late.json '["capture"]["stale_queues"]')" 1 \
		"old-set frames released after the reconnect (forgotten, not requeued)"
	assert_eq "$(json_get late.json '["sinks"][0]["released"]')" \
		"$(json_get late.json '["sinks"][0]["frames"]')" "every frame the sink got came back"
}

# Ctrl-C while a vanished device is waited for: the loop is never blocked,
# the run ends at once with its report.
test_run_sigint_during_reconnect_wait() {
	local d pid pdev t0 t1
	d=$(need_vivid 2)
	vivid_reset "$d"
	pdev=$(_vzr_platform_dev "$d")
	"$VZ" run -d "$d" -s 640x480 -r 25 --reconnect --sink null --status --json \
		>int.json 2>int.err &
	pid=$!
	_vzr_wait_streaming int.err
	echo "$pdev" >/sys/bus/platform/drivers/vivid/unbind || fail "unbind $pdev"
	wait_until 100 grep -q "the device is gone" int.err || true
	sleep 1
	t0=$(date +%s%N)
	kill -INT "$pid"
	# set -e would end the test on a failing status: keep it
	rc=0
	wait "$pid" || rc=$?
	t1=$(date +%s%N)
	echo "$pdev" >/sys/bus/platform/drivers/vivid/bind || fail "bind $pdev"
	cat int.err
	local ms=$(((t1 - t0) / 1000000))
	echo "SIGINT during the reconnect wait: exited after $ms ms" |
		tee -a "$VZ_RESULTS/recovery-figures.txt" >&2
	assert_eq "$rc" 0 "exit status after Ctrl-C"
	assert_contains int.err "interrupted; report follows"
	assert_eq "$(json_get int.json '["capture"]["disconnects"]')" 1 disconnects
	assert_le "$ms" 3000 "ms from SIGINT to exit"
	# the node is back for the tests after this one
	wait_until 100 vivid_cap 2 >/dev/null && return 0
	fail "vivid instance 2 did not come back after bind"
}

# -n 5 into a file writer writes 5 files: a record sink waits for GStreamer
# to start instead of losing the first frames.
test_run_n5_multifilesink_writes_5() {
	local d
	d=$(need_vivid 0)
	vivid_reset "$d"
	run "$VZ" run -d "$d" -s 640x480 -r 25 -n 5 --json --quiet \
		--sink gst:"videoconvert ! pngenc ! multifilesink location=f%03d.png" >n5.json
	assert_eq "$rc" 0 "exit status"
	assert_eq "$(find . -name 'f*.png' | wc -l)" 5 "files written"
	assert_eq "$(json_get n5.json '["sinks"][0]["frames"]')" 5 "frames pushed"
	assert_eq "$(json_get n5.json '["sinks"][0]["drops_budget"]')" 0 "budget drops"
}
