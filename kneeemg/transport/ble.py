"""BLE links through bleak: ``ble://AA:BB:CC:DD:EE:FF``, ``ble://`` (scan for the kneeemg service).

Reconnects follow what the Python BLE ecosystem learned the hard way:

- a fresh ``BleakClient`` for every connection (a client object is not reused after a
  disconnect), made by bleak-retry-connector's ``establish_connection`` (which retries
  the transient failures of BlueZ and ESP32 stacks);
- a connection timeout of at least 10 s (20 s here, as bleak-retry-connector uses);
- exponential backoff between attempts, capped (0.5 s doubling to 30 s by default);
- the disconnect callback and notifications of an old client are ignored (they can fire
  late, after a new client is connected);
- ATT MTU 247 asked for (the data characteristic needs it for whole frames).

After each (re)connection the link reads the info characteristic (the info frame is the
first frame yielded), subscribes to data and battery notifications, and sends again the rate
the host last set (SET_RATE) and, if the host had sent START, START, so streaming resumes. The sensor's sample counter keeps running
while disconnected, so the recorder sees the missed samples as an exact gap.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ..protocol import (
    BATTERY_LEVEL_UUID,
    BLE_FULL_MTU,
    CONTROL_CHAR_UUID,
    DATA_CHAR_UUID,
    INFO_CHAR_UUID,
    SERVICE_UUID,
    BleReassembler,
    Frame,
)
from .base import (
    BACKOFF_MAX_S,
    BACKOFF_S,
    BluetoothUnavailableError,
    Link,
    LinkError,
    LinkLostError,
    LinkState,
    SensorNotFoundError,
)

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 20.0


def bluetooth_error(exc: BaseException) -> LinkError:
    """A one-line error for a failure of the Bluetooth stack itself (no adapter, no D-Bus)."""
    text = str(exc) or type(exc).__name__
    return BluetoothUnavailableError(
        f"Bluetooth is not available on this machine ({text}); connect the sensor by USB (--serial) or use --virtual")


_STACK_ERRORS = (OSError, FileNotFoundError, ConnectionRefusedError)


class BleLink(Link):
    """A sensor over Bluetooth Low Energy (bleak).

    Parameters
    ----------
    url : str
        ``ble://ADDRESS`` or ``ble://`` (the first sensor advertising the kneeemg service).
    client_backend, scanner_backend : type, optional
        bleak backend classes (``BleakClient(..., backend=...)``); the platform's by default,
        :class:`~kneeemg.transport.virtual.VirtualSensor`'s for the virtual sensor.
    scan_timeout_s : float
        How long to look for the sensor, s.
    connect_timeout_s : float
        Per connection attempt, s (at least 10).
    backoff_s, backoff_max_s : float
        First wait between reconnect attempts, and its cap, s.
    give_up_s : float or None
        Stop trying to reconnect after this long without a connection (None: keep trying).
    mtu : int
        ATT MTU to ask for.
    """

    def __init__(self, url: str, *, client_backend: type | None = None, scanner_backend: type | None = None,
                 scan_timeout_s: float = 10.0, connect_timeout_s: float = CONNECT_TIMEOUT_S, backoff_s: float = BACKOFF_S,
                 backoff_max_s: float = BACKOFF_MAX_S, give_up_s: float | None = None, mtu: int = BLE_FULL_MTU) -> None:
        super().__init__(url)
        address = url.split("://", 1)[1].strip("/") if "://" in url else url
        self.address = address.upper() or None
        self.client_backend = client_backend
        self.scanner_backend = scanner_backend
        self.scan_timeout_s = scan_timeout_s
        self.connect_timeout_s = max(10.0, connect_timeout_s)
        self.backoff_s = backoff_s
        self.backoff_max_s = backoff_max_s
        self.give_up_s = give_up_s
        self.mtu_request = mtu
        self._device: Any = None
        self._client: Any = None
        self._generation = 0  # connection number; units carry it so fragments never span two connections
        self._reassembler = BleReassembler(stats=self.stats)
        self._decoder_generation = 0
        self.disconnects = 0
        self._backend_kwargs: dict[str, Any] = {}  # more keyword arguments for the client backend

    # ------------------------------------------------------------------ connecting
    async def _find(self) -> Any:
        from bleak import BleakScanner
        from bleak.exc import BleakError

        kwargs: dict[str, Any] = {"timeout": self.scan_timeout_s}
        if self.scanner_backend is not None:
            kwargs["backend"] = self.scanner_backend
        try:
            if self.address:
                device = await BleakScanner.find_device_by_address(self.address, **kwargs)
            else:
                device = await BleakScanner.find_device_by_filter(
                    lambda d, ad: SERVICE_UUID in [u.lower() for u in ad.service_uuids], **kwargs)
        except BleakError as exc:
            if "not found" in str(exc).lower() or "adapter" in str(exc).lower() or "bluetooth" in str(exc).lower():
                raise bluetooth_error(exc) from None
            raise LinkError(f"scanning for the sensor failed ({exc})") from None
        except _STACK_ERRORS as exc:
            raise bluetooth_error(exc) from None
        if device is None:
            what = f"sensor {self.address}" if self.address else "sensor advertising the kneeemg service"
            raise SensorNotFoundError(
                f"no {what} found in {self.scan_timeout_s:.0f} s; is it switched on, charged and near? (`kneeemg devices`)")
        return device

    async def open(self) -> None:
        self._attach()
        self._closing = False
        self.state = LinkState.CONNECTING
        self._device = await self._find()
        try:
            await self._connect()
        except Exception:
            self.state = LinkState.CLOSED
            raise

    async def _connect(self) -> None:
        """One connection with a fresh client (bleak-retry-connector retries transient failures)."""
        from bleak import BleakClient
        from bleak.exc import BleakError
        from bleak_retry_connector import establish_connection

        kwargs: dict[str, Any] = {"timeout": self.connect_timeout_s, **self._backend_kwargs}
        if self.client_backend is not None:
            kwargs["backend"] = self.client_backend
        try:
            client = await establish_connection(BleakClient, self._device, "kneeemg sensor",
                                                disconnected_callback=self._on_disconnected, max_attempts=2, **kwargs)
        except (BleakError, asyncio.TimeoutError) as exc:
            raise LinkLostError(f"cannot connect to {self._device.address} ({exc})") from None
        except _STACK_ERRORS as exc:
            raise bluetooth_error(exc) from None
        self._generation += 1
        self._client = client
        generation = self._generation
        try:
            await self._acquire_mtu(client)
            self.mtu = int(client.mtu_size)
            log.debug("ATT MTU is %d (a frame longer than MTU - 3 bytes comes in fragments)", self.mtu)
            self._put((generation, bytes(await client.read_gatt_char(INFO_CHAR_UUID))))
            await client.start_notify(DATA_CHAR_UUID, lambda _c, data: self._on_data(generation, data))
            await self._start_battery(client, generation)
            for command in self._again():  # (nothing on the first connection: nothing was sent yet)
                await client.write_gatt_char(CONTROL_CHAR_UUID, command, response=True)
        except (BleakError, asyncio.TimeoutError, EOFError) as exc:
            await self._drop(client)
            raise LinkLostError(f"the connection to {self._device.address} failed while setting up ({exc})") from None
        self.state = LinkState.CONNECTED
        log.info("connected to %s (MTU %s, connection %d)", self._device.address, self.mtu, generation)

    @staticmethod
    async def _acquire_mtu(client: Any) -> None:
        # BlueZ negotiates the MTU only when asked this way (bleak's documented workaround);
        # other stacks, the virtual one included, negotiate it while connecting.
        acquire = getattr(getattr(client, "_backend", None), "_acquire_mtu", None)
        if acquire is not None:
            try:
                await acquire()
            except Exception:  # noqa: BLE001 - the MTU stays as the stack negotiated it
                log.debug("MTU acquisition failed", exc_info=True)

    async def _start_battery(self, client: Any, generation: int) -> None:
        from bleak.exc import BleakError

        if client.services.get_characteristic(BATTERY_LEVEL_UUID) is None:
            return
        try:
            level = await client.read_gatt_char(BATTERY_LEVEL_UUID)
            self.battery_pct = int(level[0]) if level else None
            await client.start_notify(BATTERY_LEVEL_UUID, lambda _c, data: self._on_battery(generation, data))
        except BleakError as exc:
            log.info("battery level unavailable: %s", exc)

    @staticmethod
    async def _drop(client: Any) -> None:
        try:
            await asyncio.wait_for(client.disconnect(), 5.0)
        except Exception:  # noqa: BLE001 - it is being dropped either way
            log.debug("disconnect failed", exc_info=True)

    # ------------------------------------------------------------------ callbacks
    def _on_data(self, generation: int, data: bytearray) -> None:
        if generation == self._generation:  # a late notification from an old client is ignored
            self._put((generation, bytes(data)))

    def _on_battery(self, generation: int, data: bytearray) -> None:
        if generation == self._generation and data:
            self.battery_pct = int(data[0])

    def _on_disconnected(self, client: Any) -> None:
        if client is not self._client:
            log.debug("ignoring the disconnect callback of an old client")
            return
        self._client = None
        self.disconnects += 1
        if not self._closing:
            self._lost_connection("the sensor disconnected")

    async def _connect_again(self) -> None:
        try:
            await self._connect()
        except LinkLostError:
            self._device = await self._find()  # the address may have moved to a new device object
            await self._connect()

    # ------------------------------------------------------------------ public API
    async def send_bytes(self, frame: bytes) -> None:
        from bleak.exc import BleakError

        self._note_command(frame)  # START, STOP and SET_RATE are sent again after a reconnect
        client = self._client
        if client is None:
            if self.state is LinkState.RECONNECTING:
                return  # sent again (SET_RATE, START) or moot (REQUEST_INFO) once the connection is back
            raise LinkLostError(f"{self.url} is not connected")
        try:
            await client.write_gatt_char(CONTROL_CHAR_UUID, frame, response=True)
        except BleakError as exc:
            raise LinkLostError(f"cannot write to the sensor ({exc})") from None

    async def close(self) -> None:
        if self._closing and self.state is LinkState.CLOSED:
            return
        self._closing = True
        await self._stop_reconnecting()
        client, self._client = self._client, None
        if client is not None:
            await self._drop(client)
        self.state = LinkState.CLOSED
        self._end()

    def _decode(self, unit: Any) -> list[Frame]:
        generation, data = unit
        if generation != self._decoder_generation:  # a new connection: fragments never continue across it
            self._reassembler = BleReassembler(stats=self.stats)
            self._decoder_generation = generation
        return self._reassembler.feed(data)

    def _split_raw(self, unit: Any) -> list[bytes]:
        return [unit[1]]


async def scan_sensors(timeout_s: float = 5.0, scanner_backend: type | None = None) -> list[tuple[str, str, int]]:
    """(address, name, RSSI dBm) of every sensor advertising the kneeemg service.

    Raises :class:`BluetoothUnavailableError` when there is no usable adapter.
    """
    from bleak import BleakScanner
    from bleak.exc import BleakError

    kwargs: dict[str, Any] = {"timeout": timeout_s, "return_adv": True, "service_uuids": [SERVICE_UUID]}
    if scanner_backend is not None:
        kwargs["backend"] = scanner_backend
    try:
        found = await BleakScanner.discover(**kwargs)
    except (BleakError, *_STACK_ERRORS) as exc:
        raise bluetooth_error(exc) from None
    return sorted((dev.address, dev.name or adv.local_name or "", adv.rssi) for dev, adv in found.values())


class VirtualBleLink(BleLink):
    """``ble+virtual://``: a :class:`BleLink` through bleak to a bumble :class:`~.virtual.VirtualSensor`.

    Parameters
    ----------
    url : str
    sensor : VirtualSensor, optional
        A sensor started in the same event loop; without it, the link starts a default one
        (a minute of noise, repeated) on open and stops it on close.
    **options
        As for :class:`BleLink`.
    """

    def __init__(self, url: str = "ble+virtual://", *, sensor: Any = None, **options: Any) -> None:
        super().__init__(url.replace("ble+virtual://", "ble://", 1), **options)
        self.url = url
        self.sensor = sensor
        self._own_sensor = sensor is None

    async def open(self) -> None:
        if self.sensor is None:
            from .virtual import VirtualSensor

            self.sensor = VirtualSensor(repeat=True)
        if self._own_sensor:
            await self.sensor.start()
        self.client_backend = self.sensor.client_backend
        self.scanner_backend = self.sensor.scanner_backend
        self._backend_kwargs = {"mtu": self.mtu_request}  # the virtual stack negotiates what the link asks for
        await super().open()

    async def close(self) -> None:
        await super().close()
        if self._own_sensor and self.sensor is not None:
            await self.sensor.stop()
