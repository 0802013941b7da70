"""``kneeemg triage``: what the recorded nights and diary may mean, with sources."""

from __future__ import annotations

import argparse

from .importcmd import add_db_option


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("triage", help="guidance: how urgent, which causes fit, what to do (not a diagnosis)")
    p.add_argument("--case", metavar="JSON", help="a case file with profile, diary and nights (instead of the history)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--explain", action="store_true", help="show every number behind the ranking")
    p.add_argument("--nights", type=int, default=14, help="how many of the latest nights to use from the history (default 14)")
    add_db_option(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from ..errors import InputError
    from ..guidance import triage

    if args.case:
        path = Path(args.case)
        if not path.exists():
            raise InputError(f"{path} does not exist; check the path")
        try:
            case = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{path}: not valid JSON ({exc})") from None
        where = path.name
    else:
        from ..store import Store

        with Store(args.db) as store:
            case = store.case_for_triage(args.nights)
        where = "history"
    from ..guidance.classifier import validate_case

    validate_case(case, where=where)
    result = triage(case.get("profile"), case.get("diary") or [], case.get("nights") or [])
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
        return 0
    if args.explain:
        print(result.explain())
        return 0
    from rich.console import Console

    console = Console()
    console.print(f"[bold]Level: {result.level.replace('_', ' ')}[/bold]")
    for r in result.reasons:
        console.print(f"  - {r}")
    if result.causes:
        console.print("[bold]Causes your information speaks for[/bold] (highest first):")
        for c in result.causes[:6]:
            console.print(f"  {c.score:5.1%}  {c.name}: " + "; ".join(e["reason"] for e in c.evidence_for))
    if result.advice:
        console.print("[bold]What the articles suggest[/bold]:")
        for a in result.advice:
            console.print(f"  - {a['text']} [dim]({a['source']})[/dim]")
    for t in result.triggers:
        console.print(f"  * {t['text']}")
    console.print(f"[italic]{result.disclaimer}[/italic]")
    return 0
