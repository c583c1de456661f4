"""Evaluation of a pair model: accuracy, ROC AUC and the symmetry gap.

The symmetry gap is mean |p(a, b) - p(b, a)|: zero for a symmetric model,
whatever its accuracy. It shows in numbers what the concat-versus-difference
lesson argues on paper.
"""
from __future__ import annotations

import numpy as np

from .datasets.lyrics import EncodedSongs
from .datasets.pairs import Pairs
from .datasets.pipeline import pair_dataset


def predict_pairs(model, pairs: Pairs, songs: EncodedSongs, batch_size: int = 512) -> np.ndarray:
    """p(similar) for every pair, in order."""
    if len(pairs) == 0:
        return np.zeros(0, dtype="float32")
    ds = pair_dataset(pairs, songs, batch_size, trim=True).map(lambda x, y: (x,))
    return model.predict(ds, verbose=0)[:, 1]


def swapped(pairs: Pairs) -> Pairs:
    return Pairs(pairs.b, pairs.a, pairs.score, pairs.label)


def roc_auc(labels, scores) -> float:
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    if labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def evaluate_pairs(model, pairs: Pairs, songs: EncodedSongs, batch_size: int = 512) -> dict:
    """Accuracy at p >= 0.5, ROC AUC, and the symmetry gap on ``pairs``."""
    p = predict_pairs(model, pairs, songs, batch_size)
    p_swapped = predict_pairs(model, swapped(pairs), songs, batch_size)
    return {
        "accuracy": float(((p >= 0.5) == (pairs.label == 1)).mean()),
        "roc_auc": roc_auc(pairs.label, p),
        "symmetry_gap": float(np.abs(p - p_swapped).mean()),
        "n_pairs": int(len(pairs)),
    }
