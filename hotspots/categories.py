"""The incident category vocabulary: codes, labels and the mapping from source wording.

Crime categories (police.uk's, grouped) and the project's own (``fly_tip``, ``asb``,
``streetsafe``) are :data:`CATEGORIES`; source wordings map to them through
``data/categories.csv``.
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

#: The category vocabulary every incident frame uses (see ``data/categories.csv``).
CATEGORIES: tuple[str, ...] = (
    "fly_tip", "asb", "streetsafe", "robbery", "violence_sexual", "burglary", "vehicle",
    "theft", "theft_person", "shoplifting", "bicycle_theft", "drugs", "public_order",
    "weapons", "criminal_damage", "other",
)  # fmt: skip


def categorise(values: Iterable[Any]) -> pd.Series:
    """Map source wording to the vocabulary; unknown or missing text gives ``"other"``.

    Matching ignores case, punctuation, hyphens and underscores, so ``"Anti-social
    behaviour"``, ``"anti-social-behaviour"`` and ``"ASB"`` all give ``"asb"``.

    Returns
    -------
    pandas.Series of str
        One category per input value, with a fresh 0..n-1 index.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(list(values), dtype=object)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    table = _category_table()
    # one lookup per distinct value; the extra last slot serves code -1 (missing)
    mapped = pd.Series([table.get(_norm(u), "other") for u in uniques] + ["other"], dtype="str")
    return mapped.take(np.where(codes < 0, len(uniques), codes)).reset_index(drop=True)


def check_categories(categories: str | Iterable[str] | None) -> set[str] | None:
    """The vocabulary values a ``categories=`` argument asks for.

    Source wordings the category table knows are mapped (``"Burglary"`` ->
    ``"burglary"``); anything else is an error naming the vocabulary, so a typo
    (``"violence"``, ``"robery"``) never silently selects nothing.

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
        else:
            raise BadInputError(f"category {v!r} is not in the vocabulary: "
                                f"{', '.join(CATEGORIES)}")
    return out


def unrecognised_categories(values: Iterable[Any]) -> pd.Series:
    """Source wordings the vocabulary does not know (:func:`categorise` counts them as
    ``"other"``), with how many rows use each: what an analyst checks before trusting
    per-category counts, and what to add to ``hotspots/data/categories.csv``.

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
    bad = set(table["category"]) - set(CATEGORIES)
    if bad:  # a typo in the shipped CSV should fail loudly in tests
        raise ValueError(f"categories.csv uses categories outside the vocabulary: {bad}")
    return {_norm(t): c for t, c in zip(table["source_text"], table["category"], strict=True)}
