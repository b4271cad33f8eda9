# vivid's fault-injection controls against vzero capture: every injected
# fault must show up in the --json summary with the right count, and the
# recoverable ones must not stop the capture.  Sourced by run after lib.sh.

# Shared helpers (_vz_cap, _vz_node, _vzc_check_timeline, _vzc_clean_capture).
source "$(dirname "${BASH_SOURCE[0]}")/t-capture.sh"

# Presses a button control once a capture is really streaming (its
# timeline has 10 frames): start-up in a loaded TCG guest takes seconds, and
# vivid ignores a fatal-error injection before STREAMON.
_vzf_press_when_streaming() { # dev control csv
	(
		for ((i = 0; i < 600; i++)); do
			[[ -f $3 && $(wc -l <"$3") -ge 11 ]] && break
			sleep 0.1
		done
		v4l2-ctl -d "$1" -c "$2=1" && echo "pressed $2 on $1 after $(($(wc -l <"$3") - 1)) frames" >&2
	) &
}

# Waits for vivid instance N's capture node to exist again (after a
# disconnect the node comes back once the last user has closed it).
_vzf_wait_node() { # instance seconds
	local i d
	for ((i = 0; i < $2 * 10; i++)); do
		if d=$(_vz_node "$1" vid-cap); then
			echo "$d"
			return 0
		fi
		sleep 0.1
	done
	fail "vivid instance $1's capture node did not come back within $2 s"
}

test_fault_dropped_buffers() {
	local dev
	dev=$(_vz_cap 0)
	vivid_reset "$dev"
	vivid_set "$dev" percentage_of_dropped_buffers 50
	run "$VZ" capture -d "$dev" -s 640x480 -r 25 -n 40 --json --timeline-csv drop.csv >drop.json
	vivid_reset "$dev"
	cat drop.json
	[[ $rc == 0 ]] || fail "capture with dropped buffers exited $rc"
	assert_eq "$(json_get drop.json '["frames"]')" 40 frames
	local gaps span
	gaps=$(json_get drop.json '["drops"]["driver_gap"]')
	assert_ge "$gaps" 5 "driver_gap with 50% dropped"
	_vzc_check_timeline drop.csv drop.json
	# Every sequence number is either a frame or a counted drop.
	span=$(awk -F, 'NR == 2 { a = $1 } END { print $1 - a + 1 }' drop.csv)
	assert_eq "$((40 + gaps))" "$span" "frames + driver_gap vs sequence span"
	assert_eq "$(json_get drop.json '["capture"]["error_frames"]')" 0 error_frames
}

test_fault_error_flag() {
	local dev
	dev=$(_vz_cap 0)
	vivid_reset "$dev"
	_vzf_press_when_streaming "$dev" inject_v4l2_buf_flag_error err.csv
	# 100 frames: the press lands 10 frames in, plus v4l2-ctl's start
	run "$VZ" capture -d "$dev" -s 320x180 -r 25 -n 100 --json --timeline-csv err.csv >err.json
	wait
	cat err.json
	[[ $rc == 0 ]] || fail "capture with an error-flagged buffer exited $rc"
	assert_eq "$(json_get err.json '["capture"]["error_frames"]')" 1 error_frames
	assert_eq "$(json_get err.json '["drops"]["error_flag"]')" 1 "drops.error_flag"
	# The flagged buffer is requeued, not delivered: still 100 good frames,
	# none of them carrying V4L2_BUF_FLAG_ERROR (0x40) in the timeline.
	assert_eq "$(json_get err.json '["frames"]')" 100 frames
	python3 - err.csv <<'PY' || fail "a delivered frame carries V4L2_BUF_FLAG_ERROR"
import csv, sys
bad = [r["sequence"] for r in csv.DictReader(open(sys.argv[1])) if int(r["flags"], 16) & 0x40]
assert not bad, bad
PY
}

test_fault_fatal_streaming_error() {
	local dev
	dev=$(_vz_cap 0)
	vivid_reset "$dev"
	_vzf_press_when_streaming "$dev" inject_fatal_streaming_error fatal.csv
	run "$VZ" capture -d "$dev" -s 320x180 -r 25 -n 100 --json --timeline-csv fatal.csv >fatal.json
	wait
	cat fatal.json
	[[ $rc == 0 ]] || fail "capture did not survive a fatal streaming error (exit $rc)"
	assert_ge "$(json_get fatal.json '["capture"]["restarts"]')" 1 restarts
	assert_eq "$(json_get fatal.json '["frames"]')" 100 frames
}

# The same fault through the pipeline (vzero run) is in the fault matrix
# (t-matrix.sh): restarted with its STREAMON refused once, counted, every
# frame accounted for, for every sink kind.

test_fault_disconnect() {
	local dev
	dev=$(_vz_cap 2)
	vivid_reset "$dev"
	_vzf_press_when_streaming "$dev" disconnect disc.csv
	run "$VZ" capture -d "$dev" -s 640x480 -r 25 -n 1000 --timeline-csv disc.csv >disc.out 2>disc.err
	wait
	cat disc.out disc.err
	assert_eq "$rc" 1 "exit status after a disconnect without --reconnect"
	assert_contains disc.err "disconnected"
	assert_contains disc.err "--reconnect"
	# Our exit was the last close: vivid brings the node back.
	dev=$(_vzf_wait_node 2 15)
	echo "node back as $dev" >&2
	vivid_reset "$dev"
	_vzf_press_when_streaming "$dev" disconnect rec.csv
	# Enough frames that the press (v4l2-ctl takes seconds to start in a
	# loaded guest) lands mid-stream.
	run "$VZ" capture -d "$dev" -s 320x180 -r 25 -n 150 --reconnect=20 --json --timeline-csv rec.csv \
		>rec.json 2>rec.err
	wait
	cat rec.json rec.err
	[[ $rc == 0 ]] || fail "capture with --reconnect=20 exited $rc"
	assert_eq "$(json_get rec.json '["capture"]["disconnects"]')" 1 disconnects
	assert_eq "$(json_get rec.json '["capture"]["reconnects"]')" 1 reconnects
	assert_eq "$(json_get rec.json '["frames"]')" 150 frames
	assert_contains rec.err "is back"
}

# Both wraps in one capture (each a boot's worth of seconds on its own):
# the sequence wraps 128 frames in, the 64-bit timestamp 16 s in.
test_fault_sequence_and_timestamp_wrap() {
	local dev
	dev=$(_vz_cap 0)
	vivid_reset "$dev"
	# vivid starts the sequence at 0xffffff80 and time 16 s before the
	# signed 64-bit wrap (wrap_timestamp 1 = 64-bit)
	vivid_set "$dev" wrap_sequence_number 1
	vivid_set "$dev" wrap_timestamp 1
	run "$VZ" capture -d "$dev" -s 320x180 -r 25 -t 19 --json --timeline-csv ts.csv >ts.json
	vivid_reset "$dev"
	cat ts.json
	[[ $rc == 0 ]] || fail "capture across the sequence and timestamp wraps exited $rc"
	# each row's gap against its sequence step modulo 2^32, as every clean
	# capture is checked (the separate wrap test did, through
	# _vzc_clean_capture)
	_vzc_check_timeline ts.csv ts.json
	assert_eq "$(json_get ts.json '["capture"]["seq_wraps"]')" 1 seq_wraps
	# Prove the stream really crossed 2^32, and that the wrap was no gap:
	# every sequence number of the span (modulo 2^32) is a frame or a drop
	# the driver really made (a loaded guest may skip some).
	assert_eq "$(head -2 ts.csv | tail -1 | cut -d, -f1)" 4294967168 "first sequence"
	grep -q '^0,' ts.csv || fail "no frame with sequence 0 after the wrap"
	local span
	span=$(awk -F, 'NR == 2 { a = $1 } END { print ($1 - a + 4294967296) % 4294967296 + 1 }' ts.csv)
	assert_eq "$(($(json_get ts.json '["frames"]') + $(json_get ts.json '["drops"]["driver_gap"]')))" \
		"$span" "frames + driver_gap vs the sequence span across the wrap"
	grep -q ',-[0-9]*,[0-9]*,[0-9]*$' ts.csv || fail "the driver timestamp never wrapped (no negative t_driver_ns)"
	assert_ge "$(json_get ts.json '["capture"]["ts_jumps"]')" 1 ts_jumps
	python3 - ts.json <<'PY' || fail "driver intervals not sane across the wrap"
import json, sys
s = json.load(open(sys.argv[1]))["interval_driver_ms"]
print(s)
assert 30 <= s["p50"] <= 50, s
assert 0 < s["max"] < 1000, s
PY
}
