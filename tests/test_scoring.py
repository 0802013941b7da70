"""Event scoring against hand-made cases."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kneeemg.events import Event
from kneeemg.scoring import match_events, score_events


def ev(on_s, off_s, kind="twitch", ch=0):
    return Event(int(on_s * 1000), int(off_s * 1000), 1000.0, ch, kind, 100.0, 30.0, 20.0)


def test_hand_made_counts():
    truth = [ev(1, 1.01), ev(5, 5.02), ev(10, 12, "spasm"), ev(20, 20.01, ch=1)]
    detected = [ev(1.002, 1.012), ev(10.01, 11.9, "spasm"), ev(30, 30.01), ev(20, 20.01, ch=0)]
    s = score_events(detected, truth)
    tw, sp = s.per_kind["twitch"], s.per_kind["spasm"]
    assert (tw.tp, tw.fn, tw.tp_detected, tw.fp) == (1, 2, 1, 2)  # the channel-0 detection at 20 s is not the ch-1 twitch
    assert (sp.tp, sp.fn, sp.fp) == (1, 0, 0)
    assert tw.sensitivity == pytest.approx(1 / 3) and tw.precision == pytest.approx(1 / 3)
    assert s.onset_error_ms == pytest.approx(6.0)  # median of 2 and 10 ms
    assert math.isnan(s.per_kind["cramp"].sensitivity)


def test_one_detection_cannot_claim_two_truths():
    truth = [ev(1, 1.2), ev(1.3, 1.5)]
    s = score_events([ev(1, 1.5)], truth)
    assert s.per_kind["twitch"].tp == 1 and s.per_kind["twitch"].fn == 1


def test_kind_confusion_counts_as_found_but_not_as_precise():
    s = score_events([ev(1, 1.4)], [ev(1, 1.6, "spasm")])
    assert s.per_kind["spasm"].tp == 1  # found
    assert s.per_kind["twitch"].fp == 0 and s.per_kind["twitch"].tp_detected == 1
    assert s.confusion["spasm"]["twitch"] == 1


def test_tolerance_matches_close_onsets_without_overlap():
    assert match_events([ev(1.05, 1.06)], [ev(1.0, 1.01)], tolerance_s=0.1) == [(0, 0)]
    assert match_events([ev(1.2, 1.21)], [ev(1.0, 1.01)], tolerance_s=0.1) == []


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 10_000), st.integers(1, 3000)), max_size=30))
def test_scoring_a_list_against_itself_is_perfect(items):
    events = []
    for ch, on, dur in items:
        e = Event(on, on + dur, 1000.0, ch, "twitch" if dur < 500 else "spasm", 1.0, 1.0, 1.0)
        if all(x.channel != ch or x.offset_sample <= e.onset_sample or x.onset_sample >= e.offset_sample for x in events):
            events.append(e)
    s = score_events(events, events)
    for k in s.per_kind.values():
        assert k.fp == 0 and k.fn == 0
    assert len(s.pairs) == len(events)
