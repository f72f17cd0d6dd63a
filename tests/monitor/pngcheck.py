#!/usr/bin/env python3
"""pngcheck.py FILE WIDTH HEIGHT CHECK... - decodes an 8-bit RGB PNG with
zlib alone (signature, chunk CRCs, IHDR, the five row filters) and checks
its size and pixels. A CHECK is X,Y=RRGGBB (that pixel's colour) or
nonblack:X0,Y0,X1,Y1 (some pixel of that box is not black) or
black:X0,Y0,X1,Y1 (every pixel of it is). Prints one line per failure;
exit status 0 when every check holds."""
import struct
import sys
import zlib


def decode(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG signature")
    pos, idat, ihdr, seen_end = 8, b"", None, False
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        ctype = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(ctype + body) & 0xFFFFFFFF != crc:
            raise ValueError("bad CRC in chunk %r" % ctype)
        if ctype == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif ctype == b"IDAT":
            idat += body
        elif ctype == b"IEND":
            seen_end = True
        pos += 12 + length
    if ihdr is None or not seen_end:
        raise ValueError("IHDR or IEND missing")
    w, h, depth, ctype, comp, filt, inter = ihdr
    if (depth, ctype, comp, filt, inter) != (8, 2, 0, 0, 0):
        raise ValueError("not 8-bit RGB without interlace: %r" % (ihdr,))
    raw = zlib.decompress(idat)
    stride = 3 * w
    if len(raw) != (stride + 1) * h:
        raise ValueError("IDAT holds %d bytes, expected %d" % (len(raw), (stride + 1) * h))
    rows, prev = [], bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - 3] if i >= 3 else 0
            b = prev[i]
            c = prev[i - 3] if i >= 3 else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
            elif f != 0:
                raise ValueError("unknown filter %d in row %d" % (f, y))
        rows.append(line)
        prev = line
    return w, h, rows


def main():
    path, want_w, want_h = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    try:
        w, h, rows = decode(path)
    except (OSError, ValueError, zlib.error) as e:
        print("%s: %s" % (path, e))
        return 1
    px = lambda x, y: (rows[y][3 * x] << 16) | (rows[y][3 * x + 1] << 8) | rows[y][3 * x + 2]
    bad = 0
    if (w, h) != (want_w, want_h):
        print("size %dx%d, expected %dx%d" % (w, h, want_w, want_h))
        return 1
    for check in sys.argv[4:]:
        if ":" in check:
            kind, box = check.split(":")
            x0, y0, x1, y1 = map(int, box.split(","))
            found = any(px(x, y) for y in range(y0, y1) for x in range(x0, x1))
            if (kind == "nonblack") != found:
                print("%s: box %s is %s" % (kind, box, "all black" if not found else "not all black"))
                bad += 1
        else:
            xy, rgb = check.split("=")
            x, y = map(int, xy.split(","))
            if px(x, y) != int(rgb, 16):
                print("pixel (%d,%d) is %06x, expected %s" % (x, y, px(x, y), rgb))
                bad += 1
    return 1 if bad else 0


sys.exit(main())
