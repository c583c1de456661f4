"""dplib: the helper library of the DeepPlaylist tutorial.

What a notebook user needs, importable from ``dplib`` itself (each loads its module, and TensorFlow only when the
module needs it, on first use):

=====================  ========================================================================================
``setup``              the one set-up call of every notebook: settings, seeds, data, device (notebook 01)
``get_config``         the run's settings (``DPLIB_QUICK=1`` and the other variables, read once)
``seed_everything``    one seed for Python, NumPy and TensorFlow, ops made deterministic (notebook 04)
``load_corpus``        a data folder (Last.fm files or pairs.csv, lyrics, audio) as one corpus (notebook 01)
``prepare``            a corpus split into balanced train/val/test pairs, encoded for a model (notebook 03)
``build_lyrics_model`` the paper's siamese lyrics model in Keras (notebook 03); ``build_audio_model`` (07)
``train_model``        the one way every model here is trained: seeded, built under the strategy, fit to its
                       best validation epoch (notebook 03)
``evaluate``           accuracy, ROC AUC and the symmetry gap on one part (notebook 04)
``run_config``         train and record one configuration, or reuse its saved result (notebooks 05-07)
``load_run``           a run folder written by ``dplib train``, read back in a fresh process
=====================  ========================================================================================
"""
from importlib import import_module

FACE = {
    "setup": "notebook", "get_config": "config", "seed_everything": "runtime",
    "load_corpus": "datasets.corpus", "prepare": "experiments", "run_config": "experiments",
    "build_lyrics_model": "models", "build_audio_model": "models", "train_model": "training",
    "evaluate": "evaluation", "load_run": "runs",
}
__all__ = sorted(FACE)
__version__ = "0.1.0"


def __getattr__(name: str):
    if name in FACE:
        return getattr(import_module(f".{FACE[name]}", __name__), name)
    raise AttributeError(f"module 'dplib' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *FACE])
