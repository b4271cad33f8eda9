# The RTP sink against vivid: stock receivers (GStreamer from caps made out
# of vzero's SDP, sdpdemux from the SDP file itself, tools/vm/net-rx for the
# extended sequence numbers), multicast into another network namespace,
# IPv6, the picture byte for byte, and the copy accounting: the kernel's
# copies over loopback with their cause, none over a tap-backed virtio-net.
# Sourced by run (lib.sh first); one function per test.

NETRX=$VZ_SRC/tools/vm/net-rx

# GStreamer caps for udpsrc from an SDP file: what a receiver without
# sdpdemux does with vzero's SDP (width/height/depth stay strings).
sdp_caps() { # file.sdp
	python3 - "$1" <<'PY'
import sys
pt = enc = clock = None
fmtp = {}
for line in open(sys.argv[1], newline="").read().split("\r\n"):
    if line.startswith("m=video "):
        pt = line.split()[3]
    elif line.startswith("a=rtpmap:"):
        _, rest = line.split(" ", 1)
        enc, clock = rest.split("/")
    elif line.startswith("a=fmtp:"):
        for kv in line.split(" ", 1)[1].split(";"):
            k, v = kv.strip().split("=", 1)
            fmtp[k] = v
assert pt and enc == "raw" and clock == "90000", (pt, enc, clock)
caps = ("application/x-rtp,media=video,clock-rate=90000,encoding-name=RAW,payload=%s" % pt)
for k, v in fmtp.items():
    caps += ",%s=(string)%s" % (k, v)
print(caps)
PY
}

# One frame through the sink, for its SDP in FILE: what a receiver is
# built from before the stream it will receive starts.
write_sdp() { # dev fourcc WxH file
	run "$VZ" run -d "$1" -f "$2" -s "$3" --sink rtp://127.0.0.1:5004 --sdp "$4" -n 1 --quiet
	assert_eq "$rc" 0 "exit status of the SDP run"
}

# Starts net-rx in the background (NETNS: run it there); waits until it
# listens.  Sets $rx_pid.
start_netrx() { # out.json [netns] -- net-rx args...
	local out=$1 ns=$2
	shift 3
	rm -f "$out"
	if [[ -n $ns ]]; then
		ip netns exec "$ns" python3 "$NETRX" --out "$out" "$@" &
	else
		python3 "$NETRX" --out "$out" "$@" &
	fi
	rx_pid=$!
	wait_until 100 test -s "$out" || fail "net-rx did not start (see the log)"
}

stop_netrx() {
	kill "$rx_pid" 2>/dev/null || true
	wait "$rx_pid" 2>/dev/null || true
}

rx_port() { # rx.json port field
	json_get "$1" "[\"ports\"][\"$2\"][\"$3\"]"
}

# Every packet of every frame the sink sent arrived, in order, with
# consecutive extended sequence numbers.
assert_rx_complete() { # rx.json port stats.json
	local packets frames
	frames=$(rsink "$3" frames)
	packets=$(json_get "$3" '["sinks"][0]["counters"]["packets"]')
	echo "sent: $frames frames, $packets packets; received: $(rx_port "$1" "$2" rtp_packets) packets, $(rx_port "$1" "$2" frames) frames"
	assert_eq "$(rsink "$3" released)" "$frames" "frames released by the rtp sink"
	assert_eq "$(rx_port "$1" "$2" rtp_packets)" "$packets" "packets received"
	assert_eq "$(rx_port "$1" "$2" frames)" "$frames" "frames (marker bits) received"
	assert_eq "$(rx_port "$1" "$2" gap_packets)" 0 "packets missing"
	assert_eq "$(rx_port "$1" "$2" reordered)" 0 "packets reordered"
	assert_eq "$(rx_port "$1" "$2" duplicates)" 0 "duplicate packets"
	assert_eq "$(rx_port "$1" "$2" esn_mismatch)" 0 "extended sequence numbers that disagree"
}

test_rtp_gst_receiver_every_frame() {
	local dev
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	# The SDP of the stream, then a receiver built from it, then the stream.
	write_sdp "$dev" UYVY 320x180 s.sdp
	cat s.sdp
	assert_contains s.sdp "a=fmtp:96 sampling=YCbCr-4:2:2; width=320; height=180; depth=8"
	local caps
	caps=$(sdp_caps s.sdp)
	echo "caps: $caps"
	gst-launch-1.0 -q udpsrc address=127.0.0.1 port=5004 buffer-size=16777216 caps="$caps" \
		! rtpvrawdepay ! queue max-size-buffers=0 max-size-bytes=0 max-size-time=0 \
		! videoconvert ! video/x-raw,format=RGB ! pngenc compression-level=1 \
		! multifilesink location=r%04d.png &
	local gpid=$!
	sleep 2 # udpsrc bound (no readiness signal from gst-launch)
	run "$VZ" run -d "$dev" -f UYVY -s 320x180 --process stamp --sink rtp://127.0.0.1:5004 \
		--sdp s2.sdp -n 30 --stats-json s.json
	assert_eq "$rc" 0 "exit status"
	local frames
	frames=$(rsink s.json frames)
	wait_until 300 eval '[[ $(ls r*.png 2>/dev/null | wc -l) -ge '"$frames"' ]]' || true
	sleep 1
	kill "$gpid" 2>/dev/null || true
	wait "$gpid" 2>/dev/null || true
	assert_eq "$(rsink s.json bytes_copied)" "$(json_get s.json '["sinks"][0]["copy_sites"][0]["bytes"]')" "copies are all the kernel's"
	"$VZH/vz-gst-check" r*.png >check.txt || fail "stamps not decoded from the received frames"
	tail -1 check.txt
	# Every frame sent, decoded, with consecutive stamps (none missing).
	assert_contains check.txt "files $frames first 0 last $((frames - 1)) missing 0 ok"
	cp r0001.png "$VZ_RESULTS/rtp-received.png" 2>/dev/null || true
}

# sdpdemux takes vzero's SDP file as it is (rtpbin, jitterbuffer, RTCP
# and ST 2110-style parameters and all).  Paced: sdpdemux's udpsrc keeps
# the default socket buffer (208 KiB, ~90 loopback packets), which a frame's
# burst of 90 packets nearly fills; while GStreamer under TCG sets itself up
# on the first frame (and takes the first sender report) the second one's
# burst overflowed it in loaded full runs (one torn frame, twice).
test_rtp_sdpdemux_takes_the_sdp() {
	local dev
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	write_sdp "$dev" UYVY 320x180 s.sdp
	gst-launch-1.0 -q filesrc location=s.sdp ! sdpdemux latency=2000 ! rtpvrawdepay \
		! videoconvert ! video/x-raw,format=RGB ! pngenc compression-level=1 \
		! multifilesink location=d%04d.png &
	local gpid=$!
	sleep 3
	run "$VZ" run -d "$dev" -f UYVY -s 320x180 --process stamp \
		--sink "rtp://127.0.0.1:5004?pace=linear" -n 30 --stats-json s.json --quiet
	assert_eq "$rc" 0 "exit status"
	wait_until 100 eval '[[ $(ls d*.png 2>/dev/null | wc -l) -ge 20 ]]' || true
	sleep 3
	kill "$gpid" 2>/dev/null || true
	wait "$gpid" 2>/dev/null || true
	local n
	n=$(ls d*.png 2>/dev/null | wc -l)
	echo "sdpdemux decoded $n of 30 frames"
	# The jitterbuffer may drop what TCG delays; most frames come through.
	assert_ge "$n" 20 "frames through sdpdemux"
	run "$VZH/vz-gst-check" d*.png
	assert_eq "$rc" 0 "stamps decoded from sdpdemux's frames"
}

# The picture as sent: vivid's static pattern, received by rtpvrawdepay
# into raw bytes, compared byte for byte with v4l2-ctl's own capture.
# UYVY as YCbCr-4:2:2 and XR24 as BGRA.
rtp_picture() { # fourcc sampling bytes-per-pixel
	local dev fcc=$1 bpp=$3
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	# 1x1 checkers: every line differs from the next, so a packet carrying
	# the wrong line shows (the default colour bars repeat every line).
	v4l2-ctl -d "$dev" -c osd_text_mode=2 -c test_pattern=10
	v4l2-ctl -d "$dev" --set-fmt-video=width=640,height=480,pixelformat="$fcc" \
		--stream-mmap --stream-count=3 --stream-to=ref.all >/dev/null 2>&1 ||
		fail "v4l2-ctl could not capture a reference frame"
	local size=$((640 * 480 * bpp))
	tail -c "$size" ref.all >ref.raw
	write_sdp "$dev" "$fcc" 640x480 s.sdp
	assert_contains s.sdp "sampling=$2;"
	gst-launch-1.0 -q udpsrc address=127.0.0.1 port=5004 buffer-size=16777216 \
		caps="$(sdp_caps s.sdp)" ! rtpvrawdepay ! filesink location=rx.raw &
	local gpid=$!
	sleep 2
	run "$VZ" run -d "$dev" -f "$fcc" -s 640x480 --sink rtp://127.0.0.1:5004 -n 5 --quiet
	assert_eq "$rc" 0 "exit status"
	wait_until 100 eval '[[ $(stat -c %s rx.raw 2>/dev/null || echo 0) -ge '"$((size * 2))"' ]]' || true
	kill "$gpid" 2>/dev/null || true
	wait "$gpid" 2>/dev/null || true
	v4l2-ctl -d "$dev" -c osd_text_mode=0 -c test_pattern=0
	local got
	got=$(stat -c %s rx.raw)
	echo "received $got bytes ($((got / size)) frames of $size)"
	assert_ge "$got" "$((size * 2))" "bytes received"
	# The last whole frame the depayloader wrote.
	dd if=rx.raw of=last.raw bs="$size" skip=$((got / size - 1)) count=1 2>/dev/null
	cmp ref.raw last.raw || fail "the received $fcc picture differs from the camera's"
}

test_rtp_picture_uyvy_matches() {
	rtp_picture UYVY YCbCr-4:2:2 2
}

test_rtp_picture_xr24_as_bgra_matches() {
	rtp_picture XR24 BGRA 4
}

# Over loopback the kernel copies every zero-copy send and says so: the
# report names it, by cause, with every byte.
test_rtp_loopback_copies_reported() {
	local dev
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	start_netrx rx.json "" -- --bind 127.0.0.1 --port 5004
	run "$VZ" run -d "$dev" -f UYVY -s 640x480 --sink rtp://127.0.0.1:5004 -n 30 \
		--stats-json s.json >report.txt
	assert_eq "$rc" 0 "exit status"
	sleep 0.5
	stop_netrx
	cat report.txt
	assert_rx_complete rx.json 5004 s.json
	local frames
	frames=$(rsink s.json frames)
	assert_eq "$(json_get s.json '["sinks"][0]["copy_sites"][0]["element"]')" "kernel (lo)" "copy site"
	assert_eq "$(rsink s.json bytes_copied)" "$((frames * 640 * 480 * 2))" "bytes the kernel copied"
	assert_contains report.txt "COPY       kernel (lo): 614400 B/frame"
	assert_contains report.txt "SO_EE_CODE_ZEROCOPY_COPIED"
	assert_contains report.txt "per frame: packets 480.00"
	# zerocopy=auto gave up on MSG_ZEROCOPY where the kernel copies anyway.
	assert_contains "$(rsink s.json proof)" "plain sends after 32 sends the kernel copied anyway"
}

# The 16-bit sequence number wraps every 65536 packets; the extended one
# (RFC 4175's high half) carries on, and net-rx checks every packet's.
test_rtp_sequence_wrap_no_loss() {
	local dev
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	start_netrx rx.json "" -- --bind 127.0.0.1 --port 5004
	run "$VZ" run -d "$dev" -f UYVY -s 640x480 --sink "rtp://127.0.0.1:5004?seq=65000" -n 20 \
		--stats-json s.json --quiet
	assert_eq "$rc" 0 "exit status"
	sleep 0.5
	stop_netrx
	assert_rx_complete rx.json 5004 s.json
	assert_eq "$(rx_port rx.json 5004 ext_seq_first)" 65000 "first extended sequence number"
	assert_ge "$(rx_port rx.json 5004 ext_seq_last)" 65536 "last extended sequence number"
	assert_ge "$(rx_port rx.json 5004 seq16_wraps)" 1 "16-bit wraps seen"
}

test_rtp_ipv6() {
	local dev
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	start_netrx rx.json "" -- --bind ::1 --port 5006
	run "$VZ" run -d "$dev" -f UYVY -s 640x480 --sink "rtp://[::1]:5006" --sdp s.sdp -n 20 \
		--stats-json s.json --quiet
	assert_eq "$rc" 0 "exit status"
	sleep 0.5
	stop_netrx
	assert_rx_complete rx.json 5006 s.json
	assert_contains s.sdp "c=IN IP6 ::1"
	# IPv6's 40-byte header leaves 20 bytes less per packet: still a line.
	assert_contains "$(rsink s.json proof)" "480 packets/frame of <= 1452 B"
}

# Multicast out of one namespace into another over a veth pair: the
# receiver joins the group on its side; nothing leaves the guest.
test_rtp_multicast_other_netns() {
	local dev
	dev=$(need_vivid 0)
	vivid_reset "$dev"
	command -v ip >/dev/null || skip "no ip(8) here (iproute2)"
	local ns=vzrx$$
	ip netns add "$ns" || fail "cannot create a network namespace"
	trap 'ip netns del '"$ns"' 2>/dev/null; ip link del vzm0 2>/dev/null || true' EXIT
	ip link add vzm0 type veth peer name vzm1
	ip link set vzm1 netns "$ns"
	ip addr add 10.99.0.1/24 dev vzm0
	ip link set vzm0 up
	ip -n "$ns" addr add 10.99.0.2/24 dev vzm1
	ip -n "$ns" link set vzm1 up
	ip -n "$ns" link set lo up
	start_netrx rx.json "$ns" -- --bind 239.1.2.3 --group 239.1.2.3 --iface vzm1 --port 5004
	run "$VZ" run -d "$dev" -f UYVY -s 640x480 \
		--sink "rtp://239.1.2.3:5004?iface=vzm0&ttl=1" --sdp s.sdp -n 20 --stats-json s.json \
		>report.txt
	assert_eq "$rc" 0 "exit status"
	sleep 0.5
	stop_netrx
	cat report.txt
	assert_rx_complete rx.json 5004 s.json
	assert_contains s.sdp "c=IN IP4 239.1.2.3/1"
	# veth copies like loopback; the report says so, naming the device.
	assert_eq "$(json_get s.json '["sinks"][0]["copy_sites"][0]["element"]')" "kernel (vzm0)" "copy site"

	# IPv6 multicast the same way, from the veth's link-local address
	# (usable once duplicate address detection is done).
	wait_until 50 eval '[[ $(ip -6 addr show dev vzm0 scope link) == *fe80* && $(ip -6 addr show dev vzm0 scope link) != *tentative* ]]' ||
		fail "vzm0 got no usable IPv6 link-local address"
	wait_until 50 eval '[[ $(ip -n '"$ns"' -6 addr show dev vzm1 scope link) != *tentative* ]]' || true
	start_netrx rx6.json "$ns" -- --bind ff15::7 --group ff15::7 --iface vzm1 --port 5006
	run "$VZ" run -d "$dev" -f UYVY -s 640x480 --sink "rtp://[ff15::7]:5006?iface=vzm0" \
		--sdp s6.sdp -n 20 --stats-json s6.json --quiet
	assert_eq "$rc" 0 "exit status (IPv6 multicast)"
	sleep 0.5
	stop_netrx
	assert_rx_complete rx6.json 5006 s6.json
	assert_contains s6.sdp "c=IN IP6 ff15::7"
}

# True zero-copy: virtio-net on a tap with offloads, to the host side of
# the tap in the test bed's own network namespace.
test_rtp_zero_copy_over_tap() {
	local dev
	dev=$(need_vivid 0)
	[[ ${VZ_NET:-} == tap ]] || skip "no tap-backed virtio-net here (run under tools/vivid-vm --net tap)"
	vivid_reset "$dev"
	local before
	before=$(json_get "$VZ_NET_RX" '["ports"]["5004"]["rtp_packets"]')
	# CPU split: what vzero's own code costs beside the kernel's sending.
	run /usr/bin/time -f "vzero CPU: %U s user, %S s system, %e s wall" \
		"$VZ" run -d "$dev" -f UYVY -s 640x480 --sink "rtp://$VZ_NET_HOST:5004" -n 60 \
		--stats-json s.json >report.txt
	assert_eq "$rc" 0 "exit status"
	cat report.txt
	local frames packets
	frames=$(rsink s.json frames)
	packets=$(json_get s.json '["sinks"][0]["counters"]["packets"]')
	assert_ge "$frames" 55 "frames sent (of 60)"
	assert_eq "$(rsink s.json released)" "$frames" "frames released"
	assert_eq "$(rsink s.json bytes_copied)" 0 "bytes copied"
	assert_eq "$(json_get s.json 'len(d["sinks"][0]["copy_sites"])')" 0 "copy sites"
	assert_ge "$(json_get s.json '["sinks"][0]["counters"]["notifications"]')" 1 "completions"
	assert_contains "$(rsink s.json proof)" "0 of "
	assert_contains "$(rsink s.json proof)" "via $VZ_NET_IFACE"
	# The host side got every packet (net-rx there, in the namespace).
	wait_until 30 eval '[[ $(json_get "$VZ_NET_RX" "[\"ports\"][\"5004\"][\"rtp_packets\"]") -ge $((before + packets)) ]]' || true
	assert_eq "$(($(json_get "$VZ_NET_RX" '["ports"]["5004"]["rtp_packets"]') - before))" "$packets" "packets the host received"
	assert_eq "$(json_get "$VZ_NET_RX" '["ports"]["5004"]["gap_packets"]')" 0 "packets lost on the way"
	cp s.json "$VZ_RESULTS/rtp-tap.json"
}

test_rtp_errors_are_clear() {
	local dev
	dev=$(need_vivid 0)
	run "$VZ" run -d "$dev" --sink rtp://127.0.0.1 -n 1
	assert_eq "$rc" 2 "exit status for a URI without a port"
	run "$VZ" run -d "$dev" --sink "rtp://127.0.0.1:5004?mtu=100" -n 1
	assert_eq "$rc" 2 "exit status for mtu=100"
	run "$VZ" run -d "$dev" --sdp x.sdp --sink null -n 1
	assert_eq "$rc" 2 "exit status for --sdp before any rtp sink"
	"$VZ" run -d "$dev" -f YUYV -s 640x480 --sink rtp://127.0.0.1:5004 -n 1 2>err.txt && fail "YUYV was accepted"
	cat err.txt
	assert_contains err.txt "capture UYVY (-f UYVY)"
	"$VZ" run -d "$dev" -f NV12 -s 640x480 --sink rtp://127.0.0.1:5004 -n 1 2>err.txt && fail "NV12 was accepted"
	assert_contains err.txt "-f UYVY"
	[[ -e x.sdp ]] && fail "an SDP was written for a refused format"
	return 0
}

# Buffers MSG_ZEROCOPY cannot pin: capture into vgem's dumb buffers
# (--io dmabuf-import), whose CPU mapping is PFNMAP.  The first zero-copy
# send fails with EFAULT; vzero goes on with plain sends, loses no packet,
# and counts every byte as the kernel's copy, with that cause.
test_rtp_unpinnable_buffers_fall_back() {
	local dev
	dev=$(need_vivid 0)
	need_drm vgem >/dev/null
	vivid_reset "$dev"
	start_netrx rx.json "" -- --bind 127.0.0.1 --port 5004
	run "$VZ" run -d "$dev" --io dmabuf-import -f UYVY -s 640x480 --sink rtp://127.0.0.1:5004 \
		-n 20 --stats-json s.json >report.txt
	assert_eq "$rc" 0 "exit status"
	sleep 0.5
	stop_netrx
	cat report.txt
	assert_contains "$(json_get s.json '["buffers"]')" "dumb"
	assert_rx_complete rx.json 5004 s.json
	assert_eq "$(json_get s.json '["sinks"][0]["copy_sites"][0]["element"]')" "kernel (pinning)" "copy site"
	assert_contains "$(json_get s.json '["sinks"][0]["copy_sites"][0]["reason"]')" "EFAULT"
	assert_eq "$(rsink s.json bytes_copied)" "$(($(rsink s.json frames) * 640 * 480 * 2))" "bytes the kernel copied"
	assert_contains "$(rsink s.json proof)" "sendmsg + UDP GSO"
}

# One datagram per zero-copy send (gso=off) over the tap: the most
# notifications the kernel can queue, where ENOBUFS comes; every packet
# still arrives.
test_rtp_tap_per_datagram_zero_copy_loses_nothing() {
	local dev
	dev=$(need_vivid 0)
	[[ ${VZ_NET:-} == tap ]] || skip "no tap-backed virtio-net here (run under tools/vivid-vm --net tap)"
	vivid_reset "$dev"
	local before stats=/sys/class/net/$VZ_NET_IFACE/statistics tx0 txd0
	# fq_codel (the default qdisc) may drop a long burst's packets at
	# dequeue, after sendmsg returned: silent to every sender (seen once:
	# 4 of 9600).  pfifo drops only at enqueue, which IP_RECVERR turns
	# into ENOBUFS that vzero retries.  Pacing (RTP part 2) is the cure.
	tc qdisc replace dev "$VZ_NET_IFACE" root pfifo limit 20000 || fail "cannot set a pfifo qdisc"
	trap 'tc qdisc del dev '"$VZ_NET_IFACE"' root 2>/dev/null || true' EXIT
	before=$(json_get "$VZ_NET_RX" '["ports"]["5006"]["rtp_packets"]')
	local sn0 kd0
	sn0=$(json_get "$VZ_NET_RX" 'd.get("softnet_dropped") or 0')
	kd0=$(json_get "$VZ_NET_RX" '["ports"]["5006"]["kernel_drops"] or 0')
	tx0=$(<"$stats/tx_packets") txd0=$(<"$stats/tx_dropped")
	run "$VZ" run -d "$dev" -f UYVY -s 640x480 --sink "rtp://$VZ_NET_HOST:5006?gso=off" -n 20 \
		--stats-json s.json >report.txt
	assert_eq "$rc" 0 "exit status"
	cat report.txt
	local packets sent
	packets=$(json_get s.json '["sinks"][0]["counters"]["packets"]')
	assert_eq "$(json_get s.json '["sinks"][0]["counters"]["sends"]')" "$packets" "one packet per send"
	assert_eq "$(rsink s.json bytes_copied)" 0 "bytes copied"
	assert_eq "$(rsink s.json released)" "$(rsink s.json frames)" "frames released"
	echo "ENOBUFS retries: $(json_get s.json 'd["sinks"][0]["counters"].get("enobufs", 0)')"
	# The sender's claim: every packet left the guest's interface (a qdisc
	# drop would show as fewer; neighbour discovery may add a few).
	sent=$(($(<"$stats/tx_packets") - tx0))
	echo "eth0 sent $sent packets, vzero $packets"
	tc -s qdisc show dev "$VZ_NET_IFACE"
	assert_ge "$sent" "$packets" "packets the guest's interface sent"
	assert_le "$sent" "$((packets + 20))" "packets the guest's interface sent"
	assert_eq "$(($(<"$stats/tx_dropped") - txd0))" 0 "packets the interface dropped"
	# The host's side takes 480-packet bursts into a backlog it shares with
	# qemu's own load: losses its kernel counts there are the receiving
	# host's, said, not failed on (the GSO test above holds the receiver
	# to every packet).
	wait_until 30 eval '[[ $(json_get "$VZ_NET_RX" "[\"ports\"][\"5006\"][\"rtp_packets\"]") -ge $((before + packets)) ]]' || true
	local got counted
	got=$(($(json_get "$VZ_NET_RX" '["ports"]["5006"]["rtp_packets"]') - before))
	# what the host's own kernel says it dropped meanwhile: its CPUs'
	# input backlog (all interfaces) and the receiving socket
	counted=$(($(json_get "$VZ_NET_RX" 'd.get("softnet_dropped") or 0') - sn0 +
		$(json_get "$VZ_NET_RX" '["ports"]["5006"]["kernel_drops"] or 0') - kd0))
	echo "the host received $got of $packets; its kernel counted $counted dropped (input backlog + socket)"
	# Below 98%, only with the host's kernel owning up to the rest: a loss
	# nobody counted would be ours (or the tap's)
	((got * 100 >= packets * 98 || got + counted >= packets)) ||
		fail "the host received $got of $packets packets and its kernel counted only $counted drops: $((packets - got - counted)) lost without a trace"
}

# FFmpeg's RFC 4175 depacketizer takes vzero's SDP file as it is.
test_rtp_ffmpeg_takes_the_sdp() {
	local dev
	dev=$(need_vivid 0)
	command -v ffmpeg >/dev/null || skip "ffmpeg is not installed (apt-get install ffmpeg)"
	vivid_reset "$dev"
	write_sdp "$dev" UYVY 320x180 s.sdp
	ffmpeg -nostdin -loglevel error -protocol_whitelist file,udp,rtp -i s.sdp -frames:v 5 \
		-pix_fmt rgb24 f%02d.png 2>ffmpeg.err &
	local fpid=$!
	sleep 3
	run "$VZ" run -d "$dev" -f UYVY -s 320x180 --process stamp --sink rtp://127.0.0.1:5004 \
		-n 40 --quiet
	assert_eq "$rc" 0 "exit status"
	wait_until 150 eval '! kill -0 '"$fpid"' 2>/dev/null' || true
	kill "$fpid" 2>/dev/null || true
	wait "$fpid" 2>/dev/null || true
	cat ffmpeg.err
	local n
	n=$(find . -name 'f*.png' | wc -l)
	echo "FFmpeg decoded $n frames"
	assert_eq "$n" 5 "frames FFmpeg wrote"
	run "$VZH/vz-gst-check" f*.png
	assert_eq "$rc" 0 "stamps decoded from FFmpeg's frames"
}
