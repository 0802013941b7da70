"""HTML of the night report and of the doctor's summary, from plain inputs.

Every piece of text that comes from the user or from a file (diary notes, medications,
channel names, paths) goes through :func:`esc`. The page carries its own stylesheet
(``report.css``) and its figures as ``data:`` PNGs, so it opens offline.
"""

from __future__ import annotations

import html
import statistics
from datetime import date
from importlib import resources
from typing import Any, Sequence

from ..guidance.features import TriageConfig, gives_rate, hours_text
from ..guidance.kb import LEVEL_WORDS
from ..events import KINDS
from ..metrics import CLUSTER_MAX_GAP_S, CLUSTER_MIN_TWITCHES
from ..trends import short_words, together_words
from ..words import duration_text, plural, plural_of, reason_words, site_words
from . import plots
from .model import DOCTOR_DAYS, TREND_NIGHTS, DoctorInput, ReportInput

#: Diary fields as people read them (others: the field's name with spaces).
DIARY_LABELS = {"caffeine_drinks": "caffeinated drinks", "caffeine_last_hours_before_bed": "last caffeine, hours before bed",
                "alcohol_drinks": "alcoholic drinks", "water_glasses": "glasses of water",
                "exercise_hours_before_bed": "exercise, hours before bed", "warmed_up": "warmed up before exercise",
                "activity_change": "sudden change in activity", "sitting_hours": "hours sitting",
                "standing_hours": "hours standing", "stress": "stress (0-5)", "anxiety": "anxiety (0-5)",
                "sleep_hours": "hours slept", "stimulants": "other stimulants"}
#: Diary symptoms (``kneeemg.diary.SYMPTOMS``) as people read them (others: the id with spaces).
SYMPTOM_WORDS = {"skin_color_change": "change of skin colour", "twitching_elsewhere": "twitching in other places",
                 "limited_movement": "stiffness that limits how the knee moves"}
#: The footer of a report, by the :func:`~kneeemg.report.model.night_site` of its nights (None:
#: the labels do not say, or a doctor's summary over nights of several muscles).
FOOTERS = {"thigh": "Made by kneeemg from a surface EMG sensor on the thigh. Guidance, not a diagnosis: a doctor decides.",
           "shin": "Made by kneeemg from a recording of the shin's EMG. Guidance, not a diagnosis: a doctor decides.",
           None: "Made by kneeemg from surface EMG recordings. Guidance, not a diagnosis: a doctor decides."}


def esc(x: Any) -> str:
    """HTML-escaped text of ``x`` (quotes included)."""
    return html.escape(str(x), quote=True)


def rate_words(rate: float | None) -> str:
    """A rate per hour rounded for reading: whole numbers from 10 up, one decimal below."""
    if rate is None:
        return "-"
    return f"{rate:.0f}" if rate >= 10 else f"{rate:.1f}"


def symptom_words(symptom: str) -> str:
    """A diary symptom (``skin_color_change``) as people read it."""
    return SYMPTOM_WORDS.get(symptom, symptom.replace("_", " "))


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{b64}">'


def _rate_alt(rate: float | None) -> str:
    return "no signal" if rate is None else f"{rate:.0f}"


def _trend_alt(rows: Sequence[dict[str, Any]]) -> str:
    """The trend chart in words, for a screen reader: each night's rate."""
    return "twitches per usable hour, night by night: " + ", ".join(
        f"{r['date']} {'too short for a rate' if r['twitch_per_hour'] is None else _rate_alt(r['twitch_per_hour'])}"
        for r in rows)


def _section(title: str, inner: str, cls: str = "") -> str:
    head = f"<h2>{esc(title)}</h2>" if title else ""
    attr = f' class="{cls}"' if cls else ""
    return f"<section{attr}>{head}{inner}</section>"


#: How every page kneeemg writes begins (the generator tag marks it as kneeemg's own, so
#: that ``--out`` replaces an earlier report and never someone's own page).
PAGE_START = '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><meta name="generator" content="kneeemg">'


def _page(title: str, body: Sequence[str], footer: str) -> str:
    css = resources.files(__package__).joinpath("report.css").read_text(encoding="utf-8")
    return (PAGE_START + "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(title)}</title><style>{css}</style></head><body><main>" + "".join(body)
            + f"<footer>{esc(footer)}</footer></main></body></html>\n")


# --------------------------------------------------------------------------- night report
def _date_row(inp: ReportInput) -> dict[str, Any]:
    """The trend's row of the night's date ({} when there is none): all its recordings together."""
    return inp.trend[-1] if inp.trend and inp.trend[-1]["date"] == inp.date else {}


def _too_short(inp: ReportInput) -> str:
    """Why the night gives no rate ("" when it gives one): less usable time than the
    guidance's ``min_usable_hours``, as the nights list, the trend and the guidance judge it."""
    if gives_rate(inp.usable_s, TriageConfig(min_usable_hours=inp.min_usable_hours)):
        return ""
    hours = inp.min_usable_hours
    what = "this recording" if len(_date_row(inp).get("night_ids") or ()) > 1 else "the night"
    return f"with less than {hours:g} usable hour{'' if hours == 1 else 's'}, {what} is too short to give a rate"


def summary_words(inp: ReportInput) -> str:
    """The night in a few plain sentences (recorded and usable time, counts, rates, sides)."""
    m = inp.metrics
    counts, rates = m.get("counts", {}), m.get("per_usable_hour", {})
    worn = "You had the sensor on for" if inp.site == "thigh" else "The recording lasted"  # (a file from elsewhere)
    parts = [f"{worn} {duration_text(inp.recording_s)}; {duration_text(inp.usable_s)} of it was usable."]
    tw = counts.get("twitch", 0)
    rate = rates.get("twitch")
    short = _too_short(inp)
    if tw:
        parts.append(f"Your knee twitched {plural(tw, 'time')}" + (f"; {short}." if short else
                                                                  f" (about {rate_words(rate)} an hour)." if rate is not None else "."))
    else:
        parts.append("No twitches were found.")
    extra = []
    if counts.get("spasm"):
        extra.append(f"{plural(counts['spasm'], 'spasm')} of half a second to ten seconds (the longest {m.get('longest_spasm_s', 0):.1f} s)")
    if counts.get("cramp"):
        extra.append(f"{plural(counts['cramp'], 'cramp')} longer than ten seconds (the longest {duration_text(m.get('longest_cramp_s') or 0.0)})")
    if extra:
        parts.append("There " + ("was " if len(extra) == 1 and extra[0].startswith("1 ") else "were ") + " and ".join(extra) + ".")
    sides = m.get("sides") or {}
    if len(sides) == 2 and tw:
        (a, ca), (b, cb) = ((k, v.get("twitch", 0)) for k, v in sides.items())
        if ca != cb:
            more, n_more = (a, ca) if ca > cb else (b, cb)
            where = f"{more} channel" if len(inp.labels) == 2 else f"{more} side"  # (more channels: a side's together)
            parts.append(f"The twitch was on the {where}." if tw == 1 else
                         f"{n_more} of the {tw} twitches {'was' if n_more == 1 else 'were'} on the {where}.")
    hours = m.get("per_clock_hour") or []
    # by the measure the chart draws (twitches per usable hour, over hours it draws in full)
    rated = [h for h in hours if h.get("twitch_per_usable_hour") is not None and h.get("usable_s", 0) >= plots.SHORT_HOUR_S]
    busiest = (max(rated, key=lambda h: h["twitch_per_usable_hour"], default=None) if rated
               else max(hours, key=lambda h: h.get("twitch", 0), default=None))
    if busiest and busiest.get("twitch") and len(hours) > 1:
        h = busiest["hour"]  # named as the chart labels it: +5 h is the hour from 5 to 6 h in
        when = (f"the hour from {h} to {h + 1} h into the night" if str(busiest.get("clock", "+")).startswith("+")
                else f"the hour from {busiest['clock']}")
        rate = (f", {busiest['twitch_per_usable_hour']:.0f} per usable hour" if rated and busiest["usable_s"] < 3540 else "")
        parts.append(f"The busiest was {when}, with {plural(busiest['twitch'], 'twitch')}{rate}.")
    cl = m.get("clusters") or {}
    if cl.get("count"):
        parts.append(f"{cl.get('twitches_in_clusters', 0)} of the twitches came in {plural(cl['count'], 'cluster')} "
                     f"({CLUSTER_MIN_TWITCHES} or more on one channel, each within {CLUSTER_MAX_GAP_S:g} s of the one before).")
    if inp.lost_s:
        parts.append(f"{duration_text(inp.lost_s)} of signal was lost on the way from the sensor.")
    # a night in several files: the trend and the guidance below take the date's recordings together
    together = together_words([_date_row(inp)], ids=False, rate_text=rate_words) if _date_row(inp) else []
    if together:
        parts.append(f"{together[0]}. This report's numbers, but for its guidance and trend, are of this recording alone.")
    return " ".join(parts)


def _numbers_table(inp: ReportInput) -> str:
    m = inp.metrics
    short = _too_short(inp)
    counts, rates = m.get("counts", {}), ({} if short else m.get("per_usable_hour", {}))
    amp, dur = m.get("amplitude_uv", {}), m.get("duration_s", {})
    rows = ["<tr><th></th><th class='num'>count</th><th class='num'>per hour</th><th class='num'>median peak</th>"
            "<th class='num'>median length</th></tr>"]
    for kind in ("twitch", "spasm", "cramp"):
        med_amp = (amp.get(kind) or {}).get("median")
        med_dur = (dur.get(kind) or {}).get("median")
        length = ("-" if med_dur is None else f"{med_dur * 1000:.0f} ms" if kind == "twitch"
                  else duration_text(med_dur))  # as the words above the table give the longest
        rows.append(f"<tr><td>{plural_of(kind)}</td><td class='num'>{counts.get(kind, 0)}</td>"
                    f"<td class='num'>{rate_words(rates.get(kind))}</td>"
                    f"<td class='num'>{'-' if med_amp is None else f'{med_amp:.0f} µV'}</td><td class='num'>{length}</td></tr>")
    table = ("<div class='scroll'><table>" + "".join(rows) + "</table></div>"
             "<p class='note'>Rates are per usable hour; peaks are of the filtered signal, in µV."
             + (f" {short[0].upper()}{short[1:]}, as in the trend and the guidance." if short else "")
             + " A twitch's length is as the detector sees it: its smoothing draws a brief potential out by a few tens "
             "of ms (on simulated nights twitches end a median 32 ms after their true end; docs/benchmarks.md).</p>")
    # by side when the labels name left and right, else by channel (VM and RF of one leg too)
    by = m.get("sides") or ({label: {kind: sum(e.channel == c and e.kind == kind for e in inp.events) for kind in KINDS}
                             for c, label in enumerate(inp.labels)} if len(inp.labels) > 1 else {})
    if len(by) > 1:
        table += "<p class='note'>By channel: " + esc("; ".join(
            f"{k}: " + ", ".join(plural(v.get(kind, 0), kind) for kind in ("twitch", "spasm", "cramp"))
            for k, v in by.items())) + ".</p>"
    cl = m.get("clusters") or {}
    if cl:
        table += f"<p class='note'>Clusters: {cl.get('count', 0)} ({esc(cl.get('definition', ''))}), holding {plural(cl.get('twitches_in_clusters', 0), 'twitch')}.</p>"
    return table


def guidance_html(g: dict[str, Any] | None, short: bool = False) -> str:
    """The guidance: level, reasons, causes and advice with their sources, triggers, notes, disclaimer."""
    if not g:
        return "<p class='note'>No guidance could be given.</p>"
    level = g.get("level", "monitor")
    parts = [f"<p><span class='level {esc(level)}'>{esc(g.get('level_text') or LEVEL_WORDS.get(level, level))}</span></p>"]
    if g.get("reasons"):
        parts.append("<ul>" + "".join(f"<li>{esc(r)}</li>" for r in g["reasons"]) + "</ul>")
    if g.get("also"):
        parts.append("<h3>Also</h3><ul>" + "".join(f"<li>{esc(r)}</li>" for r in g["also"]) + "</ul>")
    causes = g.get("causes") or []
    if causes:
        parts.append("<h3>Causes the information speaks for</h3><p class='note'>The best fit first; a rough order, not a "
                     "probability.</p><ul>")
        for c in causes[: 3 if short else 5]:
            because = "; ".join(c.get("reasons") or [e.get("reason", "") for e in c.get("evidence_for") or []])
            parts.append(f"<li><strong>{esc(c.get('label') or c['name'])}</strong>" + (f": {esc(because)}" if because else "")
                         + f"<br><span class='src'>Source: {esc('; '.join(c.get('sources') or []))}</span></li>")
        parts.append("</ul>")
    if g.get("advice") and not short:
        parts.append("<h3>What the articles suggest</h3><ul>")
        parts += [f"<li>{esc(a['text'])} <span class='src'>({esc(a['source'])})</span></li>" for a in g["advice"]]
        parts.append("</ul>")
    triggers = g.get("triggers") or []
    if triggers:
        parts.append("<h3>In your own diary</h3><ul>" + "".join(f"<li>{esc(t['text'])}</li>" for t in triggers) + "</ul>")
    parts += [f"<p class='note'><strong>Note:</strong> {esc(n)}</p>" for n in g.get("notes") or []]
    parts.append(f"<p class='note'><em>{esc(g.get('disclaimer', ''))}</em></p>")
    return "".join(parts)


def _value_words(v: Any, key: str = "") -> str:
    """A diary or profile value in words: symptoms, conditions and deficiencies by their names,
    the words of a free list (medications, stimulants) as the diary keeps them (lower case,
    "magnesium citrate 400mg"), notes as typed."""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, (list, tuple)):
        name = _NAMERS.get(key, _list_word)
        return ", ".join(name(str(x)) for x in v) or "none"
    return str(v)


def _condition_name(cid: str) -> str:
    from ..guidance.kb import load_kb

    return load_kb().condition_name(cid)


def _deficiency_name(did: str) -> str:
    from ..guidance.kb import load_kb

    return load_kb().deficiency_name(did)


#: How the ids of a list field are named for people (fields not listed keep what was typed).
def _list_word(word: str) -> str:
    """A word of a free list in words: the diary joins its parts with "_" ("magnesium_citrate")."""
    return word.replace("_", " ")


_NAMERS = {"symptoms": symptom_words, "conditions": _condition_name, "known_deficiencies": _deficiency_name}


def _label(key: str) -> str:
    return DIARY_LABELS.get(key, key.replace("_", " "))


def diary_html(day: dict[str, Any] | None) -> str:
    """The diary entry as a table (every value escaped), or how to add one."""
    if not day:
        return "<p class='note'>No diary entry for this day. <code>kneeemg diary</code> adds one.</p>"
    rows = "".join(f"<tr><td>{esc(_label(k))}</td><td>{esc(_value_words(v, k))}</td></tr>"
                   for k, v in day.items() if k != "date")
    return f"<table class='words'>{rows}</table>" if rows else "<p class='note'>The diary entry for this day is empty.</p>"


def _leg_movements_html(m: dict[str, Any], site: str | None, short: str = "") -> str:
    """The leg-movements section; ``short``: why the night gives no rate (:func:`_too_short`)."""
    lm = m.get("leg_movements") or {}
    where = site_words(site)
    if not lm:
        return "<p class='note'>No leg-movement numbers for this night.</p>"
    idx = lm.get("plm_index")
    rate = (f"no rate of periodic movements: {short}" if short else
            f"{'-' if idx is None else f'{idx:.1f}'} periodic movements per usable hour")
    pi = lm.get("periodicity_index")
    how = ("They follow the sleep-lab rules (WASM 2016), computed from the shin as a sleep lab records them, but over "
           "all usable time: kneeemg does not tell sleep from waking." if site == "shin" else
           f"They follow the sleep-lab rules (WASM 2016) but are computed from {where}.")
    text = (f"<p>{plural(lm.get('count', 0), 'leg movement')}, {lm.get('in_series', 0)} of them in "
            f"{plural(lm.get('periodic_series', 0), 'periodic series')} ({rate}; periodicity index "
            f"{'-' if pi is None else pi}). {how}</p>")
    refs = m.get("references") or []
    if refs:
        ours = "a number over all usable time" if site == "shin" else f"a number from {where}"
        text += ("<p class='note'>Sleep-lab numbers, for orientation only: they are measured on the shin during "
                 f"scored sleep, and {ours}, awake time included, cannot tell whether you reach them; only a sleep "
                 "study can:</p><ul class='note'>") + "".join(
            f"<li>{esc(r['name'])}: {esc(r['value'])} {esc(r.get('unit', ''))}"
            + (f" <span class='src'>({esc(r['note'])})</span>" if r.get("note") else "") + "</li>" for r in refs) + "</ul>"
    hist = lm.get("imi_histogram")
    if hist:
        edges = hist.get("edges_s") or [0.0]
        drawn = sum(hist.get("counts") or [])
        alt = f"histogram of the {plural(drawn, 'interval')} between leg movements up to {edges[-1]:g} s, computed from {where}"
        text += _img(plots.imi_histogram(hist), alt)
        if hist.get("beyond_s"):
            text += (f"<p class='note'>{plural(drawn, 'interval')} up to {edges[-1]:g} s {'is' if drawn == 1 else 'are'} drawn; "
                     f"{plural(int(hist['beyond_s']), 'interval')} between leg movements {'was' if hist['beyond_s'] == 1 else 'were'} "
                     f"longer (not drawn).</p>")
    return text


def _quality_html(inp: ReportInput) -> str:
    excl = inp.metrics.get("excluded_s") or {}
    words = ", ".join(f"{reason_words(k)} {duration_text(v)}" for k, v in excl.items()) or "none"
    text = ""
    if inp.epoch_flags is not None and inp.floor_uv is not None and inp.epoch_s and len(inp.floor_uv):
        text += _img(plots.quality(inp.epoch_s, inp.epoch_flags, inp.floor_uv, inp.labels), "noise floor and excluded epochs over the night")
    added = " (each channel's time added up)" if len(inp.labels) > 1 else ""
    pops = ("Electrical spikes and offset steps come from the electrodes, not the muscle (a lead that moved, a cable "
            "pulled, gel drying out): the seconds around them are left out and never counted as twitches. "
            if excl.get("spike") or excl.get("step") else "")
    text += (f"<p class='note'>Excluded time by reason{added}: {esc(words)}. {pops}A low, steady noise floor means the "
             "electrodes sat well. Hourly rates count only usable time: a moment in which "
             + ("at least one channel was usable." if len(inp.labels) > 1 else "the channel was usable.") + "</p>")
    return text


def render_report(inp: ReportInput) -> str:
    """The full night report as one HTML page."""
    m = inp.metrics
    body = [f"<h1>Your night of {esc(inp.date or 'an unknown date')}</h1>",
            _section("", f"<p>{esc(summary_words(inp))}</p>", "summary"),
            _section("The night in numbers", _numbers_table(inp)),
            _section("What it could mean", guidance_html(inp.guidance))]
    if m.get("per_clock_hour"):
        body.append(_section("Twitches per hour", _img(plots.per_hour(m["per_clock_hour"]), "bar chart of twitches per usable "
                             "hour, hour by hour: " + ", ".join(f"{h['clock']} {_rate_alt(h.get('twitch_per_usable_hour'))}"
                                                                for h in m["per_clock_hour"]))))
    body.append(_section("Timeline", _img(plots.timeline(inp.events, inp.excluded, inp.labels, inp.recording_s),
                                          "timeline of events per channel, excluded time shaded")))
    traces = (_img(plots.traces(inp.snippets), "filtered EMG around the largest spasm and typical twitches")
              + "<p class='note'>The signal as the detector saw it: band-passed (and notched for mains hum), in µV.</p>"
              if inp.snippets else f"<p class='note'>{esc(inp.snippets_note or 'No traces.')}</p>")
    body.append(_section("What the muscle did", traces))
    body.append(_section(f"Leg movements (computed from {site_words(inp.site)})", _leg_movements_html(m, inp.site, _too_short(inp))))
    body.append(_section("Signal quality", _quality_html(inp)))
    body.append(_section("Your diary for that day", diary_html(inp.diary)))
    trend = (_img(plots.trend(inp.trend), _trend_alt(inp.trend)) if len(inp.trend) >= 2 else "")
    body.append(_section(f"The nights of the {TREND_NIGHTS} days up to this one", trend + f"<p>{esc(inp.trend_words)}</p>"))
    return _page(f"kneeemg: night of {inp.date or 'unknown date'}", body, FOOTERS[inp.site])


# --------------------------------------------------------------------------- doctor's summary
def _how_long(since: str | None, today: date) -> str:
    if not since:
        return "not given in the profile"
    days = (today - date.fromisoformat(since)).days
    span = plural(days, "day") if days < 60 else f"about {round(days / 30.44)} months"
    return f"{since} ({span})"


def tried_lines(days: Sequence[dict[str, Any]]) -> list[str]:
    """What the diary shows about habits that are often changed (water, caffeine, exercise ...).

    Only what was recorded: each line says on how many of the logged days it held.
    """
    out = []

    def logged(key: str) -> list[Any]:
        return [d[key] for d in days if d.get(key) is not None]

    water = logged("water_glasses")
    if water:
        out.append(f"Water: {plural(len(water), 'logged day')}, {sum(w >= 8 for w in water)} of them with 8 or more glasses "
                   f"(median {statistics.median(water):g})")
    caf = logged("caffeine_drinks")
    if caf:
        out.append(f"Caffeine: {plural(len(caf), 'logged day')}, {sum(c <= 1 for c in caf)} of them with at most one drink "
                   f"(most on one day: {max(caf)})")
    alcohol = logged("alcohol_drinks")
    if alcohol:
        out.append(f"Alcohol: {plural(len(alcohol), 'logged day')}, {sum(a == 0 for a in alcohol)} of them without alcohol")
    ex = logged("exercise")
    if ex:
        counts = {k: ex.count(k) for k in ("none", "light", "moderate", "hard") if ex.count(k)}
        out.append("Exercise: " + ", ".join(f"{k} on {plural(v, 'day')}" for k, v in counts.items()))
    warm = logged("warmed_up")
    if warm:
        out.append(f"Warming up before exercise: {plural(len(warm), 'logged day')}, warmed up on {sum(warm)}")
    sleep = logged("sleep_hours")
    if sleep:
        out.append(f"Sleep: {sum(sleep) / len(sleep):.1f} h a night on average over {plural(len(sleep), 'logged night')}")
    for key in ("stress", "anxiety"):
        level = logged(key)
        if level:
            out.append(f"{key.capitalize()}: {sum(level) / len(level):.1f} of 5 on average over {plural(len(level), 'logged day')}")
    out += [f"Note ({d.get('date')}): {d['notes']}" for d in days if d.get("notes")][-5:]
    return out


def _nights_table(rows: Sequence[dict[str, Any]]) -> str:
    # with nights of different numbers of channels, say how many (a rate counts every channel)
    mixed = len({len(r.get("channels") or ()) for r in rows}) > 1
    head = ("<tr><th>night</th><th class='num'>hours</th><th class='num'>twitches</th><th class='num'>/ hour</th>"
            "<th class='num'>spasms / cramps</th>" + ("<th class='num'>ch.</th>" if mixed else "") + "</tr>")
    body = "".join(f"<tr><td>{esc(r['date'])}</td><td class='num'>{hours_text(r['usable_hours'])}</td><td class='num'>{esc(r['twitches'])}</td>"
                   f"<td class='num'>{rate_words(r['twitch_per_hour'])}</td><td class='num'>{esc(r['spasms'])} / {esc(r['cramps'])}</td>"
                   + (f"<td class='num'>{len(r.get('channels') or ())}</td>" if mixed else "") + "</tr>" for r in rows)
    return (f"<div class='scroll'><table class='compact'>{head}{body}</table></div>"
            "<p class='note'>hours: usable hours of signal; / hour: twitches per usable hour"
            + ("; ch.: the number of channels, which differs between these nights; a rate counts the twitches "
               "of every channel, so those nights' rates are not comparable" if mixed else "") + ".</p>")


def _nights_words(rows: Sequence[dict[str, Any]], min_usable_hours: float = 1.0) -> str:
    rates = sorted(r["twitch_per_hour"] for r in rows if r["twitch_per_hour"] is not None)
    if not rows:
        return "No nights recorded."
    text = (f"{plural(len(rows), 'night')} recorded from {rows[0]['date']} to {rows[-1]['date']}." if len(rows) > 1
            else f"1 night recorded, {rows[0]['date']}.")
    if rates:
        med = rates[len(rates) // 2] if len(rates) % 2 else (rates[len(rates) // 2 - 1] + rates[len(rates) // 2]) / 2
        text += f" Twitches per usable hour: median {rate_words(med)} (from {rate_words(rates[0])} to {rate_words(rates[-1])})."
    short = short_words(rows, "left out of these rates" if rates else "shown without one", min_usable_hours)
    if short:
        text += f" {short[0].upper()}{short[1:]}."
    spasms = sum(r["spasms"] or 0 for r in rows)
    cramps = sum(r["cramps"] or 0 for r in rows)
    text += f" In all {plural(spasms, 'spasm')} and {plural(cramps, 'cramp')}."
    return text


def _percent(fraction: float) -> str:
    """A share in whole percent, never rounded up to 100 % or down to 0 % when it is not."""
    p = 100 * min(max(fraction, 0.0), 1.0)
    return f"{p:.1f} %" if (99.5 <= p < 100 or 0 < p < 0.5) else f"{p:.0f} %"


def _signal_words(rows: Sequence[dict[str, Any]]) -> str:
    """How much of the nights' recording was usable, and why the rest was not."""
    recorded = sum(r.get("recording_hours") or 0.0 for r in rows)
    if recorded <= 0:
        return ""
    usable = sum(r["usable_hours"] or 0.0 for r in rows)
    text = (f"Signal: {usable:.1f} of the {recorded:.1f} hours recorded were usable "
            f"({_percent(usable / recorded)}); counts and rates use only usable time.")
    excluded: dict[str, float] = {}
    for r in rows:
        for reason, seconds in (r.get("excluded_s") or {}).items():
            excluded[reason] = excluded.get(reason, 0.0) + seconds
    if excluded:
        text += " Set aside: " + ", ".join(f"{reason_words(k)} {duration_text(v)}" for k, v in
                                         sorted(excluded.items(), key=lambda kv: -kv[1])) + " (each channel's time added up)."
    lost = sum(r.get("lost_hours") or 0.0 for r in rows)
    if lost > 0:
        text += f" Lost on the way from the sensor: {duration_text(lost * 3600)}."
    return text


def _longest_words(rows: Sequence[dict[str, Any]]) -> str:
    """The longest spasm and cramp of the nights, and when."""
    parts = []
    for kind in ("spasm", "cramp"):
        best = max(rows, key=lambda r: r.get(f"longest_{kind}_s") or 0.0, default=None)
        if best and (best.get(f"longest_{kind}_s") or 0.0) > 0:
            parts.append(f"the longest {kind} lasted {duration_text(best[f'longest_{kind}_s'])} ({best['date']})")
    return (parts[0][0].upper() + "; ".join(parts)[1:] + ".") if parts else ""


#: What the nights of each :func:`~kneeemg.report.model.night_site` were recorded with.
SOURCE_WORDS = {"thigh": "a surface EMG sensor on the front of the thigh (quadriceps) worn at night",
                "shin": "night recordings of the shin's EMG (a sleep lab's leg channels)",
                None: "night recordings of surface EMG whose channels do not name the muscle"}


def _sources_words(sites: Sequence[str | None]) -> str:
    """What the doctor's summary was written from: each site's recordings, in order."""
    words = [SOURCE_WORDS[s] for s in sites]
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _sides_words(rows: Sequence[dict[str, Any]], sites: Sequence[str | None] = ("thigh",)) -> str:
    """Counts on the left and the right thigh (leg, when other sites were recorded), over the
    nights recorded on both."""
    both = [r["sides"] for r in rows if set(r.get("sides") or {}) == {"left", "right"}]
    if not both:
        return ""
    sums = {side: {k: sum(s[side].get(k, 0) for s in both) for k in ("twitch", "spasm", "cramp")} for side in ("left", "right")}
    sides = "; ".join(f"{side}: {plural(c['twitch'], 'twitch')}, {plural(c['spasm'], 'spasm')}, {plural(c['cramp'], 'cramp')}"
                      for side, c in sums.items())
    limb = "thigh" if tuple(sites) == ("thigh",) else "leg"
    return f"Left and right {limb}, over the {plural(len(both), 'night')} recorded on both: {sides}."


def render_doctor(inp: DoctorInput) -> str:
    """The short summary a person brings to an appointment, as one HTML page."""
    p = inp.profile

    def listed(key: str) -> str:
        return _value_words(p.get(key) or [], key) if p.get(key) else "none recorded"

    body = ["<h1>Knee twitching: summary for the doctor</h1>",
            f"<p class='note'>Written {esc(inp.today.isoformat())} by kneeemg from {esc(_sources_words(inp.sites))}, and "
            "the person's own diary.</p>",
            _section("The person", "<table class='words'>"
                     f"<tr><td>Twitching since</td><td>{esc(_how_long(p.get('twitching_since'), inp.today))}</td></tr>"
                     f"<tr><td>Age</td><td>{esc(p.get('age', 'not given'))}</td></tr>"
                     f"<tr><td>Sex</td><td>{esc(p.get('sex', 'not given'))}</td></tr>"
                     f"<tr><td>Medications</td><td>{esc(listed('medications'))}</td></tr>"
                     f"<tr><td>Known conditions</td><td>{esc(listed('conditions'))}</td></tr>"
                     f"<tr><td>Known deficiencies</td><td>{esc(listed('known_deficiencies'))}</td></tr></table>")]
    nights = f"<p>{esc(_nights_words(inp.trend, inp.min_usable_hours))}</p>"
    if len(inp.trend) >= 2:
        nights += _img(plots.trend(inp.trend), _trend_alt(inp.trend))
    if inp.trend:  # (a diary kept before any night was recorded: its symptoms and the guidance alone)
        nights += f"<p>{esc(inp.trend_words)}</p>" + _nights_table(inp.trend)
    nights += "".join(f"<p>{esc(t)}</p>" for t in (_longest_words(inp.trend), _sides_words(inp.trend, inp.sites),
                                                    _signal_words(inp.trend)) if t)
    body.append(_section(f"Nights measured (the {DOCTOR_DAYS} days up to the latest night)", nights))
    symptoms: dict[str, list[str]] = {}
    for d in inp.days:
        for s in d.get("symptoms") or []:
            symptoms.setdefault(s, []).append(str(d.get("date")))

    def noted(s: str, on: list[str]) -> str:  # the days it was noted: when it began, and whether it goes on
        when = f"on {on[0]}" if len(on) == 1 else f"{plural(len(on), 'day')}, first on {min(on)}, last on {max(on)}"
        return f"{symptom_words(s)} ({when})"

    body.append(_section("Symptoms reported", "<p>" + (esc("; ".join(noted(s, on) for s, on in sorted(symptoms.items())))
                                                       if symptoms else "None reported in the diary.") + "</p>"))
    tried = tried_lines(inp.days)
    body.append(_section("Habits in the diary (as logged)",
                         "<ul>" + "".join(f"<li>{esc(t)}</li>" for t in tried) + "</ul>" if tried
                         else "<p class='note'>" + ("Nothing about water, caffeine, alcohol, exercise, sleep or stress in the diary "
                                                    "of these days." if inp.days else "Nothing recorded in the diary of "
                                                    "these days.") + "</p>"))
    body.append(_section("Guidance from kneeemg", guidance_html(inp.guidance, short=True)))
    footer = FOOTERS[inp.sites[0] if len(inp.sites) == 1 else None]
    return _page("kneeemg: summary for the doctor", body, footer)
