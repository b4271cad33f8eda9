# vzero capture on everything that is not a usable capture device, and on
# nonsense arguments: one clear line on stderr, the right exit status
# (1 runtime, 2 usage), never a crash.  Sourced by run after lib.sh.

# Shared helpers (_vz_cap, _vz_node).
source "$(dirname "${BASH_SOURCE[0]}")/t-capture.sh"

# Runs vzero capture expecting failure with status $1; the message must be
# one line, start with "vzero capture:", and contain each further argument.
_vze_expect() { # status needle... -- args...
	local want=$1 needles=()
	shift
	while [[ $1 != -- ]]; do
		needles+=("$1")
		shift
	done
	shift
	echo "+ vzero capture $*" >&2
	set +e
	"$VZ" capture "$@" >out.txt 2>err.txt
	rc=$?
	set -e
	cat err.txt >&2
	assert_eq "$rc" "$want" "exit status of vzero capture $*"
	[[ $(wc -l <err.txt) == 1 ]] || fail "expected one line on stderr, got $(wc -l <err.txt)"
	assert_contains err.txt "vzero capture: "
	local n
	for n in "${needles[@]}"; do
		assert_contains err.txt "$n"
	done
}

test_err_no_such_path() {
	_vze_expect 1 /dev/video99 -- -d /dev/video99 -n 1
}

test_err_not_a_char_device() {
	_vze_expect 1 /etc/passwd -- -d /etc/passwd -n 1
	_vze_expect 1 /dev/dri -- -d /dev/dri -n 1
}

test_err_not_v4l2() {
	_vze_expect 1 /dev/null "not a V4L2" -- -d /dev/null -n 1
}

_vze_wrong_node() { # kind node-word
	local n
	[[ -d /sys/module/vivid ]] || skip "vivid is not loaded (run under tools/vivid-vm)"
	n=$(_vz_node 0 "$1") || skip "vivid made no $1 node here (node_types)"
	_vze_expect 1 "$n" "$2" -- -d "$n" -n 1
}

test_err_output_node() {
	_vze_wrong_node vid-out output
}

test_err_metadata_node() {
	_vze_wrong_node meta-cap etadata
}

test_err_vbi_node() {
	_vze_wrong_node vbi-cap VBI
}

test_err_radio_node() {
	_vze_wrong_node rad-rx radio
}

test_err_touch_node() {
	_vze_wrong_node touch-cap touch
}

test_err_busy() {
	local dev pid
	dev=$(_vz_cap 0)
	vivid_reset "$dev"
	"$VZ" capture -d "$dev" --timeline-csv bg.csv >/dev/null 2>&1 &
	pid=$!
	_vz_wait_streaming bg.csv
	_vze_expect 1 "in use by another process" "fuser $dev" -- -d "$dev" -s 640x480 -n 5
	# Without a format request it is REQBUFS that meets the owner.
	_vze_expect 1 "in use by another process" -- -d "$dev" -n 5
	kill -INT "$pid"
	wait "$pid" || fail "the first capture did not stop cleanly"
}

test_err_unsupported_fourcc() {
	local dev
	dev=$(_vz_cap 0)
	_vze_expect 1 "does not offer format ABCD" "YUYV" "UYVY" -- -d "$dev" -f ABCD -n 1
}

test_err_unsupported_size() {
	local dev
	dev=$(_vz_cap 0)
	_vze_expect 1 "641x479" "nearest it offers: 640x480" -- -d "$dev" -f YUYV -s 641x479 -n 1
}

test_err_unsupported_rate() {
	local dev
	dev=$(_vz_cap 0)
	# vivid's webcam does at most 25 fps at 640x480.
	_vze_expect 1 "60 fps" "nearest it offers: 25 fps" -- -d "$dev" -f YUYV -s 640x480 -r 60 -n 1
}

test_err_permission_denied() {
	local dev
	dev=$(_vz_cap 0)
	command -v setpriv >/dev/null || skip "setpriv missing"
	chgrp video "$dev"
	chmod 0660 "$dev"
	run setpriv --reuid=65534 --regid=65534 --clear-groups "$VZ" capture -d "$dev" -n 1 \
		>out.txt 2>err.txt
	cat err.txt >&2
	assert_eq "$rc" 1 "exit status as an outsider"
	assert_contains err.txt "ermission denied"
	assert_contains err.txt "video"
	assert_contains err.txt "usermod -aG video"
	# ... and a member of the group gets in.
	run setpriv --reuid=65534 --regid=65534 --groups=video "$VZ" capture -d "$dev" -n 3
	assert_eq "$rc" 0 "exit status as a member of group video"
}

test_err_usage() {
	local dev
	dev=$(_vz_cap 0)
	_vze_expect 2 "-n '-5'" -- -d "$dev" -n -5
	_vze_expect 2 "-n '0'" -- -d "$dev" -n 0
	_vze_expect 2 "99999999999999999999999" -- -d "$dev" -n 99999999999999999999999
	_vze_expect 2 "size '0x0'" -- -d "$dev" -s 0x0
	_vze_expect 2 "size '640'" -- -d "$dev" -s 640
	_vze_expect 2 "rate 'abc'" -- -d "$dev" -r abc
	_vze_expect 2 "rate '0'" -- -d "$dev" -r 0
	_vze_expect 2 "time '-1'" -- -d "$dev" -t -1
	_vze_expect 2 "--io 'foo'" "mmap or dmabuf-import" -- -d "$dev" --io foo
	_vze_expect 2 "--buffers '64'" -- -d "$dev" --buffers 64
	_vze_expect 2 "which device" -- -n 1
	_vze_expect 2 "unknown option '--bogus'" -- -d "$dev" --bogus
	_vze_expect 2 "needs a value" -- -d "$dev" -n
	_vze_expect 2 "unexpected argument 'extra'" -- -d "$dev" extra
	run "$VZ" capture --help >help.txt
	assert_eq "$rc" 0 "--help exit status"
	assert_contains help.txt "Examples:"
	assert_contains help.txt "--reconnect"
}

# One command on one odd node: prints why it is wrong, nothing if right.
_vze_sweep_one() { # vzero node command scratch-prefix
	local vz=$1 n=$2 cmd=$3 out=$4.out err=$4.err words rc=0
	read -ra words <<<"$cmd"
	timeout 20 "$vz" "${words[0]}" -d "$n" "${words[@]:1}" >"$out" 2>"$err" </dev/null || rc=$?
	if ((rc >= 128)); then
		echo "vzero $cmd -d '$n': killed by signal $((rc - 128)) (or timed out)"
		return 0
	fi
	# devices and ctrl describe any V4L2 or media node (an output's
	# controls are real); on anything else they refuse like the rest
	if [[ $rc == 0 && ${words[0]} =~ ^(devices|ctrl)$ && $n =~ ^/dev/(video|media|v4l-subdev|radio|swradio|vbi|v4l-touch) ]]; then
		return 0
	fi
	if ((rc != 1 && rc != 2)); then
		echo "vzero $cmd -d '$n': exit $rc (want 1 or 2)"
	elif [[ $(wc -l <"$err") != 1 ]]; then
		echo "vzero $cmd -d '$n': exit $rc with $(wc -l <"$err") lines: $(head -c 600 "$err")"
	elif ! grep -q "^vzero ${cmd%% *}: " "$err"; then
		echo "vzero $cmd -d '$n': the line does not name the command: $(cat "$err")"
	fi
}

# Every node the drivers made that is not a video capture node, and things
# that are not devices at all, through the commands that stream (capture,
# run, jitter): each ends with exit 1 or 2 and one line that names the
# command -- never a signal.  Then absurd values on a
# real capture node: refused in one line too.  vivid instance 0's nodes
# (the others are of the same kinds), through the plain build, which is
# what users run and starts four times faster under TCG than the ASan one
# (205 runs took 188 s with it); the ASan build meets these nodes in the
# tests above.
test_err_every_node_every_command() {
	local nodes=() f n cmd rc tried=0 dev w i vz=${VZ_PLAIN_BUILD:-}/tools/vzero
	[[ -d /sys/module/vivid ]] || skip "vivid is not loaded (run under tools/vivid-vm)"
	[[ -n ${VZ_PLAIN_BUILD:-} && -x $vz ]] || vz=$VZ
	for f in /sys/class/video4linux/*; do
		case $(cat "$f/name") in
		*-vid-cap) ;;
		vivid-000-*) nodes+=("/dev/${f##*/}") ;;
		esac
	done
	for n in /dev/media* /dev/dri/card* /dev/v4l-subdev*; do
		if [[ -e $n ]]; then nodes+=("$n"); fi
	done
	nodes+=(/dev/null /dev/zero /dev/dri /etc/passwd /nonexistent "" "vivid:99" "libcamera:9")
	((${#nodes[@]} >= 10)) || fail "only ${#nodes[@]} odd nodes to try: ${nodes[*]}"
	# two nodes at a time (each node's commands in turn, so no two runs
	# share a node): the guest has two CPUs and each run mostly starts up
	for w in 0 1; do
		(
			for ((i = w; i < ${#nodes[@]}; i += 2)); do
				for cmd in "capture -n 2" "run --sink null -n 2" "jitter -n 2" "devices" "ctrl --list"; do
					# on vivid's other video nodes devices and ctrl only
					# describe them (exit 0, checked on radio, media and
					# subdev nodes): the sweep's time goes to where they
					# must refuse
					if [[ ${cmd%% *} =~ ^(devices|ctrl)$ && ${nodes[i]} == /dev/video* ]]; then
						continue
					fi
					echo "ran: $cmd -d '${nodes[i]}'" >>"tried-$w.txt"
					_vze_sweep_one "$vz" "${nodes[i]}" "$cmd" "w$w"
				done
			done
			touch "done-$w"
		) >"bad-$w.txt" 2>&1 &
	done
	wait
	[[ -e done-0 && -e done-1 ]] || fail "a sweep worker stopped early: $(cat bad-0.txt bad-1.txt)"
	tried=$(cat tried-0.txt tried-1.txt | wc -l)
	if [[ -s bad-0.txt || -s bad-1.txt ]]; then
		fail "$(cat bad-0.txt bad-1.txt)"
	fi
	echo "$tried runs on ${#nodes[@]} odd nodes (capture, run, jitter, devices, ctrl): no signal, one line each" >&2
	dev=$(_vz_cap 0)
	for cmd in "-s 16384x16384" "-s 0x0" "-r 100000" "-r 0" "--buffers 100000" "-f ZZZZ" \
		"-n 0" "-t -1" "--stall-timeout 0"; do
		# shellcheck disable=SC2086
		rc=0
		timeout 20 "$vz" capture -d "$dev" -n 1 $cmd >out.txt 2>err.txt </dev/null || rc=$?
		((rc == 1 || rc == 2)) || fail "vzero capture $cmd: exit $rc (want 1 or 2)"
		[[ $(wc -l <err.txt) == 1 ]] || fail "vzero capture $cmd: $(wc -l <err.txt) lines: $(cat err.txt)"
	done
}
