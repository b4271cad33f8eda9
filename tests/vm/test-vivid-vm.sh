#!/bin/bash
# Self-tests of tools/vivid-vm: boots the VM several times (~5-10 s each under
# TCG) and prints TAP. Exits 0 only if no test failed.
#   tests/vm/test-vivid-vm.sh [PATH-TO-vivid-vm]
# The script under test defaults to tools/vivid-vm in this repository.
# Every test forces --vm, so it also tests the VM on hosts that have vivid.
# shellcheck disable=SC2016,SC2317,SC2034 # conditions are eval'ed strings
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM=${1:-$REPO/tools/vivid-vm}
[[ $VM == /* ]] || VM=$PWD/$VM
[[ -x $VM ]] || { echo "Bail out! $VM is not executable"; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/test-vivid-vm.XXXXXX")
trap 'rm -rf -- "$WORK"' EXIT

N=0 FAILED=0
PLAN=31
echo "1..$PLAN"
ok() { N=$((N + 1)); echo "ok $N - $1"; }
not_ok() {
	N=$((N + 1))
	FAILED=$((FAILED + 1))
	echo "not ok $N - $1"
	shift
	local l
	for l in "$@"; do echo "#   $l"; done
	if [[ -s $WORK/out ]]; then sed 's/^/#   stdout: /' "$WORK/out" | head -20; fi
	if [[ -s $WORK/err ]]; then sed 's/^/#   stderr: /' "$WORK/err" | head -30; fi
}
skip() { N=$((N + 1)); echo "ok $N - $1 # SKIP $2"; }
check() { # check NAME CONDITION-COMMAND... ; condition evaluated with eval
	local name=$1
	shift
	if eval "$*"; then ok "$name"; else not_ok "$name" "failed: $*" "exit status was $RC"; fi
}

RC=0 SECS=0
run() { # run [vivid-vm args...]: sets RC, SECS; output in $WORK/out, $WORK/err
	local t0=$SECONDS
	RC=0
	(cd "$REPO" && "$VM" --vm "$@") >"$WORK/out" 2>"$WORK/err" </dev/null || RC=$?
	SECS=$((SECONDS - t0))
}
has() { grep -q -- "$1" "$WORK/$2"; }

# Warm the cache first so that the timings below are about booting (the
# first time, building the out-of-tree vkms takes ~20 s).
if ! "$VM" --prepare --module vkms >"$WORK/out" 2>"$WORK/err"; then
	not_ok "--prepare builds the cache"
	echo "Bail out! cannot prepare the VM cache"
	exit 1
fi
ok "--prepare builds the cache"

run -- true
check "-- true exits 0" '[[ $RC -eq 0 ]]'

run -- sh -c 'exit 7'
check "-- sh -c 'exit 7' exits 7" '[[ $RC -eq 7 ]]'

run -- no-such-command-vzero
check "missing command exits 127 with a message" \
	'[[ $RC -eq 127 ]] && has "no-such-command-vzero: not found inside the guest" err'

# Boot time varies with host load: measure "within timeout + 15 s" from -v's
# "job started after X s".
run -v --timeout 5 -- sleep 100
started=$(sed -n 's/^vivid-vm: job started after \([0-9]*\).*/\1/p' "$WORK/err")
check "--timeout 5 -- sleep 100 exits 124 with a message, within timeout + 15 s" \
	'[[ $RC -eq 124 ]] && has "^vivid-vm: timeout: sleep did not finish within 5 s (raise --timeout)" err && [[ -n $started ]] && (( SECS - started <= 5 + 15 ))'

VIVID_VM_TEST_FAULT=nojob run -- true
check "a guest that never starts the job: 125, message and console tail" \
	'[[ $RC -eq 125 ]] && has "the guest never started the job (kernel panic?)" err && has "guest console" err && has "VIVID_VM_TEST_FAULT=nojob" err'

VIVID_VM_TEST_FAULT=panic run -- true
check "a guest kernel panic: 125 and the panic in the console tail" \
	'[[ $RC -eq 125 ]] && has "the guest never started the job" err && has "Kernel panic" err'

VIVID_VM_TEST_FAULT=hang VIVID_VM_BOOT_DEADLINE=12 run -- true
check "a hung guest hits the boot deadline: 125 within deadline + 15 s" \
	'[[ $RC -eq 125 ]] && has "the guest never started the job" err && [[ $SECS -le 27 ]]'

# Boots are the time of these tests (~7 s each): what one boot can show
# together, it does.
run --n-devs 2 -- sh -c 'v4l2-ctl --list-devices; cat /sys/class/video4linux/*/name | sort -u'
check "v4l2-ctl --list-devices lists vivid" '[[ $RC -eq 0 ]] && has "vivid" out && has /dev/video0 out'
check "--n-devs 2 gives two vivid instances" \
	'[[ $RC -eq 0 ]] && has "vivid-000" out && has "vivid-001" out'

run --no-vivid -- sh -c 'ls /sys/class/video4linux | wc -l'
check "--no-vivid loads no vivid" '[[ $RC -eq 0 && $(tr -d " \n" <"$WORK/out") == 0 ]]'

RES=$WORK/results/sub
VZ_TEST_PASS=through VZ_NET=leak VZ_NET_RX=leak run --results "$RES" \
	--env FOO=bar\ baz --env "QUOTE=it's" -- sh -c 'echo hi > "$VZ_RESULTS/x"; echo "$VZ_RESULTS"
	echo to-stdout; echo to-stderr >&2
	echo "$FOO|$QUOTE|$VZ_IN_VM|$HOME|$TERM|$LANG|$PWD"
	echo "$VZ_TEST_PASS"; echo "$GST_REGISTRY"
	touch "$HOME/w" && echo home-ok; touch "${GST_REGISTRY%/*}/.vivid-vm-test" && echo cache-ok
	echo "lo-flags=$(cat /sys/class/net/lo/flags) net=${VZ_NET-unset} rx=${VZ_NET_RX-unset}"'
check "--results DIR is writable in the guest at the same path" \
	'[[ $RC -eq 0 && -f $RES/x && $(<"$RES/x") == hi ]] && has "^$RES\$" out'
check "stdout and stderr arrive separately" \
	'[[ $RC -eq 0 ]] && has "^to-stdout$" out && has "^to-stderr$" err && ! has to-stderr out && ! has to-stdout err'
check "environment: --env, VZ_IN_VM, HOME, TERM, LANG, cwd" \
	'[[ $RC -eq 0 ]] && has "^bar baz|it'"'"'s|1|/tmp/vz-home|dumb|C.UTF-8|$REPO\$" out'
check "VZ_* passes through; GST_REGISTRY's dir and HOME are writable" \
	'[[ $RC -eq 0 ]] && has "^through$" out && has "/guest/gstreamer-1.0/registry" out && has "^home-ok$" out && has "^cache-ok$" out'
# 0x9: IFF_UP | IFF_LOOPBACK. VZ_NET* belong to --net: never the host's.
check "without --net: lo is up, VZ_NET and VZ_NET_RX unset (not passed through)" \
	'[[ $RC -eq 0 ]] && has "^lo-flags=0x9 net=unset rx=unset$" out'

# Streaming: the first line must reach the host while the job still runs.
t0=$SECONDS first=
RC=0
: >"$WORK/out"
while IFS= read -r line; do
	echo "$line" >>"$WORK/out"
	if [[ $line == first && -z $first ]]; then first=$((SECONDS - t0)); fi
done < <(cd "$REPO" && "$VM" --vm -- sh -c 'echo first; sleep 6; echo last' 2>"$WORK/err" </dev/null)
total=$((SECONDS - t0))
check "output streams live (first line before the job ends)" \
	'[[ -n $first ]] && (( total - first >= 4 )) && has "^last$" out'

# Without a display device VZ_SCREENDUMP is unset, and the run dir's copy of
# the script (the default VZ_RESULTS is RUN/results) gets qemu's refusal.
run --module vgem -- sh -c 'ls /dev/dri/; echo "SD=${VZ_SCREENDUMP-unset}"
	"${VZ_RESULTS%/*}/screendump" /tmp/x.ppm; echo "sdrc=$?"'
check "--module vgem gives a /dev/dri node" '[[ $RC -eq 0 ]] && grep -Eq "^(card|renderD)[0-9]+" "$WORK/out"'
check "no display device: VZ_SCREENDUMP unset, the script fails with qemu's reason" \
	'[[ $RC -eq 0 ]] && has "^SD=unset$" out && has "^sdrc=1$" out && has "screendump: qemu: .*no console.*--module virtio-gpu" err'

run --module no-such-module-vzero -- true
check "an unknown module fails clearly (exit 2)" '[[ $RC -eq 2 ]] && has "module no-such-module-vzero is not shipped" err'

run --module vkms=enable_overlay -- true
check "a bad --module NAME=PARAM=VALUE fails clearly (exit 2, no boot)" \
	'[[ $RC -eq 2 ]] && has "^vivid-vm: --module vkms=enable_overlay: want PARAM=VALUE" err && [[ $SECS -lt 5 ]]'

run --modparam drm_kms_helper -- true
RC1=$RC
cp "$WORK/err" "$WORK/err1"
run --no-vivid --modparam drm_kms_helper.fbdev_emulation=0 -- true
check "--modparam: bad syntax, and a module that is not loaded, fail clearly (exit 2)" \
	'[[ $RC1 -eq 2 && $RC -eq 2 ]] && has "want MODULE.PARAM=VALUE" err1 && has "module drm_kms_helper is not loaded" err'

# Where the parameters land, without a boot.
VIVID_VM_TEST_DRYRUN=1 run --module virtio-gpu --module vkms=enable_overlay=1,enable_cursor=1 \
	--modparam drm_kms_helper.fbdev_emulation=0 --module vivid=multiplanar=1,2,n_devs=2 -- true
check "module parameters land on their module's insmod line (dependencies too; commas in values)" \
	'[[ $RC -eq 0 ]] && has "/drm_kms_helper\.ko fbdev_emulation=0$" out && has "/vkms\.ko enable_overlay=1 enable_cursor=1$" out && has "/vivid\.ko multiplanar=1,2 n_devs=2$" out && [[ $(grep -c fbdev_emulation "$WORK/out") -eq 1 ]]'

# One boot: virtio-gpu (card with a qemu display) + out-of-tree vkms, the
# scan-out left off (no fbdev), a screendump of it.
run --no-vivid --module virtio-gpu --module vkms=enable_overlay=1 \
	--modparam drm_kms_helper.fbdev_emulation=0 -- bash -c '
	echo "cards=$(ls /dev/dri | grep -c "^card")"
	for c in /sys/class/drm/card?; do echo "${c##*/} $(basename "$(readlink -f "$c/device")")"; done
	ls /sys/class/drm | grep -- -
	echo "overlay=$(</sys/module/vkms/parameters/enable_overlay) fbdev=$(</sys/module/drm_kms_helper/parameters/fbdev_emulation)"
	"$VZ_SCREENDUMP" /tmp/x.ppm && echo "sd-ok" && head -n 3 /tmp/x.ppm | tr "\n" " " && echo && echo "size=$(wc -c </tmp/x.ppm)"'
vkms_card=$(sed -n 's/^\(card[0-9]*\) vkms$/\1/p' "$WORK/out")
check "virtio-gpu + vkms: two cards, vkms with Virtual-N and Writeback-1 connectors" \
	'[[ $RC -eq 0 && -n $vkms_card ]] && has "^cards=2$" out && has "^$vkms_card-Writeback-1$" out && has "^$vkms_card-Virtual-[0-9]*$" out'
check "--module vkms=enable_overlay=1 and --modparam drm_kms_helper.fbdev_emulation=0 applied" \
	'[[ $RC -eq 0 ]] && has "^overlay=Y fbdev=N$" out'
check "\$VZ_SCREENDUMP OUT.ppm writes qemu's 640x480 binary PPM of the scan-out" \
	'[[ $RC -eq 0 ]] && has "^sd-ok$" out && has "^P6 640 480 255 $" out && has "^size=921615$" out'

# --net tap: one boot. The guest sends 40 RFC 4175-like packets (extended
# sequence 0xfff0.., across a 16-bit wrap; 0x10005 left out; marker on every
# 8th) to net-rx on the tap's host side and polls VZ_NET_RX until they are
# counted.
if [[ $EUID -ne 0 ]]; then
	for t in "--net tap: the guest interface and VZ_NET_* are set" \
		"--net tap: net-rx on the tap counts the guest's packets (wrap, gap, frames)"; do
		skip "$t" "--net tap needs root"
	done
else
	run --no-vivid --net tap -- bash -c '
	echo "net=$VZ_NET host=$VZ_NET_HOST guest=$VZ_NET_GUEST iface=$VZ_NET_IFACE ports=$VZ_NET_PORTS"
	echo "addr=$(ip -4 -o addr show dev "$VZ_NET_IFACE" | awk "{ print \$4 }")"
	python3 -c "
import json, os, socket, struct, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for e in range(0xfff0, 0xfff0 + 40):
    if e != 0x10005:
        m = 0x80 if (e - 0xfff0) % 8 == 7 else 0
        s.sendto(struct.pack(\"!BBHIIH\", 0x80, 96 | m, e & 0xffff, (e - 0xfff0) // 8, 7, e >> 16) + bytes(200),
                 (os.environ[\"VZ_NET_HOST\"], 5004))
for _ in range(50):
    p = json.load(open(os.environ[\"VZ_NET_RX\"]))[\"ports\"][\"5004\"]
    if p[\"datagrams\"] >= 39:
        break
    time.sleep(0.1)
print(\"rx\", \" \".join(\"%s=%s\" % (k, p[k]) for k in (\"datagrams\", \"rtp_packets\", \"frames\",
      \"missing\", \"gaps\", \"seq16_wraps\", \"ext_seq_first\", \"ext_seq_max\", \"timestamps\")))
"'
	check "--net tap: the guest interface and VZ_NET_* are set" \
		'[[ $RC -eq 0 ]] && has "^net=tap host=10.77.66.1 guest=10.77.66.2 iface=eth[0-9] ports=5004,5006,5008$" out && has "^addr=10.77.66.2/24$" out'
	check "--net tap: net-rx on the tap counts the guest's packets (wrap, gap, frames)" \
		'[[ $RC -eq 0 ]] && has "^rx datagrams=39 rtp_packets=39 frames=5 missing=1 gaps=1 seq16_wraps=1 ext_seq_first=65520 ext_seq_max=65559 timestamps=5$" out'
fi
# Nothing of --net tap stays on (or ever reached) the host's own network.
RC=0
"$VM" --native --net tap -- true >"$WORK/out" 2>"$WORK/err" </dev/null || RC=$?
check "--net tap leaves no tap on the host; --native --net tap is refused (exit 2)" \
	'! ip link show vztap0 >/dev/null 2>&1 && [[ $RC -eq 2 ]] && has "needs the VM" err'

# The guest side alone: no host answering the request is an error.
fake=$WORK/fake-run
mkdir -p "$fake" && : >"$fake/init.conf" && : >"$fake/job.sh"
cp "$REPO/tools/vm/screendump" "$fake/"
RC=0
VZ_SCREENDUMP_TIMEOUT=1 "$fake/screendump" "$fake/x.ppm" >"$WORK/out" 2>"$WORK/err" </dev/null || RC=$?
check "screendump without a host answering exits 1 with a message" \
	'[[ $RC -eq 1 ]] && has "the host did not answer within 1 s" err && [[ ! -e $fake/x.ppm ]]'

# A checkout under /tmp (CI clones anywhere) stays visible although the
# guest has its own tmpfs /tmp: from a subdirectory, ../ must still be there.
mkdir -p "$WORK/checkout/build" "$WORK/checkout/tests"
echo visible >"$WORK/checkout/tests/marker"
RC=0
(cd "$WORK/checkout/build" && "$VM" --vm -- cat ../tests/marker) >"$WORK/out" 2>"$WORK/err" </dev/null || RC=$?
check "a cwd under /tmp keeps its whole checkout visible (../ paths)" '[[ $RC -eq 0 ]] && has "^visible$" out'

if [[ $N -ne $PLAN ]]; then
	echo "# planned $PLAN tests but ran $N"
	FAILED=$((FAILED + 1))
fi
exit $((FAILED > 0))
