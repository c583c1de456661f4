"""The one set-up call every notebook starts with (taught in notebook 01).

``cfg, folder = setup()`` quiets TensorFlow's start-up lines, reads the run's settings (``DPLIB_QUICK=1`` shrinks
data and epochs here, nowhere else), seeds Python, NumPy and TensorFlow, finds the data (generating the synthetic
mini-MSD the first time) and prints the device and what will run, so every notebook's first output says where and
how it ran.
"""
from __future__ import annotations

from pathlib import Path

from .config import Config, get_config
from .runtime import device_summary, quiet_tensorflow, seed_everything


def setup(corpus_name: str = "") -> tuple[Config, Path]:
    """``(cfg, data folder)`` for a notebook, from its ``corpus_name`` (as :class:`dplib.experiments.Experiment` names it):
    ``""``: ``DPLIB_DATA_FOLDER`` or the synthetic mini-MSD of this size; ``"real-lyrics"``: the real lyrics set
    (downloaded when absent and possible)."""
    if corpus_name not in ("", "real-lyrics"):
        raise ValueError(f"corpus_name must be '' (the synthetic data or DPLIB_DATA_FOLDER) or 'real-lyrics', got {corpus_name!r}")
    quiet_tensorflow()
    cfg = get_config()
    seed_everything(cfg.seed)
    if corpus_name == "real-lyrics":
        from .datasets.real_lyrics import ensure_real_lyrics

        folder = ensure_real_lyrics(cfg)
        runs = f"seeds: {cfg.seeds}"
    else:
        from .experiments import input_folder

        folder = input_folder(cfg)
        runs = f"seed: {cfg.seed}"
    print(device_summary())
    print(f"size: {cfg.size}, {runs}, data: {cfg.display(folder)}")
    if cfg.quick and not corpus_name:  # (the real-data notebook says it in its own words)
        print("QUICK MODE (DPLIB_QUICK=1): tiny data, few epochs and seeds, a smoke test of the code; its numbers "
              "answer nothing, and the prose between them describes the default run")
    return cfg, folder
