"""``kneeemg record`` and ``kneeemg devices``: record a night from the sensor."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record a night from the sensor over USB serial",
                       description="Check the signal, then record until --duration passes, Ctrl-C, or the sensor "
                                   "stops. The recording is written as it comes (crash-safe .kemg); events are "
                                   "detected live.")
    p.add_argument("--serial", required=True, metavar="PORT", help="serial port of the sensor (see `kneeemg devices`)")
    p.add_argument("--out", required=True, metavar="DIR", help="folder for the recording")
    p.add_argument("--duration", type=float, default=None, metavar="S", help="stop after this many seconds")
    p.set_defaults(func=run)
    d = sub.add_parser("devices", help="list serial ports a sensor may be on")
    d.set_defaults(func=run_devices)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.live import Live

    from ..record import record_serial

    console = Console()

    def on_check(check) -> None:
        if check.ok:
            console.print(f"signal check: good (noise floor {', '.join(f'{v:.1f}' for v in check.floor_uv)} µV)")
        for problem in check.problems:
            console.print(f"[bold]electrode needs attention[/bold]: {problem}")

    def line(st) -> str:
        age = "-" if st.data_age_s is None else f"{st.data_age_s:.1f} s"
        quality = "-" if st.floor_uv is None else f"floor {st.floor_uv:.1f} µV"
        off = f", lead-off: {', '.join(st.lead_off)}" if st.lead_off else ""
        return (f"{'connected' if st.connected else 'waiting'} | data age {age} | {st.samples} samples, {st.samples_lost} lost, "
                f"{st.frames_bad} bad frames | battery {st.battery_pct if st.battery_pct is not None else '-'} % | {quality}{off} | "
                f"twitches {st.twitches}, spasms {st.spasms}")

    with Live(console=console, transient=False, refresh_per_second=2) as live:
        def on_status(st) -> None:
            live.update(line(st))

        path, result = record_serial(args.serial, args.out, args.duration, on_status=on_status, on_check=on_check)
    console.print(f"recording: {path}")
    if result is not None:
        from .render import print_summary

        print_summary(console, result.summary(), title="The recording")
    return 0


def run_devices(args: argparse.Namespace) -> int:
    from ..transport import list_serial_ports

    ports = list_serial_ports()
    if not ports:
        print("no serial ports found; plug the sensor in by USB")
    for device, desc in ports:
        print(f"{device}\t{desc}")
    return 0
