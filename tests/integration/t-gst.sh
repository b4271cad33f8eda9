# The GStreamer sink against vivid: vzero's memory followed through every
# element (copies counted by element and cause, conversions apart), frame
# identity through videoconvert + PNG, budget drops behind a slow
# downstream, error reports, EOS finalizing a file.  Sourced by run (lib.sh
# first); one function per test.

# JSON sink 0 field.
sink0() { # file field
	json_get "$1" "[\"sinks\"][0][\"$2\"]"
}

# Fails unless every frame the gst sink got came back, appsrc sent vzero's
# own memory in all of them, every fd GStreamer got was read-only, and no
# element copied (conversions may, they are not copies).
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
	assert_contains "$proof" "appsrc sent vzero's own memory in $frames/$frames"
	python3 - "$f" <<'PY' || fail "copy sites or read-only fds wrong"
import json, re, sys
s = json.load(open(sys.argv[1]))["sinks"][0]
copies = [c for c in s["copy_sites"] if not c["conversion"]]
assert not copies, copies
m = re.search(r"fds read-only (\d+)/(\d+)", s["proof"])
assert m and m.group(1) == m.group(2) and int(m.group(2)) > 0, s["proof"]
PY
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
	local frames
	frames=$(sink0 s.json frames)
	assert_contains "$(sink0 s.json proof)" "fakesink0 got vzero's memory in $frames/$frames"
	assert_eq "$(json_get s.json 'len(d["sinks"][0]["copy_sites"])')" 0 "copy sites"
	cp s.json "$VZ_RESULTS/gst-fakesink.json"
}

# NM12: two memory planes, two DMA-bufs per GstBuffer (vivid instance 1 is
# multi-planar in the suite's VM).  Its strides are not GStreamer's
# defaults, so what reads it must take GstVideoMeta: videoconvert does, and
# the stamps decoded from its PNGs prove it read the planes right.
test_gst_multiplanar() {
	local dev
	dev=$(vivid_cap 1) || skip "no vivid instance 1 (run with --multiplanar 1,2)"
	v4l2-ctl -d "$dev" --list-formats 2>/dev/null | grep -q "'NM12'" ||
		skip "vivid instance 1 is not multi-planar here (run with --multiplanar 1,2)"
	vivid_reset "$dev"
	run "$VZ" run -d "$dev" -f NM12 -s 640x480 --process stamp \
		--sink gst:"videoconvert ! video/x-raw,format=RGB ! pngenc compression-level=1 ! multifilesink location=m%04d.png" \
		--budget 4 -n 20 --stats-json s.json
	assert_eq "$rc" 0 "exit status"
	assert_gst_zero_copy s.json
	run "$VZH/vz-gst-check" m*.png
	assert_eq "$rc" 0 "stamps read back from multi-planar frames"
}

# vzero's memory followed through passthrough elements: nothing to count.
test_gst_passthrough_counts_nothing() {
	local dev
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	run "$VZ" run -d "$dev" -f YUYV -s 640x480 --budget 4 -n 50 --stats-json s.json \
		--sink gst:"queue ! tee ! capsfilter caps=video/x-raw ! identity ! fakesink enable-last-sample=false" \
		>report.txt
	assert_eq "$rc" 0 "exit status"
	assert_gst_zero_copy s.json
	assert_eq "$(json_get s.json 'len(d["sinks"][0]["copy_sites"])')" 0 "copy sites"
	assert_contains report.txt "copied:     0 B/frame (zero-copy)"
	cp report.txt "$VZ_RESULTS/gst-passthrough-report.txt"
}

# An in-place filter on vzero's read-only memory: GStreamer copies every
# frame, and the report says who, how much and what to do about it.
test_gst_inplace_filter_copy_counted() {
	local dev
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	run "$VZ" run -d "$dev" -f YUYV -s 640x480 --budget 4 -n 40 --stats-json s.json \
		--sink gst:"videobalance saturation=0.5 ! fakesink enable-last-sample=false" >report.txt
	assert_eq "$rc" 0 "exit status"
	cat report.txt
	python3 - s.json <<'PY' || fail "the copy was not accounted for"
import json, sys
d = json.load(open(sys.argv[1]))
s = d["sinks"][0]
sites = [c for c in s["copy_sites"] if not c["conversion"]]
assert len(sites) == 1, s["copy_sites"]
c = sites[0]
assert c["element"].startswith("videobalance"), c
assert c["events"] == s["frames"], (c, s["frames"])
assert abs(c["bytes_per_frame"] - 640 * 480 * 2) < 1, c
assert s["bytes_copied"] == c["bytes"] and d["bytes_copied"] >= c["bytes"], s
assert "--process" in s["advice"] and c["element"] in s["advice"], s["advice"]
PY
	assert_contains report.txt "COPY       videobalance"
	assert_contains report.txt "NOT zero-copy"
	cp report.txt "$VZ_RESULTS/gst-copying-report.txt"
}

# A converter makes new frames of another format: a conversion, reported as
# one, not a copy.
test_gst_conversion_is_not_a_copy() {
	local dev
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	run "$VZ" run -d "$dev" -f YUYV -s 640x480 --budget 4 -n 30 --stats-json s.json \
		--sink gst:"videoconvert ! video/x-raw,format=RGB ! fakesink enable-last-sample=false" >report.txt
	assert_eq "$rc" 0 "exit status"
	assert_gst_zero_copy s.json
	python3 - s.json <<'PY' || fail "the conversion was not reported"
import json, sys
s = json.load(open(sys.argv[1]))["sinks"][0]
conv = [c for c in s["copy_sites"] if c["conversion"]]
assert len(conv) == 1 and conv[0]["element"].startswith("videoconvert"), s["copy_sites"]
assert "RGB" in conv[0]["reason"], conv
PY
	assert_contains report.txt "conversion videoconvert"
	cp report.txt "$VZ_RESULTS/gst-conversion-report.txt"
}

# A copy inside a sink element (no src pad to watch): v4l2sink writing into
# vivid's video output copies each frame into its own MMAP buffers, which
# GStreamer's GST_PERFORMANCE log shows; vzero counts it for v4l2sink.
test_gst_copy_inside_a_sink_element() {
	local dev out n
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	out=
	for n in ${VZ_SYSFS_V4L:-/sys/class/video4linux}/video*; do
		[[ $(<"$n/name") == vivid-000-vid-out ]] && out=/dev/${n##*/}
	done
	[[ -n $out ]] || skip "vivid made no video output node here (node_types)"
	gst-inspect-1.0 v4l2sink >/dev/null 2>&1 || fail "v4l2sink is missing (gstreamer1.0-plugins-good)"
	# vivid's HDMI output takes 640x480 progressive in Rec. 709: capture in
	# Rec. 709 too, so the caps meet without a converter in between
	v4l2-ctl -d "$out" -o 1 >/dev/null
	v4l2-ctl -d "$out" --set-fmt-video-out=width=640,height=480,pixelformat=YUYV,field=none
	v4l2-ctl -d "$dev" -c colorspace=1
	run "$VZ" run -d "$dev" -f YUYV -s 640x480 --budget 4 -n 30 --stats-json s.json \
		--sink gst:"v4l2sink device=$out io-mode=mmap sync=false" >report.txt
	v4l2-ctl -d "$dev" -c colorspace=2
	cat report.txt
	assert_eq "$rc" 0 "exit status"
	python3 - s.json <<'PY' || fail "the copy inside v4l2sink was not counted once per frame"
import json, re, sys
s = json.load(open(sys.argv[1]))["sinks"][0]
sites = [c for c in s["copy_sites"] if not c["conversion"]]
print(sites)
assert len(sites) == 1 and sites[0]["element"].startswith("v4l2sink"), s["copy_sites"]
c = sites[0]
assert "inside the sink" in c["reason"], c
# one copy per buffer of vzero's that reached it, a frame's size each
got = int(re.search(r"v4l2sink\d+ got vzero's memory in (\d+)/", s["proof"]).group(1))
assert got >= 5 and c["events"] == got, (c, got, s["proof"])
assert c["bytes"] == c["events"] * 640 * 480 * 2, c
assert s["bytes_copied"] == c["bytes"], s
PY
}

# Strides GStreamer would not assume (a provider's padded pitch) into an
# element that does not take GstVideoMeta: refused before any frame reaches
# it, naming the element; through videoconvert they are read right
# (test_run_provided_buffers_to_gstreamer).
test_gst_padded_strides_refused_without_video_meta() {
	local dev
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	run "$VZH/vz-provide-sink" "$dev" 20 128 --sink "gst:fakesink enable-last-sample=false" \
		2>err.txt
	[[ $rc == 77 ]] && skip "no DRM node for the provider (vgem not loaded)"
	cat err.txt
	assert_eq "$rc" 1 "exit status"
	assert_contains err.txt "fakesink0 does not take GstVideoMeta"
	assert_contains err.txt "1408 bytes per line"
	assert_contains err.txt "-s 704x480"
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
	python3 - s.json <<'PY' || fail "videoconvert and pngenc not reported as conversions"
import json, sys
s = json.load(open(sys.argv[1]))["sinks"][0]
names = sorted(c["element"] for c in s["copy_sites"] if c["conversion"])
assert any(n.startswith("videoconvert") for n in names), s["copy_sites"]
PY
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

	# A description that cannot work is a usage error (exit 2), found
	# before the device is opened.
	run "$VZ" run -d "$dev" --sink gst:"nosuchelement" -n 10 2>err.txt
	assert_eq "$rc" 2 "exit status (missing element)"
	assert_contains err.txt 'no element "nosuchelement"'
	assert_contains err.txt "gst-inspect-1.0"

	run "$VZ" run -d "$dev" --sink gst:"videoconvert ! ! fakesink" -n 10 2>err.txt
	assert_eq "$rc" 2 "exit status (unparsable description)"
	assert_contains err.txt "cannot parse"
	assert_contains err.txt "syntax error"

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
