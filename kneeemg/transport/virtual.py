"""A virtual BLE sensor on bumble, and bleak backends that reach it without a radio.

:class:`VirtualSensor` runs a real GATT server (the kneeemg service: data notify, control
write, info read; plus the standard Battery Service 0x180F) on a bumble
:class:`~bumble.device.Device` whose controller sits on bumble's in-process
:class:`~bumble.link.LocalLink`. A second bumble device on the same link plays the host's
Bluetooth adapter. :attr:`VirtualSensor.client_backend` and
:attr:`VirtualSensor.scanner_backend` are bleak backend classes (subclasses of bleak's
``BaseBleakClient`` and ``BaseBleakScanner``) whose GATT client is bumble's own, so the
unmodified application path -- ``BleakScanner(..., backend=...)``,
``BleakClient(device, backend=...)``, ``start_notify``, ``write_gatt_char`` -- runs end to end::

    sensor = VirtualSensor(counts, fs_hz=1000.0)
    await sensor.start()
    async with BleakClient(sensor.address, backend=sensor.client_backend) as client:
        ...
    await sensor.stop()

After START the sensor streams data frames from ``counts`` paced by ``speed`` (1 = real
time), sized for the connection's ATT MTU (:func:`kneeemg.protocol.ble_plan`). Its sample
counter keeps running while no host listens (as a sensor's ADC does), so frames sampled
while disconnected are lost and show up as exact gaps. Its radio holds at most
:data:`RADIO_QUEUE` packets not yet sent: streaming faster than the link carries them, it
waits for room, so a fast run goes at the link's pace with a bounded backlog.
:meth:`VirtualSensor.disconnect` drops the connection from the sensor's side, to test reconnects. Everything runs in the
event loop that called :meth:`VirtualSensor.start`.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, ClassVar

import numpy as np
from bleak.backends.client import BaseBleakClient
from bleak.backends.scanner import BaseBleakScanner

from ..protocol import (
    BLE_FULL_MTU,
    DATA_CHAR_UUID,
    CONTROL_CHAR_UUID,
    INFO_CHAR_UUID,
    SERVICE_UUID,
    STATUS_BATTERY_LOW,
    Command,
    CommandFrame,
    DataFrame,
    InfoFrame,
    ProtocolError,
    ble_fragments,
    ble_plan,
    decode_frame,
    encode_frame,
)

log = logging.getLogger(__name__)

SENSOR_ADDRESS = "F0:F0:F0:F0:F0:01"
RADIO_QUEUE = 64  # packets the sensor's radio holds unsent at most (it waits for room beyond)
HOST_ADDRESS = "F0:F0:F0:F0:F0:02"
SENSOR_NAME = "kneeemg"


class VirtualSensor:
    """A simulated kneeemg sensor with a real GATT server on bumble (see the module docstring).

    Parameters
    ----------
    counts : ndarray, shape (n_samples, n_channels), int, optional
        ADC counts to stream (24-bit range). Without it: 60 s of 3 µV noise on two channels.
    fs_hz : float
        Sampling rate announced and paced, Hz.
    uv_per_count : float
        Scale announced in the info frame, µV per count.
    labels : sequence of str, optional
        Channel labels (``left``, ``right``, ... by default).
    speed : float
        Pace relative to real time (2 = twice as fast).
    repeat : bool
        Start over at the end of ``counts`` (otherwise streaming stops there).
    battery_pct : int
    clock_ppm : float
        How fast the device clock runs against true time (its ``timestamp_us``), ppm.
    """

    def __init__(self, counts: np.ndarray | None = None, *, fs_hz: float = 1000.0, uv_per_count: float = 0.0715,
                 labels: tuple[str, ...] | None = None, speed: float = 1.0, repeat: bool = False,
                 battery_pct: int = 87, clock_ppm: float = 0.0, device_id: int = 0x4B454D01,
                 address: str = SENSOR_ADDRESS) -> None:
        if counts is None:
            rng = np.random.default_rng(0)
            counts = np.round(rng.normal(0.0, 3.0 / uv_per_count, (int(60 * fs_hz), 2))).astype(np.int32)
        self.counts = np.asarray(counts, dtype=np.int32)
        if self.counts.ndim != 2 or not 1 <= self.counts.shape[1] <= 8 or not len(self.counts):
            raise ValueError(f"counts must have shape (n_samples > 0, 1-8 channels), not {self.counts.shape}")
        n_ch = self.counts.shape[1]
        self.labels = tuple(labels) if labels else (("left", "right") if n_ch == 2 else tuple(f"ch{i}" for i in range(n_ch)))
        self.fs_hz = float(fs_hz)
        self.uv_per_count = float(uv_per_count)
        self.speed = float(speed)
        self.repeat = repeat
        self.battery_pct = int(battery_pct)
        self.clock_ppm = float(clock_ppm)
        self.device_id = device_id
        self.address = address
        self.lead_off: set[int] = set()  # channels whose electrode is off
        self.session_id = 1
        self.next_sample = 0
        self.streaming = False
        # (first_sample, n_samples) runs of samples notified, and sampled while nobody listened:
        # consecutive frames join one run, so a night's streaming keeps a few entries, not one a frame
        self.sent: list[tuple[int, int]] = []
        self.lost: list[tuple[int, int]] = []
        self.commands: list[CommandFrame] = []
        self.connections_made = 0
        self._device: Any = None
        self._host: Any = None
        self._data_char: Any = None
        self._battery: Any = None
        self._subscribed: set[Any] = set()
        self._stream_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.client_backend: type[BumbleBleakClient] = type("BumbleBleakClient", (BumbleBleakClient,), {"sensor": self})
        self.scanner_backend: type[BumbleBleakScanner] = type("BumbleBleakScanner", (BumbleBleakScanner,), {"sensor": self})

    # ------------------------------------------------------------------ life cycle
    async def start(self) -> "VirtualSensor":
        """Create the link, both devices and the GATT server; power on and advertise."""
        from bumble import gatt
        from bumble.controller import Controller
        from bumble.core import UUID, AdvertisingData
        from bumble.device import Device
        from bumble.hci import Address
        from bumble.host import Host
        from bumble.link import LocalLink
        from bumble.profiles.battery_service import BatteryService
        from bumble.transport.common import AsyncPipeSink

        link = LocalLink()

        def device(name: str, address: str) -> Any:
            controller = Controller(name, link=link, public_address=address)
            return Device(name=name, address=Address(address), host=Host(controller, AsyncPipeSink(controller)))

        self._device, self._host = device(SENSOR_NAME, self.address), device("host", HOST_ADDRESS)
        props = gatt.Characteristic.Properties
        self._data_char = gatt.Characteristic(DATA_CHAR_UUID, props.NOTIFY, gatt.Characteristic.READABLE, b"")
        control = gatt.Characteristic(CONTROL_CHAR_UUID, props.WRITE | props.WRITE_WITHOUT_RESPONSE,
                                      gatt.Characteristic.WRITEABLE, gatt.CharacteristicValue(write=self._on_control))
        info = gatt.Characteristic(INFO_CHAR_UUID, props.READ, gatt.Characteristic.READABLE,
                                   gatt.CharacteristicValue(read=lambda _conn: encode_frame(self.info())))
        self._data_char.on("subscription", self._on_subscription)
        self._device.add_service(gatt.Service(SERVICE_UUID, [self._data_char, control, info]))
        self._battery = BatteryService(lambda _conn: self.battery_pct)
        self._device.add_service(self._battery)
        self._device.on("connection", self._on_connection)
        await self._device.power_on()
        await self._host.power_on()
        self._device.advertising_data = bytes(AdvertisingData([
            (AdvertisingData.FLAGS, bytes([AdvertisingData.LE_GENERAL_DISCOVERABLE_MODE_FLAG
                                           | AdvertisingData.BR_EDR_NOT_SUPPORTED_FLAG])),
            (AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS, UUID(SERVICE_UUID).to_bytes()),
            (AdvertisingData.COMPLETE_LOCAL_NAME, SENSOR_NAME.encode()),
        ]))
        await self._device.start_advertising(auto_restart=True, advertising_interval_min=20.0,
                                             advertising_interval_max=20.0)
        return self

    async def stop(self) -> None:
        """Stop streaming, drop connections and power both devices off."""
        self.streaming = False
        for task in [self._stream_task, *self._tasks]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*(t for t in [self._stream_task, *self._tasks] if t is not None), return_exceptions=True)
        if self._device is not None:
            for conn in list(self._device.connections.values()):
                try:
                    await asyncio.wait_for(conn.disconnect(), 2.0)
                except Exception:  # noqa: BLE001 - shutting down a simulated radio; nothing to save
                    log.debug("virtual sensor: disconnect at stop failed", exc_info=True)
            for dev in (self._device, self._host):
                try:
                    await asyncio.wait_for(dev.power_off(), 2.0)
                except Exception:  # noqa: BLE001 - as above
                    log.debug("virtual sensor: power off failed", exc_info=True)

    async def __aenter__(self) -> "VirtualSensor":
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    @property
    def host_device(self) -> Any:
        """The bumble device that plays the host's Bluetooth adapter."""
        if self._host is None:
            raise RuntimeError("the virtual sensor is not started; await sensor.start() first")
        return self._host

    @property
    def is_advertising(self) -> bool:
        return self._device is not None and bool(self._device.is_advertising)

    @property
    def connected(self) -> bool:
        return self._device is not None and bool(self._device.connections)

    def info(self) -> InfoFrame:
        """The info frame the sensor announces."""
        return InfoFrame(self.fs_hz, self.uv_per_count, self.labels, self.device_id, (1, 0, 0),
                         battery_pct=self.battery_pct, session_id=self.session_id)

    async def disconnect(self) -> None:
        """Drop every connection from the sensor's side (as when the host walks out of range)."""
        for conn in list(self._device.connections.values()):
            await conn.disconnect()

    async def set_battery(self, pct: int) -> None:
        """Change the battery level and notify subscribers of the Battery Level characteristic."""
        self.battery_pct = int(pct)
        await self._device.notify_subscribers(self._battery.battery_level_characteristic, self.battery_pct)

    # ------------------------------------------------------------------ GATT callbacks
    def _on_connection(self, connection: Any) -> None:
        self.connections_made += 1
        connection.on("disconnection", lambda *_: self._subscribed.discard(connection))

    def _on_subscription(self, bearer: Any, notify_enabled: bool, _indicate: bool) -> None:
        if notify_enabled:
            self._subscribed.add(bearer)
        else:
            self._subscribed.discard(bearer)

    def _on_control(self, _connection: Any, value: bytes) -> None:
        try:
            frame = decode_frame(bytes(value))
        except ProtocolError as exc:
            log.info("virtual sensor: ignoring a damaged command (%s)", exc)
            return
        if not isinstance(frame, CommandFrame):
            return
        self.commands.append(frame)
        if frame.command == Command.START and not self.streaming:
            if self._stream_task is not None:  # START after STOP: a new session, the counter restarts
                self.session_id += 1
                self.next_sample = 0
            self.streaming = True
            self._spawn(self._notify_all(encode_frame(self.info())))
            self._stream_task = asyncio.get_running_loop().create_task(self._stream())
        elif frame.command == Command.STOP:
            self.streaming = False
        elif frame.command == Command.REQUEST_INFO:
            self._spawn(self._notify_all(encode_frame(self.info())))

    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _notify_all(self, payload: bytes) -> None:
        for conn in list(self._subscribed):
            for piece in ble_fragments(payload, conn.att_mtu):  # an info frame is longer than a small MTU allows
                await self._device.notify_subscriber(conn, self._data_char, piece)

    # ------------------------------------------------------------------ streaming
    def _frame(self, first: int, n: int) -> DataFrame:
        total = len(self.counts)
        idx = np.arange(first, first + n)
        counts = self.counts[idx % total]
        status = sum(1 << c for c in self.lead_off if c < 8) | (STATUS_BATTERY_LOW if self.battery_pct < 10 else 0)
        ts_us = int(round(first / self.fs_hz * 1e6 * (1.0 + self.clock_ppm * 1e-6)))
        return DataFrame(first, ts_us & 0xFFFFFFFF, counts, status)

    async def _radio_room(self, conn: Any) -> None:
        """Wait while the radio holds :data:`RADIO_QUEUE` packets not yet sent: a sensor streaming
        faster than the link carries them is held back to the link's pace, instead of its
        packets piling up without bound in the stack's queue (and arriving ever later)."""
        queue = self._device.host.get_data_packet_queue(getattr(conn, "handle", None))
        while queue is not None and queue.pending >= RADIO_QUEUE and self.streaming and conn in self._subscribed:
            await asyncio.sleep(0.001)

    async def _stream(self) -> None:
        loop = asyncio.get_running_loop()
        t0, first0 = loop.time(), self.next_sample
        n_ch = self.counts.shape[1]
        while self.streaming:
            due = first0 + int((loop.time() - t0) * self.fs_hz * self.speed)
            if not self.repeat:
                due = min(due, len(self.counts))
            listeners = list(self._subscribed)
            mtu = min((c.att_mtu for c in listeners), default=BLE_FULL_MTU)
            spf, fragmented = ble_plan(mtu, n_ch)
            if spf == 0:  # the MTU is too small for even one sample: send nothing, keep sampling
                spf = ble_plan(BLE_FULL_MTU, n_ch)[0]
                listeners = []
            while self.next_sample < due and (self.next_sample + spf <= due or due == len(self.counts)):
                n = spf if self.repeat else min(spf, len(self.counts) - self.next_sample)  # the last frame may be short
                frame = self._frame(self.next_sample, n)
                if listeners:
                    pieces = ble_fragments(encode_frame(frame), mtu) if fragmented else [encode_frame(frame)]
                    for conn in listeners:
                        for piece in pieces:
                            await self._radio_room(conn)
                            await self._device.notify_subscriber(conn, self._data_char, piece)
                    _add_run(self.sent, self.next_sample, n)
                else:
                    _add_run(self.lost, self.next_sample, n)
                self.next_sample += n
            if not self.repeat and self.next_sample >= len(self.counts):
                self.streaming = False  # the end of the signal
                break
            await asyncio.sleep(max(0.002, spf / self.fs_hz / self.speed / 2))


def _add_run(runs: list[tuple[int, int]], first: int, n: int) -> None:
    """Note ``n`` samples from ``first`` in ``runs``, joined to the last run when they follow it."""
    if runs and runs[-1][0] + runs[-1][1] == first:
        runs[-1] = (runs[-1][0], runs[-1][1] + n)
    else:
        runs.append((first, n))


def _bleak_uuid(uuid: Any) -> str:
    from bleak.uuids import normalize_uuid_str

    return normalize_uuid_str(uuid.to_hex_str("-").lower())


_PROPERTY_NAMES = {0x01: "broadcast", 0x02: "read", 0x04: "write-without-response", 0x08: "write", 0x10: "notify",
                   0x20: "indicate", 0x40: "authenticated-signed-writes", 0x80: "extended-properties"}


class BumbleBleakClient(BaseBleakClient):
    """A bleak client backend that talks to a :class:`VirtualSensor` through bumble's GATT client.

    Use the subclass bound to a sensor, :attr:`VirtualSensor.client_backend`, as
    ``BleakClient(address, backend=sensor.client_backend)``. On connect it asks for ATT MTU
    ``mtu`` (247 unless given), as an operating system's Bluetooth stack does.
    """

    sensor: ClassVar[VirtualSensor]

    def __init__(self, address_or_ble_device: Any, *, disconnected_callback: Callable[[], None] | None = None,
                 timeout: float = 10.0, mtu: int = BLE_FULL_MTU, **kwargs: Any) -> None:
        super().__init__(address_or_ble_device, disconnected_callback=disconnected_callback, timeout=timeout)
        self._mtu_request = mtu
        self._conn: Any = None
        self._peer: Any = None
        self._closing = False

    @property
    def name(self) -> str:
        return SENSOR_NAME

    @property
    def mtu_size(self) -> int:
        return int(self._conn.att_mtu) if self._conn is not None else 23

    @property
    def is_connected(self) -> bool:
        return self._conn is not None

    async def connect(self, pair: bool, **kwargs: Any) -> None:
        from bleak.exc import BleakDeviceNotFoundError, BleakError
        from bumble.device import Peer

        timeout = float(kwargs.get("timeout", self._timeout))
        if not self.sensor.is_advertising or self.address.upper() != self.sensor.address.upper():
            raise BleakDeviceNotFoundError(self.address, f"device {self.address} not found")
        try:
            async with asyncio.timeout(timeout):
                conn = await self.sensor.host_device.connect(self.address)
                self._conn, self._closing = conn, False
                conn.on("disconnection", lambda *_: self._on_disconnection(conn))
                self._peer = Peer(conn)
                await self._peer.request_mtu(self._mtu_request)
                self.services = await self._discover()
        except TimeoutError:
            raise
        except Exception as exc:  # bumble's own errors, turned into bleak's as a real backend does
            self._conn = None
            raise BleakError(f"virtual connection to {self.address} failed: {exc}") from exc

    async def _discover(self) -> Any:
        from bleak.backends.characteristic import BleakGATTCharacteristic
        from bleak.backends.descriptor import BleakGATTDescriptor
        from bleak.backends.service import BleakGATTService, BleakGATTServiceCollection

        collection = BleakGATTServiceCollection()
        conn = self._conn
        for svc in await self._peer.discover_services():
            service = BleakGATTService(svc, svc.handle, _bleak_uuid(svc.uuid))
            collection.add_service(service)
            for ch in await svc.discover_characteristics():
                props = [name for bit, name in _PROPERTY_NAMES.items() if int(ch.properties) & bit]
                char = BleakGATTCharacteristic(ch, ch.handle, _bleak_uuid(ch.uuid), props,  # type: ignore[arg-type]
                                               lambda: conn.att_mtu - 3, service)
                collection.add_characteristic(char)
                for desc in await ch.discover_descriptors():
                    collection.add_descriptor(BleakGATTDescriptor(desc, desc.handle, _bleak_uuid(desc.type), char))
        return collection

    def _on_disconnection(self, conn: Any) -> None:
        if conn is not self._conn:
            return
        self._conn = None
        if not self._closing and self._disconnected_callback is not None:
            self._disconnected_callback()

    async def disconnect(self) -> None:
        conn, self._closing = self._conn, True
        if conn is not None:
            self._conn = None
            try:
                await asyncio.wait_for(conn.disconnect(), 5.0)
            except Exception:  # noqa: BLE001 - already gone is what we wanted
                log.debug("virtual disconnect failed", exc_info=True)

    async def pair(self, *args: Any, **kwargs: Any) -> None:
        from bleak.exc import BleakError

        raise BleakError("the virtual sensor does not pair (it needs no bonding)")

    async def unpair(self) -> None:
        return None

    def _need(self) -> Any:
        from bleak.exc import BleakError

        if self._peer is None or self._conn is None:
            raise BleakError("not connected")
        return self._peer

    async def read_gatt_char(self, characteristic: Any, *, use_cached: bool = False, **kwargs: Any) -> bytearray:
        return bytearray(await self._need().read_value(characteristic.obj))

    async def read_gatt_descriptor(self, descriptor: Any, *, use_cached: bool = False, **kwargs: Any) -> bytearray:
        return bytearray(await self._need().read_value(descriptor.obj))

    async def write_gatt_char(self, characteristic: Any, data: Any, response: bool) -> None:
        await self._need().write_value(characteristic.obj, bytes(data), with_response=response)

    async def write_gatt_descriptor(self, descriptor: Any, data: Any) -> None:
        await self._need().write_value(descriptor.obj, bytes(data), with_response=True)

    async def start_notify(self, characteristic: Any, callback: Callable[[bytearray], None], **kwargs: Any) -> None:
        await self._need().subscribe(characteristic.obj, lambda value: callback(bytearray(value)))

    async def stop_notify(self, characteristic: Any) -> None:
        await self._need().unsubscribe(characteristic.obj)


class BumbleBleakScanner(BaseBleakScanner):
    """A bleak scanner backend that hears a :class:`VirtualSensor`'s advertisements.

    Use the bound subclass :attr:`VirtualSensor.scanner_backend`:
    ``await BleakScanner.find_device_by_filter(..., backend=sensor.scanner_backend)``.
    """

    sensor: ClassVar[VirtualSensor]

    def __init__(self, detection_callback: Any, service_uuids: Any, scanning_mode: str = "active", **kwargs: Any) -> None:
        super().__init__(detection_callback, service_uuids)
        self._listening = False

    async def start(self) -> None:
        self.seen_devices = {}
        host = self.sensor.host_device
        host.on("advertisement", self._on_advertisement)
        self._listening = True
        await host.start_scanning(filter_duplicates=False)

    async def stop(self) -> None:
        host = self.sensor.host_device
        if self._listening:
            host.remove_listener("advertisement", self._on_advertisement)
            self._listening = False
            await host.stop_scanning()

    def _on_advertisement(self, adv: Any) -> None:
        from bleak.backends.scanner import AdvertisementData
        from bumble.core import AdvertisingData

        name = adv.data.get(AdvertisingData.COMPLETE_LOCAL_NAME)
        uuids = [_bleak_uuid(u) for group in (adv.data.get_all(AdvertisingData.INCOMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS)
                                              + adv.data.get_all(AdvertisingData.COMPLETE_LIST_OF_128_BIT_SERVICE_CLASS_UUIDS))
                 for u in group]
        if not self.is_allowed_uuid(uuids):
            return
        address = str(adv.address).split("/")[0]
        data = AdvertisementData(local_name=name, manufacturer_data={}, service_data={}, service_uuids=uuids,
                                 tx_power=None, rssi=adv.rssi, platform_data=(adv,))
        device = self.create_or_update_device(address, address, name, {"virtual": True}, data)
        self.call_detection_callbacks(device, data)
