# vzero devices and device resolution (capture/devices.c).
# The suite boots vivid with 3 instances, instance 1 multi-planar.

# /dev node of vivid instance $1 whose sysfs name ends in $2 (vid-out,
# vbi-cap, rad-rx, touch-cap, meta-cap, sdr-cap, ...).
vivid_node() {
	local f want
	want=$(printf 'vivid-%03d-%s' "$1" "$2")
	for f in ${VZ_SYSFS_V4L:-/sys/class/video4linux}/*; do
		[[ -r $f/name ]] || continue
		if [[ $(<"$f/name") == "$want" ]]; then
			echo "/dev/${f##*/}"
			return 0
		fi
	done
	return 1
}

# vivid instance $1's capture node from sysfs names alone: lib.sh's
# need_vivid runs v4l2-ctl twice per node, seconds each on a busy TCG guest.
vivid_capture() {
	vivid_node "$1" vid-cap || skip "vivid instance $1 has no capture node here (is vivid loaded with n_devs >= $(($1 + 1))? run under tools/vivid-vm --n-devs 3)"
}

# Runs vzero with stderr in err.txt, stdout in out.txt; sets $rc.
cmd_run() {
	echo "+ $*" >&2
	set +e
	"$@" >out.txt 2>err.txt
	rc=$?
	set -e
	sed 's/^/  stderr| /' err.txt >&2
}
vz_run() { cmd_run "$VZ" "$@"; }

# The failure must be exit 1 with exactly one line on stderr.
assert_one_line_failure() {
	assert_eq "$rc" 1 "exit status"
	assert_eq "$(wc -l <err.txt)" 1 "stderr lines"
}

test_devices_lists_vivid() {
	local d0 d1 d2
	d0=$(vivid_capture 0)
	d1=$(vivid_capture 1)
	d2=$(vivid_capture 2)
	vz_run devices
	assert_eq "$rc" 0 "vzero devices exit"
	head -40 out.txt >&2
	for d in "$d0" "$d1" "$d2"; do
		grep -q "^$d: vivid" out.txt || fail "$d is not listed"
	done
	assert_contains out.txt "YUYV (YUYV 4:2:2)"
	grep -Eq '^ +640x480 +.*\b25\b.* fps$' out.txt || fail "no 640x480 line with 25 fps"
	grep -q "^$d1: .*multi-planar" out.txt || fail "$d1 should be multi-planar"
	grep -q "^$d0: .*single-planar" out.txt || fail "$d0 should be single-planar"
	# Instance 2 offers what instance 0 does: said once, not repeated.
	assert_contains out.txt "the same formats, sizes and rates as $d0"
	assert_contains out.txt "other V4L2 nodes (not video capture):"
	grep -Eq '^  VBI capture: .*/dev/vbi' out.txt || fail "VBI nodes not named"
	grep -Eq '^  video output: ' out.txt || fail "output nodes not named"
	# Compact enough for a person: three vivid instances, every node.
	assert_le "$(wc -l <out.txt)" 80 "lines of 'vzero devices'"
}

test_devices_json() {
	local d0 d1 d2
	d0=$(vivid_capture 0)
	d1=$(vivid_capture 1)
	d2=$(vivid_capture 2)
	vz_run devices --json
	assert_eq "$rc" 0 "vzero devices --json exit"
	python3 - out.txt "$d0" "$d1" "$d2" <<'EOF' || fail "JSON checks failed"
import json, sys
devs = json.load(open(sys.argv[1]))
assert isinstance(devs, list), "not an array"
by_path = {d["path"]: d for d in devs}
for p in sys.argv[2:]:
    assert p in by_path, f"{p} missing from {list(by_path)}"
    d = by_path[p]
    for k in ("driver", "card", "bus_info", "multiplanar", "formats"):
        assert k in d, f"{p}: no {k}"
    assert d["driver"] == "vivid", d["driver"]
    yuyv = [f for f in d["formats"] if f["fourcc"] == "YUYV"]
    assert yuyv, f"{p}: no YUYV"
    s = [s for s in yuyv[0]["sizes"] if s.get("width") == 640 and s.get("height") == 480]
    assert s and 25 in s[0]["fps"], f"{p}: no 640x480 at 25 fps: {yuyv[0]['sizes']}"
assert by_path[sys.argv[3]]["multiplanar"] is True, "instance 1 not multiplanar"
assert by_path[sys.argv[2]]["multiplanar"] is False, "instance 0 multiplanar"
# Only capture nodes: no output/VBI/metadata entries.
for d in devs:
    assert not d["path"].startswith("/dev/vbi"), d["path"]
print("json ok:", len(devs), "capture nodes")
EOF
}

# Path of the node vzero resolves @1 to, via --json.
resolved() {
	"$VZ" devices --json -d "$1" >r.json || return 1
	json_get r.json '[0]["path"]'
}

test_devices_resolve_names() {
	local d0 d1 d2 n0
	d0=$(vivid_capture 0)
	d1=$(vivid_capture 1)
	d2=$(vivid_capture 2)
	assert_eq "$(resolved vivid)" "$d0" "vivid"
	assert_eq "$(resolved VIVID:2)" "$d2" "VIVID:2 (case, index)"
	assert_eq "$(json_get r.json '[0]["multiplanar"]')" False "vivid:2 multiplanar"
	assert_eq "$(resolved vivid:1)" "$d1" "vivid:1"
	assert_eq "$(json_get r.json '[0]["multiplanar"]')" True "vivid:1 multiplanar"
	assert_eq "$(resolved platform:vivid-001)" "$d1" "bus_info"
	n0=${d0#/dev/video}
	assert_eq "$(resolved "video$n0")" "$d0" "videoN shorthand"
	assert_eq "$(resolved "$n0")" "$d0" "N shorthand"
	assert_eq "$(cd /dev && resolved "./video$n0")" "$d0" "relative path"
	# The human form of -d shows that one node only.
	vz_run devices -d vivid:1
	assert_eq "$rc" 0 "devices -d vivid:1"
	assert_eq "$(grep -c '^/dev/' out.txt)" 1 "nodes shown for -d"
	grep -q "^$d1: " out.txt || fail "devices -d vivid:1 did not show $d1"

	vz_run devices -d vivid:7
	assert_one_line_failure
	assert_contains err.txt "only 3 match"
	assert_contains err.txt "vivid:1=$d1"
	vz_run ctrl -d no-such-card --list
	assert_one_line_failure
	assert_contains err.txt "no capture device matches 'no-such-card'"
	assert_contains err.txt "capture nodes here: $d0 (vivid, platform:vivid-000)"
}

test_devices_bad_missing_path() {
	local d0
	d0=$(vivid_capture 0)
	vz_run devices -d /dev/video99
	assert_one_line_failure
	assert_contains err.txt "no such device /dev/video99"
	assert_contains err.txt "capture nodes here: $d0"
	vz_run ctrl -d video98 --list
	assert_one_line_failure
	assert_contains err.txt "no such device /dev/video98"
}

test_devices_bad_dev_null() {
	vivid_capture 0 >/dev/null
	vz_run devices -d /dev/null
	assert_one_line_failure
	assert_contains err.txt "/dev/null (char 1:3"
	assert_contains err.txt "is not a V4L2 device"
	vz_run ctrl -d /dev/null --list
	assert_one_line_failure
	assert_contains err.txt "is not a V4L2 device"
}

test_devices_bad_regular_file() {
	vivid_capture 0 >/dev/null
	echo hello >plain.txt
	vz_run devices -d ./plain.txt
	assert_one_line_failure
	assert_contains err.txt "./plain.txt is a regular file, not a V4L2 device node"
	vz_run ctrl -d "$PWD/plain.txt" --list
	assert_one_line_failure
	assert_contains err.txt "is a regular file"
}

test_devices_bad_directory() {
	vivid_capture 0 >/dev/null
	vz_run devices -d /dev
	assert_one_line_failure
	assert_contains err.txt "/dev is a directory, not a V4L2 device node"
}

# vzero must name the kind and point at instance 0's capture node.
check_wrong_node() { # sysfs-suffix kind-text [ctrl: also via vzero ctrl]
	local d0 node
	d0=$(vivid_capture 0)
	node=$(vivid_node 0 "$1") || skip "vivid created no $2 node ($1) here; nothing to check"
	vz_run devices -d "$node"
	assert_one_line_failure
	assert_contains err.txt "$node is vivid's $2 node"
	assert_contains err.txt "its capture node is $d0"
	[[ ${3:-} == ctrl ]] || return 0
	vz_run ctrl -d "$node" --list
	assert_one_line_failure
	assert_contains err.txt "$node is vivid's $2 node"
	[[ ! -s out.txt ]] || fail "ctrl --list printed something for $node"
}

test_devices_bad_output_node() { check_wrong_node vid-out "video output" ctrl; }
test_devices_bad_radio_node() { check_wrong_node rad-rx "radio receiver"; }
test_devices_bad_radio_tx_node() { check_wrong_node rad-tx "radio transmitter"; }
test_devices_bad_vbi_node() { check_wrong_node vbi-cap "VBI capture"; }
test_devices_bad_vbi_out_node() { check_wrong_node vbi-out "VBI output"; }
test_devices_bad_sdr_node() { check_wrong_node sdr-cap "SDR receiver"; }
test_devices_bad_touch_node() { check_wrong_node touch-cap "touch sensor" ctrl; }
test_devices_bad_meta_node() { check_wrong_node meta-cap "metadata capture"; }
test_devices_bad_meta_out_node() { check_wrong_node meta-out "metadata output"; }

test_devices_permission_denied() {
	local d0 mode group gid
	d0=$(vivid_capture 0)
	[[ $(id -u) == 0 ]] || skip "needs root to change $d0's mode and drop privileges"
	command -v setpriv >/dev/null || skip "setpriv (util-linux) is not installed"
	getent group video >/dev/null || skip "no 'video' group on this system"
	gid=$(getent group video | cut -d: -f3)
	mode=$(stat -c %a "$d0")
	group=$(stat -c %g "$d0")
	# shellcheck disable=SC2064 # expand now: restore exactly what was there
	trap "chmod $mode $d0; chgrp $group $d0" EXIT
	chmod 0660 "$d0"
	chgrp video "$d0"
	chmod 0755 .
	local nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups)
	"${nobody[@]}" test -x "$VZ" || skip "user nobody can't execute $VZ (build dir permissions)"
	cmd_run "${nobody[@]}" "$VZ" devices -d "$d0"
	assert_one_line_failure
	assert_contains err.txt "permission denied opening $d0"
	assert_contains err.txt "sudo usermod -aG video \$USER"
	assert_contains err.txt "log out and in again"
	# The advice works: the same user in group video gets through.
	cmd_run setpriv --reuid=65534 --regid=65534 --groups="$gid" "$VZ" devices -d "$d0"
	assert_eq "$rc" 0 "as nobody in group video"
	grep -q "^$d0: vivid" out.txt || fail "group video could not list $d0"
	# A listing by someone who may open nothing says why (and exits 0).
	cmd_run "${nobody[@]}" "$VZ" devices
	cat out.txt >&2
	assert_eq "$rc" 0 "vzero devices as nobody"
	assert_contains out.txt "can't open: $d0 (Permission denied)"
}

test_devices_usage() {
	vz_run devices --bogus
	assert_eq "$rc" 2 "unknown option"
	vz_run devices extra
	assert_eq "$rc" 2 "stray argument"
	vz_run devices --help
	assert_eq "$rc" 0 "--help"
	assert_contains out.txt "Examples:"
}

# Where libcamera finds no camera (vivid has no libcamera pipeline
# handler): one clear line that says where cameras come from, exit 1.
test_devices_libcamera_no_camera() {
	need_vivid 0 >/dev/null
	[[ -d /sys/bus/platform/drivers/vimc ]] && skip "vimc is loaded: libcamera has a camera here"
	run "$VZ" run -d libcamera: --sink null -n 1
	assert_eq "$rc" 1 "vzero run -d libcamera: without a libcamera camera"
	"$VZ" run -d libcamera: --sink null -n 1 2>e.txt || true
	assert_eq "$(wc -l <e.txt)" 1 "lines of error"
	assert_contains e.txt "found no camera"
	assert_contains e.txt "vimc"
	"$VZ" devices >d.txt
	assert_contains d.txt "libcamera v0.0.3: 0 cameras"
}
