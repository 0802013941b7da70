"""``kneeemg triage``: what the recorded nights and diary may mean, with sources."""

from __future__ import annotations

import argparse

from .importcmd import add_db_option
from .replay import whole_number


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("triage", help="guidance: how urgent, which causes fit, what to do (not a diagnosis)",
                       description="Read the profile, diary and nights (from the history, or a case file) and say how "
                                   "urgently to see a doctor, which causes named in two public articles fit what was "
                                   "recorded, and what the articles advise, each with its source. Guidance, not a "
                                   "diagnosis; see docs/guidance.md.")
    p.add_argument("--case", metavar="JSON", help="a case file with profile, diary and nights (instead of the history)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")
    p.add_argument("--explain", action="store_true", help="show every rule, threshold, prior and ratio behind the result")
    p.add_argument("--nights", type=whole_number, default=None,
                   help="how many of the latest nights to take from the history (default: those of the last 56 days, "
                        "history_days; not with --case)")
    add_set_option(p)
    add_db_option(p)
    p.set_defaults(func=run)


def add_set_option(p: argparse.ArgumentParser, help: str | None = None) -> None:
    """``--set NAME=VALUE`` (repeatable): change one of the guidance's thresholds
    (:meth:`~kneeemg.guidance.TriageConfig.with_settings` reads them); ``help`` replaces the
    option's help text."""
    p.add_argument("--set", action="append", default=None, dest="settings", metavar="NAME=VALUE",
                   help=help or "change one of the guidance's thresholds, e.g. --set frequent_rate_per_h=15 (repeatable; "
                                "the names and defaults are in docs/guidance.md, and `kneeemg triage --explain` lists "
                                "the thresholds in use)")


def run(args: argparse.Namespace) -> int:
    import json
    from datetime import date
    from pathlib import Path

    from ..errors import InputError
    from ..guidance import LEVELS, TriageConfig, triage, validate_case
    from ..paths import check_given

    config = TriageConfig.with_settings(args.settings or ())
    if args.json and args.explain:
        raise InputError("--json and --explain are two ways to print the result; give one of them")
    check_given(args.case, "--case", "a JSON case file")
    if args.case:
        for option, value in (("--nights", args.nights), ("--db", args.db)):
            if value is not None:
                raise InputError(f"{option} is about the history, and --case reads a case file instead (all of it); "
                                 f"leave out {option}, or --case to triage the history")
        path = Path(args.case)
        if path.is_dir():
            raise InputError(f"{path} is a folder; name a JSON case file")
        if not path.is_file():
            raise InputError(f"{path} does not exist; check the path")
        try:
            case = json.loads(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise InputError(f"{path.name}: not valid JSON ({exc})") from None
        except RecursionError:
            raise InputError(f"{path.name}: lists or tables nested too deeply to read; a case file nests a few levels") from None
        where = path.name
    else:
        from ..store import Store

        with Store(args.db, create=False) as store:
            case = store.case_for_triage(args.nights, config=config)
        where = "history"
    # a case file's dates are checked against today (a mistyped year); the history is read
    # as stored (a night dated by a recorder's clock that runs ahead must not block triage)
    profile, diary, nights = validate_case(case, where=where, latest=date.today() if args.case else None)
    # the history's symptom window ends today; a case file's at its own latest entry
    result = triage(profile, diary, nights, config=config, symptoms_until=None if args.case else date.today())
    if args.json:
        print(json.dumps(result.as_dict(), indent=2, ensure_ascii=False))
        return 0
    if args.explain:
        print(result.explain())
        return 0
    from .render import make_console
    from rich.markup import escape

    console = make_console(highlight=False)
    console.print(f"[bold]{escape(result.level_text)}[/bold] (level {LEVELS.index(result.level) + 1} of {len(LEVELS)})")
    for r in result.reasons:
        console.print(f"  - {escape(r)}")
    if result.also:
        console.print("[bold]Also[/bold]:")
        for r in result.also:
            console.print(f"  - {escape(r)}")
    if result.causes:
        # No percentages here: the scores are written-down judgments that order the causes,
        # not the chance of having one (docs/guidance.md); --explain and --json show them.
        console.print("[bold]Causes your information speaks for[/bold] (the best fit first; a rough order, not a probability):")
        for c in result.causes:
            console.print(f"  - {escape(c.label)}: " + escape("; ".join(c.reasons()))
                          + f" [dim](Source: {escape('; '.join(c.sources))})[/dim]")
    if result.advice:
        console.print("[bold]What the articles suggest[/bold]:")
        for a in result.advice:
            console.print(f"  - {escape(a['text'])} [dim]({escape(a['source'])})[/dim]")
    if result.triggers:
        console.print("[bold]In your own nights[/bold]:")
        for t in result.triggers:
            console.print(f"  - {escape(t['text'])}")
    for note in result.notes:
        console.print(f"[bold]Note[/bold]: {escape(note)}")
    console.print(f"[italic]{escape(result.disclaimer)}[/italic]")
    return 0
