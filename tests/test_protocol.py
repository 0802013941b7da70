"""The wire protocol against the shared vectors (the C core checks the same file)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kneeemg.protocol import (FMT_S16, FMT_S24, CommandFrame, DataFrame, InfoFrame, ProtocolError, SerialDeframer, cobs_decode,
                              cobs_encode, crc16, decode_frame, encode_frame, samples_per_frame, serial_encode)

ROOT = Path(__file__).resolve().parent.parent
VECTORS = json.loads((ROOT / "firmware" / "vectors" / "frames.json").read_text())


@pytest.mark.parametrize("v", VECTORS, ids=[v["name"] for v in VECTORS])
def test_vector(v):
    if v["type"] == "cobs":
        assert cobs_encode(bytes.fromhex(v["decoded_hex"])).hex() == v["encoded_hex"]
        assert cobs_decode(bytes.fromhex(v["encoded_hex"])).hex() == v["decoded_hex"]
        return
    raw = bytes.fromhex(v["hex"])
    if v["type"] == "invalid":
        with pytest.raises(ProtocolError, match=v["error"]):
            decode_frame(raw)
        return
    frame = decode_frame(raw)
    assert encode_frame(frame) == raw  # bit-exact re-encoding
    assert serial_encode(frame).hex() == v["serial_hex"]
    if v["type"] == "data":
        assert isinstance(frame, DataFrame)
        assert (frame.first_sample, frame.timestamp_us, frame.status, frame.fmt) == (v["first_sample"], v["timestamp_us"], v["status"], v["fmt"])
        assert frame.counts.reshape(-1).tolist() == v["counts"]
    elif v["type"] == "info":
        assert isinstance(frame, InfoFrame)
        assert frame.labels == tuple(v["labels"]) and frame.device_id == v["device_id"] and frame.battery_pct == v["battery_pct"]
        assert frame.fs_hz == v["fs_hz"] and frame.uv_per_count == pytest.approx(v["uv_per_count"])
    else:
        assert isinstance(frame, CommandFrame) and int(frame.command) == v["command"] and frame.argument == v["argument"]


def test_vectors_and_c_header_are_what_the_generator_writes(tmp_path):
    before = {p: p.read_bytes() for p in (ROOT / "firmware/vectors/frames.json", ROOT / "firmware/test/vectors.h")}
    subprocess.run([sys.executable, str(ROOT / "firmware/vectors/make_vectors.py")], check=True)
    for p, content in before.items():
        assert p.read_bytes() == content, f"{p} is out of date: run firmware/vectors/make_vectors.py"


def test_crc_check_value():
    assert crc16(b"123456789") == 0x29B1


@given(st.binary(max_size=600))
def test_cobs_round_trip_has_no_zero(data):
    enc = cobs_encode(data)
    assert 0 not in enc and cobs_decode(enc) == data


@given(st.integers(0, 2**63), st.integers(0, 2**32 - 1), st.integers(1, 8), st.integers(1, 40), st.sampled_from([FMT_S16, FMT_S24]),
       st.integers(0, 0xFFFF), st.integers(0, 2**31))
def test_data_frames_round_trip(first, ts, nch, n, fmt, status, seed):
    bits = 24 if fmt == FMT_S24 else 16
    counts = np.random.default_rng(seed).integers(-(1 << (bits - 1)), 1 << (bits - 1), (n, nch)).astype(np.int32)
    back = decode_frame(encode_frame(DataFrame(first, ts, counts, status, fmt)))
    assert back.first_sample == first and back.timestamp_us == ts and back.status == status
    np.testing.assert_array_equal(back.counts, counts)


def test_deframer_resynchronises_after_garbage():
    f = DataFrame(0, 0, np.arange(6, dtype=np.int32).reshape(3, 2))
    d = SerialDeframer()
    stream = b"\xff\xfe garbage \x00" + serial_encode(f) + serial_encode(f)[:5] + b"\x00" + serial_encode(f)
    frames = [d.feed(stream[i : i + 7]) for i in range(0, len(stream), 7)]
    got = [x for fs in frames for x in fs]
    assert len(got) == 2 and d.stats.bad_frames == 2


def test_notification_sizes():
    assert [samples_per_frame(247, c) for c in (1, 2, 4, 8)] == [74, 37, 18, 9]
    assert samples_per_frame(23, 1) == 0  # the default ATT MTU cannot carry a frame: the host must ask for more
    assert len(encode_frame(DataFrame(0, 0, np.zeros((37, 2), np.int32)))) == 244  # fits one notification at MTU 247
