"""Batched 2-D real FFTs that write into kept arrays (the forecast's smoothing).

``scipy.fft.rfft2``/``irfft2`` allocate a padded copy, a temporary and the output on
every call; on a London grid each is ~24 MB, and fresh memory costs page faults
(several microseconds a page here). The same pocketfft transforms, called through
scipy's binding with the outputs given, reuse scratch arrays kept in a dict by the
caller, and give the very same values (checked once against the public functions;
without the binding, the public functions).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

import numpy as np


def fast_len(n: int) -> int:
    """scipy.fft's next fast length for a real transform of at least ``n`` points."""
    from scipy import fft as sp_fft  # not scipy.signal: importing it takes ~1 s

    return sp_fft.next_fast_len(n, real=True)


@lru_cache(maxsize=1)
def pocketfft() -> tuple[Any, Callable[[int], int]] | None:
    """scipy.fft's pocketfft binding and its workers rule, or None.

    Private to scipy (there since 1.4, the same calls as scipy.fft's rfft2/irfft2),
    but its transforms write into given arrays: no fresh memory per transform.
    Checked once on a small array against the public functions (bit for bit);
    without it, or if it ever differs, the public functions (the same values).
    """
    from scipy import fft as sp_fft

    try:
        from scipy.fft._pocketfft import pypocketfft
        from scipy.fft._pocketfft.helper import _workers

        lib = (pypocketfft, _workers)
        rng = np.random.default_rng(0)
        a, kern, fshape = rng.random((2, 9, 14)), rng.random((5, 5)), (16, 20)
        ref = sp_fft.irfft2(sp_fft.rfft2(a, fshape) * sp_fft.rfft2(kern, fshape), fshape)
        spec = rfft2(a, a.shape, fshape, {}, keep=True, workers=1, lib=lib)
        spec *= sp_fft.rfft2(kern, fshape)
        out, fct = irfft2_rows(spec, fshape, 3, 9, None, workers=1, lib=lib)
        ok = np.array_equal(out * fct, ref[:, 3:12])
    except (ImportError, AttributeError, TypeError, ValueError, RuntimeError):
        return None
    return lib if ok else None


def scratch(buf: dict, name: str, shape: tuple, dtype: Any) -> np.ndarray:
    """A scratch array kept in ``buf`` (one per name and shape), made once."""
    key = ("scratch", name, shape)
    out = buf.get(key)
    if out is None:
        out = buf[key] = np.empty(shape, dtype)
    return out


def rfft2(a: np.ndarray | Callable[[np.ndarray], Any], shape: tuple[int, int, int],  # noqa: PLR0913
          # (the input, its shape, the transform's, the scratch and how to run it)
          fshape: tuple[int, int], buf: dict, *, keep: bool, workers: int,
          lib: Any = None) -> np.ndarray:
    """``scipy.fft.rfft2(a, fshape)`` of each slice; into a fresh array only if ``keep``.

    ``a``: an array of ``shape``, or a function filling one (straight into the
    transform's input). The zero-padded input is ``buf``'s scratch real array (the
    inverse transform's output reuses it), the transform (unless kept) the scratch
    product array. ``workers``: scipy.fft's (-1: every core). ``lib``: the binding
    (default :func:`pocketfft`'s).
    """
    from scipy import fft as sp_fft

    lib = lib or pocketfft()
    k, rows, cols = shape
    if lib is None:
        if callable(a):
            fill, a = a, np.empty(shape)
            fill(a)
        return sp_fft.rfft2(a, fshape, workers=workers)
    pad = scratch(buf, "real", (k, *fshape), float)
    pad[:, rows:] = 0.0  # zero beyond the grid (the last output left values there)
    pad[:, :rows, cols:] = 0.0
    if callable(a):
        a(pad[:, :rows, :cols])
    else:
        pad[:, :rows, :cols] = a
    spec_shape = (k, fshape[0], fshape[1] // 2 + 1)
    out = np.empty(spec_shape, complex) if keep else scratch(buf, "prod", spec_shape,
                                                             complex)
    binding, nthreads = lib
    # what scipy.fft.rfft2 calls (forward, no scaling), with the output given
    return binding.r2c(pad, (1, 2), forward=True, inorm=0, out=out,
                       nthreads=nthreads(workers))


def irfft2_rows(spec: np.ndarray, fshape: tuple[int, int], row0: int,  # noqa: PLR0913
                # (the transform, its shape, the rows wanted, the scratch, how to run it)
                nrows: int, buf: dict | None, *, workers: int,
                lib: Any = None) -> tuple[np.ndarray, float]:
    """Rows ``row0 .. row0 + nrows`` of ``scipy.fft.irfft2(spec, fshape)``; overwrites spec.

    Returns the rows unscaled and the factor scaling them. As pocketfft's own c2r
    over two axes: the unscaled inverse along the rows (in place here, not into a
    fresh temporary), then the real inverse along the last axis of the rows wanted
    only (into ``buf``'s scratch real array, else a fresh one), then 1/N (left to
    the caller: x * f element by element, the same values).
    """
    from scipy import fft as sp_fft

    lib = lib or pocketfft()
    if lib is None:
        full = sp_fft.irfft2(spec, fshape, overwrite_x=True, workers=workers)
        return full[:, row0: row0 + nrows], 1.0
    binding, nthreads = lib
    n = nthreads(workers)
    shape = (spec.shape[0], nrows, fshape[1])
    out = np.empty(shape) if buf is None else \
        scratch(buf, "real", (spec.shape[0], *fshape), float)[:, :nrows]
    binding.c2c(spec, (1,), forward=False, inorm=0, out=spec, nthreads=n)
    binding.c2r(spec[:, row0: row0 + nrows], (2,), fshape[1], forward=False, inorm=0,
                out=out, nthreads=n)
    # pocketfft's factor: 1 / N in long double, rounded to double (its norm_fct)
    return out, float(np.longdouble(1) / np.longdouble(fshape[0] * fshape[1]))


@lru_cache(maxsize=8)
def kernel_spectrum(kern: bytes, kshape: tuple[int, int],
                    fshape: tuple[int, int]) -> np.ndarray:
    """``rfft2`` of a kernel (its float64 bytes) zero-padded to ``fshape``; kept.

    The same few kernels recur in every backtest (~2 ms each on London's grid).
    """
    from scipy import fft as sp_fft

    out = sp_fft.rfft2(np.frombuffer(kern).reshape(kshape), fshape)
    out.setflags(write=False)
    return out
