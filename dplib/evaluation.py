"""Evaluation of a pair model: accuracy, ROC AUC and the symmetry gap.

The symmetry gap is mean |p(a, b) - p(b, a)|: zero for a symmetric model,
whatever its accuracy. It shows in numbers what the concat-versus-difference
lesson argues on paper.
"""
from __future__ import annotations

import warnings

import numpy as np

from .baselines import roc_auc
from .datasets.lyrics import EncodedSongs
from .datasets.pairs import Pairs
from .datasets.pipeline import pair_dataset
from .datasets.streaming import StreamedLyrics


def predict_pairs(model, pairs: Pairs, songs: EncodedSongs, batch_size: int = 512) -> np.ndarray:
    """p(similar) for every pair, in order."""
    if len(pairs) == 0:
        return np.zeros(0, dtype="float32")
    ds = pair_dataset(pairs, songs, batch_size, trim=True).map(lambda x, y: (x,))
    return model.predict(ds, verbose=0)[:, 1]


def swapped(pairs: Pairs) -> Pairs:
    return Pairs(pairs.b, pairs.a, pairs.score, pairs.label)


def evaluate_pairs(model, pairs: Pairs, songs: EncodedSongs, batch_size: int = 512, keep_scores: bool = False) -> dict:
    """Accuracy at p >= 0.5, ROC AUC, and the symmetry gap on ``pairs`` (``p``: every prediction, when asked)."""
    p = predict_pairs(model, pairs, songs, batch_size)
    p_swapped = predict_pairs(model, swapped(pairs), songs, batch_size)
    out = {
        "accuracy": float(((p >= 0.5) == (pairs.label == 1)).mean()) if len(pairs) else float("nan"),
        "roc_auc": roc_auc(pairs.label, p),
        "symmetry_gap": float(np.abs(p - p_swapped).mean()) if len(pairs) else float("nan"),
        "n_pairs": int(len(pairs)),
    }
    if keep_scores:
        out["p"] = [round(float(x), 5) for x in p]
    return out


def bootstrap_ci(labels, scores, metric: str = "accuracy", n_boot: int = 2000, level: float = 0.95,
                 seed: int = 0, flipped: bool = True) -> tuple[float, float]:
    """A percentile bootstrap interval for ``accuracy`` (at p >= 0.5) or ``roc_auc`` on ONE test set.

    It measures how much the number would move with another test set of the same size; the spread over seeds
    also counts another split and another initialisation. ``flipped``: rows 2k and 2k+1 are the two orders of
    one pair (as every split here holds them), so pairs are resampled, not rows. Taught in notebook 06.
    """
    labels, scores = np.asarray(labels), np.asarray(scores)
    if flipped and len(labels) % 2:
        raise ValueError("flipped=True needs both orders of every pair: an even number of rows")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        if flipped:
            k = rng.integers(0, len(labels) // 2, len(labels) // 2)
            i = np.concatenate([2 * k, 2 * k + 1])
        else:
            i = rng.integers(0, len(labels), len(labels))
        if metric == "accuracy":
            values.append(((scores[i] >= 0.5) == (labels[i] == 1)).mean())
        elif metric == "roc_auc":
            values.append(roc_auc(labels[i], scores[i]))
        else:
            raise ValueError(f"metric must be 'accuracy' or 'roc_auc', got {metric!r}")
    low, high = np.nanquantile(values, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def evaluate_shards(model, data: StreamedLyrics, split: str = "test", batch_size: int = 512) -> dict:
    """:func:`evaluate_pairs` for streamed data (:class:`dplib.datasets.streaming.StreamedLyrics`).

    The shards store every pair in both orders, one after the other, so the symmetry
    gap compares neighbouring predictions; nothing has to be swapped or held in memory.
    """
    ds = data.dataset(split, batch_size, shuffle=False)
    labels = np.concatenate([y.numpy() for _, y in ds]) if data.counts()[split]["pairs"] else np.zeros(0)
    if len(labels) == 0:
        return {"accuracy": float("nan"), "roc_auc": float("nan"), "symmetry_gap": float("nan"), "n_pairs": 0}
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Your input ran out of data")  # a stream of unknown length ends
        p = model.predict(ds.map(lambda x, y: (x,)), verbose=0)[:, 1]
    return {
        "accuracy": float(((p >= 0.5) == (labels == 1)).mean()),
        "roc_auc": roc_auc(labels, p),
        "symmetry_gap": float(np.abs(p[0::2] - p[1::2]).mean()),
        "n_pairs": int(len(labels)),
    }
