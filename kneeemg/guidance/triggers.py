"""Personal triggers: how diary factors went with the twitch rate across nights.

For each factor, nights with it are compared with nights without it: the rate ratio of
twitches per usable hour, with a 95 % confidence interval from the Poisson counts
(log rate ratio +- 1.96 * sqrt(1/a + 1/b)). Only a ratio whose interval excludes 1 is
reported, in words that describe an association, not a cause. Nothing is said with fewer
than ``trigger_min_nights`` nights, or fewer than ``trigger_min_group`` on either side.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

from .features import TriageConfig


def _factors(cfg: TriageConfig) -> list[tuple[str, str, str, Callable[[Mapping[str, Any]], bool | None]]]:
    def f(key: str, test: Callable[[Any], bool]) -> Callable[[Mapping[str, Any]], bool | None]:
        return lambda d: None if d.get(key) is None else bool(test(d[key]))

    return [
        ("caffeine", f"{cfg.high_caffeine_drinks - 1} or more caffeinated drinks", "fewer",
         f("caffeine_drinks", lambda v: v >= cfg.high_caffeine_drinks - 1)),
        ("water", f"{cfg.low_water_glasses} or fewer glasses of water", "more", f("water_glasses", lambda v: v <= cfg.low_water_glasses)),
        ("alcohol", f"{cfg.alcohol_drinks} or more alcoholic drinks", "fewer", f("alcohol_drinks", lambda v: v >= cfg.alcohol_drinks)),
        ("stress", f"stress of {cfg.high_stress} or more", "less stress", f("stress", lambda v: v >= cfg.high_stress)),
        ("exercise", "hard exercise", "lighter exercise", f("exercise", lambda v: v == "hard")),
        ("sleep", f"under {cfg.short_sleep_hours:g} hours of sleep", "more sleep", f("sleep_hours", lambda v: v < cfg.short_sleep_hours)),
    ]


def personal_triggers(days: Sequence[Mapping[str, Any]], nights: Sequence[Mapping[str, Any]], cfg: TriageConfig) -> list[dict[str, Any]]:
    """Associations between diary factors and the twitch rate (see the module docstring)."""
    by_date = {d["date"]: d for d in days if d.get("date")}
    paired = [(by_date[n["date"]], n) for n in nights if n.get("date") in by_date and n.get("usable_hours", 0) > 0]
    if len(paired) < cfg.trigger_min_nights:
        return []
    out = []
    for key, label, _other, test in _factors(cfg):
        exp = [(d, n) for d, n in paired if test(d) is True]
        une = [(d, n) for d, n in paired if test(d) is False]
        if len(exp) < cfg.trigger_min_group or len(une) < cfg.trigger_min_group:
            continue
        a = sum(n["twitches"] for _, n in exp)
        b = sum(n["twitches"] for _, n in une)
        ha = sum(n["usable_hours"] for _, n in exp)
        hb = sum(n["usable_hours"] for _, n in une)
        if a == 0 or b == 0:
            continue
        rr = (a / ha) / (b / hb)
        half = 1.96 * math.sqrt(1 / a + 1 / b)
        lo, hi = rr * math.exp(-half), rr * math.exp(half)
        if lo <= 1.0 <= hi:
            continue
        n_total = len(exp) + len(une)
        out.append({
            "factor": key, "rate_ratio": round(rr, 2), "ci95": [round(lo, 2), round(hi, 2)], "nights": n_total,
            "text": f"On nights after {label} your twitch rate was {_words(rr)} ({len(exp)} such nights of {n_total}; "
                    f"rate ratio {rr:.1f}, 95 % interval {lo:.1f}-{hi:.1f}). This shows they went together, not that one caused the other.",
        })
    return out


def _words(rr: float) -> str:
    if rr >= 1:
        if rr >= 1.8:
            return f"about {rr:.0f} times as high" if rr >= 2.5 else "about twice as high"
        return f"about {round((rr - 1) * 100):d} % higher"
    return f"about {round((1 - rr) * 100):d} % lower"
