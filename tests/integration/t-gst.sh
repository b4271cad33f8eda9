# The GStreamer sink against vivid: zero-copy proof, frame identity through
# videoconvert + PNG, budget drops behind a slow downstream, error reports,
# EOS finalizing a file.  Sourced by run (lib.sh first); one function per test.

# JSON sink 0 field.
sink0() { # file field
	json_get "$1" "[\"sinks\"][0][\"$2\"]"
}

# Fails unless every frame the gst sink got came back and the appsrc probe
# saw vzero's own fds in all of them.
assert_gst_zero_copy() { # stats.json
	local f=$1 frames released proof
	frames=$(sink0 "$f" frames)
	released=$(sink0 "$f" released)
	proof=$(sink0 "$f" proof)
	echo "sink: frames=$frames released=$released proof: $proof"
	assert_ge "$frames" 1 "frames the gst sink got"
	assert_eq "$released" "$frames" "frames released by the gst sink"
	assert_eq "$(sink0 "$f" bytes_copied)" 0 "bytes copied by the gst sink"
	assert_eq "$(sink0 "$f" drops_failure)" 0 "gst sink failures"
	assert_contains "$proof" "saw vzero's DMA-buf fds in $frames/$frames buffers, 0 copies"
}

test_gst_fakesink_zero_copy() {
	local dev
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	run "$VZ" run -d "$dev" -f YUYV -s 640x480 --sink gst:"fakesink enable-last-sample=false" \
		--budget 4 -n 100 --stats-json s.json
	assert_eq "$rc" 0 "exit status"
	assert_gst_zero_copy s.json
	assert_ge "$(sink0 s.json frames)" 90 "frames through fakesink (of 100)"
	assert_eq "$(json_get s.json '["bytes_copied"]')" 0 "bytes copied in the whole run"
	assert_contains "$(sink0 s.json proof)" "fakesink0 received the DMA-buf itself"
	cp s.json "$VZ_RESULTS/gst-fakesink.json"
}

# NM12: two memory planes, two DMA-bufs per GstBuffer (vivid instance 1 is
# multi-planar in the suite's VM).
test_gst_multiplanar() {
	local dev
	dev=$(vivid_cap 1) || skip "no vivid instance 1 (run with --multiplanar 1,2)"
	v4l2-ctl -d "$dev" --list-formats 2>/dev/null | grep -q "'NM12'" ||
		skip "vivid instance 1 is not multi-planar here (run with --multiplanar 1,2)"
	vivid_reset "$dev"
	run "$VZ" run -d "$dev" -f NM12 -s 640x480 --process stamp \
		--sink gst:"fakesink enable-last-sample=false" --budget 4 -n 50 --stats-json s.json
	assert_eq "$rc" 0 "exit status"
	assert_gst_zero_copy s.json
}

# Frames keep their identity through GStreamer: the stamp each carries is
# read back from the PNGs, in order.
test_gst_stamp_png() {
	local dev files n frames
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	run "$VZ" run -d "$dev" -f YUYV -s 640x480 --process stamp \
		--sink gst:"videoconvert ! pngenc snapshot=false compression-level=1 ! multifilesink location=f%04d.png" \
		--budget 4 -n 40 --stats-json s.json
	assert_eq "$rc" 0 "exit status"
	assert_gst_zero_copy s.json
	frames=$(sink0 s.json frames)
	files=(f*.png)
	n=${#files[@]}
	[[ -e ${files[0]} ]] || fail "no PNG written"
	assert_eq "$n" "$frames" "PNG files vs frames the gst sink got"
	run "$VZH/vz-gst-check" "${files[@]}"
	assert_eq "$rc" 0 "vz-gst-check (stamps readable, sequence increasing)"
	cp "${files[0]}" "$VZ_RESULTS/gst-stamp-first.png"
	assert_contains "$(sink0 s.json proof)" "not a vzero copy"
}

# A downstream slower than the camera: the pipeline drops frames for this
# sink by budget instead of queueing or copying, and the run ends on time.
test_gst_slow_downstream() {
	local dev t0 t1
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	t0=$(date +%s)
	run "$VZ" run -d "$dev" -f YUYV -s 640x480 -r 25 \
		--sink gst:"queue leaky=no max-size-buffers=0 max-size-time=0 max-size-bytes=0 ! identity sleep-time=200000 ! fakesink enable-last-sample=false" \
		--budget 2 -t 4 --stats-json s.json
	t1=$(date +%s)
	assert_eq "$rc" 0 "exit status"
	assert_gst_zero_copy s.json
	assert_ge "$(sink0 s.json drops_budget)" 10 "budget drops for the slow gst sink"
	assert_le "$(sink0 s.json inflight_hwm)" 2 "frames in flight in the gst sink"
	# 4 s of capture, EOS through 2 held frames at 200 ms each, start-up
	assert_le "$((t1 - t0))" 20 "wall time of a 4 s run (s)"
}

assert_fails_with() { # what needle...
	local what=$1
	shift
	assert_eq "$rc" 1 "exit status ($what)"
	for needle in "$@"; do
		assert_contains err.txt "$needle"
	done
	if grep -q 'Segmentation\|Assertion\|CRITICAL' err.txt; then
		fail "$what: crashed or GLib critical"
	fi
}

test_gst_errors() {
	local dev
	dev=$(need_vivid 0)
	vivid_reset "$dev"

	run "$VZ" run -d "$dev" --sink gst:"nosuchelement" -n 10 2>err.txt
	assert_fails_with "missing element" 'no element "nosuchelement"' "gst-inspect-1.0"

	run "$VZ" run -d "$dev" --sink gst:"videoconvert ! ! fakesink" -n 10 2>err.txt
	assert_fails_with "unparsable description" "cannot parse" "syntax error"

	run "$VZ" run -d "$dev" -f YUYV --sink gst:"video/x-raw,format=RGB16 ! fakesink" -n 10 \
		2>err.txt
	assert_fails_with "caps that don't negotiate" "capsfilter" "RGB16" "YUY2"

	# An element failing mid-stream stops the run cleanly with statistics.
	run "$VZ" run -d "$dev" -f YUYV \
		--sink gst:"identity error-after=10 ! fakesink enable-last-sample=false" -n 200 \
		--stats-json s.json 2>err.txt
	assert_fails_with "element failing mid-stream" "gst: identity0: " "Failed after iterations"
	[[ -s s.json ]] || fail "no statistics after a mid-stream failure"
	assert_eq "$(sink0 s.json released)" "$(sink0 s.json frames)" "frames released"
	assert_le "$(sink0 s.json frames)" 100 "frames pushed before the failure stopped the run"
}

# EOS on a normal stop lets matroskamux finish the file; GStreamer reads it
# back with every frame the sink got, at the camera's pace.
test_gst_eos_matroska() {
	local dev frames n first last span
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	run "$VZ" run -d "$dev" -f YUYV -s 640x480 -r 25 \
		--sink gst:"matroskamux ! filesink location=x.mkv" --budget 4 -n 50 --stats-json s.json
	assert_eq "$rc" 0 "exit status"
	assert_gst_zero_copy s.json
	frames=$(sink0 s.json frames)
	[[ -s x.mkv ]] || fail "x.mkv not written"
	if command -v gst-discoverer-1.0 >/dev/null; then
		run gst-discoverer-1.0 x.mkv
		assert_eq "$rc" 0 "gst-discoverer-1.0 x.mkv"
	fi
	gst-launch-1.0 -v filesrc location=x.mkv ! matroskademux ! identity silent=false ! \
		fakesink >demux.txt 2>&1 || { cat demux.txt >&2; fail "x.mkv does not demux"; }
	grep 'chain ' demux.txt | sed -n 's/.*pts: \([0-9:.]*\),.*/\1/p' >pts.txt
	n=$(wc -l <pts.txt)
	assert_eq "$n" "$frames" "frames in x.mkv vs frames the gst sink got"
	first=$(head -1 pts.txt) last=$(tail -1 pts.txt)
	span=$(awk -v a="$first" -v b="$last" 'function s(t, p) { split(t, p, ":");
		return p[1] * 3600 + p[2] * 60 + p[3] } BEGIN { printf "%d", (s(b) - s(a)) * 1000 }')
	echo "x.mkv: $n frames, pts $first .. $last ($span ms)"
	# 50 frames at 25 fps: 49 intervals of 40 ms, less what the budget dropped at the ends
	assert_ge "$span" 1500 "pts span of x.mkv (ms)"
	assert_le "$span" 2200 "pts span of x.mkv (ms)"
	cp x.mkv "$VZ_RESULTS/gst-eos.mkv"
}
