"""Words as people read them: counts (``1 twitch``, ``2 twitches``, ``9 periodic series``),
the detector's reasons for excluded time (``DC jump``), spans of time (``12 min 30 s``) and
the muscle the leg movements come from."""

from __future__ import annotations

#: Plurals that do not just add "s" (the last word of a phrase decides: "periodic series").
IRREGULAR_PLURALS = {"series": "series", "twitch": "twitches"}
#: Reasons for excluded time as people read them (others: the id with spaces).
REASON_WORDS = {"dc_jump": "DC jump", "noise_rise": "noise rise", "mains": "mains hum",
                "spike": "electrical spike", "step": "offset step"}
#: The muscle of a :func:`~kneeemg.io.channels.muscle_site`, as in "computed from the thigh".
SITE_WORDS = {"thigh": "the thigh", "shin": "the shin"}


def plural_of(word: str) -> str:
    """The plural of a noun or of a phrase ending in one (``"periodic series"``, ``"twitch"``)."""
    head, _, last = word.rpartition(" ")
    many = IRREGULAR_PLURALS.get(last) or (last + "es" if last.endswith(("s", "x", "z", "ch", "sh")) else last + "s")
    return f"{head} {many}" if head else many


def plural(n: int, word: str) -> str:
    """``"1 twitch"``, ``"2 twitches"``, ``"9 periodic series"``: the count and the word in the right number."""
    return f"{n} {word if n == 1 else plural_of(word)}"


def share_of(k: int, n: int, word: str) -> str:
    """``"2 of the 3 nights"``; of a single one, ``"the only night"`` (not "1 of the 1 nights")."""
    if n == 1 and k == 1:
        return f"the only {word}"
    return f"{k} of the {plural(n, word)}"


def reason_words(reason: str) -> str:
    """An exclusion reason (``dc_jump``) as people read it (``DC jump``)."""
    return REASON_WORDS.get(reason, reason.replace("_", " "))


def duration_text(seconds: float) -> str:
    """A span in words that fit its size: ``4.5 s``, ``20 s``, ``12 min 30 s``, ``7 h 05 min``."""
    seconds = max(0.0, float(seconds))
    if seconds < 9.95:
        return f"{seconds:.1f} s"
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        m, s = divmod(s, 60)
        return f"{m} min {s:02d} s"
    h, m = divmod(int(round(seconds / 60.0)), 60)
    return f"{h} h {m:02d} min"


def site_words(site: str | None) -> str:
    """Where leg movements were computed from: ``"the thigh"``, ``"the shin"``, or, when the
    channels' labels do not say (``site`` None), ``"the recorded muscle"``."""
    return SITE_WORDS.get(site or "", "the recorded muscle")
