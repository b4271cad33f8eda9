# The display sink (--sink drm) against vkms (imports capture's DMA-bufs;
# writeback connector; overlays) and virtio-gpu (cannot import: the display
# provides its buffers; qemu's screendump shows the scan-out).  The frames
# are vivid's static pattern, so what reached the screen is compared pixel
# for pixel with a frame v4l2-ctl captured itself.

# Sink 0's field from a stats JSON.
dsink() { # json field [sink]
	json_get "$1" "[\"sinks\"][${3:-0}][\"$2\"]"
}

# A run of NFRAMES XR24 frames into SPEC (+ more args), stats in s.json.
drm_run() { # dev nframes spec [args...]
	local dev=$1 n=$2 spec=$3
	shift 3
	run "$VZ" run -d "$dev" -f XR24 -s 640x480 -r 25 --sink "$spec" "$@" -n "$n" \
		--stats-json s.json --timeline-csv t.csv --quiet
}

test_drm_vkms_import_primary_writeback_matches_frame() {
	local dev card
	dev=$(need_vivid 0)
	card=$(need_drm vkms)
	vivid_reset "$dev"
	vivid_static_frame "$dev" ref.raw
	drm_run "$dev" 30 "drm:$card,writeback=$PWD/wb.ppm"
	assert_eq "$rc" 0 "exit status"
	assert_contains "$(json_get s.json '["buffers"]')" "driver MMAP buffers"
	assert_contains "$(dsink s.json proof)" "capture's buffers imported as framebuffers"
	assert_contains "$(dsink s.json proof)" "primary plane"
	assert_contains "$(dsink s.json proof)" "Writeback-1, 640x480"
	assert_eq "$(json_get s.json '["bytes_copied"]')" 0 "bytes copied"
	python3 "$VZ_SRC/tests/integration/pixcmp.py" wb.ppm ref.raw 640 480 0 0 ||
		fail "the writeback output is not the captured frame"
	cp wb.ppm "$VZ_RESULTS/drm-vkms-writeback.ppm"
}

test_drm_vkms_overlay_at_offset_over_background() {
	local dev card
	dev=$(need_vivid 0)
	card=$(need_drm vkms)
	vivid_reset "$dev"
	[[ $(cat /sys/module/vkms/parameters/enable_overlay 2>/dev/null) == Y ]] ||
		skip "vkms without overlay planes (load it with enable_overlay=1)"
	vivid_static_frame "$dev" ref.raw
	drm_run "$dev" 30 "drm:vkms,plane=overlay,x=48,y=32,mode=1024x768,writeback=$PWD/wb.ppm"
	assert_eq "$rc" 0 "exit status"
	assert_contains "$(dsink s.json proof)" "1024x768@60, overlay plane"
	assert_contains "$(dsink s.json proof)" "at 48,32"
	# 0xff1f3f5f: the background the sink puts under an overlay.
	python3 "$VZ_SRC/tests/integration/pixcmp.py" wb.ppm ref.raw 640 480 48 32 1f3f5f ||
		fail "the composition is not the frame at 48,32 over the background"
	cp wb.ppm "$VZ_RESULTS/drm-vkms-overlay.ppm"
}

test_drm_vkms_legacy_flips() {
	local dev
	dev=$(need_vivid 0)
	need_drm vkms >/dev/null
	vivid_reset "$dev"
	drm_run "$dev" 40 "drm:vkms,legacy=1"
	assert_eq "$rc" 0 "exit status"
	assert_contains "$(dsink s.json proof)" "legacy KMS"
	assert_ge "$(dsink s.json shown)" 38 "frames shown by legacy flips (of 40)"
	assert_ge "$(json_get s.json '["sinks"][0]["shown_ms"]["n"]')" 38 "capture->shown samples"
	# Legacy has no writeback: what the CRTC shows is read back instead
	# (legacy GetCrtc: the last flip's framebuffer stays ours until the end).
}

test_drm_virtio_gpu_allocates_and_screen_matches_frame() {
	local dev how
	dev=$(need_vivid 0)
	need_drm virtio_gpu >/dev/null
	[[ -n ${VZ_SCREENDUMP:-} ]] || skip "no screendump hook (run under tools/vivid-vm --module virtio-gpu)"
	vivid_reset "$dev"
	vivid_static_frame "$dev" ref.raw
	# Atomic, then legacy: the one place legacy's pixels can be seen (no
	# writeback without atomic).
	for how in "" ",legacy=1"; do
		rm -f err.txt s.json screen.ppm
		"$VZ" run -d "$dev" -f XR24 -s 640x480 -r 25 --sink "drm:virtio_gpu$how" -t 9 \
			--stats-json s.json --quiet 2>err.txt &
		local pid=$!
		# The scan-out once frames flow: the stats file is written at the
		# end, so look for the switch in stderr and give it a few frames.
		wait_until 100 grep -q "provides its own buffers" err.txt || true
		sleep 4
		"$VZ_SCREENDUMP" screen.ppm || fail "screendump failed"
		wait "$pid" || fail "vzero failed: $(cat err.txt)"
		cat err.txt >&2
		assert_contains err.txt "cannot import the capture's DMA-bufs"
		assert_contains "$(json_get s.json '["buffers"]')" "provided by sink drm:virtio_gpu"
		assert_contains "$(dsink s.json proof)" "capture writes into the display's own dumb buffers"
		assert_contains "$(dsink s.json proof)" "$([[ -n $how ]] && echo legacy || echo atomic) KMS"
		assert_eq "$(json_get s.json '["bytes_copied"]')" 0 "bytes copied"
		assert_ge "$(dsink s.json shown)" 150 "frames shown in 9 s at 25 fps"
		python3 "$VZ_SRC/tests/integration/pixcmp.py" screen.ppm ref.raw 640 480 0 0 ||
			fail "qemu's scan-out is not the captured frame (drm:virtio_gpu$how)"
		cp screen.ppm "$VZ_RESULTS/drm-virtio-gpu-screen${how:+-legacy}.ppm"
	done
}

# 25 fps into vkms's 60 Hz: every frame shown, and each released only once
# the next one's flip had completed (its buffer was off screen).
test_drm_flip_pacing_release_after_next_flip() {
	local dev policy
	dev=$(need_vivid 0)
	need_drm vkms >/dev/null
	vivid_reset "$dev"
	for policy in mailbox fifo; do
		drm_run "$dev" 75 "drm:vkms,policy=$policy"
		assert_eq "$rc" 0 "exit status ($policy)"
		assert_eq "$(dsink s.json replaced)" 0 "replaced at 25 fps into 60 Hz ($policy)"
		assert_eq "$(dsink s.json drops_budget)" 0 "budget drops ($policy)"
		assert_ge "$(dsink s.json shown)" 74 "frames shown ($policy)"
		python3 - t.csv <<'PY' || fail "a frame was released before the next flip ($policy)"
import csv, sys
rows = [r for r in csv.DictReader(open(sys.argv[1])) if int(r["sink0_shown_ns"])]
bad = 0
for a, b in zip(rows, rows[1:]):
    if int(a["sink0_release_ns"]) < int(b["sink0_shown_ns"]):
        bad += 1
        print(f"frame {a['id']} released at {a['sink0_release_ns']}, "
              f"before frame {b['id']} was shown at {b['sink0_shown_ns']}")
print(f"{len(rows)} frames shown, {bad} released early")
sys.exit(1 if bad or len(rows) < 70 else 0)
PY
	done
	# Capture to screen takes time, and less than a few frames.
	assert_eq "$(json_get s.json '0 < d["sinks"][0]["shown_ms"]["p50"] < 120')" True \
		"0 < capture->shown p50 < 120 ms"
}

test_drm_and_gst_sinks_together_both_modes() {
	local dev card
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	for card in vkms virtio_gpu; do
		need_drm "$card" >/dev/null
		drm_run "$dev" 50 "drm:$card" --sink gst:"fakesink enable-last-sample=false"
		assert_eq "$rc" 0 "exit status ($card)"
		assert_ge "$(dsink s.json frames 1)" 48 "frames into GStreamer beside $card"
		assert_eq "$(dsink s.json bytes_copied 1)" 0 "bytes GStreamer copied beside $card"
		assert_ge "$(dsink s.json shown)" 48 "frames shown on $card"
		assert_eq "$(json_get s.json '["bytes_copied"]')" 0 "bytes copied ($card)"
	done
	# The last was virtio-gpu: GStreamer got the display's memory by fd.
	assert_contains "$(json_get s.json '["buffers"]')" "provided by sink drm:virtio_gpu"
}

test_drm_errors_say_what_to_do() {
	local dev vk
	dev=$(need_vivid 0)
	vk=$(need_drm vkms)
	vivid_reset "$dev"
	run "$VZ" run -d "$dev" -f XR24 --sink drm:nosuchdriver -n 5 2>err.txt
	assert_ne "$rc" 0 "exit status, unknown driver"
	assert_contains err.txt "no DRM device driven by 'nosuchdriver'"
	assert_contains err.txt "vkms"
	if need_drm vgem >/dev/null 2>&1; then
		"$VZ" run -d "$dev" -f XR24 --sink drm:vgem -n 5 2>err.txt && fail "vgem has no display"
		assert_contains err.txt "has no display outputs"
	fi
	"$VZ" run -d "$dev" -f YUYV -s 640x480 --sink drm:vkms -n 5 2>err.txt &&
		fail "vkms has no YUYV plane"
	assert_contains err.txt "takes YUYV frames: the planes take"
	assert_contains err.txt "XR24"
	"$VZ" run -d "$dev" -f XR24 --sink drm:vkms,connector=HDMI-A-9 -n 5 2>err.txt &&
		fail "no such connector"
	assert_contains err.txt "has no connector 'HDMI-A-9': it has"
	# vkms's primary plane cannot scale: TEST_ONLY says so before a frame.
	"$VZ" run -d "$dev" -f XR24 -s 640x480 --sink drm:vkms,plane=primary,mode=1024x768 -n 5 \
		2>err.txt && fail "a scaled primary plane on vkms"
	assert_contains err.txt "refused every layout for a 640x480 XR24 frame"
	assert_contains err.txt "(TEST_ONLY: "
	"$VZ" run -d "$dev" -f XR24 --sink drm:vkms,sparkle=1 -n 5 2>err.txt && fail "bad option"
	assert_contains err.txt "unknown option 'sparkle'"
	# Someone else is the DRM master (a compositor would be).
	"$VZH/vz-kms-hold" "$vk" "$PWD" --keep-master &
	local hold=$!
	wait_until 100 test -e ready || fail "vz-kms-hold did not start"
	"$VZ" run -d "$dev" -f XR24 --sink drm:vkms -n 5 2>err.txt && fail "master is held"
	: >go
	wait "$hold"
	assert_contains err.txt "another program is the DRM master"
	assert_contains err.txt "waylandsink"
	# Permission denied: the card belongs to root:video, mode 0660.
	setpriv --reuid=65534 --regid=65534 --clear-groups "$VZ" run -d /dev/null \
		--sink drm:"$vk" -n 1 2>err.txt && fail "nobody opened the card"
	assert_contains err.txt "permission denied"
	assert_contains err.txt "video' group"
}

# What another program had on screen comes back after the run: at its end,
# and when the run is interrupted (SIGINT, SIGTERM).
test_drm_crtc_restored_after_run_and_signals() {
	local dev vk sig
	dev=$(need_vivid 0)
	vk=$(need_drm vkms)
	vivid_reset "$dev"
	for sig in none INT TERM; do
		rm -f ready go
		"$VZH/vz-kms-hold" "$vk" "$PWD" >hold.txt 2>&1 &
		local hold=$!
		wait_until 100 test -e ready || fail "vz-kms-hold did not start: $(cat hold.txt)"
		if [[ $sig == none ]]; then
			drm_run "$dev" 20 "drm:vkms"
			assert_eq "$rc" 0 "exit status"
		else
			"$VZ" run -d "$dev" -f XR24 -s 640x480 --sink drm:vkms --quiet 2>err.txt &
			local vz=$!
			sleep 3
			kill -"$sig" "$vz"
			wait "$vz" || true
			cat err.txt >&2
		fi
		: >go
		wait "$hold" || fail "the screen was not restored (after ${sig}): $(cat hold.txt)"
		cat hold.txt
	done
}

# A source change mid-run (vivid sends one when y_cbcr_encoding changes):
# the display keeps showing frames from the new buffer set, in both modes.
test_drm_keeps_showing_across_a_source_change() {
	local dev card
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	for card in vkms virtio_gpu; do
		need_drm "$card" >/dev/null
		v4l2-ctl -d "$dev" -c y_cbcr_encoding=0
		(sleep 3 && v4l2-ctl -d "$dev" -c y_cbcr_encoding=1) &
		drm_run "$dev" 150 "drm:$card"
		wait
		assert_eq "$rc" 0 "exit status ($card)"
		assert_ge "$(json_get s.json '["recoveries"]')" 1 "renegotiations ($card)"
		assert_ge "$(json_get s.json '["generation"]')" 2 "buffer sets ($card)"
		assert_ge "$(dsink s.json shown)" 140 "frames shown across the change ($card, of 150)"
		assert_eq "$(json_get s.json '["bytes_copied"]')" 0 "bytes copied ($card)"
	done
	assert_contains "$(json_get s.json '["buffers"]')" "provided by sink drm:virtio_gpu"
	vivid_reset "$dev"
}
