# The fault matrix: every vivid fault, injected one after another into ONE
# `vzero run` per sink kind (gst, drm, rtp, ipc) and per pair of sinks
# (gst+rtp in UYVY, gst+drm in XR24), two runs at a time on vivid
# instances 0 and 2.  A run goes on through all of them; after each run the
# accounting invariant holds (capture: good + driver drops + error frames =
# the sequence numbers the driver spanned, summed over its streaming
# sessions; each sink: what it took + what it lost, by cause = what the
# pipeline offered it), the process holds as many fds and DMA-buf/V4L2
# mappings after the faults as before, and the receivers (rtp-check, an
# ipc client checking every frame) are content.  Sourced by run after
# lib.sh.

source "$(dirname "${BASH_SOURCE[0]}")/t-faults.sh"
source "$(dirname "${BASH_SOURCE[0]}")/t-recover.sh"

# fds, DMA-buf and V4L2 mappings, all mappings, threads of process PID.
_vzm_counts() { # pid
	local p=/proc/$1
	echo "fds=$(find "$p/fd" -mindepth 1 | wc -l) bufmaps=$(grep -c -e dmabuf -e /dev/video "$p/maps") maps=$(wc -l <"$p/maps") threads=$(find "$p/task" -mindepth 1 -maxdepth 1 | wc -l)"
}

# Frames so far, from the last status line of the run's stderr.
_vzm_frames() { # errfile
	tr '\r' '\n' <"$1" | grep -oE '^ *[0-9]+ frames \|' | tail -1 | grep -oE '[0-9]+' || echo 0
}

_vzm_wait_frames() { # errfile more-frames what
	local base want i
	base=$(_vzm_frames "$1")
	want=$((base + $2))
	for ((i = 0; i < 900; i++)); do
		(($(_vzm_frames "$1") >= want)) && return 0
		kill -0 "$_vzm_pid" 2>/dev/null || break
		sleep 0.1
	done
	tr '\r' '\n' <"$1" | tail -5 >&2
	fail "no $2 new frames $3 (at $(_vzm_frames "$1"))"
}

_vzm_press() { # dev control [value]
	v4l2-ctl -d "$1" -c "$2=${3:-1}" || fail "could not set vivid's $2"
	echo "# $(date +%T.%N | cut -c1-12) $2=${3:-1}" >&2
}

# Runs the whole fault sequence against `vzero run -d DEV -f FOURCC` (vivid
# instance I) with the given --sink arguments; leaves P.json / P.err and
# the samples in P.counts, the exit status in P.rc.
_vzm_run() { # instance prefix fourcc sink-args...
	local inst=$1 p=$2 fcc=$3 dev pid t0 i
	shift 3
	dev=$(need_vivid "$inst")
	vivid_reset "$dev"
	# Both wraps arm at STREAMON: the sequence wraps 128 frames in, the
	# 64-bit timestamp 16 s in.
	vivid_set "$dev" wrap_sequence_number 1
	vivid_set "$dev" wrap_timestamp 1
	"$VZ" run -d "$dev" -f "$fcc" -s 320x180 -r 25 --reconnect=30 --stall-timeout 8 --status \
		--json "$@" >"$p.json" 2>"$p.err" &
	pid=$!
	_vzm_pid=$pid
	_vzr_wait_streaming "$p.err"
	t0=$(date +%s)
	_vzm_wait_frames "$p.err" 10 "after the start"
	# the ipc client's connection is part of the start, not a leak
	if [[ -e $p.probe.pid ]]; then
		wait_until 300 test -e "$p.probe.ready" || fail "the ipc client never connected"
		_vzm_wait_frames "$p.err" 5 "with the client connected"
	fi
	echo "start $(_vzm_counts $pid)" >"$p.counts"

	_vzm_press "$dev" percentage_of_dropped_buffers 30
	_vzm_wait_frames "$p.err" 20 "with 30% of buffers dropped"
	_vzm_press "$dev" percentage_of_dropped_buffers 0
	_vzm_press "$dev" inject_v4l2_buf_flag_error
	_vzm_wait_frames "$p.err" 5 "after an error-flagged buffer"
	_vzm_press "$dev" inject_vidioc_qbuf_error
	_vzm_wait_frames "$p.err" 10 "after a refused QBUF"
	# the timestamp wraps 16 s after STREAMON; wait it out, with frames
	for ((i = 0; i < 300 && $(date +%s) - t0 < 18; i++)); do
		sleep 0.2
	done
	_vzm_wait_frames "$p.err" 5 "across the timestamp wrap"
	echo "wraps $(_vzm_counts $pid)" >>"$p.counts"

	# the restart's STREAMON is refused once, then it is retried
	_vzm_press "$dev" inject_vidioc_streamon_error
	_vzm_press "$dev" inject_fatal_streaming_error
	_vzm_wait_frames "$p.err" 15 "after a fatal streaming error and a refused STREAMON"
	echo "restart $(_vzm_counts $pid)" >>"$p.counts"

	_vzm_press "$dev" disconnect
	wait_until 300 grep -q 'the device is back' "$p.err" ||
		fail "the device never came back ($(tr '\r' '\n' <"$p.err" | tail -3))"
	_vzm_wait_frames "$p.err" 15 "after the reconnect"
	echo "reconnect $(_vzm_counts $pid)" >>"$p.counts"

	kill -INT "$pid"
	local r=0
	wait "$pid" || r=$?
	echo "$r" >"$p.rc"
	vivid_reset "$(_vzf_wait_node "$inst" 15)"
	tr '\r' '\n' <"$p.err" | grep -v '^ *[0-9]* frames |' >&2 || true
	cat "$p.counts" >&2
}

# Every fault counted, every frame accounted for, nothing leaked.
_vzm_check() { # prefix
	local p=$1
	assert_eq "$(cat "$p.rc")" 0 "vzero run's exit status after the faults"
	grep -q stalled "$p.err" && fail "the run stalled"
	python3 - "$p.json" "$p.counts" <<'PY' || fail "the faults are not accounted for"
import json, sys
r = json.load(open(sys.argv[1]))
c, d = r["capture"], r["drops"]
print("capture:", c)
print("drops:", d)
for s in r["sinks"]:
    print("sink", s["name"], {k: s[k] for k in ("frames", "released", "drops_budget",
          "drops_failure", "drops_ended", "ended")})
# every fault seen and counted where it belongs
need = {"driver_drops": 1, "error_frames": 1, "qbuf_errors": 1, "streamon_errors": 1,
        "restarts": 1, "seq_wraps": 1, "ts_jumps": 1, "disconnects": 1, "reconnects": 1,
        "sessions": 3}
for k, v in need.items():
    assert c[k] >= v, f"capture.{k} = {c[k]}, expected at least {v}"
assert c["disconnects"] == 1 and c["reconnects"] == 1, c
# capture: every sequence number the driver spanned, per session, is a
# good frame, a driver drop or an error frame
assert c["frames"] + c["driver_drops"] + c["error_frames"] == c["seq_span"], \
    f'{c["frames"]} + {c["driver_drops"]} + {c["error_frames"]} != seq_span {c["seq_span"]}'
assert r["frames"] == c["frames"], (r["frames"], c["frames"])
assert d["driver_gap"] == c["driver_drops"], (d, c)
assert d["error_flag"] == c["error_frames"], (d, c)
# each sink: what it took and what it lost (by cause) is what it was offered
for s in r["sinks"]:
    got = s["frames"] + s["drops_budget"] + s["drops_failure"] + s["drops_ended"]
    assert got == r["frames"], f'{s["name"]}: {got} accounted of {r["frames"]} offered'
    assert s["released"] == s["frames"], f'{s["name"]}: released {s["released"]} of {s["frames"]}'
    assert not s["ended"], f'{s["name"]} ended: {s["ended"]}'
# nothing leaked across the faults: the same fds and buffer mappings as
# after the start (the ipc client connected), whatever the restarts and
# the reconnect reallocated
rows = [dict(kv.split("=") for kv in l.split()[1:]) for l in open(sys.argv[2])]
for k in ("fds", "bufmaps"):
    vals = [int(x[k]) for x in rows]
    assert len(set(vals)) == 1, f"{k} changed across the faults: {vals}"
PY
}

# A receiver for the rtp sink on PORT: `vzero rtp-check` until _vzm_rx_check.
_vzm_rx() { # prefix port
	"$VZ" rtp-check "rtp://127.0.0.1:$2" --duration 0 --json "$1.rx.json" >"$1.rx.txt" 2>"$1.rx.err" &
	echo $! >"$1.rx.pid"
}

# The receiver got whole frames, from every session.
_vzm_rx_check() { # prefix
	local r=0 pid
	pid=$(cat "$1.rx.pid")
	kill -INT "$pid" 2>/dev/null || echo "rtp-check had ended by itself" >&2
	wait "$pid" || r=$?
	cat "$1.rx.err" >&2
	assert_eq "$r" 0 "rtp-check's exit status"
	assert_ge "$(json_get "$1.rx.json" '["frames"]')" 300 "frames rtp-check received whole"
}

# A client for the ipc sink that checks every frame (sequence, hashes).
_vzm_probe() { # prefix socket
	(
		wait_until 600 test -S "$2" || exit 1
		exec "$VZ" probe "ipc:$2" --json --ready "$1.probe.ready" >"$1.probe.json" 2>"$1.probe.err"
	) &
	echo $! >"$1.probe.pid"
}

_vzm_probe_check() { # prefix
	local r=0
	wait "$(cat "$1.probe.pid")" || r=$?
	cat "$1.probe.err" >&2
	assert_eq "$r" 0 "vzero probe's exit status"
	assert_ge "$(json_get "$1.probe.json" '["probe"]["frames"]')" 300 "frames the client checked"
	assert_eq "$(json_get "$1.probe.json" '["probe"]["sequence_backwards"]')" 0 \
		"sequences backwards at the client"
}

# One sink set, start to finish: receivers, the faults, the checks.
_vzm_case() { # instance prefix fourcc sink-kinds (gst,drm,rtp:PORT,ipc)
	local inst=$1 p=$2 fcc=$3 k args=() rx=() pr=""
	for k in ${4//,/ }; do
		case $k in
		gst) args+=(--sink gst:"fakesink sync=false") ;;
		drm) args+=(--sink drm:vkms) ;;
		rtp:*)
			args+=(--sink "rtp://127.0.0.1:${k#rtp:}")
			_vzm_rx "$p" "${k#rtp:}"
			rx=("$p") ;;
		ipc)
			args+=(--sink "ipc:$PWD/$p.sock")
			_vzm_probe "$p" "$PWD/$p.sock"
			pr=$p ;;
		esac
	done
	_vzm_run "$inst" "$p" "$fcc" "${args[@]}"
	_vzm_check "$p"
	[[ ${#rx[@]} == 0 ]] || _vzm_rx_check "$p"
	[[ -z $pr ]] || _vzm_probe_check "$p"
	echo "$p: every fault accounted for" >&2
}

# Two cases at once, on vivid instances 0 and 2 (the guest has two CPUs and
# the runs mostly wait): half the suite time of one after the other.
_vzm_two() { # case-args-A -- case-args-B
	local a=() b=() ra=0 rb=0
	while [[ $1 != -- ]]; do a+=("$1"); shift; done
	shift
	b=("$@")
	trap 'kill $(jobs -p) 2>/dev/null || true' EXIT
	(_vzm_case 0 "${a[@]}") >A.log 2>&1 &
	local pa=$!
	(_vzm_case 2 "${b[@]}") >B.log 2>&1 &
	local pb=$!
	wait "$pa" || ra=$?
	wait "$pb" || rb=$?
	sed 's/^/A: /' A.log
	sed 's/^/B: /' B.log
	[[ $ra == 0 ]] || fail "case A (${a[*]}) failed"
	[[ $rb == 0 ]] || fail "case B (${b[*]}) failed"
}

test_matrix_gst_and_rtp() {
	_vzm_two gst UYVY gst -- rtp UYVY rtp:5004
}

test_matrix_ipc_and_drm() {
	need_drm vkms >/dev/null
	_vzm_two ipc UYVY ipc -- drm XR24 drm
}

test_matrix_pairs_gst_rtp_and_gst_drm() {
	need_drm vkms >/dev/null
	_vzm_two gstrtp UYVY gst,rtp:5008 -- gstdrm XR24 gst,drm
}
