"""Personal triggers: how diary factors went with the twitch rate across nights.

For each diary factor, the nights after a day with it ("exposed") are compared with the
nights after a day without it. With ``a`` twitches in ``ha`` usable hours on exposed nights
and ``b`` in ``hb`` on the others, the rate ratio is ``(a / ha) / (b / hb)``. Its 95 %
confidence interval is the Poisson one, widened for nights that vary more than Poisson
counts do (quasi-Poisson)::

    phi  = max(1, sum((y_i - mu_i)**2 / mu_i) / (n - 2))   # mu_i = the group's rate * h_i
    half = t(0.975, n - 2) * sqrt(phi * (1/a + 1/b))       # on the log scale
    ci   = rate_ratio * exp(-half), rate_ratio * exp(+half)

(with ``phi = 1`` the t quantile is replaced by 1.96, the plain Poisson interval). Twitch
counts over whole nights vary far more than a Poisson count would, and without the widening
almost any difference between a few nights would look certain.

A factor is reported only with at least ``trigger_min_nights`` paired nights, at least
``trigger_min_group`` on each side, an interval that excludes 1 and whose upper end is at
most ``trigger_max_ci_ratio`` times its lower end. The words describe an association, never
a cause. The ratio and interval are shown with two decimals, or more when two would make an
end of the interval read as 1 (an interval shown as "1.00 to 1.45" would look as if it
included 1); the JSON ``ci95`` has the same digits.
"""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

from .features import TRIGGER_FACTORS, TriageConfig, long_enough

Test = Callable[[Mapping[str, Any]], "bool | None"]


def _field(key: str, test: Callable[[Any], bool]) -> Test:
    return lambda d: None if d.get(key) is None else bool(test(d[key]))


def factors(cfg: TriageConfig) -> dict[str, tuple[str, Test]]:
    """Factor name -> (words for the exposed nights, test of a diary day: True, False or None)."""

    def late_exercise(d: Mapping[str, Any]) -> bool | None:
        if d.get("exercise") is None:
            return None
        if d["exercise"] == "none":
            return False
        h = d.get("exercise_hours_before_bed")
        return None if h is None else h <= cfg.late_exercise_hours

    def late_caffeine(d: Mapping[str, Any]) -> bool | None:
        if d.get("caffeine_drinks") == 0:
            return False
        h = d.get("caffeine_last_hours_before_bed")
        return None if h is None else h <= cfg.late_caffeine_hours

    table: dict[str, tuple[str, Test]] = {
        "caffeine": (f"{cfg.trigger_caffeine_drinks} or more caffeinated drinks",
                     _field("caffeine_drinks", lambda v: v >= cfg.trigger_caffeine_drinks)),
        "late_caffeine": (f"caffeine within {cfg.late_caffeine_hours:g} hours of bed", late_caffeine),
        "water": (f"{cfg.low_water_glasses} or fewer glasses of water", _field("water_glasses", lambda v: v <= cfg.low_water_glasses)),
        "alcohol": (f"{cfg.alcohol_drinks} or more alcoholic drinks", _field("alcohol_drinks", lambda v: v >= cfg.alcohol_drinks)),
        "stress": (f"a stress level of {cfg.high_stress} or more", _field("stress", lambda v: v >= cfg.high_stress)),
        "anxiety": (f"an anxiety level of {cfg.high_anxiety} or more", _field("anxiety", lambda v: v >= cfg.high_anxiety)),
        "hard_exercise": ("hard exercise", _field("exercise", lambda v: v == "hard")),
        "late_exercise": (f"exercise within {cfg.late_exercise_hours:g} hours of bed", late_exercise),
        "sitting": (f"{cfg.long_sitting_hours:g} or more hours of sitting", _field("sitting_hours", lambda v: v >= cfg.long_sitting_hours)),
        "standing": (f"{cfg.long_standing_hours:g} or more hours of standing",
                     _field("standing_hours", lambda v: v >= cfg.long_standing_hours)),
        "activity_change": ("a sudden change in activity", _field("activity_change", lambda v: v is True)),
        "sleep": (f"less than {cfg.short_sleep_hours:g} hours of sleep", _field("sleep_hours", lambda v: v < cfg.short_sleep_hours)),
    }
    return {k: table[k] for k in TRIGGER_FACTORS}


def rate_ratio_ci(counts: Sequence[int], hours: Sequence[float], exposed: Sequence[bool]) -> tuple[float, float, float, float]:
    """Rate ratio of exposed to unexposed nights with its quasi-Poisson 95 % interval.

    Parameters
    ----------
    counts : sequence of int, shape (n_nights,)
        Twitches per night.
    hours : sequence of float, shape (n_nights,)
        Usable hours per night (all > 0).
    exposed : sequence of bool, shape (n_nights,)

    Returns
    -------
    (rate_ratio, lower, upper, phi)
        ``nan`` values when either group has no twitches.
    """
    a = sum(c for c, e in zip(counts, exposed) if e)
    b = sum(c for c, e in zip(counts, exposed) if not e)
    ha = sum(h for h, e in zip(hours, exposed) if e)
    hb = sum(h for h, e in zip(hours, exposed) if not e)
    if a == 0 or b == 0 or ha <= 0 or hb <= 0:
        return math.nan, math.nan, math.nan, math.nan
    ra, rb = a / ha, b / hb
    n = len(counts)
    pearson = sum((c - (ra if e else rb) * h) ** 2 / ((ra if e else rb) * h) for c, h, e in zip(counts, hours, exposed))
    phi = max(1.0, pearson / (n - 2)) if n > 2 else 1.0
    if phi > 1.0:
        from scipy.stats import t

        q = float(t.ppf(0.975, n - 2))
    else:
        q = 1.959963984540054
    rr = ra / rb
    half = q * math.sqrt(phi * (1.0 / a + 1.0 / b))
    return rr, rr * math.exp(-half), rr * math.exp(half), phi


def personal_triggers(days: Sequence[Mapping[str, Any]], nights: Sequence[Mapping[str, Any]], cfg: TriageConfig) -> list[dict[str, Any]]:
    """Associations between diary factors and the twitch rate (see the module docstring).

    Returns
    -------
    list of dict
        One per reported factor, strongest first: ``factor``, ``rate_ratio``, ``ci95``,
        ``nights``, ``exposed_nights``, ``dispersion`` and ``text`` (careful words).
    """
    by_date = {d["date"]: d for d in days if d.get("date")}
    paired = [(by_date[n["date"]], n) for n in nights
              if n.get("date") in by_date and long_enough(n, cfg)]
    if len(paired) < cfg.trigger_min_nights:
        return []
    out = []
    for key, (label, test) in factors(cfg).items():
        rows = [(test(d), n) for d, n in paired]
        rows = [(e, n) for e, n in rows if e is not None]
        n_exp = sum(1 for e, _ in rows if e)
        if len(rows) < cfg.trigger_min_nights or min(n_exp, len(rows) - n_exp) < cfg.trigger_min_group:
            continue
        rr, lo, hi, phi = rate_ratio_ci([n["twitches"] for _, n in rows], [n["usable_hours"] for _, n in rows], [e for e, _ in rows])
        if math.isnan(rr) or lo <= 1.0 <= hi or hi / lo > cfg.trigger_max_ci_ratio:
            continue
        digits = interval_digits(lo, hi)
        if digits is None:
            continue  # excludes 1 only beyond the fourth decimal: nothing worth saying
        out.append({
            "factor": key, "rate_ratio": round(rr, digits), "ci95": [round(lo, digits), round(hi, digits)], "nights": len(rows),
            "exposed_nights": n_exp, "dispersion": round(phi, 2),
            "text": f"On nights after {label} your twitch rate was {ratio_words(rr)} ({n_exp} such nights of {len(rows)}; "
                    f"rate ratio {rr:.{digits}f}, 95 % interval {lo:.{digits}f} to {hi:.{digits}f}). This shows that the two "
                    f"went together, not that one caused the other.",
        })
    out.sort(key=lambda t: -abs(math.log(t["rate_ratio"])))
    return out


def interval_digits(lo: float, hi: float, most: int = 4) -> int | None:
    """Decimals (2 or more) at which an interval that excludes 1 is still seen to exclude it.

    None when even ``most`` decimals would show an end as 1.
    """
    for digits in range(2, most + 1):
        if not round(lo, digits) <= 1.0 <= round(hi, digits):
            return digits
    return None


def ratio_words(rr: float) -> str:
    """A rate ratio in plain words ("about twice as high", "about 40 % lower")."""
    if rr >= 1.8:
        return "about twice as high" if rr < 2.5 else f"about {rr:.0f} times as high"
    if rr >= 1:
        return f"about {round((rr - 1) * 100):d} % higher"
    return f"about {round((1 - rr) * 100):d} % lower"
