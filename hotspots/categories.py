"""The incident category vocabulary: codes, labels and the mapping from source wording.

Crime categories (police.uk's, grouped) and the project's own (``fly_tip``, ``asb``,
``streetsafe``) are :data:`CATEGORIES`; source wordings map to them through
``data/categories.csv``. The vocabulary is open: any other lower-case word
(``fire``, ``collision``, ``animal_rescue``, ``graffiti``) is a category too, labelled
from the word ("Animal rescue"), so other services' incidents are never "other crime".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd

from ._errors import BadInputError

__all__ = [
    "CATEGORIES",
    "categorise",
    "category_label",
    "check_categories",
    "describe",
    "holdings",
    "is_category",
    "unrecognised_categories",
]

#: The category vocabulary every incident frame uses (see ``data/categories.csv``).
CATEGORIES: tuple[str, ...] = (
    "fly_tip", "asb", "streetsafe", "robbery", "violence_sexual", "burglary", "vehicle",
    "theft", "theft_person", "shoplifting", "bicycle_theft", "drugs", "public_order",
    "weapons", "criminal_damage", "other",
)  # fmt: skip


#: A category code: a lower-case word, words joined by underscores (``animal_rescue``).
_WORD = re.compile(r"[a-z][a-z0-9]*(?:_[a-z0-9]+)*")
#: Longest source wording that becomes a category of its own (open vocabulary), in
#: words and characters; longer text (free descriptions) stays ``"other"``.
_OPEN_MAX_WORDS, _OPEN_MAX_CHARS = 4, 40


def is_category(value: Any) -> bool:
    """Say whether `value` is a category code.

    A known one or any lower-case word (letters, digits and underscores, starting with
    a letter), e.g. ``"fire"``.
    """
    return isinstance(value, str) and _WORD.fullmatch(value) is not None


def _category_word(text: Any) -> str:
    """A source wording as a category code: ``"Animal rescue"`` -> ``"animal_rescue"``."""
    return _norm(text).replace(" ", "_")


def category_label(category: str) -> str:
    """A label for people from a category code the styling does not know.

    ``"animal_rescue"`` -> ``"Animal rescue"``; the code itself when it is not a word.
    """
    if not is_category(category):
        return str(category)
    return category.replace("_", " ").capitalize()


def categorise(values: Iterable[Any], *, open_vocabulary: bool = False) -> pd.Series:
    """Map source wording to the vocabulary; unknown or missing text gives ``"other"``.

    Matching ignores case, punctuation, hyphens and underscores, so ``"Anti-social
    behaviour"``, ``"anti-social-behaviour"`` and ``"ASB"`` all give ``"asb"``.

    Parameters
    ----------
    values : iterable
        Source wordings.
    open_vocabulary : bool, default False
        For councils' and other services' own files: a wording that starts with a
        known one gives that category (``"Fly-tip - black bags"`` -> ``"fly_tip"``),
        and any other short wording (up to 4 words) becomes a category of its own
        (``"Graffiti"`` -> ``"graffiti"``, ``"Special Service"`` ->
        ``"special_service"``). Longer text and missing values give ``"other"``.

    Returns
    -------
    pandas.Series of str
        One category per input value, with a fresh 0..n-1 index.
    """
    return categorise_coded(values, open_vocabulary=open_vocabulary)[0]


def categorise_coded(values: Iterable[Any], *, open_vocabulary: bool = False
                     ) -> tuple[pd.Series, np.ndarray, Any, np.ndarray]:
    """:func:`categorise`, with the distinct wordings it looked up.

    Returns
    -------
    (pandas.Series, numpy.ndarray, array-like, numpy.ndarray)
        The categories; each value's code into the distinct wordings (-1: missing);
        the distinct wordings; the category of each wording, then ``"other"`` (the
        category of a missing one).
    """
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    table = _category_table()
    lookup = _open_lookup if open_vocabulary else (lambda u: table.get(_norm(u), "other"))
    # one lookup per distinct value; the extra last slot serves code -1 (missing)
    labels = np.array([lookup(u) for u in uniques] + ["other"], dtype=object)
    mapped = pd.Series(labels, dtype="str")
    cat = mapped.take(np.where(codes < 0, len(uniques), codes)).reset_index(drop=True)
    return cat, codes, uniques, labels


def _open_lookup(value: Any) -> str:
    """One wording in the open vocabulary: known, known prefix, own word, or other."""
    table = _category_table()
    key = _norm(value)
    if key in table:
        return table[key]
    words = key.split()
    for k in range(len(words) - 1, 0, -1):  # the longest known leading wording
        head = " ".join(words[:k])
        if head in table:
            return table[head]
    if 0 < len(words) <= _OPEN_MAX_WORDS and len(key) <= _OPEN_MAX_CHARS and key[0].isalpha():
        return key.replace(" ", "_")
    return "other"


def check_categories(categories: str | Iterable[str] | None,
                     present: Iterable[Any] | None = None) -> set[str] | None:
    """The category codes a ``categories=`` argument asks for.

    Source wordings the category table knows are mapped (``"Burglary"`` ->
    ``"burglary"``); any other lower-case word is a category of the open vocabulary
    (``"fire"``, ``"animal_rescue"``); anything else (``"Fire!"``, ``"[/]"``) is an
    error naming the vocabulary.

    Parameters
    ----------
    categories : str, iterable of str, or None
        What was asked for.
    present : iterable, optional
        The categories of the incidents the selection applies to (e.g.
        ``inc["category"]``). With it, a word outside the vocabulary that no incident
        has (a typo such as ``"violence"``), or a selection that leaves no incident, is
        an error saying what was asked and what the incidents hold.

    Returns
    -------
    set of str, or None when `categories` is None
    """
    if categories is None:
        return None
    values = [categories] if isinstance(categories, str) else list(categories)
    out = set()
    for v in values:
        if v in CATEGORIES:
            out.add(v)
        elif isinstance(v, str) and _norm(v) in _category_table():
            out.add(categorise([v]).iloc[0])  # a wording the table knows: "Burglary"
        elif is_category(v):
            out.add(v)  # the open vocabulary: "fire", "animal_rescue"
        else:
            raise BadInputError(
                f"category {v!r} is not in the vocabulary ({', '.join(CATEGORIES)}) and not "
                "a lower-case word such as 'fire' or 'animal_rescue'"
            )
    if present is not None:
        _check_present(out, present)
    return out


def _check_present(asked: set[str], present: Iterable[Any]) -> None:
    """Refuse a selection that finds nothing, or names an unknown word no incident has.

    The error says what the incidents hold (and the closest category, for a typo).
    """
    import difflib

    held = pd.Series(list(present) if not isinstance(present, pd.Series) else present)
    counts = held.dropna().astype(str).value_counts()
    unknown = sorted(v for v in asked if v not in counts.index and v not in CATEGORIES)
    if not unknown and any(v in counts.index for v in asked):
        return
    parts = []
    for v in unknown:
        close = difflib.get_close_matches(v, [*counts.index, *CATEGORIES], n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        parts.append(f"category {v!r} is not in the vocabulary and no incident has it{hint}")
    if not parts:
        parts.append(f"no incidents of categor{'ies' if len(asked) > 1 else 'y'} "
                     f"{', '.join(sorted(asked))}")
    raise BadInputError("; ".join(parts) + f". {_holdings_text(counts)}".replace("?.", "?"))


def holdings(categories: Iterable[Any] | pd.Series, limit: int = 8) -> str:
    """What a set of incidents holds, for an error about an empty selection.

    ``"The incidents hold 1,234: asb 800, burglary 434."`` (the largest first).
    """
    s = categories if isinstance(categories, pd.Series) else pd.Series(list(categories))
    return _holdings_text(s.dropna().astype(str).value_counts(), limit)


def describe(inc: pd.DataFrame) -> str:
    """What incidents hold, for an error about an empty result.

    Categories, dates, and how many are in no ward (after a ward join).
    """
    from ._time import date_span

    n_no = int(inc["ward_code"].isna().sum()) if "ward_code" in inc.columns else 0
    return (f"{holdings(inc['category'])} Dates: {date_span(inc)}"
            + (f"; {n_no:,} are in no ward" if n_no else "") + ".")


def _holdings_text(counts: pd.Series, limit: int = 8) -> str:
    if counts.empty:
        return "The incidents hold none."
    shown = ", ".join(f"{c} {n:,}" for c, n in counts.head(limit).items())
    more = f" and {len(counts) - limit} more categories" if len(counts) > limit else ""
    return f"The incidents hold {int(counts.sum()):,}: {shown}{more}."


def unrecognised_categories(values: Iterable[Any]) -> pd.Series:
    """Source wordings the vocabulary does not know, with how many rows use each.

    :func:`categorise` counts them as ``"other"``: what an analyst checks before
    trusting per-category counts, and what to add to ``hotspots/data/categories.csv``.

    Returns
    -------
    pandas.Series of int
        Rows per unknown wording, most common first; empty when every wording is known.
    """
    if isinstance(values, pd.DataFrame):  # list(frame) would be its column names
        raise BadInputError(
            "unrecognised_categories needs the wordings (a column such as "
            "incidents['subcategory']), not a whole table"
        )
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    counts = s.dropna().astype(str).value_counts()
    table = _category_table()
    known = np.array([_norm(v) in table for v in counts.index], dtype=bool)
    return counts[~known].astype(int)



def _norm(text: Any) -> str:
    """Lower-case, punctuation/hyphens/underscores to single spaces."""
    return re.sub(r"[^a-z0-9]+", " ", str(text).lower()).strip()


@lru_cache(maxsize=1)
def _category_table() -> dict[str, str]:
    text = resources.files("hotspots").joinpath("data/categories.csv").read_text("utf-8")
    from io import StringIO

    table = pd.read_csv(StringIO(text), dtype=str)
    bad = {c for c in table["category"] if not is_category(c)}
    if bad:  # a typo in the shipped CSV should fail loudly in tests
        raise ValueError(f"categories.csv uses categories that are not lower-case words: {bad}")
    return {_norm(t): c for t, c in zip(table["source_text"], table["category"], strict=True)}
