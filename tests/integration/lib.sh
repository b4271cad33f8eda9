# Helpers for the integration tests (sourced; see run).
# vzero's binaries come from $VZ_BUILD; scratch files go in the cwd (a
# fresh temp dir per test); results worth keeping go in $VZ_RESULTS.

VZ=$VZ_BUILD/tools/vzero
VZH=$VZ_BUILD/tests/integration

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*"
	echo "SKIP: $*" >&2
	exit 77
}

# Runs a command, shows it, keeps going whatever it returns; sets $rc.
run() {
	echo "+ $*" >&2
	set +e
	"$@"
	rc=$?
	set -e
	return 0
}

assert_eq() { # actual expected what
	[[ "$1" == "$2" ]] || fail "${3:-value}: expected '$2', got '$1'"
}

assert_ne() {
	[[ "$1" != "$2" ]] || fail "${3:-value}: expected something other than '$2'"
}

assert_ge() { # actual min what (integers)
	[[ "$1" -ge "$2" ]] || fail "${3:-value}: expected >= $2, got $1"
}

assert_le() {
	[[ "$1" -le "$2" ]] || fail "${3:-value}: expected <= $2, got $1"
}

assert_contains() { # file-or-string needle
	if [[ -f "$1" ]]; then
		grep -qF -- "$2" "$1" || { sed 's/^/  | /' "$1" >&2; fail "'$2' not found in $1"; }
	else
		[[ "$1" == *"$2"* ]] || fail "'$2' not found in: $1"
	fi
}

# A value from a JSON file: json_get out.json '["frames"]' (a path into the
# document d) or json_get out.json 'len(d["sinks"])' (any expression of d).
# Plain paths go to vz-json-get first (milliseconds, Python's spelling of
# the value); it answers 3 for anything it does not reproduce exactly, and
# Python then answers (or raises, with its own message).
json_get() {
	local out rc=0
	if [[ $2 == \[* && -x $VZH/vz-json-get ]]; then
		out=$("$VZH/vz-json-get" "$1" "$2") || rc=$?
		if ((rc == 0)); then
			printf '%s\n' "$out"
			return 0
		fi
		((rc == 3)) || return "$rc"
	fi
	python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
e = sys.argv[2]
print(eval(("d" + e) if e.startswith("[") else e))' "$1" "$2"
}

# The capture node of vivid instance N (0-based): /dev/videoX.  vivid names
# its nodes in sysfs ("vivid-000-vid-cap"), which is far cheaper than asking
# v4l2-ctl about every node.
# A field of the first sink in a --stats-json report.
rsink() { # file field
	json_get "$1" "[\"sinks\"][0][\"$2\"]"
}

vivid_cap() {
	local want n
	want=$(printf 'vivid-%03d-vid-cap' "${1:-0}")
	for n in ${VZ_SYSFS_V4L:-/sys/class/video4linux}/video*; do
		[[ -r $n/name && $(<"$n/name") == "$want" ]] || continue
		echo "/dev/${n##*/}"
		return 0
	done
	return 1
}

need_vivid() { # instance -> prints the node or skips loudly
	local d
	d=$(vivid_cap "${1:-0}") || skip "vivid instance ${1:-0} has no capture node here (is vivid loaded? run under tools/vivid-vm)"
	echo "$d"
}

# Sets a vivid control by its v4l2-ctl name (e.g. percentage_of_dropped_buffers).
vivid_set() { # dev name value
	v4l2-ctl -d "$1" -c "$2=$3"
}

# Resets the fault-injection controls so tests don't leak into each other.
# One v4l2-ctl for all (it sets controls before the input, the order this
# wants): each start costs ~0.25 s in the TCG guest, and most tests reset.
# Where one control is missing the combined call refuses everything, so
# then each goes alone.
vivid_reset() {
	local dev=$1 c
	local ctrls=(percentage_of_dropped_buffers=0 wrap_sequence_number=0 wrap_timestamp=0
		y_cbcr_encoding=0 colorspace=2)
	local IFS=,
	v4l2-ctl -d "$dev" -c "${ctrls[*]}" -i 0 >/dev/null 2>&1 && return 0
	unset IFS
	for c in "${ctrls[@]}"; do
		v4l2-ctl -d "$dev" -c "$c" 2>/dev/null || true
	done
	v4l2-ctl -d "$dev" -i 0 >/dev/null 2>&1 || true
}

# Polls COMMAND every 0.1 s until it succeeds (0) or TENTHS tries have
# failed (1): for things that happen in another process.
wait_until() { # tenths command...
	local i n=$1
	shift
	for ((i = 0; i < n; i++)); do
		"$@" && return 0
		sleep 0.1
	done
	return 1
}

# The card node of DRM driver NAME (vkms, virtio_gpu, vgem), or skip loudly.
need_drm() { # driver -> /dev/dri/cardN
	local c n names
	for c in /sys/class/drm/card[0-9]*; do
		[[ $c == *-* ]] && continue
		# vgem and vkms are bare platform devices (no driver link: the
		# device's own name says it); virtio-gpu hangs off a virtio device.
		names=" $(basename "$(readlink -f "$c/device")") "
		for n in "$c"/device/driver "$c"/device/virtio*/driver; do
			[[ -e $n ]] && names+="$(basename "$(readlink -f "$n")") "
		done
		names=${names//-/_}
		[[ $names == *" ${1//-/_} "* ]] && { echo "/dev/dri/${c##*/}"; return 0; }
	done
	skip "no DRM device driven by $1 here (run under tools/vivid-vm --module ${1//_/-})"
}

# vivid's static test pattern (no on-screen text), XR24 at 640x480: one
# frame of it as raw bytes in FILE -- what every frame should look like.
vivid_static_frame() { # dev file
	v4l2-ctl -d "$1" -c osd_text_mode=2
	v4l2-ctl -d "$1" --set-fmt-video=width=640,height=480,pixelformat=XR24 \
		--stream-mmap --stream-count=3 --stream-to="$2.all" >/dev/null 2>&1 ||
		fail "v4l2-ctl could not capture a reference frame"
	tail -c $((640 * 480 * 4)) "$2.all" >"$2"
	rm -f "$2.all"
}

# `vzero run ARGS...` ended by SIGNAL (INT or TERM) once it streams: exit 0,
# "interrupted; report follows", the report on stdout and frames in its
# JSON (s-SIGNAL.json).
run_ends_with_report_on() { # signal run-args...
	local sig=$1 pid rc
	shift
	"$VZ" run "$@" --status --stats-json "s-$sig.json" >"o-$sig.txt" 2>"e-$sig.txt" &
	pid=$!
	wait_until 300 grep -q 'frames |' "e-$sig.txt" || fail "the run never streamed (SIG$sig)"
	kill -"$sig" "$pid"
	rc=0
	wait "$pid" || rc=$?
	[[ $rc == 0 ]] || tail -n 5 "e-$sig.txt" >&2
	assert_eq "$rc" 0 "exit status after SIG$sig"
	assert_contains "e-$sig.txt" "interrupted; report follows"
	assert_contains "o-$sig.txt" "frames:"
	assert_ge "$(json_get "s-$sig.json" '["frames"]')" 1 "frames in the JSON after SIG$sig"
}
