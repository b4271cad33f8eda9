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
	# a sink holding each frame 400 ms (longer than vivid takes to refill a
	# requeued buffer, ~280 ms) with budget 2, a null
	# sink beside it; stamps are re-read at release
	run "$VZH/vz-hold-sink" "$d" 50 400 2
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
	# The JSON's percentiles are the timeline's: recomputed here from the
	# per-frame CSV, nearest rank, every key checked against its own.
	python3 - r.json t.csv <<'PY' || fail "JSON percentiles differ from the timeline's"
import csv, json, math, sys
d = json.load(open(sys.argv[1]))
rows = list(csv.DictReader(open(sys.argv[2])))
def rank(v, p):
    return v[max(0, math.ceil(p / 100 * len(v)) - 1)]
for clock, key in (("t_driver_ns", "interval_driver_ms"), ("t_dqbuf_ns", "interval_dqbuf_ms")):
    t = [int(r[clock]) for r in rows]
    iv = sorted((b - a) / 1e6 for a, b in zip(t, t[1:]) if a and b and b > a)
    want = {"p50": 50, "p95": 95, "p99": 99, "p99_9": 99.9}
    got = d[key]
    assert got["n"] == len(iv), (key, got["n"], len(iv))
    for k, p in want.items():
        assert abs(got[k] - rank(iv, p)) < 1e-3, (key, k, got[k], rank(iv, p))
    assert abs(got["max"] - iv[-1]) < 1e-3 and abs(got["min"] - iv[0]) < 1e-3, key
print("percentiles match the timeline")
PY
}

# Nothing the driver flagged as corrupt is ever delivered: a flagged buffer
# is requeued and counted, and no frame in the timeline carries the flag.
test_run_error_flag_never_delivered() {
	local d
	d=$(run_dev)
	"$VZ" run -d "$d" -s 640x480 -r 25 --sink null -n 150 --status --json \
		--timeline-csv t.csv >r.json 2>r.err &
	local pid=$! i
	# press once frames flow (the status line appears each second)
	for ((i = 0; i < 300; i++)); do
		grep -q 'frames |' r.err 2>/dev/null && break
		sleep 0.1
	done
	v4l2-ctl -d "$d" -c inject_v4l2_buf_flag_error=1
	# set -e would end the test on a failing status: keep it
	rc=0
	wait "$pid" || rc=$?
	assert_eq "$rc" 0 "exit status"
	assert_eq "$(json_get r.json '["capture"]["error_frames"]')" 1 error_frames
	assert_eq "$(json_get r.json '["frames"]')" 150 frames
	# V4L2_BUF_FLAG_ERROR is 0x40
	python3 - t.csv <<'PY' || fail "a delivered frame carries V4L2_BUF_FLAG_ERROR"
import csv, sys
bad = [r["sequence"] for r in csv.DictReader(open(sys.argv[1])) if int(r["flags"], 16) & 0x40]
assert not bad, bad
PY
}

# A source that stops delivering is reported within its stall timeout,
# by the pipeline (vzero run) and by vzero capture alike.
test_run_stall_is_reported() {
	local d t0 cmd
	d=$(run_dev)
	vivid_set "$d" percentage_of_dropped_buffers 100
	for cmd in "run --sink null" capture; do
		t0=$(date +%s)
		# shellcheck disable=SC2086
		run "$VZ" $cmd -d "$d" -s 640x480 -r 25 -n 20 --stall-timeout 3 2>err.txt
		cat err.txt
		assert_eq "$rc" 1 "vzero $cmd exit status on a stalled source"
		assert_contains err.txt "stalled"
		assert_le "$(($(date +%s) - t0))" 20 "seconds until vzero $cmd gave up"
	done
	vivid_reset "$d"
}

# Buffer negotiation: a sink provides the buffers (vgem dumb buffers at a
# padded pitch, as a display would), capture writes into them, and a second
# sink gets the same frames.
test_run_sink_provides_buffers() {
	local d
	d=$(run_dev)
	run "$VZH/vz-provide-sink" "$d" 40 128
	[[ $rc == 77 ]] && skip "no DRM node for the provider (vgem not loaded)"
	assert_eq "$rc" 0 "vz-provide-sink exit status"
}

test_run_provided_buffers_to_gstreamer() {
	local d
	d=$(run_dev)
	run "$VZH/vz-provide-sink" "$d" 20 256 --sink \
		"gst:videoconvert ! video/x-raw,format=RGB ! pngenc ! multifilesink location=f%03d.png"
	[[ $rc == 77 ]] && skip "no DRM node for the provider (vgem not loaded)"
	assert_eq "$rc" 0 "vz-provide-sink exit status"
	local n
	n=$(find . -name 'f*.png' | wc -l)
	assert_ge "$n" 5 "PNG files from GStreamer"
	# GStreamer read the padded frames through its video meta: the stamps
	# decode from what it wrote.
	run "$VZH/vz-gst-check" f*.png
	assert_eq "$rc" 0 "stamps in GStreamer's PNGs"
}

test_run_provided_buffers_again_after_source_change() {
	local d
	d=$(run_dev)
	run "$VZH/vz-provide-sink" "$d" 150 64 --change
	vivid_reset "$d"
	v4l2-ctl -d "$d" -c y_cbcr_encoding=0 || true
	[[ $rc == 77 ]] && skip "no DRM node for the provider (vgem not loaded)"
	assert_eq "$rc" 0 "vz-provide-sink --change exit status"
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

# SIGTERM and Ctrl-C end a run with its report, JSON included, also when a
# sink runs threads of its own and has to stop them (GStreamer's streaming
# thread; GLib starts its threads with signals blocked, and vzero blocks
# them before opening anything).
test_run_signals_with_a_threaded_sink_report() {
	local d sig
	d=$(run_dev)
	for sig in TERM INT; do
		run_ends_with_report_on "$sig" -d "$d" -s 640x480 -r 25 --sink gst:fakesink
	done
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

# The plain build, where mlockall really locks and really fails: a failure
# is reported as NOT applied, a success with the VmLck it locked.
test_run_mlock_truth_plain_build() {
	local d vz=${VZ_PLAIN_BUILD:-}/tools/vzero
	d=$(run_dev)
	[[ -n ${VZ_PLAIN_BUILD:-} && -x $vz ]] ||
		fail "no plain (non-ASan) build given (VZ_PLAIN_BUILD): tools/run-tests passes build/"
	"$vz" run -d "$d" --sink null -n 20 --mlock --quiet --json >ok.json || fail "run --mlock failed"
	assert_contains "$(json_get ok.json '["realtime"]["mlock"]')" "mlockall: ok, VmLck"
	command -v setpriv >/dev/null || skip "setpriv (util-linux) not available"
	chmod 0666 "$d"
	prlimit --memlock=65536:65536 setpriv --reuid=65534 --regid=65534 --clear-groups \
		"$vz" run -d "$d" --sink null -n 20 --mlock --quiet --json >no.json ||
		fail "run as nobody failed"
	assert_contains "$(json_get no.json '["realtime"]["mlock"]')" "PARTIAL"
	assert_contains "$(json_get no.json '["realtime"]["mlock"]')" "NOT locked"
}

# --mlock in a memory cgroup too small to hold the process pinned: root
# passes RLIMIT_MEMLOCK, and a plain mlockall() pins every mapping, which
# the cgroup cannot reclaim -- OOM-killed (seen: exit 137 at memory.max
# 8 MiB before the telemetry ring, 16 MiB, was prefaulted).  The cgroup
# here is sized from the run itself: what it peaks at unlocked, plus 2 MiB
# -- less than locking everything and vzero's 4 MiB margin beside it.
# vzero must lock what fits, say so in one line at start and in the
# report, and run.  (What this guards is the message and the partial
# lock: whether a plain mlockall is OOM-killed at this size depends on how
# much of the process is resident already.)
test_run_mlock_memory_cgroup_plain_build() {
	local d vz=${VZ_PLAIN_BUILD:-}/tools/vzero cg=/sys/fs/cgroup/vzm-mlock peak
	d=$(run_dev)
	[[ -n ${VZ_PLAIN_BUILD:-} && -x $vz ]] ||
		fail "no plain (non-ASan) build given (VZ_PLAIN_BUILD): tools/run-tests passes build/"
	if [[ ! -e /sys/fs/cgroup/cgroup.controllers ]]; then
		mount -t cgroup2 none /sys/fs/cgroup || fail "could not mount cgroup2 on /sys/fs/cgroup"
	fi
	grep -qw memory /sys/fs/cgroup/cgroup.controllers ||
		skip "this kernel has no memory cgroup controller"
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control
	trap 'rmdir /sys/fs/cgroup/vzm-mlock 2>/dev/null || true' EXIT
	mkdir "$cg"
	echo $((256 << 20)) >"$cg/memory.max"
	(
		echo "$BASHPID" >"$cg/cgroup.procs"
		exec "$vz" run -d "$d" --sink null -n 20 --quiet --json >plain.json
	) || fail "vzero run in a 256 MiB cgroup failed"
	peak=$(cat "$cg/memory.peak")
	rmdir "$cg" && mkdir "$cg"
	echo $((peak + (2 << 20))) >"$cg/memory.max"
	echo "unlocked the run peaks at $((peak >> 10)) kB: memory.max $(((peak >> 10) + 2048)) kB" >&2
	rc=0
	(
		echo "$BASHPID" >"$cg/cgroup.procs"
		exec "$vz" run -d "$d" --sink null -n 20 --mlock --quiet --json >cg.json 2>cg.err
	) || rc=$?
	cat cg.err "$cg/memory.events"
	assert_eq "$rc" 0 "vzero run --mlock in a cgroup of its unlocked peak + 2 MiB (137: OOM-killed)"
	assert_eq "$(awk '$1 == "oom_kill" { print $2 }' "$cg/memory.events")" 0 "OOM kills in the cgroup"
	assert_eq "$(grep -c -- '--mlock:' cg.err)" 1 "one line about the lock at start"
	assert_contains cg.err "memory cgroup /vzm-mlock"
	assert_contains cg.err "NOT locked"
	assert_contains cg.err "memory.max"
	assert_contains "$(json_get cg.json '["realtime"]["mlock"]')" "PARTIAL"
	# outside the cgroup the same run locks everything
	"$vz" run -d "$d" --sink null -n 20 --mlock --quiet --json >all.json 2>all.err ||
		fail "vzero run --mlock outside the cgroup failed"
	assert_contains "$(json_get all.json '["realtime"]["mlock"]')" "mlockall: ok, VmLck"
	[[ ! -s all.err ]] || fail "a full lock printed: $(cat all.err)"
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
	need_vivid 0 >/dev/null
	run "$VZ" run -d /dev/video99 --sink null -n 1
	assert_ne "$rc" 0 "exit status"
	"$VZ" run -d /dev/video99 --sink null -n 1 2>err.txt || true
	cat err.txt
	assert_eq "$(wc -l <err.txt)" 1 "error lines"
	assert_contains err.txt "/dev/video99"
	# Capture devices exist: the hint is the driver and the container, not
	# vivid (that is only for machines with none, see test-host-cli.sh).
	assert_contains err.txt "dmesg"
	grep -q "modprobe vivid" err.txt && fail "suggests vivid although capture devices exist"
	return 0
}

# A sink spec that cannot work is a usage error, found before the device is
# even opened.
test_run_bad_sink_spec_before_device() {
	local spec
	for spec in bogus "gst:nosuchelement" "gst:videoconvert ! ! fakesink" "gst:"; do
		run "$VZ" run -d /dev/video99 --sink "$spec" -n 1 2>err.txt
		cat err.txt
		assert_eq "$rc" 2 "exit status for --sink $spec"
		assert_contains err.txt "--sink $spec"
		grep -q "no such device" err.txt && fail "--sink $spec: the device was opened first"
	done
	return 0
}

test_run_help_lists_each_option_once() {
	"$VZ" run --help >help.txt
	local o
	for o in --json --timeline-csv --buffers --policy --stall-timeout --reconnect; do
		assert_eq "$(grep -c -- "^ *$o\b\|^  -[a-z], $o\b" help.txt)" 1 "lines introducing $o"
	done
	assert_contains help.txt "(default 8;"
	"$VZ" capture --help >chelp.txt
	assert_contains chelp.txt "(default 4;"
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
	# set -e would end the test on a failing status: keep it
	rc=0
	wait "$pid" || rc=$?
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

# Each sink kind has a default policy (files and muxers record, the rest
# live); --policy after a --sink overrides it.
test_run_policy_defaults_and_override() {
	local d
	d=$(run_dev)
	run "$VZ" run -d "$d" -s 320x180 -r 25 -n 10 --json --quiet \
		--sink null \
		--sink gst:"matroskamux ! filesink location=a.mkv" \
		--sink gst:"matroskamux ! filesink location=b.mkv" --policy live \
		--sink null --policy record >p.json
	assert_eq "$rc" 0 "exit status"
	assert_eq "$(json_get p.json 'list(s["policy"] for s in d["sinks"])')" \
		"['live', 'record', 'live', 'record']" "policies"
	run "$VZ" run -d "$d" --sink null --policy sometimes -n 1
	assert_eq "$rc" 2 "a bad --policy"
	run "$VZ" run -d "$d" --policy record --sink null -n 1
	assert_eq "$rc" 2 "--policy before any --sink"
}
