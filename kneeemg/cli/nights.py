"""``kneeemg nights`` and ``kneeemg trends``: the history of nights."""

from __future__ import annotations

import argparse

from .importcmd import add_db_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("nights", help="list the nights in the history")
    add_db_option(p)
    p.set_defaults(func=run)
    t = sub.add_parser("trends", help="nightly rates over the last weeks")
    t.add_argument("--days", type=int, default=28, help="how many days back (default 28)")
    add_db_option(t)
    t.set_defaults(func=run_trends)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..store import Store

    with Store(args.db) as store:
        nights = store.nights()
    table = Table(header_style="bold")
    for col in ("id", "date", "usable h", "twitches", "per h", "spasms", "cramps", "source"):
        table.add_column(col, justify="left" if col in ("date", "source") else "right")
    for n in nights:
        c = n.metrics.get("counts", {})
        rate = (n.metrics.get("per_usable_hour") or {}).get("twitch")
        table.add_row(str(n.id), n.date or "-", f"{n.usable_s / 3600:.1f}", str(c.get("twitch", "")),
                      "-" if rate is None else f"{rate:.1f}", str(c.get("spasm", "")), str(c.get("cramp", "")), n.source)
    Console().print(table if nights else "No nights yet: import one with `kneeemg import FILE`.")
    return 0


def run_trends(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from ..store import Store
    from ..trends import direction

    with Store(args.db) as store:
        rows = store.trend(args.days)
    console = Console()
    if not rows:
        console.print("No nights yet: import one with `kneeemg import FILE`.")
        return 0
    table = Table(header_style="bold", title=f"The last {args.days} days")
    for col in ("date", "usable h", "twitches", "per h", "7-night mean", "spasms", "cramps"):
        table.add_column(col, justify="left" if col == "date" else "right")
    for r in rows:
        table.add_row(r["date"], f"{r['usable_hours']:.1f}", str(r["twitches"]),
                      "-" if r["twitch_per_hour"] is None else f"{r['twitch_per_hour']:.1f}",
                      "-" if r["rolling7_twitch_per_hour"] is None else f"{r['rolling7_twitch_per_hour']:.1f}",
                      str(r["spasms"]), str(r["cramps"]))
    console.print(table)
    console.print(direction(rows))
    return 0
