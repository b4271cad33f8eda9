# vzero run / vzero jitter against vivid: ownership with a real driver,
# fan-out, the report's outputs, the live status line, real-time knobs and
# argument errors.

run_dev() {
	local d
	d=$(need_vivid 0)
	vivid_reset "$d"
	echo "$d"
}

test_run_never_requeues_held_frames() {
	local d
	d=$(run_dev)
	# a sink holding each frame 150 ms (4 frame times) with budget 2, a null
	# sink beside it; stamps are re-read at release
	run "$VZH/vz-hold-sink" "$d" 75 150 2
	assert_eq "$rc" 0 "vz-hold-sink exit status"
}

test_run_null_sink_report_json() {
	local d
	d=$(run_dev)
	run "$VZ" run -d "$d" -f YUYV -s 640x480 -r 25 --process stamp --sink null -n 100 \
		--stats-json r.json --timeline-csv t.csv --plot p.png
	assert_eq "$rc" 0 "vzero run exit status"
	assert_eq "$(json_get r.json '["frames"]')" 100 frames
	assert_eq "$(json_get r.json '["sinks"][0]["frames"]')" 100 "null sink frames"
	assert_eq "$(json_get r.json '["sinks"][0]["released"]')" 100 "null sink released"
	assert_eq "$(json_get r.json '["bytes_copied"]')" 0 "bytes copied"
	assert_eq "$(json_get r.json '["format"]["fourcc"]')" YUYV fourcc
	assert_eq "$(json_get r.json '["processors"]')" stamp processors
	# 25 fps: the median driver interval is 40 ms
	local p50
	p50=$(json_get r.json '["interval_driver_ms"]["p50"]')
	python3 -c "import sys; sys.exit(0 if 36 < $p50 < 44 else 1)" || fail "driver interval p50 $p50 ms, expected ~40"
	# one CSV line per frame plus the header
	assert_eq "$(wc -l <t.csv)" 101 "timeline lines"
	assert_eq "$(head -c 8 p.png | od -An -tx1 | tr -d ' \n')" 89504e470d0a1a0a "PNG signature"
	cp p.png "$VZ_RESULTS/run-null.png"
}

test_run_fan_out_two_sinks_every_frame() {
	local d
	d=$(run_dev)
	run "$VZ" run -d "$d" -s 640x480 -r 25 --sink null --sink null -n 60 --json --quiet
	assert_eq "$rc" 0 "exit status"
	# --json prints the report on stdout
	"$VZ" run -d "$d" -s 640x480 -r 25 --sink null --sink null -n 60 --json --quiet >r.json
	assert_eq "$(json_get r.json '["sinks"][0]["frames"]')" 60 "sink 0 frames"
	assert_eq "$(json_get r.json '["sinks"][1]["frames"]')" 60 "sink 1 frames"
	assert_eq "$(json_get r.json 'len(d["sinks"])')" 2 "sinks"
}

test_run_status_line_each_second() {
	local d
	d=$(run_dev)
	"$VZ" run -d "$d" -s 640x480 -r 25 --sink null -t 4 --status >out.txt 2>status.txt
	local n
	n=$(grep -c 'fps' status.txt || true)
	cat status.txt >&2
	assert_ge "$n" 2 "status lines in 4 s"
	assert_contains status.txt "interval p99"
	assert_contains status.txt "copied 0 B/frame"
	assert_contains out.txt "zero-copy"
}

test_jitter_bare_device() {
	local d
	d=$(run_dev)
	"$VZ" jitter -d "$d" -s 640x480 -r 25 -n 50 --json >j.json || fail "vzero jitter failed"
	assert_eq "$(json_get j.json '["command"]')" jitter command
	assert_eq "$(json_get j.json '["frames"]')" 50 frames
	assert_eq "$(json_get j.json 'len(d["sinks"])')" 0 sinks
	run "$VZ" jitter -d "$d" --sink null -n 5
	assert_eq "$rc" 2 "jitter refuses sinks"
}

test_run_rt_knobs_reported_truthfully() {
	local d
	d=$(run_dev)
	"$VZ" run -d "$d" --sink null -n 20 --rt 10 --cpu 0 --mlock --quiet --json >root.json ||
		fail "run as root failed"
	assert_contains "$(json_get root.json '["realtime"]["rt"]')" "SCHED_FIFO 10: ok"
	assert_contains "$(json_get root.json '["realtime"]["cpu"]')" "pinned to CPU 0: ok"
	# ASan's runtime swallows mlockall(): then the report must say nothing
	# was locked, never "ok".
	if ldd "$VZ" | grep -q libasan; then
		assert_contains "$(json_get root.json '["realtime"]["mlock"]')" "nothing was locked"
	else
		assert_contains "$(json_get root.json '["realtime"]["mlock"]')" "mlockall: ok, VmLck"
	fi
	command -v setpriv >/dev/null || skip "setpriv (util-linux) not available"
	chmod 0666 "$d"
	setpriv --reuid=65534 --regid=65534 --clear-groups "$VZ" run -d "$d" --sink null -n 20 \
		--rt 10 --quiet --json >user.json || fail "run as nobody failed"
	assert_contains "$(json_get user.json '["realtime"]["rt"]')" "NOT applied"
}

test_run_bad_arguments() {
	local d
	d=$(run_dev)
	local args
	for args in "-n -5 --sink null" "--sink bogus" "--process blur --sink null" \
		"--rt 0 --sink null" "--cpu x --sink null" "--budget 0 --sink null" \
		"-s 0x0 --sink null" "-r abc --sink null" ""; do
		# shellcheck disable=SC2086
		run "$VZ" run -d "$d" $args
		[[ $rc == 2 || ($args == "--sink bogus" && $rc == 1) ]] ||
			fail "vzero run $args: exit $rc, expected a usage error"
	done
	run "$VZ" run --sink null -n 1
	assert_eq "$rc" 2 "no device"
	"$VZ" run --sink null 2>err.txt || true
	assert_contains err.txt "-d DEV"
}

test_run_missing_device_is_one_clear_line() {
	run "$VZ" run -d /dev/video99 --sink null -n 1
	assert_ne "$rc" 0 "exit status"
	"$VZ" run -d /dev/video99 --sink null -n 1 2>err.txt || true
	assert_eq "$(wc -l <err.txt)" 1 "error lines"
	assert_contains err.txt "/dev/video99"
}

# The pipeline's recovery path: the device vanishes mid-run (vivid's
# "disconnect" button on instance 2), the sinks stop and every frame comes
# home, the capture waits for the node to return, the sinks restart and the
# run completes its frame count.
test_run_reconnects_after_disconnect() {
	local d i
	d=$(need_vivid 2)
	vivid_reset "$d"
	"$VZ" run -d "$d" -s 640x480 -r 25 --sink null -n 150 --reconnect=30 --status \
		--json >rec.json 2>rec.err &
	local pid=$!
	# the status line appears once a second while frames flow
	for ((i = 0; i < 300; i++)); do
		grep -q 'frames |' rec.err 2>/dev/null && break
		sleep 0.1
	done
	v4l2-ctl -d "$d" -c disconnect=1 || fail "could not press vivid's disconnect button"
	wait "$pid"
	rc=$?
	cat rec.json rec.err
	assert_eq "$rc" 0 "vzero run --reconnect exit status"
	assert_eq "$(json_get rec.json '["capture"]["disconnects"]')" 1 disconnects
	assert_eq "$(json_get rec.json '["capture"]["reconnects"]')" 1 reconnects
	assert_eq "$(json_get rec.json '["frames"]')" 150 frames
	assert_contains rec.err "the device is gone; waiting up to 30 s"
	assert_contains rec.err "the device is back; resuming"
	assert_eq "$(json_get rec.json '["sinks"][0]["released"]')" \
		"$(json_get rec.json '["sinks"][0]["frames"]')" "null sink released every frame"
}
