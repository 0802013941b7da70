"""The accuracy benchmark: event insertion, baselines, real-data helpers, and the run itself."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kneeemg.bench import accuracy as acc
from kneeemg.bench import baselines as bl
from kneeemg.bench import insert as ins
from kneeemg.bench import realdata as rd
from kneeemg.errors import InputError, RecordingFormatError
from kneeemg.events import KINDS

FS = 1000.0


# ---------------------------------------------------------------------------- insertion
@pytest.mark.parametrize("phases", [2, 3])
@pytest.mark.parametrize("n", [5, 12, 20])
def test_fasciculation_has_its_length_peak_and_phases(n, phases):
    w = ins.fasciculation(n, phases)
    assert len(w) == n
    assert np.max(np.abs(w)) == pytest.approx(1.0)
    big = w[np.abs(w) > 0.2]  # the phases: sign changes among the large samples
    assert np.count_nonzero(np.diff(np.sign(big))) == phases - 1


def test_kind_of_follows_the_duration_rules():
    assert [ins.kind_of(d) for d in (0.005, 0.499, 0.5, 10.0, 10.001)] == ["twitch", "twitch", "spasm", "spasm", "cramp"]


def test_insert_events_puts_events_exactly_where_the_truth_says_at_the_asked_snr():
    rng = np.random.default_rng(0)
    bg = rng.normal(0.0, 3.0, 30_000)
    bg[15_000:] *= 2.0  # the reference is local: a louder second half needs louder events
    waves = [ins.fasciculation(12, 2), ins.taper(rng.normal(0, 1, 300), 10), ins.taper(rng.normal(0, 1, 2500), 10)]
    onsets = [4_000, 9_123, 20_001]
    for snr in (0.0, 6.0, 20.0):
        sig, truth = ins.insert_events(bg, FS, waves, onsets, snr)
        assert sig.shape == (len(bg), 1)
        diff = sig[:, 0] - bg
        changed = np.flatnonzero(diff != 0.0)
        expected = np.concatenate([np.arange(o, o + len(w)) for o, w in zip(onsets, waves)])
        assert set(changed) <= set(expected)
        for ev, o, w in zip(truth, onsets, waves):
            assert (ev.onset_sample, ev.offset_sample) == (o, o + len(w))
            assert ev.kind == ins.kind_of(len(w) / FS)
            assert ev.snr_db == snr
            # SNR recomputed independently: band RMS of what was added vs the band RMS of the
            # background over the event's span widened by REF_PAD_S on each side
            added = diff[o : o + len(w)]
            pad = round(ins.REF_PAD_S * FS)
            ref = np.sqrt(np.mean(rd.band(bg, FS)[o - pad : o + len(w) + pad] ** 2))
            got = 20 * np.log10(np.sqrt(np.mean(ins.event_band(added, FS) ** 2)) / ref)
            assert got == pytest.approx(snr, abs=1e-9)
            assert ev.rms_uv == pytest.approx(ref * 10 ** (snr / 20), rel=1e-9)


def test_insert_events_rejects_an_event_outside_the_background():
    with pytest.raises(InputError, match="outside the background"):
        ins.insert_events(np.zeros(1000), FS, [np.ones(100)], [950], 6.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(1, 500), min_size=1, max_size=30), st.integers(0, 200), st.integers(0, 300),
       st.integers(0, 2_000), st.integers(0, 2**31 - 1))
def test_place_keeps_events_apart_and_inside(lengths, gap, margin, spare, seed):
    n_total = margin + sum(lengths) + gap * len(lengths) + spare
    on = ins.place(lengths, n_total, gap, margin, np.random.default_rng(seed))
    ends = on + np.asarray(lengths)
    assert on[0] >= margin
    assert ends[-1] + gap <= n_total
    assert np.all(on[1:] - ends[:-1] >= gap)


def test_place_refuses_when_events_do_not_fit():
    with pytest.raises(InputError, match="do not fit"):
        ins.place([600, 600], 1000, 0, 0, np.random.default_rng(0))


def test_join_keeps_length_and_power():
    rng = np.random.default_rng(1)
    pieces = [rng.normal(0, 2.0, 3000) for _ in range(4)]
    y = ins.join(pieces, 10_000, 50)
    assert len(y) == 10_000
    assert np.sqrt(np.mean(y**2)) == pytest.approx(2.0, rel=0.05)
    assert np.array_equal(y[:2950], pieces[0][:2950])


def test_background_scales_every_stretch_to_one_level():
    rng = np.random.default_rng(2)
    stretches = [rng.normal(0, sd, 2000) for sd in (1.0, 3.0, 10.0, 2.0, 5.0)]
    bg = ins.build_background(stretches, 20_000, FS, np.random.default_rng(0))
    y = rd.band(bg, FS)[:19_750].reshape(-1, 250)
    block_rms = np.sqrt(np.mean(y**2, axis=1))
    target = np.median([rd.band_rms(s, FS) for s in stretches])
    assert np.all(np.abs(block_rms / target - 1.0) < 0.35)  # unscaled, they would span 1-10 uV
    with pytest.raises(InputError, match="flat"):
        ins.build_background([np.zeros(1000), rng.normal(0, 1, 1000)], 5000, FS, rng)


def test_quiet_stretches_leave_out_stretches_with_a_transient():
    rng = np.random.default_rng(5)
    n = 20_000
    emg = rng.normal(0, 2.0, (n, 4))
    emg[12_000:12_010, 2] += 15.0 * np.sin(np.linspace(0, 2 * np.pi, 10))  # one brief potential on VM
    angle = np.full(n, 80.0)
    angle[9_900:10_100] = 40.0  # the leg moves between the two halves
    f = rd.UciFile("9Nsen.txt", emg, angle, FS)
    kept = rd.quiet_stretches(f, "VM")
    assert len(kept) == 1 and 9_000 <= len(kept[0]) <= 10_000  # the first half only
    assert len(rd.quiet_stretches(f, "VM", max_crest=100.0)) == 2


def test_quiet_stretches_leave_out_mains_hum_and_contractions_keep_their_sustained_part():
    rng = np.random.default_rng(6)
    t = np.arange(4000) / FS
    hum = sum(3.0 / h * np.sin(2 * np.pi * 60.0 * h * t) for h in (1, 2, 3))
    assert rd.mains_fraction(hum + rng.normal(0, 0.3, t.size), FS) > 0.9
    assert rd.mains_fraction(rng.normal(0, 2.0, t.size), FS) < 0.1
    emg = rng.normal(0, 2.0, (20_000, 4))
    emg[:10_000, 2] = 2.0 * np.sin(2 * np.pi * 60.0 * np.arange(10_000) / FS) + rng.normal(0, 0.2, 10_000)
    angle = np.full(20_000, 80.0)
    angle[9_900:10_100] = 40.0  # the leg moves between the two halves
    f = rd.UciFile("9Nsen.txt", emg, angle, FS)
    kept = rd.quiet_stretches(f, "VM")
    assert len(kept) == 1 and np.std(kept[0]) > 1.5  # the hum-only half is left out
    assert len(rd.quiet_stretches(f, "VM", max_mains_fraction=1.0)) == 2
    # a contraction at 30 uV with a 1 s stretch at 3 uV in its middle: two sustained parts
    x = rng.normal(0, 1.0, (20_000, 4))
    x[4000:12_000, 2] += rng.normal(0, 30.0, 8000)
    x[7500:8500, 2] = rng.normal(0, 3.0, 1000)
    g = rd.UciFile("9Nsen.txt", x, np.full(20_000, 80.0), FS)
    assert len(rd.contraction_bursts(g, "VM", min_snr_db=5.0, max_dip_db=None)) == 1
    assert len(rd.contraction_bursts(g, "VM", min_snr_db=5.0, max_dip_db=6.0)) == 2


def test_make_trial_on_generated_material_is_well_formed_and_seeded():
    rng = np.random.default_rng(2)
    stretches = [rng.normal(0, s, 4000) for s in (2.0, 2.5, 3.0, 3.5)]
    bursts = [rng.normal(0, 50, 2000) for _ in range(3)]
    t1 = ins.make_trial(stretches, bursts, 90.0, FS, 10.0, np.random.default_rng(7))
    t2 = ins.make_trial(stretches, bursts, 90.0, FS, 10.0, np.random.default_rng(7))
    assert np.array_equal(t1.signal_uv, t2.signal_uv)
    assert t1.signal_uv.shape == (90_000, 1)
    assert set(t1.sources) == set(ins.SOURCES)
    assert {e.kind for e in t1.truth} == set(KINDS)
    for ev, src in zip(t1.truth, t1.sources):
        lo, hi = ins.SOURCES[src]
        assert lo * FS - 1 <= ev.offset_sample - ev.onset_sample <= hi * FS + 1
    spans = sorted((e.onset_sample, e.offset_sample) for e in t1.truth)
    assert all(b[0] - a[1] >= 1500 for a, b in zip(spans, spans[1:]))
    assert spans[0][0] >= 5000


# ---------------------------------------------------------------------------- baselines
def test_every_baseline_runs_on_a_short_signal_and_returns_bursts():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 3, 20_000)
    x[10_000:12_000] += rng.normal(0, 60, 2_000)
    found = {}
    assert set(bl.SLOW) <= set(bl.BASELINES) == set(bl.SETTINGS)
    for name in bl.BASELINES:
        events, err = bl.run_baseline(name, x, FS)
        if name == "NeuroKit2 silva":  # fails inside NeuroKit2 0.2.x on µV signals; reported, not hidden
            assert events is None or isinstance(events, list)
            continue
        assert err == "", f"{name}: {err}"
        assert all(0 <= e.onset_sample < e.offset_sample <= len(x) for e in events)
        assert all(e.kind == ins.kind_of(e.duration_s) for e in events)
        found[name] = any(e.onset_sample < 12_000 and e.offset_sample > 10_000 for e in events)
    missed = [n for n, ok in found.items() if not ok and n != "NeuroKit2 mixture"]
    assert not missed, f"these baselines missed an obvious 2 s burst: {missed}"


def test_bursts_to_events_maps_kinds_by_duration():
    ev = bl.bursts_to_events([(5000, 5300), (100, 200), (0, 20_000)], FS, channel=1)
    assert [e.onset_sample for e in ev] == [0, 100, 5000]
    assert [e.kind for e in ev] == ["cramp", "twitch", "twitch"]
    assert all(e.channel == 1 for e in ev)


def test_run_baseline_reports_a_failing_tool_instead_of_crashing(monkeypatch):
    def broken(x, fs):
        raise ValueError("bad input\nsecond line")

    monkeypatch.setitem(bl.BASELINES, "broken", broken)
    events, err = bl.run_baseline("broken", np.zeros(100), FS)
    assert events is None and err == "ValueError: bad input"


# ---------------------------------------------------------------------------- real-data helpers
def test_read_uci_text_skips_headers_and_converts_to_microvolts(tmp_path):
    p = tmp_path / "9Xsen.txt"
    head = "".join(f"Channel {i + 1}: '{c}', 2 values, engineering units: {u}, no filters.\r\n"
                   for i, (c, u) in enumerate(zip(("RF", "BF", "VM", "ST", "FX"), ("mV",) * 4 + ("deg",))))
    rows = "0.0007\t-0.0008\t0.003\t0\t70.1\r\n0.0015\t0.0015\t-0.0053\t-0.0015\t70.2\r\n" * 150  # 0.3 s
    p.write_text("File Name: x.log\r\n" + head + "\r\n" + rows + "0.1\t0.2\r\n", encoding="latin-1")
    f = rd.read_uci_text(p)
    assert f.emg_uv.shape == (300, 4) and f.task == "sen"
    assert f.channel("VM")[:2] == pytest.approx([3.0, -5.3])
    assert f.angle_deg[:2] == pytest.approx([70.1, 70.2])
    bad = tmp_path / "bad.txt"
    bad.write_text("File Name: y.log\r\nChannel 1: 'RF', 1 values, engineering units: mV, no filters.\r\n0.1\r\n")
    with pytest.raises((RecordingFormatError, InputError)):  # the reader names the missing channel
        rd.read_uci_text(bad)


def test_angle_movements_finds_each_excursion():
    fs = 1000.0
    a = np.full(20_000, 80.0)
    starts = [2_000, 8_000, 14_000]
    for s in starts:  # 3 s excursions from 80 deg down to 20 deg and back
        t = np.arange(3_000) / 3_000
        a[s : s + 3_000] = 80.0 - 60.0 * np.sin(np.pi * t) ** 2
    moves = rd.angle_movements(a, fs, rest_fraction=0.1)
    assert len(moves) == 3
    lag = 3_000 * np.arcsin(np.sqrt(0.1)) / np.pi  # where the angle leaves the 10 % band around rest
    for m, s in zip(moves, starts):
        assert abs(m.onset_sample - (s + lag)) <= 2 and abs(m.offset_sample - (s + 3_000 - lag)) <= 2
        assert m.peak_deg == pytest.approx(60.0, abs=0.5)


@pytest.mark.data
def test_uci_material_is_quiet_and_strong(data_dir):
    stretches, bursts, info = acc.load_material(data_dir)
    assert info["quiet_s"] > 40 and info["n_bursts"] >= 10
    levels = [rd.band_rms(s, FS) for s in stretches]
    assert max(levels) < 16.0
    assert np.median([rd.band_rms(b, FS) for b in bursts]) > 5 * np.median(levels)


# ---------------------------------------------------------------------------- the benchmark
def _check_rows(rows, part):
    assert rows
    for r in rows:
        assert r.part == part and r.kind in KINDS
        assert r.tp + r.fn == r.n_truth
        assert 0 <= r.tp <= r.n_truth and r.fp >= 0
        for v in (r.sensitivity, r.precision, r.f1):
            assert np.isnan(v) or 0.0 <= v <= 1.0


@pytest.mark.data
def test_inserted_part_is_well_formed_on_real_background(data_dir):
    rows, info = acc.run_inserted(data_dir, snrs_db=(20.0,), seeds=(0,), trial_s=60.0,
                                  baselines=["BioSPPy find_onsets", "psgscoring AASM LM"])
    _check_rows(rows, "inserted")
    assert {r.tool for r in rows} == {"kneeemg", "BioSPPy find_onsets", "psgscoring AASM LM"}
    assert sum(r.n_truth for r in rows if r.tool == "kneeemg") == 16  # 6 + 6 + 3 + 1 per minute
    lm = {r.kind: r for r in rows if r.tool == "psgscoring AASM LM"}
    assert lm["twitch"].n_detected == 0  # leg movements are 0.5-10 s by definition
    assert info["kneeemg_events_on_background_alone_per_h"] is not None


@pytest.mark.data
def test_movement_part_is_well_formed(data_dir):
    rows, info = acc.run_movements(data_dir, baselines=[], tasks=("sen",), max_files=2)
    _check_rows(rows, "movements")
    assert 2 * info["n_movements"] == info["n_movement_channel_pairs"] == sum(r.n_truth for r in rows) > 0
    assert info["kneeemg_emg_lead_ms_median"] is not None


def test_quick_benchmark_without_data_runs_the_simulated_part(tmp_path, monkeypatch):
    monkeypatch.delenv("KNEEEMG_DATA", raising=False)
    report = acc.run_accuracy(quick=True, data_dir=None, command="test")
    assert report.data_dir is None
    assert {r.part for r in report.rows} == {"simulated"}
    _check_rows(report.rows, "simulated")
    assert any("only the simulated part" in n for n in report.notes)
    data = json.loads(report.write_json(tmp_path / "acc.json").read_text())
    assert data["quick"] is True and len(data["rows"]) == len(report.rows)
    assert all({"target", "value", "met"} <= set(t) for t in data["targets"])
    # a quick run leaves out the slow baselines and says so in its settings
    assert set(data["settings"]["baselines"]) == set(bl.BASELINES) - set(bl.SLOW)


def test_targets_compare_kneeemg_with_every_baseline():
    def row(tool, snr, kind, f1, on=10.0):
        return acc.AccuracyRow("inserted", tool, snr, kind, 10, 10, 9, 1, 1, 0.9, 0.9, f1, on, 20.0, 0.0)

    rows = [row("kneeemg", 6.0, "twitch", 0.95), row("other", 6.0, "twitch", 0.5),
            row("kneeemg", 10.0, "twitch", 0.80, on=40.0), row("other", 10.0, "twitch", 0.85)]
    report = acc.AccuracyReport(rows, {}, "", True, None)
    by_name = {x["target"]: x for x in report.targets()}
    assert by_name["twitch F1 >= 0.90 at 6 dB and above"]["met"] is False
    assert by_name["twitch F1 >= 0.90 at 6 dB and above"]["value"] == 0.80
    assert by_name["F1 above every baseline at every SNR and kind"]["value"] == "1/2"
    assert by_name["median onset error < 30 ms at 6 dB and above (every kind)"]["met"] is False


def test_targets_are_also_judged_on_the_part_with_more_seeds():
    # 2 seeds hold 4 cramps per SNR: the targets are also given over kneeemg's more seeds, each named so
    def row(part, kind, f1, on):
        return acc.AccuracyRow(part, "kneeemg", 10.0, kind, 20, 20, 19, 1, 1, 0.95, 0.95, f1, on, 20.0, 0.0)

    rows = [row("inserted", "cramp", 1.0, 34.0), row(acc.MORE_SEEDS_PART, "cramp", 0.94, 9.0)]
    report = acc.AccuracyReport(rows, {}, "", False, None, extra={"inserted_more": {"seeds": list(range(10))}})
    by_name = {x["target"]: x for x in report.targets()}
    assert by_name["median onset error < 30 ms at 6 dB and above (every kind)"]["met"] is False
    more = by_name["median onset error < 30 ms at 6 dB and above (every kind), 10 seeds"]
    assert more["met"] is True and more["value"] == 9.0
    assert by_name["cramp F1 >= 0.95 at 6 dB and above, 10 seeds"]["met"] is False
    assert by_name["cramp F1 >= 0.95 at 6 dB and above"]["met"] is True


@pytest.mark.data
def test_the_part_with_more_seeds_holds_the_inserted_part_s_trials(data_dir):
    # its first seeds are the inserted part's trials: the same truth, kneeemg finds the same there
    one, _ = acc.run_inserted(data_dir, snrs_db=(10.0,), seeds=(0,), trial_s=60.0, baselines=[])
    more, info = acc.run_inserted(data_dir, snrs_db=(10.0,), seeds=(0, 1), trial_s=60.0, baselines=[],
                                  part=acc.MORE_SEEDS_PART)
    _check_rows(more, acc.MORE_SEEDS_PART)
    assert {r.tool for r in more} == {"kneeemg"} and info["seeds"] == [0, 1]
    assert sum(r.n_truth for r in more) == 2 * sum(r.n_truth for r in one)
