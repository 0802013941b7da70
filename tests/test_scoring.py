"""Event scoring against hand-made cases, and the laws a matching must obey."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import maximum_bipartite_matching

from kneeemg.errors import InputError
from kneeemg.events import Event
from kneeemg.scoring import match_events, score_events


def ev(on_s, off_s, kind="twitch", ch=0):
    return Event(round(on_s * 1000), round(off_s * 1000), 1000.0, ch, kind, 100.0, 30.0, 20.0)


def test_hand_made_counts():
    truth = [ev(1, 1.01), ev(5, 5.02), ev(10, 12, "spasm"), ev(20, 20.01, ch=1)]
    detected = [ev(1.002, 1.012), ev(10.01, 11.9, "spasm"), ev(30, 30.01), ev(20, 20.01, ch=0)]
    s = score_events(detected, truth)
    tw, sp = s.per_kind["twitch"], s.per_kind["spasm"]
    assert (tw.tp, tw.fn, tw.fp, tw.found) == (1, 2, 2, 1)  # the channel-0 detection at 20 s is not the ch-1 twitch
    assert (sp.tp, sp.fn, sp.fp, sp.found) == (1, 0, 0, 1)
    assert tw.sensitivity == pytest.approx(1 / 3) and tw.precision == pytest.approx(1 / 3)
    assert tw.f1 == pytest.approx(1 / 3) and sp.f1 == 1.0
    assert s.onset_error_ms == pytest.approx(6.0)  # median of |2| and |10| ms
    assert s.offset_error_ms == pytest.approx(51.0)  # median of |2| and |-100| ms
    assert s.pairs == [(0, 0), (1, 2)]
    assert math.isnan(s.per_kind["cramp"].sensitivity) and math.isnan(s.per_kind["cramp"].f1)
    assert s.rate_error_per_hour is None


def test_one_detection_cannot_claim_two_truths():
    truth = [ev(1, 1.2), ev(1.35, 1.5)]
    s = score_events([ev(1, 1.5)], truth)
    assert s.per_kind["twitch"].tp == 1 and s.per_kind["twitch"].fn == 1
    assert s.pairs == [(0, 0)]  # the larger overlap wins


def test_most_pairs_win_over_the_best_single_overlap():
    # D0 overlaps T0 a lot and T1 a little less; D1 only touches T0. Largest total overlap
    # alone would pair D0-T0 and leave D1 and T1 unmatched; the matching pairs both.
    truth = [ev(1.0, 2.0), ev(1.9, 2.8)]
    detected = [ev(1.0, 2.0), ev(0.9, 1.05)]
    assert match_events(detected, truth) == [(0, 1), (1, 0)]


def test_a_spasm_reported_as_a_twitch_is_found_but_a_miss_and_a_false_twitch():
    s = score_events([ev(1, 1.4)], [ev(1, 1.6, "spasm")])
    sp, tw = s.per_kind["spasm"], s.per_kind["twitch"]
    assert (sp.tp, sp.fn, sp.fp, sp.found) == (0, 1, 0, 1) and sp.found_share == 1.0
    assert sp.sensitivity == 0.0 and math.isnan(sp.precision) and sp.f1 == 0.0
    assert (tw.tp, tw.fn, tw.fp, tw.found) == (0, 0, 1, 0) and tw.precision == 0.0 and math.isnan(tw.found_share)
    assert s.confusion["spasm"]["twitch"] == 1 and s.confusion["twitch"]["spasm"] == 0


def test_each_kind_is_matched_on_its_own():
    # all kinds together pair each detection with the true event of the other kind (two pairs
    # instead of one); class by class, the spasm detection still finds the true spasm
    truth = [ev(1.0, 2.0, "spasm"), ev(2.05, 2.2)]
    detected = [ev(1.95, 3.0, "spasm"), ev(1.0, 1.4)]
    s = score_events(detected, truth)
    assert s.confusion["spasm"]["twitch"] == 1 and s.confusion["twitch"]["spasm"] == 1
    assert s.per_kind["spasm"].f1 == 1.0 and s.per_kind["twitch"].f1 == 0.0
    assert s.per_kind["spasm"].found == s.per_kind["twitch"].found == 1


def test_missing_kind_gives_zero_f1():
    s = score_events([], [ev(1, 1.01)])
    assert s.per_kind["twitch"].sensitivity == 0.0 and s.per_kind["twitch"].f1 == 0.0
    s = score_events([ev(1, 1.01)], [])
    assert s.per_kind["twitch"].precision == 0.0 and s.per_kind["twitch"].f1 == 0.0
    assert math.isnan(s.onset_error_ms)


def test_tolerance_matches_close_onsets_without_overlap():
    assert match_events([ev(1.05, 1.06)], [ev(1.0, 1.01)], tolerance_s=0.1) == [(0, 0)]
    assert match_events([ev(1.2, 1.21)], [ev(1.0, 1.01)], tolerance_s=0.1) == []
    assert match_events([ev(1.1, 1.11)], [ev(1.0, 1.01)], tolerance_s=0.1) == [(0, 0)]  # exactly at the tolerance
    assert match_events([ev(1.05, 1.06)], [ev(1.0, 1.01)], tolerance_s=0.0) == []  # overlap only
    assert match_events([ev(1.005, 1.06)], [ev(1.0, 1.01)], tolerance_s=0.0) == [(0, 0)]
    assert match_events([ev(1.01, 1.02)], [ev(1.0, 1.01)], tolerance_s=0.0) == []  # touching is not overlapping


def test_kinds_select_what_is_scored():
    lm = [ev(5, 7, "lm")]
    s = score_events(lm + [ev(1, 1.01)], [ev(1, 1.01)] + lm)
    assert "lm" not in s.per_kind and s.pairs == [(1, 0)]
    s = score_events(lm, lm, kinds=("lm",))
    assert s.per_kind["lm"].f1 == 1.0 and s.pairs == [(0, 0)]


def test_rate_error_per_hour_and_dict():
    s = score_events([ev(1, 1.01), ev(3, 3.01), ev(9, 9.01)], [ev(1, 1.01)], hours=0.5)
    assert s.rate_error_per_hour["twitch"] == pytest.approx(4.0)  # (3 - 1) / 0.5 h
    assert s.rate_error_per_hour["spasm"] == 0.0
    d = s.as_dict()
    assert d["matched"] == 1 and d["per_kind"]["twitch"]["fp"] == 2 and d["hours"] == 0.5


@pytest.mark.parametrize("bad", [-0.1, float("nan"), "soon"])
def test_bad_tolerance_is_refused(bad):
    with pytest.raises(InputError, match="tolerance_s"):
        score_events([ev(1, 1.01)], [ev(1, 1.01)], tolerance_s=bad)


def test_bad_hours_is_refused():
    with pytest.raises(InputError, match="hours"):
        score_events([], [], hours=0)


def _events(items):
    """Non-overlapping events per channel from (channel, onset ms, duration ms) tuples."""
    events = []
    for ch, on, dur in items:
        e = Event(on, on + dur, 1000.0, ch, "twitch" if dur < 500 else ("spasm" if dur <= 10_000 else "cramp"), 1.0, 1.0, 1.0)
        if all(x.channel != ch or x.offset_sample <= e.onset_sample or x.onset_sample >= e.offset_sample for x in events):
            events.append(e)
    return events


EVENTS = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 20_000), st.integers(1, 12_000)), max_size=25)


@given(EVENTS)
def test_scoring_a_list_against_itself_is_perfect(items):
    events = _events(items)
    s = score_events(events, events)
    for kind, k in s.per_kind.items():
        assert k.fp == 0 and k.fn == 0
        if k.n_truth:
            assert k.f1 == 1.0 and k.sensitivity == 1.0 and k.precision == 1.0
            assert s.confusion[kind][kind] == k.tp
    assert s.pairs == [(i, i) for i in range(len(events))]
    assert len(events) == 0 or s.onset_error_ms == 0.0


def _max_matching_size(detected, truth, tol_s):
    """Largest one-to-one matching of the candidate graph, by scipy (the law to meet)."""
    rows, cols = [], []
    for a, d in enumerate(detected):
        for b, t in enumerate(truth):
            inter = min(d.offset_s, t.offset_s) - max(d.onset_s, t.onset_s)
            if d.channel == t.channel and (inter > 0 or abs(d.onset_s - t.onset_s) <= tol_s + 1e-9):
                rows.append(a)
                cols.append(b)
    if not rows:
        return 0
    graph = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(detected), len(truth)))
    return int(np.sum(maximum_bipartite_matching(graph, perm_type="column") >= 0))


@settings(max_examples=150, deadline=None)
@given(EVENTS, EVENTS, st.sampled_from([0.0, 0.1, 0.5]))
def test_matching_is_one_to_one_valid_and_maximal(d_items, t_items, tol_s):
    detected, truth = _events(d_items), _events(t_items)
    pairs = match_events(detected, truth, tolerance_s=tol_s)
    assert len({a for a, _ in pairs}) == len(pairs) == len({b for _, b in pairs})
    for a, b in pairs:
        d, t = detected[a], truth[b]
        inter = min(d.offset_s, t.offset_s) - max(d.onset_s, t.onset_s)
        assert d.channel == t.channel and (inter > 0 or abs(d.onset_s - t.onset_s) <= tol_s + 1e-9)
    assert len(pairs) == _max_matching_size(detected, truth, tol_s)
    assert len(match_events(truth, detected, tolerance_s=tol_s)) == len(pairs)  # symmetric in size
    s = score_events(detected, truth, tolerance_s=tol_s)
    assert sum(k.found for k in s.per_kind.values()) == len(pairs)
    for kind, k in s.per_kind.items():  # class by class: the largest matching of the kind's own events
        of_kind = [e for e in detected if e.kind == kind], [e for e in truth if e.kind == kind]
        assert k.tp == _max_matching_size(*of_kind, tol_s) >= s.confusion[kind][kind]
    # the kinds' matchings together are one matching of all events, so no larger than the largest
    assert sum(k.tp for k in s.per_kind.values()) <= len(pairs)
    assert sum(k.n_truth for k in s.per_kind.values()) == len(truth)
    assert sum(k.n_detected for k in s.per_kind.values()) == len(detected)


def test_a_single_kind_may_be_a_string():
    truth = [ev(1, 1.01), ev(5, 7, "spasm")]
    s = score_events([ev(1, 1.01)], truth, kinds="twitch")
    assert list(s.per_kind) == ["twitch"] and s.per_kind["twitch"].f1 == 1.0
    assert match_events([ev(5, 7, "spasm")], truth, kinds="spasm") == [(0, 1)]


@pytest.mark.parametrize("kinds", [("twitch", "banana"), "Twitch", 3])
def test_unknown_kinds_are_refused(kinds):
    with pytest.raises(InputError, match="kinds"):
        score_events([], [], kinds=kinds)
    with pytest.raises(InputError, match="kinds"):
        match_events([], [], kinds=kinds)
