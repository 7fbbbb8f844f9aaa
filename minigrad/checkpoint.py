"""Checkpoints: {name: ndarray} to an ``.npz`` file atomically, and back without pickle.

``save_arrays`` writes a temporary file in the target's directory, fsyncs it
and renames it over the target (``os.replace`` is atomic), so a crash leaves
either the old checkpoint or the new one, never a torn file. ``load_arrays``
reads with ``allow_pickle=False``: a checkpoint holds numbers and cannot run
code. ``minigrad.nn.Module.save``/``load`` use these for ``state_dict()``.
"""
from __future__ import annotations

import os
import secrets
import zipfile

import numpy as np


def save_arrays(path, arrays):
    """Write {name: ndarray} as an ``.npz`` archive at exactly ``path``, atomically.

    The archive is written member by member with ``allow_pickle=False`` (as
    ``np.savez`` does, but without its keyword arguments, which would
    collide with a parameter called ``file``), to a temporary file in the
    same directory (a rename across file systems is not atomic), flushed and
    fsynced, then renamed over ``path``.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{secrets.token_hex(6)}.tmp")
    # O_EXCL: never reuse an existing file; mode 0o666 minus the umask, as open() would.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, mode="w", compression=zipfile.ZIP_STORED,
                                 allowZip64=True) as archive:
                for name, array in arrays.items():
                    with archive.open(f"{name}.npy", mode="w", force_zip64=True) as member:
                        np.lib.format.write_array(member, np.asanyarray(array),
                                                  allow_pickle=False)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    _fsync_directory(directory)


def _fsync_directory(directory):
    # Makes the rename itself durable on POSIX; directories cannot be opened everywhere.
    try:
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError:
        pass


def load_arrays(path):
    """{name: ndarray} from an ``.npz`` archive, refusing pickled (object) arrays.

    Every way the file can be unreadable (empty, truncated, a corrupted zip
    or ``.npy`` header, an object array, a single ``.npy`` instead of an
    archive) is a ValueError naming the file; a missing file stays a
    FileNotFoundError. Nothing is returned unless every array was read, so
    a caller's parameters are never half-loaded.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint file {path!r}")
    if os.path.getsize(path) == 0:
        raise ValueError(f"cannot load checkpoint {path!r}: the file is empty (0 bytes)")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"cannot load checkpoint {path!r}: it is not an .npz archive (no zip "
                         f"directory found: truncated, corrupted, or another kind of file)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except (ValueError, OSError, EOFError, KeyError, zipfile.BadZipFile) as error:
        raise ValueError(f"cannot load checkpoint {path!r}: {type(error).__name__}: "
                         f"{error}") from error
