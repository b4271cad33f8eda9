# vzero ctrl (capture/controls.c) against vivid's controls.  Every test puts
# back what it changed: vivid keeps control values across opens.

# vivid instance $1's capture node from sysfs names alone: lib.sh's
# need_vivid runs v4l2-ctl twice per node, seconds each on a busy TCG guest.
vivid_capture() {
	local f want
	want=$(printf 'vivid-%03d-vid-cap' "$1")
	for f in ${VZ_SYSFS_V4L:-/sys/class/video4linux}/*; do
		if [[ -r $f/name && $(<"$f/name") == "$want" ]]; then
			echo "/dev/${f##*/}"
			return 0
		fi
	done
	skip "vivid instance $1 has no capture node here (is vivid loaded with n_devs >= $(($1 + 1))? run under tools/vivid-vm --n-devs 3)"
}

# Runs vzero with stderr in err.txt, stdout in out.txt; sets $rc.
vz_run() {
	echo "+ vzero $*" >&2
	set +e
	"$VZ" "$@" >out.txt 2>err.txt
	rc=$?
	set -e
	sed 's/^/  stderr| /' err.txt >&2
}

assert_one_line_failure() {
	assert_eq "$rc" 1 "exit status"
	assert_eq "$(wc -l <err.txt)" 1 "stderr lines"
}

# The value as v4l2-ctl sees it: an independent reading.
v4l2_get() { # dev name
	v4l2-ctl -d "$1" --get-ctrl "$2" | awk -F': ' '{print $2}'
}

test_ctrl_list() {
	local d0
	d0=$(vivid_capture 0)
	vz_run ctrl -d "$d0" --list
	assert_eq "$rc" 0 "ctrl --list"
	head -30 out.txt >&2
	grep -Eq '^  brightness +int +[0-9]+  0\.\.255, default 128' out.txt ||
		fail "brightness line with range and default missing"
	grep -Eq '^  test_pattern +menu +[0-9]+ \(' out.txt || fail "test_pattern menu missing"
	grep -Eq '^      1: 100% Colorbar$' out.txt || fail "menu items not listed"
	grep -Eq '^  percentage_of_dropped_buffers +int' out.txt ||
		fail "fault control missing"
	grep -Eq '^  read_only_integer_32_bits .*\[read-only\]' out.txt ||
		fail "read-only flag not shown"
	grep -Eq '^  button +button' out.txt || fail "button control missing"
	assert_contains out.txt "Vivid Controls"
	# --list is the default action, and "vivid" works as the device.
	vz_run ctrl -d vivid
	assert_eq "$rc" 0 "ctrl -d vivid"
	assert_contains out.txt "$d0 controls"
}

test_ctrl_get_set_roundtrip() {
	local d0 old
	d0=$(vivid_capture 0)
	old=$(v4l2_get "$d0" brightness)
	# shellcheck disable=SC2064
	trap "v4l2-ctl -d $d0 -c brightness=$old" EXIT
	vz_run ctrl -d "$d0" --set brightness=200 --get brightness
	assert_eq "$rc" 0 "set+get"
	assert_eq "$(cat out.txt)" "brightness=200" "get after set"
	assert_eq "$(v4l2_get "$d0" brightness)" 200 "v4l2-ctl sees the new value"
	v4l2-ctl -d "$d0" -c brightness=17
	vz_run ctrl -d vivid --get Brightness
	assert_eq "$(cat out.txt)" "Brightness=17" "vzero sees v4l2-ctl's value"
	# Instance 1 (multi-planar) is separate.
	local d1
	d1=$(vivid_capture 1)
	vz_run ctrl -d vivid:1 --get brightness
	assert_eq "$(cat out.txt)" "brightness=$(v4l2_get "$d1" brightness)" "vivid:1"
}

test_ctrl_name_matching() {
	local d0
	d0=$(vivid_capture 0)
	# shellcheck disable=SC2064 # expand now: the node is known now
	trap "v4l2-ctl -d $d0 -c percentage_of_dropped_buffers=0" EXIT
	vz_run ctrl -d "$d0" --set "Percentage of Dropped Buffers=5"
	assert_eq "$rc" 0 "set by the driver's name"
	assert_eq "$(v4l2_get "$d0" percentage_of_dropped_buffers)" 5 "value set"
	vz_run ctrl -d "$d0" --get percentage_of_dropped_buffers \
		--get PERCENTAGE-OF--dropped_Buffers --get " percentage of dropped buffers " \
		--get "percentage.of.dropped.buffers" --get 0x00980900
	assert_eq "$rc" 0 "gets by several spellings"
	assert_eq "$(head -4 out.txt | cut -d= -f2 | sort -u)" 5 "value via every spelling"
	assert_eq "$(sed -n 5p out.txt | cut -d= -f2)" "$(v4l2_get "$d0" brightness)" \
		"brightness by id"
	# Runs of separators are equal, but letters must all be there.
	vz_run ctrl -d "$d0" --get percentageofdroppedbuffers
	assert_one_line_failure
	assert_contains err.txt "did you mean: percentage_of_dropped_buffers"
}

test_ctrl_out_of_range() {
	local d0 before
	d0=$(vivid_capture 0)
	before=$(v4l2_get "$d0" brightness)
	vz_run ctrl -d "$d0" --set brightness=300
	assert_one_line_failure
	assert_contains err.txt "300 is out of range for 'Brightness' on $d0: 0..255, step 1"
	vz_run ctrl -d "$d0" --set brightness=-1
	assert_one_line_failure
	assert_contains err.txt "0..255"
	assert_eq "$(v4l2_get "$d0" brightness)" "$before" "value unchanged"
	vz_run ctrl -d "$d0" --set brightness=abc
	assert_one_line_failure
	assert_contains err.txt "'abc' is not a number"
}

test_ctrl_unknown_name() {
	local d0
	d0=$(vivid_capture 0)
	vz_run ctrl -d "$d0" --get brightnes
	assert_one_line_failure
	assert_contains err.txt "has no control named 'brightnes'; did you mean: brightness"
	assert_contains err.txt "--list"
	vz_run ctrl -d "$d0" --set horizontal_flp=1
	assert_one_line_failure
	assert_contains err.txt "did you mean: horizontal_flip"
	vz_run ctrl -d "$d0" --get zzzzzzzz
	assert_one_line_failure
	assert_contains err.txt "has no control named 'zzzzzzzz'"
}

test_ctrl_menu_and_flags() {
	local d0
	d0=$(vivid_capture 0)
	# shellcheck disable=SC2064
	trap "v4l2-ctl -d $d0 -c test_pattern=0" EXIT
	vz_run ctrl -d "$d0" --set "test_pattern=100% Colorbar" --get test_pattern
	assert_eq "$rc" 0 "menu by item name"
	assert_eq "$(cat out.txt)" "test_pattern=1 (100% Colorbar)" "menu value"
	vz_run ctrl -d "$d0" --set test_pattern=2
	assert_eq "$(v4l2_get "$d0" test_pattern | cut -d' ' -f1)" 2 "menu by index"
	vz_run ctrl -d "$d0" --set test_pattern=99
	assert_one_line_failure
	assert_contains err.txt "99 is not an item of menu 'Test Pattern'"
	assert_contains err.txt "1 (100% Colorbar)"
	vz_run ctrl -d "$d0" --set "test_pattern=Purple Haze"
	assert_one_line_failure
	assert_contains err.txt "'Purple Haze' is not an item of menu"
	# Read-only and button controls.
	vz_run ctrl -d "$d0" --set read_only_integer_32_bits=1
	assert_one_line_failure
	assert_contains err.txt "is read-only"
	vz_run ctrl -d "$d0" --set button=1
	assert_eq "$rc" 0 "pressing a button"
	vz_run ctrl -d "$d0" --get button
	assert_one_line_failure
	assert_contains err.txt "is a button"
	# Inactive: gain while automatic gain is on.
	if [[ $(v4l2_get "$d0" gain_automatic) == 1 ]]; then
		vz_run ctrl -d "$d0" --set gain=10
		assert_one_line_failure
		assert_contains err.txt "'Gain' on $d0 is inactive"
	fi
	# Strings: length limits come from the driver (vivid: 2..4).
	# shellcheck disable=SC2064
	trap "v4l2-ctl -d $d0 -c test_pattern=0; v4l2-ctl -d $d0 -c string='  '" EXIT
	vz_run ctrl -d "$d0" --set string=abc --get string
	assert_eq "$rc" 0 "string set"
	assert_eq "$(cat out.txt)" "string=abc" "string value"
	vz_run ctrl -d "$d0" --set string=abcdefgh
	assert_one_line_failure
	assert_contains err.txt "takes 2..4 characters"
}

test_ctrl_busy_while_streaming() {
	local d0 pid
	d0=$(vivid_capture 0)
	vivid_reset "$d0"
	v4l2-ctl -d "$d0" --stream-mmap --stream-count=100000 >/dev/null 2>&1 &
	pid=$!
	# shellcheck disable=SC2064
	trap "kill $pid 2>/dev/null; wait $pid 2>/dev/null || true" EXIT
	# Wait for streaming: vivid grabs its crop/compose/scaler switches.
	for _ in $(seq 50); do
		v4l2-ctl -d "$d0" -l 2>/dev/null | grep -q 'enable_capture_cropping.*grabbed' && break
		sleep 0.1
	done
	v4l2-ctl -d "$d0" -l | grep -q 'enable_capture_cropping.*grabbed' ||
		fail "vivid never grabbed enable_capture_cropping while streaming"
	vz_run ctrl -d "$d0" --set enable_capture_cropping=0
	assert_one_line_failure
	assert_contains err.txt "can't change while streaming"
	# Other controls still work while streaming.
	vz_run ctrl -d "$d0" --set brightness=128
	assert_eq "$rc" 0 "brightness while streaming"
}

test_ctrl_usage() {
	vz_run ctrl --list
	assert_eq "$rc" 2 "no -d"
	assert_contains err.txt "add -d DEV"
	vz_run ctrl -d vivid --set brightness
	assert_eq "$rc" 2 "--set without ="
	vz_run ctrl -d vivid --frobnicate
	assert_eq "$rc" 2 "unknown option"
	vz_run ctrl --help
	assert_eq "$rc" 0 "--help"
	assert_contains out.txt "Examples:"
}
