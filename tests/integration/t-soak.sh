# tools/soak for two minutes: vivid -> stamp -> gst, rtp, ipc and drm (the
# main boot loads vkms) at once, a fault every 6-14 s (every kind in turn),
# sampled each second.  It fails on fd/RSS/VmLck growth after the 30 s
# warm-up or on a broken invariant; the 30-minute run is the closing note's.
# The plain build: AddressSanitizer's quarantine grows RSS by design.
# Sourced by run after lib.sh.

test_soak_two_minutes() {
	local vz=${VZ_PLAIN_BUILD:-}/tools/vzero
	[[ -n ${VZ_PLAIN_BUILD:-} && -x $vz ]] ||
		fail "no plain (non-ASan) build given (VZ_PLAIN_BUILD): tools/run-tests passes build/"
	need_vivid 2 >/dev/null
	rc=0
	# the first round of faults (one of each kind, 5 s apart) is part of
	# the warm-up; the test checks below that the judged window holds a
	# disconnect, so a leak per reconnect shows as a slope, not as a step
	# hidden in the warm-up
	"$VZ_SRC/tools/soak" --vzero "$vz" --seconds 120 --warmup 30 --seed 3 --out "$PWD/soak" || rc=$?
	mkdir -p "$VZ_RESULTS/soak"
	cp soak/summary.json soak/samples.csv soak/faults.csv soak/soak.svg "$VZ_RESULTS/soak/" 2>/dev/null || true
	# the verdict's reasons in the failure line itself: CI shows that line,
	# not the soak's files
	[[ $rc == 0 ]] || fail "tools/soak exited $rc: $(python3 -c '
import json, sys
try:
    print("; ".join(json.load(open(sys.argv[1]))["failures"]) or "no failure recorded")
except (OSError, ValueError, KeyError) as e:
    print(f"no summary ({e})")' soak/summary.json)"
	python3 - soak/summary.json <<'PY' || fail "the soak did not exercise what it claims"
import json, sys
s = json.load(open(sys.argv[1]))
kinds = set(s["fault_kinds"])
want = {"drops", "error_flag", "qbuf", "fatal", "streamon", "disconnect"}
assert kinds == want, f"fault kinds injected: {sorted(kinds)}"
assert s["steady_samples_judged"] >= 30, s["steady_samples_judged"]
assert "disconnect" in s["fault_kinds_judged"], f"faults after the warm-up: {s['fault_kinds_judged']}"
names = " ".join(k["name"] for k in s["sinks"])
for kind in ("gst", "rtp", "ipc", "drm"):
    assert kind in names, names
# seen by vzero, not only pressed
c = s["capture"]
for k in ("driver_drops", "error_frames", "qbuf_errors", "streamon_errors", "restarts"):
    assert c[k] >= 1, (k, c)
assert c["reconnects"] >= 2 and c["reconnects"] == c["disconnects"], c
print("growth:", s["growth"])
PY
}
