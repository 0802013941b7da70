"""Counts in words."""

from __future__ import annotations

from kneeemg.words import plural, plural_of


def test_plural_takes_the_number_and_the_last_word_into_account():
    assert [plural(n, "periodic series") for n in (0, 1, 9)] == ["0 periodic series", "1 periodic series", "9 periodic series"]
    assert [plural(n, "twitch") for n in (0, 1, 2)] == ["0 twitches", "1 twitch", "2 twitches"]
    assert plural(1, "logged day") == "1 logged day" and plural(3, "leg movement") == "3 leg movements"
    assert plural_of("artefact") == "artefacts" and plural_of("channel") == "channels"


def test_a_share_of_one_reads_as_the_only_one():
    from kneeemg.words import share_of

    assert share_of(2, 3, "night") == "2 of the 3 nights" and share_of(3, 3, "night") == "3 of the 3 nights"
    assert share_of(1, 1, "night") == "the only night" and share_of(0, 1, "night") == "0 of the 1 night"


def test_exclusion_reasons_read_as_words():
    from kneeemg.words import reason_words

    assert [reason_words(r) for r in ("dc_jump", "noise_rise", "flat", "mains")] == ["DC jump", "noise rise", "flat", "mains hum"]
