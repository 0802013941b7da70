"""Generate the shared protocol test vectors from the Python codec.

    python firmware/vectors/make_vectors.py            # writes frames.json and ../test/vectors.h
    python firmware/vectors/make_vectors.py --check    # exit 1 if either file is out of date

frames.json lists frames as hex bytes with what they decode to. tests/test_protocol.py
decodes and re-encodes every vector; the C host tests (firmware/test/test_core.c) check the
same vectors through vectors.h, which is written from the JSON content alone, and a test
checks that both files are what this script writes.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from kneeemg.protocol import (FMT_S16, FMT_S24, STATUS_BATTERY_LOW, STATUS_LEAD_OFF_HIGH, STATUS_SATURATION, Command,
                              CommandFrame, DataFrame, InfoFrame, ble_fragments, cobs_encode, crc16, decode_frame,
                              encode_frame)

HERE = Path(__file__).resolve().parent
JSON_PATH = HERE / "frames.json"
HEADER_PATH = HERE.parent / "test" / "vectors.h"
KINDS = {"invalid": 0, "data": 1, "info": 2, "command": 3, "cobs": 4, "fragments": 5}


def _serial(raw: bytes) -> str:
    return (cobs_encode(raw) + b"\0").hex()


def _with_crc(body: bytes) -> bytes:
    return body + crc16(body).to_bytes(2, "little")


def vectors() -> list[dict]:
    """Every vector, as stored in frames.json."""
    rng = np.random.default_rng(7)
    out: list[dict] = []

    def data(name, first, ts, counts, status=0, fmt=FMT_S24, high=0):
        counts = np.asarray(counts, dtype=np.int32)
        raw = encode_frame(DataFrame(first, ts, counts, status, fmt, high))
        out.append({"name": name, "type": "data", "hex": raw.hex(), "serial_hex": _serial(raw), "first_sample": first,
                    "timestamp_us": ts, "status": status, "fmt": fmt, "lead_off_high": high,
                    "n_channels": int(counts.shape[1]), "n_samples": int(counts.shape[0]),
                    "counts": counts.reshape(-1).tolist()})
        return raw

    s24_min, s24_max = -(1 << 23), (1 << 23) - 1
    first = data("s24 1ch", 0, 0, [[1], [-1], [0], [100]])
    data("s24 2ch extremes, saturation and lead-off", 1 << 40, 0xFFFFFFFF,
         [[s24_max, s24_min], [-1, 1], [0, 0], [0x800000 - 2, -0x7FFFFF]], STATUS_SATURATION | 0x01)
    data("s24 8ch battery low", 123456, 1_000_000, rng.integers(s24_min, s24_max + 1, (9, 8)), STATUS_BATTERY_LOW)
    data("s24 1ch full notification (244 bytes)", 1000, 1000, rng.integers(-2000, 2000, (74, 1)))
    data("s16 1ch extremes", 5, 42, [[32767], [-32768], [0], [-2], [256]], STATUS_SATURATION, FMT_S16)
    data("s16 2ch lead-off", 77, 9, rng.integers(-32768, 32768, (55, 2)), 0x02, FMT_S16)
    data("s16 8ch", 2**48 - 1, 123, rng.integers(-32768, 32768, (13, 8)), 0, FMT_S16)
    data("s24 12ch lead-off extension", 9, 9, rng.integers(-5000, 5000, (3, 12)), STATUS_LEAD_OFF_HIGH | 0x80, FMT_S24, 0b1010)
    data("s24 64ch one sample", 64, 64, rng.integers(s24_min, s24_max + 1, (1, 64)), STATUS_LEAD_OFF_HIGH, FMT_S24, 1 << 55)

    for name, info in (("info 2ch", InfoFrame(1000.0, 0.0715, ("VM", "RF_LONG_LABEL"), 0xC0FFEE, (1, 0, 3), FMT_S24, 87, 0xA5A50001)),
                       ("info 8ch s16", InfoFrame(2000.0, 1.5, tuple(f"ch{i}" for i in range(8)), 7, (2, 10, 0), FMT_S16, 5, 1))):
        raw = encode_frame(info)
        back = decode_frame(raw)  # the stored float32 values, as a host reads them
        out.append({"name": name, "type": "info", "hex": raw.hex(), "serial_hex": _serial(raw), "fs_hz": back.fs_hz,
                    "uv_per_count": back.uv_per_count, "labels": list(back.labels), "device_id": back.device_id,
                    "firmware": list(back.firmware), "fmt": back.fmt, "battery_pct": back.battery_pct,
                    "session_id": back.session_id, "n_channels": len(back.labels)})

    for cmd, arg in ((Command.START, 0), (Command.STOP, 0), (Command.SET_RATE, 2000), (Command.REQUEST_INFO, 0)):
        raw = encode_frame(CommandFrame(cmd, arg))
        out.append({"name": f"command {cmd.name.lower()}", "type": "command", "hex": raw.hex(), "serial_hex": _serial(raw),
                    "command": int(cmd), "argument": arg})

    frame = encode_frame(DataFrame(500, 500_000, rng.integers(-3000, 3000, (37, 2)).astype(np.int32)))
    for mtu in (23, 100):
        out.append({"name": f"fragments at MTU {mtu}", "type": "fragments", "hex": frame.hex(), "mtu": mtu,
                    "fragments": [f.hex() for f in ble_fragments(frame, mtu)]})

    bad_crc = bytearray(first)
    bad_crc[-1] ^= 0x01
    wrong_version = bytearray(first[:-2])
    wrong_version[0] = 2
    unknown_type = bytearray(first[:-2])
    unknown_type[1] = 9
    short_header = bytearray(first[:-2])
    short_header[4] = 5  # says 5 samples, holds 4
    for name, raw, err in (("bad crc", bytes(bad_crc), "CRC"),
                           ("truncated", first[:-3], "CRC"),
                           ("length does not match header (valid CRC)", _with_crc(bytes(short_header)), "length"),
                           ("wrong version (valid CRC)", _with_crc(bytes(wrong_version)), "version"),
                           ("unknown frame type (valid CRC)", _with_crc(bytes(unknown_type)), "type"),
                           ("too short", b"\x01\x01\x00", "too short")):
        out.append({"name": name, "type": "invalid", "hex": raw.hex(), "error": err})

    for name, payload in (("cobs empty", b""), ("cobs zeros", bytes(5)), ("cobs 254 non-zero", bytes(range(1, 255))),
                          ("cobs 300 ones", bytes([1]) * 300), ("cobs zero then 255 run", b"\0" + bytes([0xAB]) * 255),
                          ("cobs mixed", bytes([0, 1, 0, 255, 0]))):
        out.append({"name": name, "type": "cobs", "decoded_hex": payload.hex(), "encoded_hex": cobs_encode(payload).hex()})
    return out


def _bytes(name: str, hexstr: str) -> str:
    b = bytes.fromhex(hexstr)
    return f"static const uint8_t {name}[] = {{{', '.join(str(x) for x in b) or '0'}}};"


def c_header(vs: list[dict]) -> str:
    """vectors.h, written from the JSON content only."""
    arrays, rows = [], []
    for i, v in enumerate(vs):
        t, f = v["type"], {"name": json.dumps(v["name"]), "kind": str(KINDS[v["type"]])}
        if t == "cobs":
            arrays += [_bytes(f"v{i}_raw", v["decoded_hex"]), _bytes(f"v{i}_serial", v["encoded_hex"])]
            f |= {"raw": f"v{i}_raw", "raw_len": str(len(v["decoded_hex"]) // 2),
                  "serial": f"v{i}_serial", "serial_len": str(len(v["encoded_hex"]) // 2)}
        else:
            arrays.append(_bytes(f"v{i}_raw", v["hex"]))
            f |= {"raw": f"v{i}_raw", "raw_len": f"sizeof v{i}_raw"}
            if "serial_hex" in v:
                arrays.append(_bytes(f"v{i}_serial", v["serial_hex"]))
                f |= {"serial": f"v{i}_serial", "serial_len": f"sizeof v{i}_serial"}
        if t == "data":
            arrays.append(f"static const int32_t v{i}_counts[] = {{{', '.join(str(c) for c in v['counts'])}}};")
            f |= {"first_sample": f"{v['first_sample']}ULL", "timestamp_us": f"{v['timestamp_us']}UL", "status": str(v["status"]),
                  "fmt": str(v["fmt"]), "n_channels": str(v["n_channels"]), "n_samples": str(v["n_samples"]),
                  "lead_off_high": f"{v['lead_off_high']}ULL", "counts": f"v{i}_counts"}
        elif t == "info":
            arrays.append(f"static const char *const v{i}_labels[] = {{{', '.join(json.dumps(s) for s in v['labels'])}}};")
            f |= {"fs_hz": repr(v["fs_hz"]), "uv_per_count": repr(v["uv_per_count"]), "device_id": f"{v['device_id']}UL",
                  "session_id": f"{v['session_id']}UL", "firmware": "{" + ", ".join(map(str, v["firmware"])) + "}",
                  "fmt": str(v["fmt"]), "battery_pct": str(v["battery_pct"]), "n_channels": str(v["n_channels"]),
                  "labels": f"v{i}_labels"}
        elif t == "command":
            f |= {"command": str(v["command"]), "argument": f"{v['argument']}UL"}
        elif t == "fragments":
            arrays.append(_bytes(f"v{i}_frags", "".join(v["fragments"])))
            arrays.append(f"static const unsigned v{i}_frag_lens[] = {{{', '.join(str(len(x) // 2) for x in v['fragments'])}}};")
            f |= {"mtu": str(v["mtu"]), "frags": f"v{i}_frags", "frag_lens": f"v{i}_frag_lens", "n_frags": str(len(v["fragments"]))}
        rows.append("    {" + ", ".join(f".{k} = {val}" for k, val in f.items()) + "}")
    return "\n".join([
        "/* Generated by firmware/vectors/make_vectors.py from frames.json. Do not edit. */",
        "#ifndef KEMG_VECTORS_H", "#define KEMG_VECTORS_H", "", "#include <stdint.h>", "",
        "enum { V_INVALID, V_DATA, V_INFO, V_COMMAND, V_COBS, V_FRAGMENTS };", "",
        "typedef struct {",
        "    const char *name;",
        "    int kind;",
        "    const uint8_t *raw; unsigned raw_len;       /* the frame; for COBS vectors the decoded bytes */",
        "    const uint8_t *serial; unsigned serial_len; /* COBS form + 0x00; for COBS vectors the encoding alone */",
        "    unsigned long long first_sample, lead_off_high;",
        "    unsigned long timestamp_us, device_id, session_id, argument;",
        "    unsigned status, fmt, n_channels, n_samples, battery_pct, command, mtu, n_frags;",
        "    unsigned firmware[3];",
        "    double fs_hz, uv_per_count;",
        "    const int32_t *counts;",
        "    const char *const *labels;",
        "    const uint8_t *frags; const unsigned *frag_lens;",
        "} kemg_vector;", "",
        *arrays, "",
        "static const kemg_vector VECTORS[] = {", ",\n".join(rows), "};",
        "#define N_VECTORS (sizeof VECTORS / sizeof VECTORS[0])", "", "#endif", ""])


def rendered() -> dict[Path, str]:
    """The two files' contents, as this script writes them."""
    vs = vectors()
    text = json.dumps(vs, indent=1) + "\n"
    return {JSON_PATH: text, HEADER_PATH: c_header(json.loads(text))}


def main(argv: list[str]) -> int:
    files = rendered()
    if "--check" in argv:
        stale = [str(p) for p, text in files.items() if not p.exists() or p.read_text() != text]
        for p in stale:
            print(f"{p} is out of date: run python firmware/vectors/make_vectors.py", file=sys.stderr)
        return 1 if stale else 0
    for p, text in files.items():
        p.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
