#!/usr/bin/env python3
"""The table tools/bench prints, from the harness's records.tsv.

Usage: summarize.py RECORDS SUITE CONTROL OUTDIR

Per size and program: CPU per frame (ms, every thread of every process of
the program) as min and median over the interleaved rounds, allocations per
frame, bytes copied per frame where the program reports it (vzero's JSON).
The control program ran twice per round: the ratio of its two medians (and
of its two minima) is the noise floor; a ratio between programs inside it is
"no different".  Where the suite counts frames (frames=), CPU per frame
divides by the frames counted in the window, and a second table gives each
program's rate, frame intervals and sequence gaps from the trace.  Exits 3 when the programs were not measured alike (output
treatment or instrumentation differ), so an unfair table cannot pass as a
fair one.  Also writes OUTDIR/summary.json.
"""
import glob
import json
import math
import os
import statistics
import sys

NAN = float("nan")


def fmt(x, f="%.3f"):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f % x


def ratio(a, b):
    if a is None or b is None or math.isnan(a) or math.isnan(b) or b == 0:
        return NAN
    return a / b


def load(path):
    rows = []
    for line in open(path):
        p = line.rstrip("\n").split("\t")
        if len(p) == 12:  # before the copy witness column
            p += ["0", "0"]
        if len(p) == 14:  # before the counted frames column
            p += ["-"]
        if len(p) != 15:
            continue
        size, rnd, slot, name, cpu, wall, fps, allocs, fd1, fd2, pre, status, cps, fbytes, nf = p
        try:
            # Counted frames where the suite counts them (frames=), else
            # the nominal rate over the window.
            frames = float(nf) if nf != "-" else float(wall) / 1e9 * float(fps)
            cpu_ms = float(cpu) / frames / 1e6
            alloc_f = float(allocs) / frames
            copied_f = float(cps) * float(fbytes) / frames
        except (ValueError, ZeroDivisionError):
            cpu_ms, alloc_f, copied_f = NAN, NAN, NAN
        try:
            nominal_fps = float(fps)
        except ValueError:
            nominal_fps = 0.0
        rows.append(dict(size=size, round=int(rnd), slot=slot, name=name, cpu=cpu_ms,
                         nominal_fps=nominal_fps,
                         counted=nf != "-",
                         allocs=alloc_f, fd1=fd1, fd2=fd2, preload=pre, status=status,
                         copy_events=int(cps) if cps.isdigit() else 0, copied=copied_f))
    return rows


def copied_per_frame(outdir, tag, size):
    vals = []
    for j in glob.glob(os.path.join(outdir, f"{tag}-{size}-*.json")):
        try:
            d = json.load(open(j))
        except (OSError, ValueError):
            continue
        v = d.get("bytes_copied_per_frame")
        if isinstance(v, (int, float)):
            vals.append(float(v))
    return statistics.median(vals) if vals else None


def window_trace(path):
    """The v4l2_dqbuf lines between the harness's window marks: a list of
    (trace time ns on CLOCK_MONOTONIC, buffer timestamp ns, sequence)."""
    out, inside = [], False
    try:
        lines = open(path, errors="replace").read().splitlines()
    except OSError:
        return None
    for line in lines:
        if "vz-window-open" in line:
            inside = True
            continue
        if "vz-window-close" in line:
            break
        if not inside or "v4l2_dqbuf:" not in line:
            continue
        try:
            head, body = line.split("v4l2_dqbuf:", 1)
            t = head.split()[-1].rstrip(":")
            fields = dict(kv.split(" = ", 1) for kv in body.split(", ") if " = " in kv)
            if "ERROR" in fields.get("flags", ""):
                continue
            sec, _, frac = t.partition(".")
            tns = int(sec) * 1_000_000_000 + int((frac + "000000000")[:9])
            out.append((tns, int(fields["timestamp"]), int(fields["sequence"])))
        except (ValueError, KeyError, IndexError):
            continue
    return out


def pct(vals, q):
    if not vals:
        return NAN
    v = sorted(vals)
    return v[min(len(v) - 1, int(math.ceil(q / 100 * len(v))) - 1 if q > 0 else 0)]


def clock_stats(v, nominal_ms):
    """p50/p99/p99.9/max of intervals in ms, and the late ones: longer than
    1.5 nominal intervals (None where the rate is not nominal)."""
    late = sum(1 for x in v if x > 1.5 * nominal_ms) if nominal_ms else None
    return {"p50": pct(v, 50), "p99": pct(v, 99), "p99.9": pct(v, 99.9), "max": max(v),
            "late": late}


def intervals(outdir, tag, size, fps=0.0):
    """Pooled over the rounds: measured rate (median of rounds), the
    driver-clock and DQBUF-clock intervals in ms (late: > 1.5 nominal), the
    sequence gaps."""
    drv, dq, rates, gaps, frames = [], [], [], 0, 0
    for path in sorted(glob.glob(os.path.join(outdir, f"{tag}-{size}-*.frames"))):
        ev = window_trace(path)
        if not ev or len(ev) < 2:
            continue
        frames += len(ev)
        rates.append((len(ev) - 1) / ((ev[-1][0] - ev[0][0]) / 1e9))
        for a, b in zip(ev, ev[1:]):
            drv.append((b[1] - a[1]) / 1e6)
            dq.append((b[0] - a[0]) / 1e6)
            if b[2] > a[2] + 1:
                gaps += b[2] - a[2] - 1
    if not rates:
        return None
    nominal = 1000.0 / fps if fps > 0 else None
    return {"frames": frames, "fps": statistics.median(rates), "gaps": gaps,
            "driver_ms": clock_stats(drv, nominal), "dqbuf_ms": clock_stats(dq, nominal)}


def clean(x):
    """NaN is not JSON: null instead."""
    if isinstance(x, float) and math.isnan(x):
        return None
    if isinstance(x, dict):
        return {k: clean(v) for k, v in x.items()}
    if isinstance(x, list):
        return [clean(v) for v in x]
    return x


def stats(vals):
    ok = [v for v in vals if not math.isnan(v)]
    if not ok:
        return NAN, NAN, 0
    return min(ok), statistics.median(ok), len(ok)


def main():
    records, suite, control, outdir = sys.argv[1:5]
    rows = load(records)
    if not rows:
        print("bench: no measurements recorded", file=sys.stderr)
        return 1
    sizes = list(dict.fromkeys(r["size"] for r in rows))
    names = list(dict.fromkeys(r["name"] for r in rows if r["slot"] == "peer"))
    others = [n for n in names if n != control]
    rounds = max(r["round"] for r in rows) + 1
    summary = {"suite": suite, "control": control, "rounds": rounds, "sizes": {}}

    print()
    print(f"suite {suite}: steady-state CPU per frame in ms (every thread of every process),")
    print(f"min and median of {rounds} interleaved rounds; allocations and bytes copied per frame")
    head = f"{'size':<10} {'program':<18} {'min':>8} {'median':>8} {'allocs/f':>9} {'copied B/f':>11}"
    print(head)
    print("-" * len(head))
    lines_ratio = []
    for size in sizes:
        srows = [r for r in rows if r["size"] == size]
        ss = summary["sizes"][size] = {"programs": {}, "ratios": {}}
        order = [(n, "peer") for n in names] + [(control, "control")]
        first = True
        for name, slot in order:
            rr = [r for r in srows if r["name"] == name and r["slot"] == slot]
            mn, med, n = stats([r["cpu"] for r in rr])
            _, al, _ = stats([r["allocs"] for r in rr])
            tag = name if slot == "peer" else name + ".control"
            cp = copied_per_frame(outdir, tag, size)
            if cp is None and any(r["copy_events"] for r in rr):
                # What the program's own debug output admits (kmssink).
                _, cp, _ = stats([r["copied"] for r in rr])
            label = name if slot == "peer" else f"{name} (control)"
            failed = sum(1 for r in rr if r["status"] != "ok")
            print(f"{size if first else '':<10} {label:<18} {fmt(mn):>8} {fmt(med):>8}"
                  f" {fmt(al, '%.2f'):>9} {fmt(cp, '%.0f') if cp is not None else '-':>11}"
                  + (f"   ({failed} of {len(rr)} runs failed)" if failed else ""))
            first = False
            ss["programs"][label] = {"min": mn, "median": med, "runs": n,
                                     "allocs_per_frame": al, "bytes_copied_per_frame": cp,
                                     "failed": failed}
        pc = ss["programs"]
        c_med = ratio(pc[f"{control} (control)"]["median"], pc[control]["median"])
        c_min = ratio(pc[f"{control} (control)"]["min"], pc[control]["min"])
        noise = max(abs(1 - c_med), abs(1 - c_min)) if not (math.isnan(c_med) or math.isnan(c_min)) else NAN
        ss["noise_floor"] = noise
        ss["control_ratio"] = {"median": c_med, "min": c_min}
        parts = []
        for o in others:
            rm = ratio(pc[control]["median"], pc[o]["median"])
            rn = ratio(pc[control]["min"], pc[o]["min"])
            within = not math.isnan(noise) and not math.isnan(rm) and abs(1 - rm) <= noise
            ss["ratios"][f"{control}/{o}"] = {"median": rm, "min": rn, "within_noise": within}
            parts.append(f"{control}/{o} {fmt(rm, '%.2fx')} (min {fmt(rn, '%.2fx')})"
                         + (" = within noise" if within else ""))
        lines_ratio.append(f"{size:<10} " + ", ".join(parts)
                           + f"; noise floor ±{fmt(noise * 100 if not math.isnan(noise) else NAN, '%.0f')}%"
                           f" ({control} vs itself: {fmt(c_med, '%.2fx')} median, {fmt(c_min, '%.2fx')} min)")
    if any(r["counted"] for r in rows):
        print()
        print("frames counted by the kernel's DQBUF trace, every program alike (all rounds pooled):")
        head2 = (f"{'size':<10} {'program':<18} {'fps':>6} {'frames':>7} {'drv p50':>8} {'p99':>8}"
                 f" {'p99.9':>8} {'max':>8} {'late':>5} {'dq p50':>8} {'p99':>8} {'p99.9':>8}"
                 f" {'max':>8} {'late':>5} {'seq gaps':>8}")
        print(head2)
        print("-" * len(head2))
        for size in sizes:
            first = True
            for name, slot in [(n, "peer") for n in names]:
                iv = intervals(outdir, name, size,
                               next((r["nominal_fps"] for r in rows if r["size"] == size), 0.0))
                summary["sizes"][size]["programs"][name]["frames"] = iv
                if iv is None:
                    print(f"{size if first else '':<10} {name:<18} no frames counted")
                else:
                    d, q = iv["driver_ms"], iv["dqbuf_ms"]
                    late = lambda x: "-" if x["late"] is None else str(x["late"])
                    print(f"{size if first else '':<10} {name:<18} {iv['fps']:>6.2f} {iv['frames']:>7}"
                          f" {d['p50']:>8.3f} {d['p99']:>8.3f} {d['p99.9']:>8.3f} {d['max']:>8.3f}"
                          f" {late(d):>5} {q['p50']:>8.3f} {q['p99']:>8.3f} {q['p99.9']:>8.3f}"
                          f" {q['max']:>8.3f} {late(q):>5} {iv['gaps']:>8}")
                first = False
        print("(ms; drv: the buffers' own timestamps, dq: when DQBUF returned them, on CLOCK_MONOTONIC;"
              " late: intervals over 1.5 nominal, '-' without a nominal rate)")

    print()
    print("ratios of medians (and of minima):")
    for line in lines_ratio:
        print(line)

    treat = sorted({(r["fd1"], r["fd2"], r["preload"]) for r in rows if r["status"] != "failed"})
    summary["treatment"] = [list(t) for t in treat]
    measured = [r for r in rows if r["status"] != "failed"]
    print()
    fair = len(treat) == 1
    if fair:
        fd1, fd2, pre = treat[0]
        print(f"measured alike: {len(measured)} runs, stdout {fd1}, stderr on {fd2},"
              f" allocation counter preloaded: {pre}; programs interleaved, the order rotating"
              f" each round")
    else:
        print("UNFAIR: the programs were not measured alike (stdout, stderr, preload):")
        for t in treat:
            who = sorted({r["name"] for r in measured if (r["fd1"], r["fd2"], r["preload"]) == t})
            print(f"  {t}: {', '.join(who)}")
    summary["fair"] = fair
    with open(os.path.join(outdir, "summary.json"), "w") as f:
        json.dump(clean(summary), f, indent=1)
    print("Figures are CPU time under the VM's emulation: compare ratios within one run only.")
    return 0 if fair else 3


if __name__ == "__main__":
    sys.exit(main())
