"""``kneeemg devices``: serial ports and Bluetooth sensors a recording could use."""

from __future__ import annotations

import argparse

from .replay import bounded


#: Seconds devices scans for Bluetooth sensors when --scan is not given.
SCAN_S = 5.0


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("devices", help="list serial ports and Bluetooth sensors",
                       description="Lists serial ports (a sensor on USB is one of them) and scans for sensors "
                                   "advertising the kneeemg Bluetooth service; then says whether `kneeemg record` "
                                   "can keep this computer from sleeping through the night.")
    p.add_argument("--scan", type=bounded(float, 0.0, 120.0, " s", lo_open=True), default=None, metavar="S",
                   help=f"seconds to scan for Bluetooth sensors, more than 0 and at most 120 (default {SCAN_S:g}; "
                        "not with --no-ble)")
    p.add_argument("--no-ble", action="store_true", help="do not scan for Bluetooth sensors")
    p.add_argument("--virtual", action="store_true", help="also show the virtual sensor (simulated, no hardware)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..errors import InputError
    from ..transport import BluetoothUnavailableError, list_serial_ports
    from ..transport.devices import scan

    if args.no_ble and args.scan is not None:
        raise InputError("--scan sets how long to scan for Bluetooth sensors, and --no-ble skips that scan; give one "
                         "of them")
    seconds = SCAN_S if args.scan is None else args.scan
    ports = list_serial_ports()
    print("serial ports:" if ports else "serial ports: none found (plug the sensor in by USB)")
    for device, desc in ports:
        print(f"  {device}\t{desc}")
    if not args.no_ble:
        try:
            found = scan(seconds)
        except BluetoothUnavailableError as exc:
            print(f"bluetooth: {exc}")
        else:
            print("bluetooth sensors:" if found else f"bluetooth sensors: none found in {seconds:g} s")
            for address, name, rssi in found:
                print(f"  ble://{address}\t{name}\t{rssi} dBm")
    if args.virtual:
        from ..transport.devices import scan_virtual

        for address, name, rssi in scan_virtual():
            print(f"virtual sensor:\n  ble+virtual://\t{name} ({address})\t{rssi} dBm")
    from ..record import kept_awake

    with kept_awake() as awake:  # (asked and let go at once: whether a recording could)
        pass
    print(f"keeping awake: yes, `kneeemg record` keeps this computer from sleeping ({awake.method})" if awake.held else
          f"keeping awake: no ({awake.why_not}); set this computer not to sleep on the night of a recording "
          "(docs/recording.md, \"Keeping the computer awake\")")
    return 0
