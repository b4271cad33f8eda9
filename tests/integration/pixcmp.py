#!/usr/bin/env python3
# Compares a PPM of the screen (writeback output, qemu's screendump) with a
# raw XR24 frame placed at X,Y on it; everything outside the frame must be
# BACKGROUND (RRGGBB hex) when given.  Prints what differs; exit 0 only if
# every pixel is as expected.
# Usage: pixcmp.py SCREEN.ppm FRAME.raw W H X Y [BACKGROUND]
import sys


def read_ppm(path):
    data = open(path, "rb").read()
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos) + 1
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P6" or fields[3] != b"255":
        sys.exit(f"{path}: not an 8-bit P6 PPM")
    return int(fields[1]), int(fields[2]), data[pos + 1:]


sw, sh, screen = read_ppm(sys.argv[1])
raw = open(sys.argv[2], "rb").read()
w, h, x0, y0 = (int(v) for v in sys.argv[3:7])
bg = bytes.fromhex(sys.argv[7]) if len(sys.argv) > 7 else None
if x0 + w > sw or y0 + h > sh:
    sys.exit(f"frame {w}x{h} at {x0},{y0} does not fit the {sw}x{sh} screen")
bad = bad_bg = 0
first = None


def diff(got, want, x_at, y):
    """Counts differing pixels of two RGB rows (slow path, on mismatch)."""
    global first
    n = 0
    for i in range(0, len(got), 3):
        if got[i:i + 3] != want[i:i + 3]:
            n += 1
            first = first or (x_at + i // 3, y, got[i:i + 3].hex(), want[i:i + 3].hex())
    return n


for y in range(sh):
    row = screen[3 * sw * y:3 * sw * (y + 1)]
    if y0 <= y < y0 + h:
        src = raw[4 * w * (y - y0):4 * w * (y - y0 + 1)]
        want = bytearray(3 * w)
        want[0::3], want[1::3], want[2::3] = src[2::4], src[1::4], src[0::4]
        got = row[3 * x0:3 * (x0 + w)]
        if got != want:
            bad += diff(got, want, x0, y)
        if bg is not None:
            for seg, at in ((row[:3 * x0], 0), (row[3 * (x0 + w):], x0 + w)):
                if seg != bg * (len(seg) // 3):
                    bad_bg += diff(seg, bg * (len(seg) // 3), at, y)
    elif bg is not None and row != bg * sw:
        bad_bg += diff(row, bg * sw, 0, y)
print(f"screen {sw}x{sh}, frame {w}x{h} at {x0},{y0}: {bad} frame pixels differ, "
      f"{bad_bg} background pixels differ" + (f"; first at {first}" if first else ""))
sys.exit(0 if bad == 0 and bad_bg == 0 else 1)
