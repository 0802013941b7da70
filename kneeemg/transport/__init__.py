"""Links to the sensor, chosen at run time by URL (like pyserial's ``serial_for_url``).

| URL | link |
|---|---|
| ``/dev/ttyACM0``, ``serial:///dev/ttyACM0``, ``COM3`` | :class:`~.serial.SerialLink` (pyserial) |
| ``loop://`` | :class:`~.serial.SerialLink` on pyserial's software loopback (tests) |
| ``ble://AA:BB:CC:DD:EE:FF`` | :class:`~.ble.BleLink` (bleak) to that address |
| ``ble://`` | :class:`~.ble.BleLink` to the first sensor advertising the kneeemg service |
| ``ble+virtual://`` | :class:`~.ble.BleLink` through bleak to a :class:`~.virtual.VirtualSensor` on bumble |
| ``memory://`` | :class:`~.memory.MemoryLink`, an in-memory fake for fast unit tests |

The public API is asynchronous (asyncio) for every link::

    link = open_link("ble://")            # nothing happens until open()
    async with link:                      # open() ... close()
        await link.send(Command.START)
        async for frame in link.frames():  # DataFrame / InfoFrame, decoded and checked
            ...

``link.raw_frames()`` yields the frames' bytes instead. :class:`~.blocking.BlockingLink`
wraps a link for synchronous code. Errors derive from :class:`LinkError` (a
:class:`~kneeemg.errors.DeviceError`): :class:`SensorNotFoundError`,
:class:`BluetoothUnavailableError`, :class:`LinkLostError` (:class:`NoDataError` when nothing arrived
for the time allowed).
"""

from __future__ import annotations

import inspect
from typing import Any

from ..errors import InputError
from .base import BluetoothUnavailableError, Link, LinkError, LinkLostError, LinkState, NoDataError, SensorNotFoundError
from .blocking import BlockingLink
from .memory import MemoryLink
from .serial import SerialLink, list_serial_ports

__all__ = ["open_link", "Link", "LinkState", "LinkError", "SensorNotFoundError", "BluetoothUnavailableError",
           "LinkLostError", "NoDataError", "MemoryLink", "SerialLink", "BlockingLink", "list_serial_ports", "scan_sensors"]


def open_link(url: str, *, backend: type[Link] | None = None, **options: Any) -> Link:
    """The link a URL names (see the module docstring); it is opened by ``await link.open()``.

    Parameters
    ----------
    url : str
    backend : Link subclass, optional
        Use this class (constructed as ``backend(url, **options)``) instead of the one the
        URL names: how tests inject a fake.
    **options
        Passed to the link's constructor, e.g. ``give_up_s=`` or ``backoff_s=`` for BLE and serial,
        ``sensor=`` (a started :class:`~.virtual.VirtualSensor`) for ``ble+virtual://``, or
        ``baudrate=`` for serial; ``memory://`` takes none.

    Raises
    ------
    InputError
        When ``url`` is not a string, or an option is not one the URL's link takes.
    """
    if not isinstance(url, str):
        raise InputError(f"the link URL must be a string such as 'ble://' or '/dev/ttyACM0', not {type(url).__name__}")
    if backend is not None:
        return backend(url, **options)
    if url.startswith("memory://"):
        cls: type[Link] = MemoryLink
    elif url.startswith("ble+virtual://"):
        from .ble import VirtualBleLink as cls
    elif url.startswith(("ble://", "bluetooth://")):
        from .ble import BleLink as cls
    else:
        cls = SerialLink
    unknown = sorted(set(options) - _option_names(cls))
    if unknown:
        known = ", ".join(sorted(_option_names(cls))) or "none"
        raise InputError(f"{url} does not take the option(s) {', '.join(unknown)}; its link ({cls.__name__}) takes: {known}")
    return cls(url, **options)


def _option_names(cls: type) -> set[str]:
    """The keyword options a link class's constructor takes (through ``**options`` to its base, too)."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if "__init__" not in vars(klass):
            continue
        params = inspect.signature(klass.__init__).parameters.values()
        names |= {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
        if not any(p.kind is p.VAR_KEYWORD for p in params):
            break
    return names - {"self", "url"}


async def scan_sensors(timeout_s: float = 5.0, scanner_backend: type | None = None) -> list[tuple[str, str, int]]:
    """(address, name, RSSI dBm) of the sensors advertising nearby (see :func:`.ble.scan_sensors`)."""
    from .ble import scan_sensors as _scan

    return await _scan(timeout_s, scanner_backend)
