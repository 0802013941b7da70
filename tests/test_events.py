"""Events and their CSV form."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kneeemg.errors import InputError
from kneeemg.events import CSV_COLUMNS, Event, read_events_csv, sort_events, write_events_csv

events_st = st.builds(
    lambda on, dur, ch, kind, peak: Event(on, on + dur, 1000.0, ch, kind, peak, peak / 3, 20.0, f"ch{ch}"),
    st.integers(0, 10**7), st.integers(1, 60_000), st.integers(0, 3),
    st.sampled_from(["twitch", "spasm", "cramp"]), st.floats(1.0, 5000.0),
)


@given(st.lists(events_st, max_size=20))
def test_csv_round_trip_in_onset_order(tmp_path_factory, events):
    path = tmp_path_factory.mktemp("ev") / "events.csv"
    write_events_csv(events, path)
    back = read_events_csv(path, fs_hz=1000.0)
    assert [(e.onset_sample, e.offset_sample, e.channel, e.kind) for e in back] == [
        (e.onset_sample, e.offset_sample, e.channel, e.kind) for e in sort_events(events)
    ]
    for a, b in zip(back, sort_events(events)):
        assert a.peak_uv == pytest.approx(b.peak_uv, abs=0.006)


def test_csv_has_the_public_columns_first(tmp_path):
    path = write_events_csv([Event(1500, 1510, 1000.0, 0, "twitch", 80.0, 30.0, 18.0, "VM")], tmp_path / "e.csv")
    header, row = path.read_text().splitlines()
    assert header.split(",")[:6] == ["onset_s", "offset_s", "channel", "kind", "peak_uv", "duration_s"]
    assert header.split(",") == list(CSV_COLUMNS)
    assert row.startswith("1.5000,1.5100,VM,twitch,80.00,0.0100")


def test_bad_csv_gets_a_clear_error(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("onset_s,offset_s\n1,2\n")
    with pytest.raises(InputError, match="lacks column"):
        read_events_csv(path)
    path.write_text("onset_s,offset_s,channel,kind,peak_uv\nx,2,ch0,twitch,3\n")
    with pytest.raises(InputError, match="bad.csv:2"):
        read_events_csv(path)
    with pytest.raises(InputError, match="does not exist"):
        read_events_csv(tmp_path / "missing.csv")


@pytest.mark.parametrize(
    "row, message",
    [
        ("1.0,2.0", r"bad.csv:2: the row has fewer values than the header"),
        ("1,inf,ch0,twitch,3", r"bad.csv:2: .*must be finite"),
        ("nan,2,ch0,twitch,3", r"bad.csv:2: .*must be finite"),
        ("1,2,ch0,banana,3", r"bad.csv:2: unknown kind 'banana'; use one of twitch, spasm, cramp, lm"),
    ],
)
def test_bad_rows_name_their_line(tmp_path, row, message):
    path = tmp_path / "bad.csv"
    path.write_text(f"onset_s,offset_s,channel,kind,peak_uv\n{row}\n")
    with pytest.raises(InputError, match=message) as info:
        read_events_csv(path)
    assert "\n" not in str(info.value)


def test_leg_movements_read_back(tmp_path):
    path = write_events_csv([Event(500, 2500, 1000.0, 1, "lm", 80.0, 30.0, 18.0, "right")], tmp_path / "lm.csv")
    assert [e.kind for e in read_events_csv(path)] == ["lm"]


def test_unreadable_files_are_input_errors(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"onset_s,offset_s,channel,kind,peak_uv\n1,2,Oberschenkel \xe4,twitch,3\n")
    with pytest.raises(InputError, match="is not UTF-8 text"):
        read_events_csv(path)
    with pytest.raises(InputError, match="is a folder"):
        read_events_csv(tmp_path)


def test_writing_to_a_missing_folder_or_onto_a_folder_is_an_input_error(tmp_path):
    with pytest.raises(InputError, match="does not exist; create it"):
        write_events_csv([], tmp_path / "nowhere" / "events.csv")
    (tmp_path / "events.csv").mkdir()
    with pytest.raises(InputError, match="is a folder; give a file name"):
        write_events_csv([], tmp_path / "events.csv")


def test_without_the_rate_the_times_are_read_not_samples_of_an_unknown_rate(tmp_path):
    path = tmp_path / "events.csv"
    write_events_csv([Event(4000, 4200, 2000.0, 0, "spasm", 50.0, 20.0, 12.0)], path)  # 2.0-2.1 s at 2 kHz
    ev, = read_events_csv(path)
    assert (ev.onset_s, ev.offset_s, ev.duration_s) == pytest.approx((2.0, 2.1, 0.1))
    ev, = read_events_csv(path, fs_hz=2000.0)
    assert (ev.onset_sample, ev.offset_sample, ev.fs_hz) == (4000, 4200, 2000.0)
