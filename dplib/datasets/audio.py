"""Audio clips: reading WAVs to mono 22,050 Hz floats, and |FFT| blocking.

The paper cuts each clip into blocks of 11,025 samples (half a second at
22,050 Hz) and takes the magnitude of the FFT of each block as one time step.
A real signal's FFT is symmetric, so ``rfft`` keeps the 5,513 non-redundant bins.
"""
from __future__ import annotations

import struct
import warnings
from functools import lru_cache
from math import gcd
from pathlib import Path
from typing import Iterable

import numpy as np
from scipy.io import wavfile
from scipy.signal import resample_poly

from .lyrics import EncodedSongs
from .report import DataError, SkipReport

SAMPLE_RATE = 22_050
BLOCK = 11_025
N_BINS = BLOCK // 2 + 1
AUDIO_SUFFIXES = (".wav", ".mp3", ".flac", ".ogg")
MIN_RATE, MAX_RATE = 4_000, 384_000  # Hz; a header outside this is broken (a 1 Hz clip resamples 22,050-fold)
MAX_SECONDS = 20 * 60  # longest clip read (a preview is 30 s)


def audio_path(audio_folder: Path, track_id: str) -> Path:
    """``TRACKID.wav`` (or another supported suffix) in ``audio_folder``; the .wav name if none exists."""
    for suffix in AUDIO_SUFFIXES:
        path = audio_folder / f"{track_id}{suffix}"
        if path.exists():
            return path
    return audio_folder / f"{track_id}.wav"


def _to_float(x: np.ndarray) -> np.ndarray:
    if x.dtype == np.uint8:
        return (x.astype("float32") - 128.0) / 128.0
    if np.issubdtype(x.dtype, np.integer):
        return x.astype("float32") / float(np.iinfo(x.dtype).max)
    return x.astype("float32")


def _overstated_wav(path: Path):
    """The WAV's bytes with its data chunk's size cut to the bytes present (a file-like), when its header claims
    more than the file holds (scipy would first allocate what the header claims: a 4 GiB claim over 88 KB of
    samples is a 4 GiB allocation); None when the header is honest or has no data chunk. Reads only the chunk
    headers (8 bytes each) up to the data chunk."""
    import io

    size = path.stat().st_size
    with open(path, "rb") as f:
        riff = f.read(12)
        if riff[:4] != b"RIFF" or riff[8:12] != b"WAVE":
            return None
        at = 12
        while at + 8 <= size:
            f.seek(at)
            chunk, length = struct.unpack("<4sI", f.read(8))
            if chunk == b"data":
                break
            at += 8 + length + length % 2
        else:
            return None
    present = size - at - 8
    if length <= present:
        return None
    if size > MAX_SECONDS * MAX_RATE * 8:  # the longest clip read, in 64-bit stereo samples
        raise DataError(f"file too large for a clip ({size / 2**30:,.1f} GiB)", path)
    data = bytearray(path.read_bytes())
    data[at + 4:at + 8] = struct.pack("<I", present - present % 8)
    data[4:8] = struct.pack("<I", size - 8)
    return io.BytesIO(bytes(data))


def read_audio(path: str | Path, sample_rate: int = SAMPLE_RATE, report: SkipReport | None = None) -> np.ndarray:
    """Mono float32 samples at ``sample_rate``, from a WAV (or mp3/flac/ogg with the ``mp3`` extra).

    Stereo is mixed down and other rates are resampled (``resample_poly``); both are
    noted in ``report``. Unreadable, empty or non-finite audio raises :class:`DataError`.
    Taught in notebook 02.
    """
    path = Path(path)
    report = report if report is not None else SkipReport()
    if not path.exists():
        raise DataError("missing audio file", path)
    if path.suffix.lower() == ".wav":
        try:
            source = _overstated_wav(path) or path
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", wavfile.WavFileWarning)
                rate, x = wavfile.read(source, mmap=False)
        except (ValueError, EOFError, OSError, struct.error, MemoryError) as err:
            raise DataError(f"unreadable or truncated WAV ({err})", path) from None
        if source is not path or any("EOF" in str(w.message) for w in caught):
            report.note("WAV data shorter than its header says (the samples present are used)")
    else:
        try:
            import soundfile
        except ImportError:
            raise DataError(
                f"reading {path.suffix} files needs the optional extra: pip install 'dplib[mp3]' "
                "(or convert to WAV)", path
            ) from None
        try:
            x, rate = soundfile.read(path, dtype="float32")
        except Exception as err:  # soundfile raises its own error types
            raise DataError(f"unreadable audio ({err})", path) from None
    if not MIN_RATE <= rate <= MAX_RATE:
        raise DataError(f"unusable sample rate ({rate:,} Hz; expected {MIN_RATE:,} to {MAX_RATE:,})", path)
    if len(x) > MAX_SECONDS * rate:  # resampling a long clip would cost gigabytes
        raise DataError(f"clip too long ({len(x) / rate:,.0f} s; at most {MAX_SECONDS:,} s)", path)
    x = _to_float(np.asarray(x))
    if x.ndim == 2:
        x = x.mean(axis=1)
        report.note("stereo mixed down to mono")
    if x.size == 0:
        raise DataError("empty audio (no samples)", path)
    if not np.isfinite(x).all():
        raise DataError("NaN or inf samples", path)
    if rate != sample_rate:
        g = gcd(int(rate), sample_rate)
        x = resample_poly(x, sample_rate // g, int(rate) // g).astype("float32")
        report.note(f"resampled to {sample_rate} Hz")
    return x


#: frequency bands the authors' future work asks for (notebook 07): name -> (scale, number of bands)
BANDS = {"bands128": ("linear", 128), "mel64": ("mel", 64)}


def _mel(hz):
    return 2595.0 * np.log10(1.0 + np.asarray(hz, dtype="float64") / 700.0)


def band_filterbank(scale: str, n_bands: int, n_bins: int = N_BINS, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """A (n_bins, n_bands) matrix that averages |FFT| bins into bands: pooling over frequency (notebook 07).

    ``linear``: equal-width rectangular bands (plain average pooling). ``mel``: triangles equally spaced on the mel
    scale, narrow at low frequencies and wide at high ones, as hearing is. Each band's weights sum to 1, so a band
    is a weighted mean of its bins; every band holds at least one bin.
    """
    if scale not in ("linear", "mel"):
        raise ValueError(f"scale must be 'linear' or 'mel', got {scale!r}")
    if not 1 <= n_bands <= n_bins:
        raise ValueError(f"n_bands must be 1..{n_bins}, got {n_bands}")
    bins = np.arange(n_bins)
    if scale == "linear":
        weights = (np.minimum(bins * n_bands // n_bins, n_bands - 1)[:, None] == np.arange(n_bands)).astype("float64")
    else:
        hz = bins * (sample_rate / 2) / (n_bins - 1)
        edges = np.interp(np.linspace(0, _mel(sample_rate / 2), n_bands + 2), _mel(hz), hz)  # band edges in Hz
        lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
        weights = np.maximum(0, np.minimum((hz - lower) / (centre - lower), (upper - hz) / (upper - centre))).T
        nearest = np.abs(hz[:, None] - centre.T).argmin(axis=0)  # the narrowest low bands may fall between bins
        weights[nearest, np.arange(n_bands)] = np.maximum(weights[nearest, np.arange(n_bands)], 1.0)
    return (weights / weights.sum(axis=0, keepdims=True)).astype("float32")


@lru_cache(maxsize=8)
def _filterbank(scale: str, n_bands: int, n_bins: int) -> np.ndarray:
    return band_filterbank(scale, n_bands, n_bins).astype(np.float64)


def block_spectrogram(
    x: np.ndarray, block: int = BLOCK, log: bool = True, normalize: bool = True, bands: str | None = None
) -> np.ndarray:
    """|rfft| of consecutive non-overlapping blocks: (blocks, block // 2 + 1), or (blocks, n_bands) with ``bands``.

    One vectorised FFT over a (blocks, block) view; a trailing partial block is
    dropped. ``bands`` (a key of :data:`BANDS`) averages the bins into bands before the log (notebook 07);
    ``log`` compresses magnitudes with log(1 + m); ``normalize`` scales
    the clip to zero mean and unit variance, so loudness does not dominate.
    """
    n = len(x) // block
    if n == 0:
        raise ValueError(f"clip of {len(x)} samples is shorter than one block of {block}")
    frames = np.asarray(x[: n * block], dtype="float32").reshape(n, block)
    spec = np.abs(np.fft.rfft(frames, axis=1)).astype("float32")
    if bands is not None:
        if bands not in BANDS:
            raise ValueError(f"bands must be one of {sorted(BANDS)}, got {bands!r}")
        # summed in float64, then rounded: a float32 product's last bits change with the CPU's BLAS kernel and its
        # thread count, and so would every number trained on the bands
        spec = (spec.astype(np.float64) @ _filterbank(*BANDS[bands], spec.shape[1])).astype(np.float32)
    if log:
        np.log1p(spec, out=spec)
    if normalize:
        spec -= spec.mean()
        spec /= spec.std() + 1e-6
    return spec


def memory_headroom() -> int | None:
    """Bytes this process may still allocate: the memory the system has available, less for a process under an
    address-space limit (``ulimit -v``); None where neither can be read (not Linux)."""
    import resource

    room = []
    try:
        with open("/proc/meminfo") as f:
            room += [int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:")]
        soft = resource.getrlimit(resource.RLIMIT_AS)[0]
        if soft != resource.RLIM_INFINITY:
            with open("/proc/self/status") as f:
                used = next(int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize:"))
            room.append(soft - used)
    except (OSError, ValueError, StopIteration):
        pass
    return min(room) if room else None


def refuse_beyond_memory(nbytes: int, what: str, path: Path) -> None:
    """A :class:`DataError` up front when an array of ``nbytes`` would not fit (instead of a MemoryError after the
    files are read, or a machine swapping for minutes)."""
    room = memory_headroom()
    if room is not None and nbytes > 0.8 * room:
        raise DataError(f"the spectrograms would need {nbytes / 2**30:,.1f} GiB ({what}) and this process has about "
                        f"{max(room, 0) / 2**30:,.1f} GiB: pass fewer --blocks, or pooled --bands (mel64 keeps 64 of "
                        f"{N_BINS:,} bins)", path)


def clip_length_blocks(audio_folder: str | Path, track_ids: Iterable[str], tries: int = 5) -> int | None:
    """Blocks in the longest of the first ``tries`` readable clips (at least 1), or None if none is readable:
    the clips' own length, for data without a card saying it."""
    found = []
    for tid in track_ids:
        try:
            found.append(max(1, len(read_audio(audio_path(Path(audio_folder), tid))) // BLOCK))
        except DataError:
            continue
        if len(found) == tries:
            break
    return max(found) if found else None


#: spectrograms this process has computed: (clip, its inode, size and times, settings) -> (blocks, conversion notes)
_SPECTRA: dict[tuple, tuple[np.ndarray, dict]] = {}
SPECTRA_BYTES = 512 << 20  # at most this much is kept; later clips are computed each time
_kept = [0]  # bytes in _SPECTRA


def forget_spectra() -> None:
    """Empty the spectrograms this process has kept (``make bench`` times an encoding with nothing cached)."""
    _SPECTRA.clear()
    _kept[0] = 0


def clip_spectrogram(path: Path, log: bool, normalize: bool, bands: str | None, report: SkipReport) -> np.ndarray:
    """:func:`block_spectrogram` of one clip file, computed once per process while the file is unchanged (notebook
    07 encodes the same clips for every seed and split); its conversion notes go to ``report`` on every call."""
    try:
        stat = path.stat()
        key = (str(path.resolve()), stat.st_ino, stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns,
               log, normalize, bands)
    except OSError:
        key = None  # read_audio says what is wrong with it
    if key not in _SPECTRA:
        notes = SkipReport()
        spec = block_spectrogram(read_audio(path, report=notes), log=log, normalize=normalize, bands=bands)
        spec.setflags(write=False)  # shared by every later call
        if key is None or _kept[0] + spec.nbytes > SPECTRA_BYTES:
            report.merge(notes)
            return spec
        _SPECTRA[key], _kept[0] = (spec, dict(notes.notes)), _kept[0] + spec.nbytes
    spec, notes = _SPECTRA[key]
    for what, n in notes.items():
        report.note(what, n)
    return spec


def encode_audio(
    audio_folder: str | Path,
    track_ids: Iterable[str],
    n_blocks: int,
    log: bool = True,
    normalize: bool = True,
    report: SkipReport | None = None,
    bands: str | None = None,
) -> EncodedSongs:
    """Block spectrograms for the tracks that have a readable ``TRACKID.wav`` (or .mp3, ...); ``bands`` pools
    each block's bins into frequency bands (see :func:`block_spectrogram`).

    Files are processed one at a time into one preallocated array, so memory is
    the size of the result. Clips are cropped or zero-padded to ``n_blocks``
    (noted in ``report``); unreadable files are counted as skips.
    """
    audio_folder = Path(audio_folder)
    report = report if report is not None else SkipReport()
    track_ids = list(track_ids)
    if bands is not None and bands not in BANDS:
        raise ValueError(f"bands must be one of {sorted(BANDS)}, got {bands!r}")
    width = BANDS[bands][1] if bands is not None else N_BINS
    refuse_beyond_memory(len(track_ids) * n_blocks * width * 4, f"{len(track_ids):,} clips x {n_blocks:,} blocks x "
                         f"{width:,} bins", audio_folder)
    data = np.zeros((len(track_ids), n_blocks, width), dtype="float32")
    lengths = np.zeros(len(track_ids), dtype="int32")
    kept = []
    for tid in track_ids:
        path = audio_path(audio_folder, tid)
        try:
            spec = clip_spectrogram(path, log, normalize, bands, report)
        except DataError as err:
            if report.strict:
                raise
            report.skip(err.reason, path, detail=err.detail)
            continue
        except ValueError as err:
            report.skip("clip shorter than one block", path, detail=str(err))
            continue
        if len(spec) != n_blocks:
            report.note("cropped" if len(spec) > n_blocks else "zero-padded to the clip length")
        row = len(kept)
        used = min(len(spec), n_blocks)
        data[row, :used] = spec[:used]
        lengths[row] = used
        kept.append(tid)
    return EncodedSongs(kept, data[: len(kept)], lengths[: len(kept)])
