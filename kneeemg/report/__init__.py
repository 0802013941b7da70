"""The night report: one self-contained HTML file (plots inlined), readable on a phone.

:func:`write_report` builds it from the history database: the summary in plain words,
twitches per hour, a timeline with excluded time, real EMG traces (read back from the
recording when it is still there), the leg-movement interval histogram, signal quality, the
diary for that day, the guidance, and the trend of the last 14 nights. ``doctor=True`` writes
the short version a person brings to an appointment. All user text is HTML-escaped.
"""

from __future__ import annotations

import html
import os
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from ..store import NightRow, Store
from . import plots

CSS = """
body{font-family:-apple-system,Segoe UI,Roboto,Helvetica,Arial,sans-serif;margin:0;background:#f6f7f9;color:#1d1d1f;line-height:1.5}
main{max-width:760px;margin:0 auto;padding:16px}
h1{font-size:1.5em;margin:.3em 0}h2{font-size:1.15em;margin:1.4em 0 .4em;border-bottom:1px solid #ddd}
section{background:#fff;border-radius:10px;padding:12px 16px;margin:12px 0;box-shadow:0 1px 2px rgba(0,0,0,.06)}
img{width:100%;height:auto}table{border-collapse:collapse;width:100%;font-size:.92em}
td,th{padding:4px 6px;border-bottom:1px solid #eee;text-align:left}
.level{font-size:1.2em;font-weight:600;padding:8px 12px;border-radius:8px;display:inline-block}
.monitor{background:#e8f5e9}.self_care{background:#e3f2fd}.see_doctor{background:#fff3e0}.see_doctor_asap{background:#ffebee}
.note{color:#555;font-size:.9em}.src{color:#777;font-size:.85em}
"""

LEVEL_WORDS = {"monitor": "Keep an eye on it", "self_care": "Try the changes below", "see_doctor": "Make an appointment with a doctor",
               "see_doctor_asap": "See a doctor soon"}


def _e(x: Any) -> str:
    return html.escape(str(x))


def _hm(seconds: float) -> str:
    h, m = divmod(int(round(seconds / 60)), 60)
    return f"{h} h {m:02d} min"


def _img(b64: str, alt: str) -> str:
    return f'<img alt="{_e(alt)}" src="data:image/png;base64,{b64}">'


def summary_words(n: NightRow) -> str:
    """The night in a few plain sentences."""
    m = n.metrics
    c, r = m["counts"], m["per_usable_hour"]
    parts = [f"The sensor recorded {_hm(n.recording_s)}; {_hm(n.usable_s)} of it was usable."]
    tw = c["twitch"]
    rate = r.get("twitch")
    parts.append(f"Your knee twitched {tw} times" + (f" (about {rate:.0f} an hour)." if rate is not None else "."))
    extra = []
    if c["spasm"]:
        extra.append(f"{c['spasm']} longer spasm{'s' if c['spasm'] != 1 else ''} (half a second to ten seconds)")
    if c["cramp"]:
        extra.append(f"{c['cramp']} cramp{'s' if c['cramp'] != 1 else ''} (longer than ten seconds; the longest {m['longest_cramp_s']:.0f} s)")
    if extra:
        parts.append("There " + ("were " if len(extra) > 1 or c["spasm"] != 1 else "was ") + " and ".join(extra) + ".")
    busiest = max(m["per_clock_hour"], key=lambda h: h["twitch"], default=None)
    if busiest and busiest["twitch"]:
        parts.append(f"The busiest hour began at {busiest['clock']}.")
    if n.lost_s:
        parts.append(f"{_hm(n.lost_s)} of signal was lost on the way.")
    return " ".join(parts)


def _snippets(n: NightRow, store: Store, recording: Any = None) -> tuple[list, str]:
    """Filtered EMG around the largest spasm (or cramp) and three typical twitches.

    The samples come from ``recording`` (a Recording) when given, else from the file the
    night was imported from.
    """
    from contextlib import nullcontext

    from scipy import signal as sps

    from ..io import open_recording

    if recording is None and (not n.source or not Path(n.source).exists()):
        return [], "The recording file is no longer where it was imported from, so no traces can be shown."
    events = store.events(n.id)
    spasms = sorted((e for e in events if e.kind in ("spasm", "cramp")), key=lambda e: -e.peak_uv)
    twitches = sorted((e for e in events if e.kind == "twitch"), key=lambda e: e.peak_uv)
    chosen = [("largest spasm", spasms[0])] if spasms else []
    if twitches:
        for q in (0.25, 0.5, 0.75):
            chosen.append(("typical twitch", twitches[int(q * (len(twitches) - 1))]))
    out = []
    with (nullcontext(recording) if recording is not None else open_recording(n.source)) as rec:
        fs = rec.info.fs_hz
        sos = sps.butter(4, [20, min(450, 0.45 * fs)], "bandpass", fs=fs, output="sos")
        for title, e in chosen:
            pad = int(0.5 * fs) if e.kind == "twitch" else int(1.0 * fs)
            a, b = max(0, e.onset_sample - pad - int(fs)), min(rec.info.n_samples, e.offset_sample + pad)
            x = sps.sosfiltfilt(sos, rec.read(a, b)[:, e.channel])
            cut = e.onset_sample - pad - a if e.onset_sample - pad > 0 else 0
            label = f"{title}: {e.channel_label or e.channel} at {e.onset_s / 3600:.2f} h, {e.duration_s * 1000:.0f} ms, peak {e.peak_uv:.0f} µV"
            out.append((label, x[max(0, cut):], fs, (e.onset_sample - a - max(0, cut)) / fs))
    return out, ""


def _guidance(store: Store) -> Any:
    from ..guidance import triage

    case = store.case_for_triage()
    return triage(case["profile"], case["diary"], case["nights"])


def _guidance_html(g: Any, short: bool = False) -> str:
    parts = [f'<p><span class="level {g.level}">{_e(LEVEL_WORDS[g.level])}</span></p><ul>']
    parts += [f"<li>{_e(r)}</li>" for r in g.reasons]
    parts.append("</ul>")
    if g.causes:
        parts.append("<h3>Causes your information speaks for</h3><table><tr><th>cause</th><th>score</th><th>because</th></tr>")
        for c in g.causes[: 3 if short else 6]:
            parts.append(f"<tr><td>{_e(c.name)}</td><td>{c.score:.0%}</td><td>{_e('; '.join(e['reason'] for e in c.evidence_for))}"
                         f"<br><span class='src'>{_e('; '.join(c.sources))}</span></td></tr>")
        parts.append("</table>")
    if g.advice and not short:
        parts.append("<h3>What the articles suggest</h3><ul>")
        parts += [f"<li>{_e(a['text'])} <span class='src'>({_e(a['source'])})</span></li>" for a in g.advice]
        parts.append("</ul>")
    parts += [f"<p>{_e(t['text'])}</p>" for t in g.triggers]
    parts.append(f'<p class="note"><em>{_e(g.disclaimer)}</em></p>')
    return "".join(parts)


def _diary_html(day: Any) -> str:
    if day is None:
        return "<p class='note'>No diary entry for this day. <code>kneeemg diary</code> adds one.</p>"
    rows = "".join(f"<tr><td>{_e(k.replace('_', ' '))}</td><td>{_e(', '.join(v) if isinstance(v, list) else v)}</td></tr>"
                   for k, v in day.as_dict().items() if k != "date")
    return f"<table>{rows}</table>"


def build_report(store: Store, night: int | str | None = None, recording: Any = None) -> str:
    """The full report of one night (the latest when omitted), as HTML."""
    n = store.night(night)
    m = n.metrics
    events = store.events(n.id)
    trend_rows = store.trend(14)
    body = [f"<h1>Your night of {_e(n.date or 'an unknown date')}</h1>",
            f"<section><p>{_e(summary_words(n))}</p></section>"]
    body.append("<section><h2>Guidance</h2>" + _guidance_html(_guidance(store)) + "</section>")
    body.append("<section><h2>Twitches per hour</h2>" + _img(plots.per_hour(m["per_clock_hour"]), "twitches per hour") + "</section>")
    body.append("<section><h2>Timeline</h2>" + _img(plots.timeline(events, store.excluded(n.id), n.labels, n.recording_s), "timeline")
                + "</section>")
    snippets, why = _snippets(n, store, recording)
    body.append("<section><h2>What the muscle did</h2>" + (_img(plots.traces(snippets), "EMG traces") if snippets else f"<p class='note'>{_e(why or 'No events to show.')}</p>")
                + "</section>")
    lm = m["leg_movements"]
    body.append(f"<section><h2>Leg movements (computed from the thigh)</h2><p>{lm['count']} leg movements, {lm['in_series']} of them in "
                f"{lm['periodic_series']} periodic series ({lm['plm_index'] if lm['plm_index'] is not None else '-'} per hour). "
                "These follow the sleep-lab rules (WASM 2016) but come from the thigh; sleep labs measure the shin muscle, where "
                "about 25 per hour is the 90th percentile of healthy sleepers and more than 15 per hour counts as abnormal in adults.</p>"
                + _img(plots.imi_histogram(lm["imi_histogram"]), "interval histogram") + "</section>")
    ep = store.epochs(n.id)
    if ep is not None:
        reasons = ", ".join(f"{k} {v:.0f} s" for k, v in m.get("excluded_s", {}).items()) or "none"
        body.append("<section><h2>Signal quality</h2>" + _img(plots.quality(ep[0], ep[1], ep[2], n.labels), "signal quality")
                    + f"<p class='note'>Excluded time by reason: {_e(reasons)}.</p></section>")
    body.append("<section><h2>Your diary for that day</h2>" + _diary_html(store.day(n.date) if n.date else None) + "</section>")
    if len(trend_rows) >= 2:
        from ..trends import direction

        body.append("<section><h2>The last 14 nights</h2>" + _img(plots.trend(trend_rows), "trend") + f"<p>{_e(direction(trend_rows))}</p></section>")
    return _page(f"kneeemg: night of {n.date}", body)


def build_doctor_report(store: Store) -> str:
    """The short version for an appointment."""
    nights = store.nights()
    if not nights:
        store.night()  # raises the "no nights yet" error
    profile = store.profile().as_dict()
    days = store.days()
    trend_rows = store.trend(28)
    since = profile.get("twitching_since")
    how_long = f"since {since} ({(date.today() - date.fromisoformat(since)).days} days)" if since else "not recorded"
    body = ["<h1>Knee twitching: summary for the doctor</h1>",
            f"<section><table><tr><td>Twitching</td><td>{_e(how_long)}</td></tr>"
            f"<tr><td>Age, sex</td><td>{_e(profile.get('age', '-'))}, {_e(profile.get('sex', '-'))}</td></tr>"
            f"<tr><td>Medications</td><td>{_e(', '.join(profile.get('medications', [])) or 'none recorded')}</td></tr>"
            f"<tr><td>Known conditions</td><td>{_e(', '.join(profile.get('conditions', [])) or 'none recorded')}</td></tr>"
            f"<tr><td>Known deficiencies</td><td>{_e(', '.join(profile.get('known_deficiencies', [])) or 'none recorded')}</td></tr>"
            "</table></section>"]
    def rate(r: dict) -> str:
        return "-" if r["twitch_per_hour"] is None else f"{r['twitch_per_hour']:.1f}"

    rows = "".join(f"<tr><td>{_e(r['date'])}</td><td>{r['usable_hours']:.1f}</td><td>{_e(r['twitches'])}</td>"
                   f"<td>{rate(r)}</td><td>{_e(r['spasms'])}</td><td>{_e(r['cramps'])}</td></tr>" for r in trend_rows)
    body.append("<section><h2>Nights (surface EMG of the quadriceps)</h2><table><tr><th>night</th><th>usable h</th><th>twitches</th>"
                f"<th>per hour</th><th>spasms</th><th>cramps</th></tr>{rows}</table>")
    if len(trend_rows) >= 2:
        from ..trends import direction

        body.append(_img(plots.trend(trend_rows), "trend") + f"<p>{_e(direction(trend_rows))}</p>")
    body.append("</section>")
    symptoms = sorted({s for d in days for s in (d.get("symptoms") or [])})
    body.append(f"<section><h2>Symptoms reported</h2><p>{_e(', '.join(s.replace('_', ' ') for s in symptoms) or 'none')}</p></section>")
    tried = _tried(days)
    body.append("<section><h2>Already tried</h2>" + ("<ul>" + "".join(f"<li>{_e(t)}</li>" for t in tried) + "</ul>" if tried
                                                      else "<p class='note'>Nothing recorded in the diary yet.</p>") + "</section>")
    body.append("<section><h2>Guidance from kneeemg</h2>" + _guidance_html(_guidance(store), short=True) + "</section>")
    return _page("kneeemg: summary for the doctor", body)


def _tried(days: list) -> list[str]:
    """What the diary shows was done: more water, less caffeine, warm-ups, lighter exercise."""
    out = []
    if not days:
        return out
    water = [d.get("water_glasses") for d in days if d.get("water_glasses") is not None]
    if water and max(water) >= 8:
        out.append(f"Drinking 8 or more glasses of water on {sum(w >= 8 for w in water)} of {len(water)} logged days")
    caf = [d.get("caffeine_drinks") for d in days if d.get("caffeine_drinks") is not None]
    if caf and min(caf) <= 1:
        out.append(f"At most one caffeinated drink on {sum(c <= 1 for c in caf)} of {len(caf)} logged days")
    warm = [d for d in days if d.get("warmed_up") is True]
    if warm:
        out.append(f"Warming up before exercise on {len(warm)} days")
    stress = [d.get("stress") for d in days if d.get("stress") is not None]
    if stress:
        out.append(f"Stress logged on {len(stress)} days (average {np.mean(stress):.1f} of 5)")
    out += [f"Note ({d.get('date')}): {d.get('notes')}" for d in days if d.get("notes")][:5]
    return out


def _page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width, initial-scale=1'>"
            f"<title>{_e(title)}</title><style>{CSS}</style></head><body><main>" + "".join(body)
            + "<p class='note'>Made by kneeemg. Guidance, not a diagnosis: a doctor decides.</p></main></body></html>")


def write_report(out: str | os.PathLike[str], db: str | os.PathLike[str] | None = None, night: int | str | None = None,
                 doctor: bool = False, recording: Any = None) -> Path:
    """Write the report (or the doctor's version) of a night from the history to ``out``.

    ``recording`` (a Recording of that night) supplies the EMG traces when the night's file
    is not on disk (the demo's simulated night).
    """
    with Store(db) as store:
        text = build_doctor_report(store) if doctor else build_report(store, night, recording)
    path = Path(out)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)
    return path
