"""Data sets for the demos and tests.

``load_digits`` reads the handwritten digits shipped in ``dpm/data/`` (see
``dpm/data/README.md`` for provenance and licence: UCI Optical Recognition of
Handwritten Digits, E. Alpaydin and C. Kaynak, 1998, CC BY 4.0). The file is
read through ``importlib.resources``, so it works from a source tree, an
editable install and an installed wheel alike, with no download.
"""
from __future__ import annotations

import functools
import gzip
import io
from importlib import resources

import numpy as np

DIGITS_FILE = "digits.csv.gz"
N_DIGITS = 1797
N_PIXELS = 64  # 8 x 8 images, row-major
PIXEL_MAX = 16  # each pixel counts the "on" bits of a 4x4 block: 0..16


@functools.lru_cache(maxsize=1)
def _digits_table() -> np.ndarray:
    """The raw (1797, 65) int64 table: 64 pixel counts 0..16, then the label."""
    payload = resources.files("dpm").joinpath("data", DIGITS_FILE).read_bytes()
    table = np.loadtxt(io.BytesIO(gzip.decompress(payload)), delimiter=",", dtype=np.int64)
    # The file ships with the package; if it is damaged say so rather than
    # hand a model a wrong-shaped array.
    if table.shape != (N_DIGITS, N_PIXELS + 1):
        raise RuntimeError(f"dpm/data/{DIGITS_FILE} has shape {table.shape}, "
                           f"expected ({N_DIGITS}, {N_PIXELS + 1}); reinstall the package")
    table.setflags(write=False)  # cached: callers get copies
    return table


def load_digits(binarize: bool = False, threshold: int = 8, scale: bool = True):
    """The 1,797 UCI handwritten digits (8x8 pixels) and their labels.

    Returns ``(X, y)``: ``X`` float64 of shape (1797, 64), one image a row in
    row-major pixel order; ``y`` int64 of shape (1797,), labels 0..9.

    The stored pixels are integer counts c in 0..16. By default
    ``X = c / 16`` lies in [0, 1]: the Gaussian VAE and the flows want
    continuous values on a fixed scale, and 16 is the largest possible count,
    so the scaling does not depend on the data. Choices:

    - ``binarize=True``: ``X = 1.0 if c >= threshold else 0.0`` (Bernoulli
      VAE, autoregressive model, mean-field completion); ``threshold`` is a
      raw count in 1..16, the default 8 being the middle of the range.
    - ``scale=False`` (with ``binarize=False``): the raw counts 0..16 as
      float64.

    Every call returns fresh arrays, so callers may modify them.
    """
    if not isinstance(binarize, (bool, np.bool_)):
        raise ValueError(f"binarize={binarize!r}: expected True or False")
    if not isinstance(scale, (bool, np.bool_)):
        raise ValueError(f"scale={scale!r}: expected True or False")
    if isinstance(threshold, (bool, np.bool_)) or not isinstance(threshold, (int, np.integer)) \
            or not 1 <= threshold <= PIXEL_MAX:
        raise ValueError(f"threshold={threshold!r}: expected an integer pixel count in 1..{PIXEL_MAX}")
    table = _digits_table()
    counts = table[:, :N_PIXELS]
    labels = table[:, N_PIXELS].copy()
    if binarize:
        images = (counts >= threshold).astype(np.float64)
    elif scale:
        images = counts / float(PIXEL_MAX)
    else:
        images = counts.astype(np.float64)
    return images, labels
