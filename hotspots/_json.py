"""JSON-ready copies of library results (numpy scalars, NaN, timestamps, frames)."""

from __future__ import annotations

import math
from typing import Any


def plain(obj: Any) -> Any:
    """JSON-ready copy: numpy scalars to Python, NaN/NaT to None, timestamps to ISO,
    DataFrames to lists of records; anything else unknown to its ``str``."""
    import numpy as np
    import pandas as pd

    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return plain(obj.to_dict(orient="records"))
    if isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or obj is pd.NaT or (isinstance(obj, float) and math.isnan(obj)):
        return None
    if isinstance(obj, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(obj).isoformat()
    if isinstance(obj, (str, int, float, bool)):
        return obj
    return str(obj)
