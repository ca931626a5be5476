"""Tests for hotspots.categories: the open vocabulary (any lower-case word is a
category, labelled from the word), the closed police mapping, and selections that
find nothing being errors that say what the incidents hold."""

from __future__ import annotations

import pandas as pd
import pytest

import hotspots as hs
from hotspots._style import category_label
from hotspots.categories import check_categories, holdings, is_category

HELD = pd.Series(["robbery"] * 5 + ["violence_sexual"] * 3 + ["asb"])


def test_any_lower_case_word_is_a_category():
    assert check_categories(["fire", "animal_rescue", "collision"]) == {
        "fire", "animal_rescue", "collision"}
    assert check_categories("Burglary") == {"burglary"}  # a known wording, mapped
    for bad in ("Fire!", "[/]", "fire rescue", "1st"):
        assert not is_category(bad)
        with pytest.raises(hs.BadInputError, match="not in the vocabulary"):
            check_categories(bad)


def test_new_categories_are_labelled_from_their_word_not_other_crime():
    assert category_label("animal_rescue") == "Animal rescue"
    assert category_label("fire") == "Fire"
    assert category_label("robbery") == "Robbery"  # the styled vocabulary keeps its label
    assert category_label("other") == "Other crime"


def test_open_vocabulary_wordings():
    got = hs.categorise(["Fly-tip - black bags", "Graffiti", "Special Service",
                         "Anti-social behaviour", "A long free text description of it", None],
                        open_vocabulary=True)
    assert got.tolist() == ["fly_tip", "graffiti", "special_service", "asb", "other", "other"]
    # police layouts stay closed: an unknown crime wording is "other"
    assert hs.categorise(["Graffiti"]).tolist() == ["other"]


def test_typo_is_an_error_with_the_close_match_and_what_is_held():
    with pytest.raises(hs.BadInputError) as e:
        check_categories(["robbery", "violence"], present=HELD)
    msg = str(e.value)
    assert "'violence' is not in the vocabulary" in msg and "'violence_sexual'?" in msg
    assert "hold 9: robbery 5, violence_sexual 3, asb 1" in msg


def test_empty_selection_says_what_was_asked_and_what_is_held():
    with pytest.raises(hs.BadInputError, match=r"no incidents of category burglary\. "
                                               r"The incidents hold 9: robbery 5"):
        check_categories("burglary", present=HELD)
    with pytest.raises(hs.BadInputError, match="'fire' is not in the vocabulary and no "
                                               "incident has it"):
        check_categories("fire", present=HELD)
    # a known category absent beside one present is fine (Op Verona lists four)
    assert check_categories(["robbery", "streetsafe"], present=HELD) == {"robbery",
                                                                         "streetsafe"}
    assert check_categories(["fire"], present=["fire", "fire"]) == {"fire"}
    assert holdings([]) == "The incidents hold none."


def test_top_areas_refuses_a_category_the_incidents_do_not_hold():
    inc = hs.read_incidents(pd.DataFrame({"easting": [530000.0, 530010.0],
                                          "northing": [180000.0, 180010.0]}),
                            category="fire")
    with pytest.raises(hs.BadInputError, match="'fires' is not in the vocabulary.*'fire'"):
        hs.top_areas(inc, categories="fires")
