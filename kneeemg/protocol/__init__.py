"""The sensor's wire protocol (``docs/protocol.md``): frames, CRC, COBS framing.

One frame format serves both links: a BLE notification carries one frame as it is; on
serial, each frame is COBS-encoded and followed by a zero byte, so a reader
resynchronises after garbage. All integers are little-endian.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from ..errors import DeviceError

VERSION = 1
T_DATA = 1
T_INFO = 2
T_COMMAND = 4
FMT_S16 = 0
FMT_S24 = 1
BYTES_PER_SAMPLE = {FMT_S16: 2, FMT_S24: 3}
DATA_HEADER = struct.Struct("<BBBBHHQI")  # version type n_channels fmt n_samples status first_sample timestamp_us
INFO_HEADER = struct.Struct("<BBBBffIBBBB4x")  # version type n_channels fmt fs uv_per_count device_id fw x3 battery, 4 reserved
COMMAND = struct.Struct("<BBBBI")  # version type command reserved argument
LABEL_BYTES = 8
CRC_BYTES = 2

# Status bits of a data frame.
STATUS_LEAD_OFF_MASK = 0x00FF  # lead-off, channels 0-7 (bit n = channel n)
STATUS_SATURATION = 0x0100
STATUS_BATTERY_LOW = 0x0200
STATUS_LEAD_OFF_HIGH = 0x0400  # lead-off on some channel 8 or above

# BLE GATT: a custom service, plus the standard Battery Service (0x180F, level 0x2A19).
SERVICE_UUID = "6b6e6565-6d67-4000-8000-00805f9b34fb"
DATA_CHAR_UUID = "6b6e6565-6d67-4001-8000-00805f9b34fb"
CONTROL_CHAR_UUID = "6b6e6565-6d67-4002-8000-00805f9b34fb"
INFO_CHAR_UUID = "6b6e6565-6d67-4003-8000-00805f9b34fb"
BATTERY_SERVICE_UUID = "0000180f-0000-1000-8000-00805f9b34fb"
BATTERY_LEVEL_UUID = "00002a19-0000-1000-8000-00805f9b34fb"


class ProtocolError(DeviceError):
    """A frame that cannot be decoded (bad CRC, length, version or type)."""


class Command(IntEnum):
    START = 1
    STOP = 2
    SET_RATE = 3
    REQUEST_INFO = 4


def crc16(data: bytes, crc: int = 0xFFFF) -> int:
    """CRC-16/CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR.

    ``crc16(b"123456789") == 0x29B1``.
    """
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def _crc_fast(data: bytes) -> int:
    table = _crc_table()
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ table[(crc >> 8) ^ byte]
    return crc


_TABLE: list[int] = []


def _crc_table() -> list[int]:
    if not _TABLE:
        _TABLE.extend(_crc_byte(i) for i in range(256))
    return _TABLE


def _crc_byte(i: int) -> int:
    crc = i << 8
    for _ in range(8):
        crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


@dataclass(frozen=True)
class DataFrame:
    """Samples from the sensor.

    Attributes
    ----------
    first_sample : int
        Index of the frame's first sample since the session started (never resets).
    timestamp_us : int
        Device clock at the first sample, µs (uint32, wraps after 71.6 minutes).
    counts : ndarray, shape (n_samples, n_channels), int32
        Raw ADC counts; multiply by the info frame's ``uv_per_count`` for µV.
    status : int
        Status bits (``STATUS_*``).
    fmt : int
        ``FMT_S24`` or ``FMT_S16``.
    """

    first_sample: int
    timestamp_us: int
    counts: np.ndarray
    status: int = 0
    fmt: int = FMT_S24

    @property
    def n_samples(self) -> int:
        return int(self.counts.shape[0])

    @property
    def lead_off(self) -> list[int]:
        return [c for c in range(8) if self.status & (1 << c)]


@dataclass(frozen=True)
class InfoFrame:
    """What the sensor announces about itself."""

    fs_hz: float
    uv_per_count: float
    labels: tuple[str, ...]
    device_id: int
    firmware: tuple[int, int, int]
    fmt: int = FMT_S24
    battery_pct: int = 100


@dataclass(frozen=True)
class CommandFrame:
    """A command from the host to the sensor (control characteristic or serial)."""

    command: Command
    argument: int = 0


def encode_frame(frame: DataFrame | InfoFrame | CommandFrame) -> bytes:
    """The frame as bytes, CRC included (unframed: a BLE notification carries exactly this)."""
    if isinstance(frame, DataFrame):
        counts = np.asarray(frame.counts)
        if counts.ndim != 2 or not 1 <= counts.shape[1] <= 64:
            raise ProtocolError(f"counts must have shape (n_samples, 1-64 channels), not {counts.shape}")
        nb = BYTES_PER_SAMPLE[frame.fmt]
        lo, hi = -(1 << (8 * nb - 1)), (1 << (8 * nb - 1)) - 1
        if counts.size and (counts.min() < lo or counts.max() > hi):
            raise ProtocolError(f"a sample is outside the {8 * nb}-bit range")
        raw = counts.astype("<i4").reshape(-1).view(np.uint8).reshape(-1, 4)[:, :nb].tobytes()
        body = DATA_HEADER.pack(VERSION, T_DATA, counts.shape[1], frame.fmt, counts.shape[0], frame.status,
                                frame.first_sample, frame.timestamp_us & 0xFFFFFFFF) + raw
    elif isinstance(frame, InfoFrame):
        labels = b"".join(lab.encode("ascii", "replace")[:LABEL_BYTES].ljust(LABEL_BYTES, b"\0") for lab in frame.labels)
        body = INFO_HEADER.pack(VERSION, T_INFO, len(frame.labels), frame.fmt, frame.fs_hz, frame.uv_per_count,
                                frame.device_id, *frame.firmware, frame.battery_pct) + labels
    elif isinstance(frame, CommandFrame):
        body = COMMAND.pack(VERSION, T_COMMAND, int(frame.command), 0, frame.argument)
    else:
        raise TypeError(f"cannot encode {type(frame).__name__}")
    return body + struct.pack("<H", _crc_fast(body))


def decode_frame(raw: bytes) -> DataFrame | InfoFrame | CommandFrame:
    """Decode one frame; raise :class:`ProtocolError` if it is damaged."""
    if len(raw) < 2 + CRC_BYTES:
        raise ProtocolError(f"frame of {len(raw)} bytes is too short")
    body, crc = raw[:-CRC_BYTES], struct.unpack("<H", raw[-CRC_BYTES:])[0]
    if _crc_fast(body) != crc:
        raise ProtocolError("frame failed its CRC")
    version, kind = body[0], body[1]
    if version != VERSION:
        raise ProtocolError(f"frame has protocol version {version}; this host speaks version {VERSION}")
    if kind == T_DATA:
        if len(body) < DATA_HEADER.size:
            raise ProtocolError("data frame is truncated")
        _, _, nch, fmt, n, status, first, ts = DATA_HEADER.unpack_from(body)
        if fmt not in BYTES_PER_SAMPLE or nch == 0:
            raise ProtocolError(f"data frame has an unknown sample format {fmt} or no channels")
        nb = BYTES_PER_SAMPLE[fmt]
        payload = body[DATA_HEADER.size :]
        if len(payload) != n * nch * nb:
            raise ProtocolError(f"data frame holds {len(payload)} sample bytes, expected {n * nch * nb}")
        b = np.frombuffer(payload, dtype=np.uint8).reshape(-1, nb)
        wide = np.zeros((len(b), 4), dtype=np.uint8)
        wide[:, :nb] = b
        wide[:, nb:] = np.where(b[:, nb - 1 : nb] & 0x80, 0xFF, 0)  # sign extension
        counts = wide.reshape(-1).view("<i4").reshape(n, nch).astype(np.int32)
        return DataFrame(first, ts, counts, status, fmt)
    if kind == T_INFO:
        if len(body) < INFO_HEADER.size:
            raise ProtocolError("info frame is truncated")
        _, _, nch, fmt, fs, upc, dev, fa, fb, fc, batt = INFO_HEADER.unpack_from(body)
        lab = body[INFO_HEADER.size :]
        if len(lab) != nch * LABEL_BYTES:
            raise ProtocolError("info frame has the wrong number of label bytes")
        labels = tuple(lab[i * LABEL_BYTES : (i + 1) * LABEL_BYTES].rstrip(b"\0").decode("ascii", "replace") for i in range(nch))
        return InfoFrame(float(fs), float(upc), labels, dev, (fa, fb, fc), fmt, batt)
    if kind == T_COMMAND:
        if len(body) != COMMAND.size:
            raise ProtocolError("command frame has the wrong length")
        _, _, cmd, _, arg = COMMAND.unpack(body)
        try:
            return CommandFrame(Command(cmd), arg)
        except ValueError:
            raise ProtocolError(f"unknown command {cmd}") from None
    raise ProtocolError(f"unknown frame type {kind}")


def cobs_encode(data: bytes) -> bytes:
    """Consistent Overhead Byte Stuffing: the result holds no zero byte."""
    out = bytearray()
    block = bytearray()
    for byte in data:
        if byte == 0:
            out.append(len(block) + 1)
            out += block
            block.clear()
        else:
            block.append(byte)
            if len(block) == 254:
                out.append(255)
                out += block
                block.clear()
    out.append(len(block) + 1)
    out += block
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Inverse of :func:`cobs_encode`; raise ProtocolError on a malformed block."""
    out = bytearray()
    i = 0
    while i < len(data):
        code = data[i]
        if code == 0 or i + code > len(data):
            raise ProtocolError("malformed COBS block")
        block = data[i + 1 : i + code]
        out += block
        i += code
        if code < 255 and i < len(data):
            out.append(0)
    return bytes(out)


def serial_encode(frame: DataFrame | InfoFrame | CommandFrame) -> bytes:
    """A frame as sent on serial: COBS-encoded, then a zero byte."""
    return cobs_encode(encode_frame(frame)) + b"\0"


@dataclass
class DeframerStats:
    frames: int = 0
    bad_frames: int = 0  # COBS or CRC failures
    garbage_bytes: int = 0


@dataclass
class SerialDeframer:
    """Split a serial byte stream into decoded frames, resynchronising after garbage.

    ``feed(data)`` returns the frames completed by ``data``; damaged frames are counted in
    ``stats`` and skipped. Keeps at most ``max_frame`` bytes of an unfinished frame.
    """

    max_frame: int = 4096
    stats: DeframerStats = field(default_factory=DeframerStats)
    _buf: bytearray = field(default_factory=bytearray)

    def feed(self, data: bytes) -> list[DataFrame | InfoFrame | CommandFrame]:
        out = []
        self._buf += data
        while True:
            k = self._buf.find(0)
            if k < 0:
                if len(self._buf) > self.max_frame:
                    self.stats.garbage_bytes += len(self._buf)
                    self._buf.clear()
                return out
            chunk = bytes(self._buf[:k])
            del self._buf[: k + 1]
            if not chunk:
                continue
            try:
                out.append(decode_frame(cobs_decode(chunk)))
                self.stats.frames += 1
            except ProtocolError:
                self.stats.bad_frames += 1
                self.stats.garbage_bytes += len(chunk)


def samples_per_frame(mtu: int, n_channels: int, fmt: int = FMT_S24) -> int:
    """Samples per channel that fit one BLE notification at ``mtu`` (ATT payload = MTU - 3)."""
    room = mtu - 3 - DATA_HEADER.size - CRC_BYTES
    return max(0, room // (n_channels * BYTES_PER_SAMPLE[fmt]))
