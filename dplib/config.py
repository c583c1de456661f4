"""One place for run settings: quick mode, sizes, folders, seeds and the device.

Notebooks and the CLI read every size and epoch count from :func:`get_config`, so
``DPLIB_QUICK=1`` shrinks a whole run without editing a single cell. Every environment variable the library
reads is read here:

=====================  ==============================================================================
``DPLIB_QUICK=1``      quick mode: tiny data, few epochs (what ``make test`` runs the notebooks with)
``DPLIB_SIZE``         ``quick``, ``default`` (the committed outputs) or ``paper``
``DPLIB_SEED``         the seed of single-seed runs (default 0)
``DPLIB_STRATEGY``     ``mirrored`` (several GPUs) or ``tpu`` (Colab); unset: one device
``DPLIB_DATA``         the data folder (default ``data/`` in the checkout)
``DPLIB_DATA_FOLDER``  a folder of real MSD files the lyrics notebooks read instead of the synthetic data
``DPLIB_REAL_LYRICS``  the real lyrics set (default ``data/real-lyrics``; ``make`` points it at a shared copy)
``DPLIB_RESULTS``      where results JSON go (default ``results/<size>/``)
=====================  ==============================================================================

(``DPLIB_DEBUG=1`` makes the command line print tracebacks; :mod:`dplib.cli` reads it before anything else.)
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path


SIZE_NAMES = ("quick", "default", "paper")  # the synthetic sizes themselves: dplib.datasets.synthetic.SIZES


def _repo_root() -> Path:
    """The checkout that holds this package, or the working directory when installed."""
    here = Path(__file__).resolve().parent.parent
    if (here / "pyproject.toml").exists():
        return here
    return Path.cwd()


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Config:
    """Settings of one run. Paper sizes for the models are the defaults."""

    size: str = "default"
    seed: int = 0
    root: Path = field(default_factory=_repo_root)
    # training
    lyrics_epochs: int = 20  # a cap that patience, not the cap, ends almost every run before (notebooks 05, 08 count)
    # fixed-length trainings that show weights moving (notebook 04), not a best model: 8 show every lesson of 04
    # (its assertions check them) at half the time of 16
    lesson_epochs: int = 8
    audio_epochs: int = 30  # the same for the audio towers and the joint model; patience stops them early
    batch_size: int = 256
    audio_batch_size: int = 32  # the audio sets are small: more, smaller steps
    audio_learning_rate: float = 1e-3  # at 3e-3 the Conv1D towers collapse to a constant output
    strategy: str = "default"  # "mirrored" (several GPUs) or "tpu" (Colab TPU); DPLIB_STRATEGY
    learning_rate: float = 3e-3
    # stop this many epochs after the best validation AUC; the best epoch's weights are kept. 3 rather than 4 shortens
    # make reproduce; notebook 08's last exercise replays a shorter patience on the saved curves
    patience: int = 3
    seeds: tuple[int, ...] = (0, 1, 2)  # notebook 06 trains every configuration once per seed (the synthetic tables: seed)
    # the real lyrics set (notebook 06): about 1,500 training pairs per class, so smaller batches and more epochs
    real_epochs: int = 10  # a time budget that many runs reach; each keeps the best of the epochs it ran
    real_batch_size: int = 64
    real_patience: int = 4  # the answer notebook 06 exists for gets the longer wait
    real_pairs_per_class: tuple = (None, None, None)  # caps for train, val, test (None: all a balanced part allows)
    fractions: tuple = (0.8, 0.1, 0.1)  # train, val, test shares of the songs or pairs a split deals (synthetic data)
    real_fractions: tuple = (0.7, 0.15, 0.15)  # larger test parts than the synthetic ones: the set is small
    # new songs on the real set (notebook 06): repeated K-fold over lyric groups
    real_folds: int = 3  # K: a third of the songs tests, so about a ninth of the pairs lies inside each fold
    real_repeats: int = 5  # repeats of the headline model: each adds a fold deal and an initialisation to its interval
    real_control_repeats: int = 1  # repeats of the controls (fingerprints, the eight heads)
    # lyrics encoding
    max_len: int = 120
    min_count: int = 3
    max_doc_freq: float = 0.5

    def default_head(self, kind: str) -> tuple[str, int]:
        """The combiner and FC layers of the paper's best row: ``all`` + 2 FC (lyrics), ``absdiff`` + 1 FC (audio)."""
        return ("all", 2) if kind == "lyrics" else ("absdiff", 1)

    # where things are, read from the environment once, by get_config (None: the default inside the checkout)
    data_root: Path | None = None  # DPLIB_DATA
    user_data_folder: Path | None = None  # DPLIB_DATA_FOLDER: your own MSD files, read instead of the synthetic data
    real_lyrics_root: Path | None = None  # DPLIB_REAL_LYRICS
    results_root: Path | None = None  # DPLIB_RESULTS

    def learning_rate_for(self, kind: str) -> float:
        """Lyrics models train at ``learning_rate``; models with an audio tower ("audio", "joint") at
        ``audio_learning_rate``."""
        return self.learning_rate if kind == "lyrics" else self.audio_learning_rate

    def batch_size_for(self, kind: str) -> int:
        """Batches of ``batch_size`` for lyrics; the small audio and joint pair sets use ``audio_batch_size``."""
        return self.batch_size if kind == "lyrics" else self.audio_batch_size

    @property
    def quick(self) -> bool:
        return self.size == "quick"

    @property
    def data_folder(self) -> Path:
        return self.data_root or self.root / "data"

    @property
    def synthetic_folder(self) -> Path:
        """Where the synthetic mini-MSD of this size lives."""
        return self.data_folder / f"synthetic-{self.size}"

    @property
    def real_lyrics_folder(self) -> Path | None:
        """The real lyrics set (``pairs.csv`` + ``lyrics/``): ``DPLIB_REAL_LYRICS`` when set, else ``data/real-lyrics``
        (where ``dplib data fetch real-lyrics`` writes it); ``None`` when neither holds it."""
        candidates = [self.real_lyrics_root] if self.real_lyrics_root else [self.data_folder / "real-lyrics"]
        return next((c for c in candidates if (c / "pairs.csv").is_file() and (c / "lyrics").is_dir()), None)

    @property
    def results_folder(self) -> Path:
        return self.results_root or self.root / "results" / self.size

    def display(self, path: Path) -> str:
        """``path`` relative to the checkout when inside it or beside it (shorter, and the same on every machine)."""
        path = Path(path).resolve()
        if path.is_relative_to(self.root):
            return str(path.relative_to(self.root))
        if path.is_relative_to(self.root.parent):
            return str(Path("..") / path.relative_to(self.root.parent))
        return str(path)

    @property
    def figures_folder(self) -> Path:
        """Committed figures come from the default run; other sizes write beside their results."""
        if self.size == "default":
            return self.root / "figures"
        return self.results_folder / "figures"


def _path(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


class SettingError(ValueError):
    """A ``DPLIB_*`` variable that cannot be used (the command line says it in one line, without its type)."""


def get_config(**overrides) -> Config:
    """Read ``DPLIB_QUICK`` / ``DPLIB_SIZE`` / ``DPLIB_SEED`` and return the run's settings; ``size=...`` among the
    ``overrides`` picks a size (with its settings) whatever the environment says."""
    size = os.environ.get("DPLIB_SIZE", "default")
    if _truthy(os.environ.get("DPLIB_QUICK")):
        size = "quick"
    size = overrides.pop("size", size)  # an explicit size wins, with that size's settings
    if size not in SIZE_NAMES:
        raise SettingError(f"DPLIB_SIZE={size!r}: expected one of {', '.join(SIZE_NAMES)}")
    seed = os.environ.get("DPLIB_SEED", "0")
    if not seed.isdigit() or int(seed) >= 2**32:
        raise SettingError(f"DPLIB_SEED={seed!r}: expected a whole number from 0 to {2**32 - 1:,}")
    cfg = Config(size=size, seed=int(seed), strategy=os.environ.get("DPLIB_STRATEGY", "default"),
                 data_root=_path("DPLIB_DATA"), user_data_folder=_path("DPLIB_DATA_FOLDER"),
                 real_lyrics_root=_path("DPLIB_REAL_LYRICS"), results_root=_path("DPLIB_RESULTS"))
    if cfg.quick:
        cfg = replace(cfg, lyrics_epochs=4, audio_epochs=4, max_len=60, seeds=(0, 1), real_epochs=3,
                      real_batch_size=64, real_pairs_per_class=(150, 40, 40), real_folds=2, real_repeats=1)
    return replace(cfg, **overrides)
