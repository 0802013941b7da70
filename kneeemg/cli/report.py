"""``kneeemg report``: the night report (HTML), or the short version for the doctor."""

from __future__ import annotations

import argparse

from .importcmd import add_db_option
from .triage import add_set_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="write a night's report as one HTML file (or --doctor: the summary for an appointment)",
                       description="Writes one night's report (the latest, or NIGHT) as a single HTML file that opens "
                                   "offline and reads on a phone: the night in words and numbers, what it could mean, "
                                   "figures, signal quality, the diary and the trend up to that night. With --doctor it "
                                   "writes instead a short summary of the last 28 days to bring to an appointment "
                                   "(--doctor takes no NIGHT). See docs/report.md.")
    p.add_argument("night", nargs="?", default=None, help="night id or date (default: the latest); not with --doctor")
    p.add_argument("--out", default=None, help="output file (default report.html, or doctor.html with --doctor)")
    p.add_argument("--doctor", action="store_true", help="the short summary of the last 28 days to bring to an appointment")
    add_set_option(p)
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..guidance import TriageConfig
    from ..report import write_report

    config = TriageConfig.with_settings(args.settings or ())
    out = args.out if args.out is not None else "doctor.html" if args.doctor else "report.html"  # (neither replaces the other)
    path = write_report(out, db=args.db, night=args.night, doctor=args.doctor, config=config)
    print(f"report: {path.resolve()}")
    return 0
