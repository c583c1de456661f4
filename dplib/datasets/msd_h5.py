"""Echo Nest segment features from the MSD HDF5 track files (an audio-content substitute).

7digital previews are hard to get now; every MSD track file (``TRAAAAW128F429D538.h5``)
carries, per segment (about 4 per second), 12 timbre and 12 chroma values:
``/analysis/segments_timbre`` and ``/analysis/segments_pitches``; the track id is in
``/analysis/songs`` (field ``track_id``). Reading needs h5py (``pip install 'dplib[h5]'``).
The result feeds the audio tower unchanged: a sequence of 24-d vectors instead of |FFT| blocks.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable

import numpy as np

from .lyrics import EncodedSongs
from .report import DataError, SkipReport

N_FEATURES = 24


def _h5py():
    try:
        import h5py
    except ImportError:
        raise ImportError("reading MSD .h5 files needs h5py: pip install 'dplib[h5]'") from None
    return h5py


def read_msd_h5(path: str | Path) -> tuple[str, np.ndarray]:
    """(track_id, (segments, 24) float32: 12 timbre then 12 pitch values per segment)."""
    h5py = _h5py()
    path = Path(path)
    try:
        with h5py.File(path, "r") as f:
            timbre = np.asarray(f["analysis/segments_timbre"], dtype="float32")
            pitches = np.asarray(f["analysis/segments_pitches"], dtype="float32")
            songs = f["analysis/songs"]
            if songs.shape in ((), (0,)):
                raise DataError("empty /analysis/songs table (no track id)", path)
            tid = songs["track_id"][0]
    except DataError:
        raise
    except KeyError as err:
        raise DataError(f"not an MSD track file (missing {err.args[0]})", path) from None
    except (ValueError, TypeError, IndexError) as err:  # a field missing or of another type
        raise DataError(f"not an MSD track file ({err})", path) from None
    except OSError as err:
        raise DataError(f"unreadable HDF5 ({err})", path) from None
    tid = tid.decode() if isinstance(tid, bytes) else str(tid)
    if timbre.shape != pitches.shape or timbre.ndim != 2 or timbre.shape[1] != 12:
        raise DataError(f"segment arrays of shapes {timbre.shape} and {pitches.shape}, expected (n, 12)", path)
    if len(timbre) == 0:
        raise DataError("no segments", path)
    if not (np.isfinite(timbre).all() and np.isfinite(pitches).all()):  # one NaN would poison every track's scaling
        raise DataError("NaN or inf in the segment features", path)
    return tid, np.concatenate([timbre, pitches], axis=1)


def encode_msd_h5(
    files: Iterable[str | Path], n_segments: int = 400, normalize: bool = True, report: SkipReport | None = None
) -> EncodedSongs:
    """Per-track segment sequences, cropped or zero-padded to ``n_segments``.

    ``normalize`` scales each of the 24 features to zero mean and unit variance over the
    tracks read (timbre values range over hundreds, chroma over [0, 1]).
    """
    report = report if report is not None else SkipReport()
    ids, rows, lengths = [], [], []
    for path in files:
        try:
            tid, feats = read_msd_h5(path)
        except DataError as err:
            if report.strict:
                raise
            report.skip(err.reason, path, detail=err.detail)
            continue
        used = min(len(feats), n_segments)
        row = np.zeros((n_segments, N_FEATURES), dtype="float32")
        row[:used] = feats[:used]
        ids.append(tid)
        rows.append(row)
        lengths.append(used)
    data = np.stack(rows) if rows else np.zeros((0, n_segments, N_FEATURES), dtype="float32")
    lengths = np.asarray(lengths, dtype="int32")
    if normalize and len(data):
        mask = np.arange(n_segments)[None, :] < lengths[:, None]
        values = data[mask]
        data[mask] = (values - values.mean(axis=0)) / (values.std(axis=0) + 1e-6)
    return EncodedSongs(ids, data, lengths)
