"""Finding sensors: synchronous scans for ``kneeemg devices``."""

from __future__ import annotations

import asyncio

from .ble import scan_sensors


def scan(timeout_s: float = 5.0) -> list[tuple[str, str, int]]:
    """(address, name, RSSI dBm) of kneeemg sensors advertising nearby.

    Raises :class:`~kneeemg.transport.BluetoothUnavailableError` on a machine without a
    usable Bluetooth adapter.
    """

    async def main() -> list[tuple[str, str, int]]:
        return await asyncio.wait_for(scan_sensors(timeout_s), timeout_s + 10.0)

    try:
        return asyncio.run(main())
    except asyncio.TimeoutError:
        from .ble import bluetooth_error

        raise bluetooth_error(TimeoutError("the Bluetooth stack did not answer")) from None


def scan_virtual(timeout_s: float = 1.0) -> list[tuple[str, str, int]]:
    """Scan through bleak for the bumble virtual sensor (started for the scan, then stopped)."""
    from .virtual import VirtualSensor

    async def main() -> list[tuple[str, str, int]]:
        async with VirtualSensor() as sensor:
            return await scan_sensors(timeout_s, scanner_backend=sensor.scanner_backend)

    return asyncio.run(main())
