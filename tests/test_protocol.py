"""The wire protocol against the shared vectors (the C core checks the same file)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kneeemg.errors import DeviceError
from kneeemg.protocol import (FMT_S16, FMT_S24, STATUS_LEAD_OFF_HIGH, STATUS_SATURATION, BleReassembler, Command, CommandFrame,
                              DataFrame, InfoFrame, ProtocolError, SerialDeframer, ble_fragments, ble_plan, cobs_decode,
                              cobs_encode, crc16, decode_frame, encode_command, encode_frame, samples_per_frame,
                              serial_encode)

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
    if v["type"] == "fragments":
        frags = [bytes.fromhex(h) for h in v["fragments"]]
        assert ble_fragments(raw, v["mtu"]) == frags and all(len(f) <= v["mtu"] - 3 for f in frags)
        r = BleReassembler()
        got = [f for frag in frags for f in r.feed(frag)]
        assert len(got) == 1 and encode_frame(got[0]) == raw
        return
    frame = decode_frame(raw)
    assert encode_frame(frame) == raw  # bit-exact re-encoding
    assert serial_encode(frame).hex() == v["serial_hex"]
    if v["type"] == "data":
        assert isinstance(frame, DataFrame)
        assert (frame.first_sample, frame.timestamp_us, frame.status, frame.fmt, frame.lead_off_high) == (
            v["first_sample"], v["timestamp_us"], v["status"], v["fmt"], v["lead_off_high"])
        assert frame.counts.shape == (v["n_samples"], v["n_channels"]) and frame.counts.dtype == np.int32
        assert frame.counts.reshape(-1).tolist() == v["counts"]
    elif v["type"] == "info":
        assert isinstance(frame, InfoFrame)
        assert frame.labels == tuple(v["labels"]) and frame.device_id == v["device_id"] and frame.battery_pct == v["battery_pct"]
        assert (frame.fs_hz, frame.uv_per_count, frame.session_id) == (v["fs_hz"], v["uv_per_count"], v["session_id"])
        assert list(frame.firmware) == v["firmware"] and frame.fmt == v["fmt"]
    else:
        assert isinstance(frame, CommandFrame) and int(frame.command) == v["command"] and frame.argument == v["argument"]
        assert encode_command(frame.command, frame.argument) == raw


def test_vectors_cover_what_they_must():
    data = [v for v in VECTORS if v["type"] == "data"]
    assert {(v["fmt"], v["n_channels"]) for v in data} >= {(f, c) for f in (FMT_S16, FMT_S24) for c in (1, 2, 8)}
    counts = {c for v in data for c in v["counts"]}
    assert {2**23 - 1, -(2**23), 32767, -32768} <= counts
    assert any(v["status"] & STATUS_SATURATION for v in data) and any(v["lead_off_high"] for v in data)
    assert {v["error"] for v in VECTORS if v["type"] == "invalid"} >= {"CRC", "length", "version", "type"}
    cobs = [bytes.fromhex(v["decoded_hex"]) for v in VECTORS if v["type"] == "cobs"]
    assert any(b"\0" in c for c in cobs) and any(len(c) >= 254 and b"\0" not in c[:254] for c in cobs)
    assert any(v["type"] == "fragments" and v["mtu"] == 23 for v in VECTORS)


def test_vectors_and_c_header_are_what_the_generator_writes():
    out = subprocess.run([sys.executable, str(ROOT / "firmware/vectors/make_vectors.py"), "--check"], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_crc_check_value():
    assert crc16(b"123456789") == 0x29B1


def test_protocol_error_is_a_device_error():
    assert issubclass(ProtocolError, DeviceError)


@given(st.binary(max_size=700))
def test_cobs_round_trip_has_no_zero(data):
    enc = cobs_encode(data)
    assert 0 not in enc and cobs_decode(enc) == data
    assert len(enc) <= len(data) + len(data) // 254 + 1


@settings(max_examples=60)
@given(st.integers(0, 2**64 - 1), st.integers(0, 2**32 - 1), st.integers(1, 64), st.integers(0, 40),
       st.sampled_from([FMT_S16, FMT_S24]), st.integers(0, 0xFFFF), st.integers(0, 2**31), st.data())
def test_data_frames_round_trip(first, ts, nch, n, fmt, status, seed, data):
    bits = 24 if fmt == FMT_S24 else 16
    counts = np.random.default_rng(seed).integers(-(1 << (bits - 1)), 1 << (bits - 1), (n, nch)).astype(np.int32)
    high = data.draw(st.integers(0, 2 ** max(nch - 8, 0) - 1))
    status &= ((1 << min(nch, 8)) - 1) | 0x0300 | (0x0400 if nch > 8 else 0)  # the bits a frame of nch channels has
    back = decode_frame(encode_frame(DataFrame(first, ts, counts, status, fmt, high)))
    assert (back.first_sample, back.timestamp_us, back.status, back.lead_off_high) == (first, ts, status, high)
    np.testing.assert_array_equal(back.counts, counts)


def test_encoder_refuses_what_the_format_cannot_carry():
    with pytest.raises(ProtocolError, match="24-bit"):
        encode_frame(DataFrame(0, 0, np.array([[1 << 23]], np.int32)))
    with pytest.raises(ProtocolError, match="16-bit"):
        encode_frame(DataFrame(0, 0, np.array([[-32769]], np.int32), fmt=FMT_S16))
    with pytest.raises(ProtocolError, match="channel"):
        encode_frame(DataFrame(0, 0, np.zeros((1, 4), np.int32), lead_off_high=1))
    for nch, status in ((2, 0x0004), (8, 0x0400), (16, 0x0800), (1, 0x8000)):  # docs/protocol.md, status bits
        with pytest.raises(ProtocolError, match="reserved bit, or the lead-off bit of a channel"):
            encode_frame(DataFrame(0, 0, np.zeros((1, nch), np.int32), status))
    with pytest.raises(ProtocolError, match="shape"):
        encode_frame(DataFrame(0, 0, np.zeros((1, 65), np.int32)))

    with pytest.raises(ProtocolError, match="counts must be whole numbers"):
        encode_frame(DataFrame(0, 0, np.array([[1.7]])))
    with pytest.raises(ProtocolError, match="counts must be whole numbers"):
        encode_frame(DataFrame(0, 0, np.array([[np.nan]])))
    with pytest.raises(ProtocolError, match="first_sample=0.5 must be a whole number"):
        encode_frame(DataFrame(0.5, 0, np.zeros((1, 1), np.int32)))
    with pytest.raises(ProtocolError, match="timestamp_us"):
        encode_frame(DataFrame(0, 1.5, np.zeros((1, 1), np.int32)))
    # whole counts held as floats are still counts
    assert decode_frame(encode_frame(DataFrame(0, 0, np.array([[2.0, -3.0]])))).counts.tolist() == [[2, -3]]


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"battery_pct": 300}, r"battery_pct=300 must be a whole number from 0 to 100"),
        ({"device_id": -1}, r"device_id=-1 must be a whole number from 0 to 4294967295"),
        ({"firmware": (1, 0)}, r"firmware=\(1, 0\) must be three numbers"),
        ({"firmware": (1, 0, 256)}, r"firmware\[2\]=256"),
        ({"session_id": 2**32}, r"session_id"),
        ({"fmt": 7}, r"unknown sample format 7"),
        ({"fs_hz": float("nan")}, r"fs_hz=nan must be a positive number below 3e38"),
        # what the frame's float32 would make of them: 0, and a rate the device's packer refuses
        ({"fs_hz": 1e-50}, r"fs_hz=1e-50 is 0.0 as the frame's float32; it must stay a positive number below 3e38"),
        ({"uv_per_count": np.float64(1e-46)}, r"uv_per_count=.*1e-46.* is 0.0 as the frame's float32"),
        ({"fs_hz": 2.99999999e38}, r"fs_hz=2.99999999e\+38 is 3.0000000054977558e\+38 as the frame's float32"),
        ({"uv_per_count": 2.99999999e38}, r"uv_per_count=2.99999999e\+38 is 3.0000000054977558e\+38"),
    ],
)
def test_info_frames_that_do_not_fit_are_refused(changes, message):
    fields = {"fs_hz": 1000.0, "uv_per_count": 0.0625, "labels": ("left",), "device_id": 7, "firmware": (1, 0, 0), **changes}
    with pytest.raises(ProtocolError, match=message):
        encode_frame(InfoFrame(**fields))


@pytest.mark.parametrize("fs_hz, uv_per_count", [(2.9999999e38, 1e-45), (np.float32(2.9999998e38), np.float64(1.5e-45))])
def test_info_frames_at_the_float32_limits_go_through_as_float32(fs_hz, uv_per_count):
    """The largest float32 below 3e38 and the smallest above 0 are sent, and read back, as they are in float32."""
    info = InfoFrame(fs_hz, uv_per_count, ("left",), 7, (1, 0, 0))
    back = decode_frame(encode_frame(info))
    assert (back.fs_hz, back.uv_per_count) == (float(np.float32(fs_hz)), float(np.float32(uv_per_count)))
    assert 0 < back.uv_per_count < 2e-45 and 2.99e38 < back.fs_hz < 3e38


def test_lead_off_lists_every_channel():
    f = DataFrame(0, 0, np.zeros((1, 12), np.int32), status=0b101 | STATUS_LEAD_OFF_HIGH, lead_off_high=0b1000)
    assert f.lead_off == [0, 2, 11]


@given(st.lists(st.sampled_from(["frame", "garbage", "cut", "zeros"]), max_size=30), st.integers(1, 50))
def test_deframer_finds_every_intact_frame_whatever_comes_between(pieces, chunk):
    """Garbage that ends in a zero, cut-off frames and runs of zeros cost nothing but themselves."""
    rng = np.random.default_rng(len(pieces) * 100 + chunk)
    stream, expected = b"", []
    for i, p in enumerate(pieces):
        f = DataFrame(i, i, rng.integers(-1000, 1000, (5, 2)).astype(np.int32))
        if p == "frame":
            stream += serial_encode(f)
            expected.append(i)
        elif p == "garbage":
            stream += rng.integers(1, 256, rng.integers(1, 30)).astype(np.uint8).tobytes() + b"\0"
        elif p == "cut":
            stream += serial_encode(f)[: 10] + b"\0"
        else:
            stream += b"\0" * 3
    d = SerialDeframer()
    got = [f for i in range(0, len(stream), chunk) for f in d.feed(stream[i : i + chunk])]
    assert [f.first_sample for f in got] == expected


def test_deframer_drops_an_endless_run_without_a_zero():
    d = SerialDeframer(max_frame=100)
    assert d.feed(b"\x01" * 150) == [] and d.stats.garbage_bytes == 150
    f = DataFrame(3, 0, np.zeros((2, 1), np.int32))
    got = d.feed(b"\x05" * 50 + b"\0" + serial_encode(f))  # the tail of the run, then a frame
    assert [x.first_sample for x in got] == [3] and d.stats.bad_frames == 1


def test_notification_sizes():
    assert [samples_per_frame(247, c) for c in (1, 2, 4, 8)] == [74, 37, 18, 9]
    assert [samples_per_frame(247, c, FMT_S16) for c in (1, 2, 4, 8)] == [111, 55, 27, 13]
    assert samples_per_frame(23, 1) == 0  # not even one sample beside 22 bytes of header and CRC
    assert len(encode_frame(DataFrame(0, 0, np.zeros((37, 2), np.int32)))) == 244  # one notification at MTU 247
    assert ble_plan(247, 2) == (37, False) and ble_plan(185, 2) == (26, False) and ble_plan(517, 2) == (37, False)
    assert ble_plan(23, 2) == (37, True) and ble_plan(23, 1) == (74, True) and ble_plan(22, 1) == (0, False)
    for mtu in (23, 30, 50, 100, 185, 247):
        for nch in (1, 2, 8, 64):
            n, fragmented = ble_plan(mtu, nch)
            raw = encode_frame(DataFrame(0, 0, np.zeros((n, nch), np.int32)))
            pieces = ble_fragments(raw, mtu)
            assert all(len(p) <= mtu - 3 for p in pieces) and (len(pieces) > 1) == fragmented


def test_reassembler_discards_a_frame_with_a_lost_fragment():
    frames = [encode_frame(DataFrame(i * 37, 0, np.full((37, 2), i, np.int32))) for i in range(3)]
    pieces = [ble_fragments(f, 23) for f in frames]
    r = BleReassembler()
    stream = pieces[0] + pieces[1][:5] + pieces[1][6:] + pieces[2]  # fragment 5 of frame 1 lost
    got = [f for p in stream for f in r.feed(p)]
    assert [f.first_sample for f in got] == [0, 74] and r.stats.bad_frames == 1
    whole = encode_frame(DataFrame(9, 0, np.zeros((3, 1), np.int32)))
    assert [f.first_sample for f in r.feed(whole)] == [9]  # whole frames pass straight through


def test_fragment_is_not_a_frame():
    frag = ble_fragments(encode_frame(DataFrame(0, 0, np.zeros((37, 2), np.int32))), 23)[0]
    with pytest.raises(ProtocolError):
        decode_frame(frag)


def test_commands():
    assert decode_frame(encode_command(Command.SET_RATE, 2000)) == CommandFrame(Command.SET_RATE, 2000)
    raw = bytearray(encode_command(Command.START))
    raw[2] = 9
    body = bytes(raw[:-2])
    with pytest.raises(ProtocolError, match="unknown command"):
        decode_frame(body + crc16(body).to_bytes(2, "little"))


@pytest.mark.parametrize("argument", [-1, 2**40, 1.5])
def test_command_arguments_must_fit_32_bits(argument):
    with pytest.raises(ProtocolError, match=r"SET_RATE argument=.* must be a whole number from 0 to 4294967295"):
        encode_command(Command.SET_RATE, argument)


def test_unknown_commands_are_refused_naming_the_known_ones():
    with pytest.raises(ProtocolError, match=r"unknown command 99; use one of START \(1\), STOP \(2\)"):
        encode_command(99)
    assert encode_command(3, 2000) == encode_command(Command.SET_RATE, 2000)


@pytest.mark.parametrize("raw", ["abc", None, 5])
def test_decoding_what_is_not_bytes_is_a_protocol_error(raw):
    with pytest.raises(ProtocolError, match="decode_frame needs the frame's bytes"):
        decode_frame(raw)


@pytest.mark.parametrize("args, message", [((247, 0), "n_channels=0"), ((247, 65), "n_channels=65"),
                                           ((247, 2, 7), "unknown sample format 7")])
def test_ble_plan_refuses_impossible_layouts(args, message):
    with pytest.raises(ProtocolError, match=message):
        ble_plan(*args)


def test_deframer_decodes_a_long_stream_exactly():
    """2000 frames of 8 channels with random 24-bit samples, fed in one piece."""
    rng = np.random.default_rng(0)
    frames = [DataFrame(i * 9, i, rng.integers(-2**23, 2**23, (9, 8)).astype(np.int32)) for i in range(2000)]
    stream = b"".join(serial_encode(f) for f in frames)
    got = SerialDeframer().feed(stream)
    np.testing.assert_array_equal(np.concatenate([g.counts for g in got]), np.concatenate([f.counts for f in frames]))


def test_doc_examples_are_what_the_codec_writes():
    doc = (ROOT / "docs" / "protocol.md").read_text()
    blocks = re.findall(r"```\n(.*?)```", doc, re.S)

    def hexes(block):
        return bytes.fromhex("".join(re.findall(r"^((?:[0-9a-f]{2} )*[0-9a-f]{2})(?:\s{2,}|$)", line)[0]
                                     for line in block.splitlines() if re.match(r"^[0-9a-f]{2}( |$)", line)))

    data = encode_frame(DataFrame(1000, 1_000_000, np.array([[1, -2], [256, -8388608]], np.int32), 0x0102))
    info = encode_frame(InfoFrame(1000.0, 0.0715, ("left", "right"), 0x51, (1, 1, 0), FMT_S24, 95, 0x2A))
    found = [hexes(b) for b in blocks]
    assert data in found and cobs_encode(data) + b"\0" in found
    assert info in found and cobs_encode(info) + b"\0" in found
    start = encode_command(Command.START)
    assert " ".join(f"{b:02x}" for b in start) in doc and " ".join(f"{b:02x}" for b in serial_encode(CommandFrame(Command.START))) in doc
    frags = ble_fragments(encode_frame(DataFrame(1000, 1_000_000, np.array([[1, -2], [256, -8388608]], np.int32), 0x0102)), 23)
    assert len(frags) == 2 and b"".join(frags) in found  # the two fragments, one per line


@pytest.mark.parametrize("changes, message", [({"uv_per_count": float("nan")}, "uv_per_count=nan"),
                                              ({"fs_hz": -1000.0}, "fs_hz=-1000.0"), ({"fmt": 9}, "unknown sample format 9"),
                                              ({"battery_pct": 200}, "battery level of 200 %, more than 100 %")])
def test_a_received_info_frame_that_no_signal_can_have_is_damaged(monkeypatch, changes, message):
    import kneeemg.protocol as proto

    fields = {"fs_hz": 1000.0, "uv_per_count": 0.0625, "labels": ("left",), "device_id": 7, "firmware": (1, 0, 0), **changes}
    monkeypatch.setattr(proto, "_check_info", lambda frame: None)  # as a faulty sensor would send it
    raw = encode_frame(InfoFrame(**fields))
    monkeypatch.undo()
    with pytest.raises(ProtocolError, match=message):
        decode_frame(raw)
    ok = encode_frame(InfoFrame(**{**fields, **{"fs_hz": 1000.0, "uv_per_count": 0.0625, "fmt": FMT_S24, "battery_pct": 95}}))
    assert decode_frame(ok).uv_per_count == 0.0625
