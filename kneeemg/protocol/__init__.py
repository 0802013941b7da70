"""The sensor's wire protocol (``docs/protocol.md``): frames, CRC, COBS, BLE fragments.

One frame format serves both links. A BLE notification carries one frame as it is (or, at
a small ATT MTU, one fragment of it); on serial, each frame is COBS-encoded and followed by
a zero byte, so a reader resynchronises after garbage. All integers are little-endian.

>>> import numpy as np
>>> raw = encode_frame(DataFrame(first_sample=0, timestamp_us=0, counts=np.zeros((4, 2), np.int32)))
>>> decode_frame(raw).n_samples
4
"""

from __future__ import annotations

import binascii
import struct
from dataclasses import dataclass, field
from enum import IntEnum

import numpy as np

from ..errors import DeviceError

VERSION = 1
T_DATA = 1
T_INFO = 2
T_COMMAND = 4
T_FRAGMENT = 5
FMT_S16 = 0
FMT_S24 = 1
BYTES_PER_SAMPLE = {FMT_S16: 2, FMT_S24: 3}
MAX_CHANNELS = 64
DATA_HEADER = struct.Struct("<BBBBHHQI")  # version type n_channels fmt n_samples status first_sample timestamp_us
INFO_HEADER = struct.Struct("<BBBBffIBBBBI")  # version type n_channels fmt fs uv_per_count device_id fw*3 battery session
COMMAND = struct.Struct("<BBBBI")  # version type command reserved argument
LABEL_BYTES = 8
CRC_BYTES = 2
FRAGMENT_HEADER = 3  # version, type 5, index (bit 7: last fragment)
FRAGMENT_LAST = 0x80
MAX_FRAGMENTS = 128
BLE_FULL_MTU = 247  # the MTU the host asks for: 244 bytes per notification
MIN_SAMPLES_PER_NOTIFICATION = 8

# Status bits of a data frame.
STATUS_LEAD_OFF_MASK = 0x00FF  # lead-off, channels 0-7 (bit n = channel n)
STATUS_SATURATION = 0x0100
STATUS_BATTERY_LOW = 0x0200
STATUS_LEAD_OFF_HIGH = 0x0400  # lead-off on some channel 8-63 (which ones: DataFrame.lead_off_high)
STATUS_RESERVED = 0xF800  # bits 11-15: 0

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

    ``crc16(b"123456789") == 0x29B1``. (``binascii.crc_hqx`` is this CRC with a given
    initial value.)
    """
    return binascii.crc_hqx(data, crc)


def _check_whole(value: object, name: str, lo: int, hi: int) -> None:
    """Raise :class:`ProtocolError` unless ``value`` is an integer from ``lo`` to ``hi``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not lo <= value <= hi:
        raise ProtocolError(f"{name}={value!r} must be a whole number from {lo} to {hi}")


def _lead_off_ext_bytes(n_channels: int) -> int:
    return (n_channels + 7) // 8 - 1 if n_channels > 8 else 0


def data_header_size(n_channels: int) -> int:
    """Bytes of a data frame's header: 20, plus the lead-off extension above 8 channels."""
    return DATA_HEADER.size + _lead_off_ext_bytes(n_channels)


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
        Status bits (``STATUS_*``): lead-off of channels 0-7 in bits 0-7.
    fmt : int
        ``FMT_S24`` or ``FMT_S16``.
    lead_off_high : int
        Lead-off of channels 8-63 (bit k = channel 8 + k); only with more than 8 channels.
    """

    first_sample: int
    timestamp_us: int
    counts: np.ndarray
    status: int = 0
    fmt: int = FMT_S24
    lead_off_high: int = 0

    @property
    def n_samples(self) -> int:
        return int(self.counts.shape[0])

    @property
    def lead_off(self) -> list[int]:
        """Channels whose electrode is off, in order."""
        mask = (self.status & STATUS_LEAD_OFF_MASK) | (self.lead_off_high << 8)
        return [c for c in range(int(self.counts.shape[1])) if mask >> c & 1]


@dataclass(frozen=True)
class InfoFrame:
    """What the sensor announces about itself.

    ``session_id`` changes whenever the sample counter restarts (a new START after STOP,
    or a reboot), so a host can tell a restarted counter from duplicated frames.

    Attributes
    ----------
    fs_hz : float
        Sampling rate, Hz; sent as float32, which must be positive and below 3e38.
    uv_per_count : float
        Scale, µV per ADC count; sent as float32, which must be positive and below 3e38.
    labels : tuple of str
        One label per channel (1-64), sent as ASCII (any other character as ``?``), cut at 8 bytes.
    device_id : int
        The sensor's id (uint32).
    firmware : tuple of int
        Firmware version (major, minor, patch), each 0-255.
    fmt : int
        ``FMT_S24`` or ``FMT_S16``.
    battery_pct : int
        Battery level, % (0-100).
    session_id : int
        The counter's session (uint32), as above.
    """

    fs_hz: float
    uv_per_count: float
    labels: tuple[str, ...]
    device_id: int
    firmware: tuple[int, int, int]
    fmt: int = FMT_S24
    battery_pct: int = 100
    session_id: int = 0


@dataclass(frozen=True)
class CommandFrame:
    """A command from the host to the sensor (control characteristic or serial)."""

    command: Command
    argument: int = 0


Frame = DataFrame | InfoFrame | CommandFrame


def _encode_data(frame: DataFrame) -> bytes:
    counts = np.asarray(frame.counts)
    if counts.ndim != 2 or not 1 <= counts.shape[1] <= MAX_CHANNELS or counts.shape[0] > 0xFFFF:
        raise ProtocolError(f"counts must have shape (n_samples <= 65535, 1-64 channels), not {counts.shape}")
    if counts.dtype.kind not in "iu" and not (counts.dtype.kind == "f" and np.all(np.mod(counts, 1) == 0)):
        raise ProtocolError(f"counts must be whole numbers (ADC counts, e.g. int32); these {counts.dtype} counts "
                            f"hold fractions, NaN or something else")
    if frame.fmt not in BYTES_PER_SAMPLE:
        raise ProtocolError(f"unknown sample format {frame.fmt}; use FMT_S24 or FMT_S16")
    nch, nb = counts.shape[1], BYTES_PER_SAMPLE[frame.fmt]
    lo, hi = -(1 << (8 * nb - 1)), (1 << (8 * nb - 1)) - 1
    if counts.size and (counts.min() < lo or counts.max() > hi):
        raise ProtocolError(f"a sample is outside the {8 * nb}-bit range [{lo}, {hi}]")
    ext = _lead_off_ext_bytes(nch)
    _check_whole(frame.lead_off_high, "lead_off_high", 0, (1 << 56) - 1)
    if not 0 <= frame.lead_off_high < 1 << (8 * ext) or frame.lead_off_high >> max(nch - 8, 0):
        raise ProtocolError(f"lead_off_high {frame.lead_off_high:#x} names a channel this {nch}-channel frame does not have")
    _check_whole(frame.status, "status", 0, 0xFFFF)
    if frame.status & STATUS_RESERVED or (frame.status & STATUS_LEAD_OFF_MASK) >> min(nch, 8) or \
            (frame.status & STATUS_LEAD_OFF_HIGH and nch <= 8):
        raise ProtocolError(f"status {frame.status:#06x} sets a reserved bit, or the lead-off bit of a channel this "
                            f"{nch}-channel frame does not have")
    _check_whole(frame.first_sample, "first_sample", 0, (1 << 64) - 1)
    if isinstance(frame.timestamp_us, bool) or not isinstance(frame.timestamp_us, (int, np.integer)):
        raise ProtocolError(f"timestamp_us={frame.timestamp_us!r} must be a whole number of µs")
    raw = counts.astype("<i4").reshape(-1).view(np.uint8).reshape(-1, 4)[:, :nb].tobytes()
    head = DATA_HEADER.pack(VERSION, T_DATA, nch, frame.fmt, counts.shape[0], frame.status, frame.first_sample,
                            frame.timestamp_us & 0xFFFFFFFF)
    return head + frame.lead_off_high.to_bytes(ext, "little") + raw


def encode_frame(frame: Frame) -> bytes:
    """The frame as bytes, CRC included (unframed: a BLE notification carries exactly this)."""
    if isinstance(frame, DataFrame):
        body = _encode_data(frame)
    elif isinstance(frame, InfoFrame):
        _check_info(frame)
        labels = b"".join(lab.encode("ascii", "replace")[:LABEL_BYTES].ljust(LABEL_BYTES, b"\0") for lab in frame.labels)
        body = INFO_HEADER.pack(VERSION, T_INFO, len(frame.labels), frame.fmt, frame.fs_hz, frame.uv_per_count,
                                frame.device_id, *frame.firmware, frame.battery_pct, frame.session_id) + labels
    elif isinstance(frame, CommandFrame):
        command = _command(frame.command)
        _check_whole(frame.argument, f"{command.name} argument", 0, 0xFFFFFFFF)
        body = COMMAND.pack(VERSION, T_COMMAND, int(command), 0, frame.argument)
    else:
        raise TypeError(f"cannot encode {type(frame).__name__}")
    return body + struct.pack("<H", crc16(body))


def _check_info(frame: InfoFrame) -> None:
    """Raise :class:`ProtocolError` for an info frame field that does not fit its place in the frame."""
    _check_signal_info(frame)
    _check_whole(frame.device_id, "device_id", 0, 0xFFFFFFFF)
    if not isinstance(frame.firmware, (tuple, list)) or len(frame.firmware) != 3:
        raise ProtocolError(f"firmware={frame.firmware!r} must be three numbers (major, minor, patch), e.g. (1, 0, 0)")
    for i, part in enumerate(frame.firmware):
        _check_whole(part, f"firmware[{i}]", 0, 255)
    _check_whole(frame.battery_pct, "battery_pct", 0, 100)
    _check_whole(frame.session_id, "session_id", 0, 0xFFFFFFFF)


def _check_signal_info(frame: InfoFrame) -> None:
    """The info frame's fields the signal depends on (channels, rate, scale, format): checked
    on encoding and on decoding (a sensor announcing NaN µV per count or no channel is damaged).
    The rate and the scale are checked as the float32 the frame carries, as ``kemg_pack_info``
    checks them: 1e-50 Hz (0 in float32) and 2.99999999e38 (3.0000000055e38) are refused."""
    if not 1 <= len(frame.labels) <= MAX_CHANNELS:
        raise ProtocolError(f"an info frame needs 1-64 channel labels, not {len(frame.labels)}")
    for name in ("fs_hz", "uv_per_count"):
        value = getattr(frame, name)
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) or not 0 < value < 3e38:
            raise ProtocolError(f"{name}={value!r} must be a positive number below 3e38")
        sent = float(np.float32(value))  # what the frame carries (and the device's packer checks)
        if not 0 < sent < 3e38:
            raise ProtocolError(f"{name}={value!r} is {sent!r} as the frame's float32; it must stay a positive number below 3e38")
    if frame.fmt not in BYTES_PER_SAMPLE:
        raise ProtocolError(f"unknown sample format {frame.fmt!r}; use FMT_S24 or FMT_S16")


def _command(command: object) -> Command:
    """``command`` as a :class:`Command`, or :class:`ProtocolError` naming the known ones."""
    try:
        return Command(command)
    except ValueError:
        known = ", ".join(f"{c.name} ({c.value})" for c in Command)
        raise ProtocolError(f"unknown command {command!r}; use one of {known}") from None


def encode_command(command: Command, argument: int = 0) -> bytes:
    """A command frame's bytes (what the host writes to the control characteristic)."""
    return encode_frame(CommandFrame(_command(command), argument))


def _decode_samples(payload: bytes, n: int, nch: int, nb: int) -> np.ndarray:
    """Little-endian 16/24-bit two's complement samples to int32, shape (n, nch), vectorised."""
    b = np.frombuffer(payload, dtype=np.uint8).reshape(-1, nb).astype(np.int32)
    v = b[:, 0] | (b[:, 1] << 8)
    if nb == 3:
        v |= b[:, 2] << 16
    sign = 1 << (8 * nb - 1)
    return ((v ^ sign) - sign).reshape(n, nch)


def decode_frame(raw: bytes) -> Frame:
    """Decode one frame; raise :class:`ProtocolError` if it is damaged (or not bytes)."""
    if raw is None or isinstance(raw, (str, int, float)):
        raise ProtocolError(f"decode_frame needs the frame's bytes, not {type(raw).__name__}")
    raw = bytes(raw)
    if len(raw) < 2 + CRC_BYTES:
        raise ProtocolError(f"frame of {len(raw)} bytes is too short (truncated)")
    body, crc = raw[:-CRC_BYTES], struct.unpack("<H", raw[-CRC_BYTES:])[0]
    if crc16(body) != crc:
        raise ProtocolError(f"frame of {len(raw)} bytes failed its CRC (damaged or truncated)")
    version, kind = body[0], body[1]
    if version != VERSION:
        raise ProtocolError(f"frame has protocol version {version}; this host speaks version {VERSION}: update kneeemg")
    if kind == T_DATA:
        if len(body) < DATA_HEADER.size:
            raise ProtocolError(f"data frame of {len(raw)} bytes is shorter than its header (length)")
        _, _, nch, fmt, n, status, first, ts = DATA_HEADER.unpack_from(body)
        if fmt not in BYTES_PER_SAMPLE or not 1 <= nch <= MAX_CHANNELS:
            raise ProtocolError(f"data frame has sample format {fmt} and {nch} channels; expected format 0/1 and 1-64 channels")
        nb, hdr = BYTES_PER_SAMPLE[fmt], data_header_size(nch)
        if len(body) != hdr + n * nch * nb:
            raise ProtocolError(f"data frame length {len(raw)} does not match its header ({n} samples x {nch} channels)")
        high = int.from_bytes(body[DATA_HEADER.size : hdr], "little")
        return DataFrame(first, ts, _decode_samples(body[hdr:], n, nch, nb), status, fmt, high)
    if kind == T_INFO:
        if len(body) < INFO_HEADER.size:
            raise ProtocolError(f"info frame of {len(raw)} bytes is shorter than its header (length)")
        _, _, nch, fmt, fs, upc, dev, fa, fb, fc, batt, session = INFO_HEADER.unpack_from(body)
        lab = body[INFO_HEADER.size :]
        if len(lab) != nch * LABEL_BYTES:
            raise ProtocolError(f"info frame length {len(raw)} does not match its {nch} channel labels")
        labels = tuple(lab[i * LABEL_BYTES : (i + 1) * LABEL_BYTES].rstrip(b"\0").decode("ascii", "replace") for i in range(nch))
        frame = InfoFrame(float(fs), float(upc), labels, dev, (fa, fb, fc), fmt, batt, session)
        _check_signal_info(frame)  # what no signal can have (NaN µV per count, no channel): a damaged frame
        if batt > 100:  # (as docs/protocol.md and the device's packer have it)
            raise ProtocolError(f"info frame gives a battery level of {batt} %, more than 100 %")
        return frame
    if kind == T_COMMAND:
        if len(body) != COMMAND.size:
            raise ProtocolError(f"command frame length {len(raw)} is not {COMMAND.size + CRC_BYTES}")
        _, _, cmd, _, arg = COMMAND.unpack(body)
        try:
            return CommandFrame(Command(cmd), arg)
        except ValueError:
            raise ProtocolError(f"unknown command {cmd}") from None
    if kind == T_FRAGMENT:
        raise ProtocolError("this is a BLE fragment, not a frame; feed notifications to a BleReassembler (type)")
    raise ProtocolError(f"unknown frame type {kind}")


def cobs_encode(data: bytes) -> bytes:
    """Consistent Overhead Byte Stuffing: the result holds no zero byte."""
    out = bytearray()
    for part in bytes(data).split(b"\0"):
        while len(part) >= 254:  # a full block of 254 non-zero bytes: code 0xFF, no implied zero
            out.append(255)
            out += part[:254]
            part = part[254:]
        out.append(len(part) + 1)
        out += part
    return bytes(out)


def cobs_decode(data: bytes) -> bytes:
    """Inverse of :func:`cobs_encode`; raise :class:`ProtocolError` on a malformed block."""
    data = bytes(data)
    if b"\0" in data:
        raise ProtocolError("malformed COBS block (holds a zero byte)")
    parts = []
    i, n = 0, len(data)
    while i < n:
        code = data[i]
        end = i + code
        if end > n:
            raise ProtocolError("malformed COBS block (runs past the end)")
        parts.append(data[i + 1 : end])
        if code < 255 and end < n:
            parts.append(b"\0")
        i = end
    return b"".join(parts)


def serial_encode(frame: Frame) -> bytes:
    """A frame as sent on serial: COBS-encoded, then a zero byte."""
    return cobs_encode(encode_frame(frame)) + b"\0"


@dataclass
class DeframerStats:
    frames: int = 0
    bad_frames: int = 0  # COBS, CRC, length, version or type failures
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

    def feed(self, data: bytes) -> list[Frame]:
        out: list[Frame] = []
        self._buf += data
        parts = self._buf.split(b"\0")
        self._buf = parts.pop()  # the unfinished tail
        if len(self._buf) > self.max_frame:
            self.stats.garbage_bytes += len(self._buf)
            self._buf = bytearray()
        for chunk in parts:
            if not chunk:
                continue
            try:
                out.append(decode_frame(cobs_decode(chunk)))
                self.stats.frames += 1
            except ProtocolError:
                self.stats.bad_frames += 1
                self.stats.garbage_bytes += len(chunk)
        return out


def samples_per_frame(mtu: int, n_channels: int, fmt: int = FMT_S24) -> int:
    """Samples per channel of a data frame that fits one notification at ATT ``mtu``
    (payload MTU - 3), at most what fits at MTU 247; 0 if not even one fits."""

    _check_whole(n_channels, "n_channels", 1, MAX_CHANNELS)
    if fmt not in BYTES_PER_SAMPLE:
        raise ProtocolError(f"unknown sample format {fmt!r}; use FMT_S24 or FMT_S16")

    def fitting(room: int) -> int:
        return max(0, (room - data_header_size(n_channels) - CRC_BYTES) // (n_channels * BYTES_PER_SAMPLE[fmt]))

    return min(fitting(mtu - 3), fitting(BLE_FULL_MTU - 3))


def ble_plan(mtu: int, n_channels: int, fmt: int = FMT_S24) -> tuple[int, bool]:
    """How the device sends data at ATT ``mtu``: (samples per channel per frame, fragmented).

    Whole frames, one per notification, while at least min(8, what fits MTU 247) samples
    fit; below that, frames sized for MTU 247 split into fragments. (0, False) if nothing
    can be sent.
    """
    full, fit = samples_per_frame(BLE_FULL_MTU, n_channels, fmt), samples_per_frame(mtu, n_channels, fmt)
    if mtu < 23 or full == 0:
        return 0, False
    if fit >= max(1, min(MIN_SAMPLES_PER_NOTIFICATION, full)):
        return fit, False
    return full, True


def ble_fragments(raw: bytes, mtu: int) -> list[bytes]:
    """A frame split into BLE notifications of at most ``mtu - 3`` bytes (a 3-byte fragment
    header each); a single-element list of the frame itself if it fits one notification."""
    if len(raw) <= mtu - 3:
        return [bytes(raw)]
    if mtu < 23:
        raise ProtocolError(f"ATT MTU {mtu} is below the BLE minimum of 23")
    chunk = mtu - 3 - FRAGMENT_HEADER
    pieces = [raw[i : i + chunk] for i in range(0, len(raw), chunk)]
    if len(pieces) > MAX_FRAGMENTS:
        raise ProtocolError(f"a {len(raw)}-byte frame needs more than {MAX_FRAGMENTS} fragments at MTU {mtu}")
    return [bytes([VERSION, T_FRAGMENT, i | (FRAGMENT_LAST if i == len(pieces) - 1 else 0)]) + p for i, p in enumerate(pieces)]


@dataclass
class BleReassembler:
    """BLE notifications in, decoded frames out: whole frames pass through, fragments are
    joined (a fragment out of sequence discards the frame it belonged to).

    ``stats.bad_frames`` counts frames that failed to decode or were cut short.
    """

    stats: DeframerStats = field(default_factory=DeframerStats)
    _parts: list[bytes] = field(default_factory=list)

    def feed(self, notification: bytes) -> list[Frame]:
        data = bytes(notification)
        if len(data) >= FRAGMENT_HEADER and data[0] == VERSION and data[1] == T_FRAGMENT:
            index, last = data[2] & 0x7F, bool(data[2] & FRAGMENT_LAST)
            if index != len(self._parts):  # a lost or repeated fragment
                if self._parts:
                    self.stats.bad_frames += 1
                self._parts = []
                if index != 0:
                    self.stats.garbage_bytes += len(data)
                    return []
            self._parts.append(data[FRAGMENT_HEADER:])
            if not last:
                return []
            data, self._parts = b"".join(self._parts), []
        elif self._parts:  # a whole frame while fragments were pending: that frame was cut short
            self.stats.bad_frames += 1
            self._parts = []
        try:
            frame = decode_frame(data)
        except ProtocolError:
            self.stats.bad_frames += 1
            return []
        self.stats.frames += 1
        return [frame]
