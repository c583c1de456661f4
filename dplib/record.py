"""The run recorder: where the result of every trained model lives, when a saved one is reused, and how one is saved.

* **One layout**: ``results/<size>/<results name>/<holdout>/seed<k>/<name>.json`` (:func:`run_folder`), with
  ``<name>.keras`` beside it when the model itself is kept (notebook 09) and ``<name>.npz`` for per-song arrays
  (notebook 07's probe).
* **One reuse rule**: :func:`same_making`: the same pairs, protocol and settings, and an epoch budget that changes
  nothing.
* **One save order**: the model and the arrays first, the JSON last, each file written whole
  (:func:`dplib.datasets.files.written`): a JSON on disk means a complete record.

Every record holds :data:`KEYS` (the test ROC AUC as ``roc_auc``); :func:`record` refuses one without them. What
trains the model is :func:`dplib.training.train_model`; the command line's run folders (``dplib train``:
``model.keras`` + ``metrics.json``, :mod:`dplib.runs`) are saved by :func:`record` too, in the same order.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .config import Config
from .datasets.files import write_json, written

#: what every record holds, whoever trained it: what it was made from, how training went, and its test numbers
KEYS = ("name", "seed", "data_key", "protocol", "settings", "best_epoch", "epochs_run", "history", "seconds",
        "test_accuracy", "roc_auc", "machine")

#: the per-epoch curves a record keeps (``history``): enough to replay another patience or epoch cap from saved runs
HISTORY = ("loss", "accuracy", "val_loss", "val_accuracy", "val_auc")


def run_folder(cfg: Config, results_name: str, holdout: str, seed: int | None = None) -> Path:
    """Where the records of ``results_name`` (``lyrics``, ``audio``, ``audio-mel64``, ``real-lyrics``, ``joint``,
    ``audio-probe/audio``, ...) on ``holdout`` for ``seed`` (default ``cfg.seed``) live."""
    return cfg.results_folder / results_name / holdout / f"seed{cfg.seed if seed is None else seed}"


def same_making(saved: dict, data_key: str, now: dict, protocol: int) -> bool:
    """The one reuse rule (Tables 2 and 3, notebook 06, notebook 07's probe, notebook 09's models): the same pairs,
    protocol and settings (``now``: every key but ``epochs`` must match), and the same epoch budget, or a larger one
    that the run never needed (it stopped ``patience`` epochs after its best epoch before reaching its cap, so with the
    same seed a larger cap trains the same steps and stops at the same epoch)."""
    was = saved.get("settings", {})
    if saved.get("data_key") != data_key or saved.get("protocol", 1) != protocol:
        return False
    if any(was.get(k) != v for k, v in now.items() if k != "epochs"):
        return False
    if was.get("epochs") == now["epochs"]:
        return True
    return not cut_by_cap(saved) and saved["epochs_run"] <= now["epochs"]


def cut_by_cap(run: dict) -> bool:
    """Whether a record's training reached its epoch cap before ``patience`` epochs without gain confirmed its best
    epoch (it kept the best epoch it ran, and more epochs might have found a better one); ``False`` for a run that
    early stopping ended. Notebooks 05, 06 and 08 count these runs."""
    patience = run["settings"]["patience"]
    return patience is None or run["epochs_run"] - run["best_epoch"] < patience


def recall(path: Path, data_key: str, settings: dict, protocol: int, model: bool = False,
           arrays: tuple[str, ...] = ()) -> dict | None:
    """The record at ``path`` (``<name>.json``) when :func:`same_making` allows it, marked ``"reused": True``, with
    its model (``"model"``, loaded in safe mode) and ``arrays`` when asked for; ``None`` when there is none, it is
    unreadable or incomplete, or it was made otherwise."""
    try:
        saved = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(saved, dict) or not same_making(saved, data_key, json.loads(json.dumps(settings)), protocol):
        return None
    out = {**saved, "reused": True}
    try:
        if arrays:
            with np.load(Path(path).with_suffix(".npz")) as stored:
                out |= {name: stored[name] for name in arrays}
        if model:
            import keras

            out["model"] = keras.models.load_model(Path(path).with_suffix(".keras"))
    except (OSError, ValueError, KeyError):
        return None
    return out


def record(path: Path, result: dict, model=None, arrays: dict[str, np.ndarray] | None = None,
           model_file: Path | None = None) -> dict:
    """Save ``result`` as ``path`` (``<name>.json``), after ``model`` (``<name>.keras``, or ``model_file``: a run
    folder's ``model.keras``, :mod:`dplib.runs`) and ``arrays`` (``<name>.npz``) when given; the JSON goes first
    when replacing, so an interrupted save leaves no record that points at a half-written model. Returns ``result``."""
    missing = [key for key in KEYS if key not in result]
    if missing:
        raise ValueError(f"a record of {Path(path).name} needs {', '.join(missing)}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    if arrays:
        with written(path.with_suffix(".npz")) as partial:
            with open(partial, "wb") as handle:
                np.savez(handle, **arrays)
    if model is not None:
        with written(model_file or path.with_suffix(".keras")) as partial:
            model.save(partial)
    write_json(path, result)
    return result


#: what a training measured; equal on two runs, the second reproduced the first (same machine, same seed)
MEASURED = ("train_accuracy", "val_accuracy", "test_accuracy", "roc_auc", "best_epoch", "epochs_run", "history")


def reproduced(saved: dict | None, result: dict) -> bool:
    """Whether a retrained ``result`` measured what a reusable record (``saved``, from :func:`recall`) did. Notebook
    03 retrains Table 2's row to show its curves; rewriting the record then changed only its clock, and with it the
    training time the README sums next to notebook 05's."""
    return saved is not None and all(saved.get(key) == result.get(key) for key in MEASURED)
