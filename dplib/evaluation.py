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
from .datasets.prepare import PairData


def _inputs(x, y):
    """A batch without its labels, for ``model.predict``."""
    return (x,)


def predict_pairs(model, pairs: Pairs, songs: EncodedSongs, batch_size: int = 512) -> np.ndarray:
    """p(similar) for every pair, in order: any pairs of encoded songs (a playlist's candidates, notebook 03's
    ROC curve); :func:`evaluate` scores a part of prepared data."""
    if len(pairs) == 0:
        return np.zeros(0, dtype="float32")
    return model.predict(pair_dataset(pairs, songs, batch_size, trim=True).map(_inputs), verbose=0)[:, 1]


def evaluate(model, data: PairData, part: str = "test", batch_size: int = 512, keep_scores: bool = False) -> dict:
    """Accuracy at p >= 0.5, ROC AUC and the symmetry gap on one part of ``data`` (in memory or streamed shards);
    ``p``: every prediction, in the part's order, when asked.

    Every part holds each pair in both orders, one after the other, so the symmetry gap compares neighbouring
    predictions: nothing has to be swapped or predicted twice.
    Taught in notebook 04.
    """
    pairs = data.pairs(part)
    if len(pairs) == 0:
        return {"accuracy": float("nan"), "roc_auc": float("nan"), "symmetry_gap": float("nan"), "n_pairs": 0}
    if not (np.array_equal(pairs.a[0::2], pairs.b[1::2]) and np.array_equal(pairs.b[0::2], pairs.a[1::2])):
        raise ValueError(f"the {part} part does not hold each pair in both orders side by side (Pairs.with_flips)")
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Your input ran out of data")  # a stream of unknown length ends
        p = model.predict(data.dataset(part, batch_size, shuffle=False).map(_inputs), verbose=0)[:, 1]
    out = {
        "accuracy": float(((p >= 0.5) == (pairs.label == 1)).mean()),
        "roc_auc": roc_auc(pairs.label, p),
        "symmetry_gap": float(np.abs(p[0::2] - p[1::2]).mean()),
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
    one pair (as every part here holds them), so pairs are resampled, not rows. Pairs that share songs are not
    independent, so on real data :func:`cluster_bootstrap` (which resamples source tracks) is the honest one.
    Used in notebook 09.
    """
    labels, scores = np.asarray(labels), np.asarray(scores)
    if flipped and len(labels) % 2:
        raise ValueError("flipped=True needs both orders of every pair: an even number of rows")
    if metric not in ("accuracy", "roc_auc"):
        raise ValueError(f"metric must be 'accuracy' or 'roc_auc', got {metric!r}")
    rng = np.random.default_rng(seed)
    values = []
    for start in range(0, n_boot, 250):  # resamples in blocks: one block's rows stay a few MB
        rows = np.stack([_resample(rng, len(labels), flipped) for _ in range(min(250, n_boot - start))])
        if metric == "accuracy":
            values.append(((scores[rows] >= 0.5) == (labels[rows] == 1)).mean(axis=1))
        else:
            values.append(roc_auc_rows(labels[rows], scores[rows]))
    low, high = np.nanquantile(np.concatenate(values), [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def _resample(rng: np.random.Generator, n: int, flipped: bool) -> np.ndarray:
    """Row indices of one bootstrap resample (whole pairs when ``flipped``)."""
    if flipped:
        k = rng.integers(0, n // 2, n // 2)
        return np.concatenate([2 * k, 2 * k + 1])
    return rng.integers(0, n, n)


def roc_auc_rows(labels: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """ROC AUC of every row at once, from ranks (the Mann-Whitney U statistic, ties at their mean rank): what
    :func:`dplib.baselines.roc_auc` gives row by row, without its per-call cost. NaN where a row has one class."""
    from scipy.stats import rankdata

    positive = labels == 1
    n_pos = positive.sum(axis=1)
    n_neg = labels.shape[1] - n_pos
    rank_sum = np.where(positive, rankdata(scores, axis=1), 0.0).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        auc = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), auc, np.nan)


def cluster_bootstrap(repeats, n_boot: int = 2000, seed: int = 0) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """ROC AUC of every scorer, averaged over repeats, and ``n_boot`` bootstrap draws of it that resample the
    *clusters* the pairs hang on (their source tracks), once for all repeats jointly.

    ``repeats``: objects with ``label``, ``source`` (one row per unordered pair) and ``scores`` ({scorer: scores}),
    e.g. :class:`dplib.songfolds.OutOfFold`. A cluster drawn m times counts each of its pairs m times in every
    repeat, so the draws keep the correlation between pairs of one source, and between repeats of the same pairs;
    a paired difference of two scorers is the difference of their draws. Taught in notebook 06.
    """
    clusters = sorted(set().union(*(set(r.source) for r in repeats)))
    index = {c: i for i, c in enumerate(clusters)}
    draws = np.random.default_rng(seed).multinomial(len(clusters), np.full(len(clusters), 1 / len(clusters)),
                                                   size=n_boot).astype("float64")
    names = sorted(set.intersection(*(set(r.scores) for r in repeats)))
    point = {n: 0.0 for n in names}
    boot = {n: np.zeros(n_boot) for n in names}
    for r in repeats:
        weights = draws[:, [index[c] for c in r.source]]
        for n in names:
            point[n] += float(weighted_auc(r.label, r.scores[n], np.ones((1, len(r.label))))[0]) / len(repeats)
            boot[n] += weighted_auc(r.label, r.scores[n], weights) / len(repeats)
    return point, boot


def weighted_auc(labels, scores, weights: np.ndarray) -> np.ndarray:
    """ROC AUC for each row of ``weights`` (one weight per pair): the weighted share of (positive, negative) pairs
    ranked right, ties counting one half. NaN where a row weighs one class at zero."""
    labels, scores = np.asarray(labels), np.asarray(scores)
    values, group = np.unique(scores, return_inverse=True)
    per = {}
    for cls in (0, 1):
        rows = labels == cls
        per[cls] = np.zeros((len(values), len(weights)))
        np.add.at(per[cls], group[rows], weights[:, rows].T)
    pos, neg = per[1], per[0]
    below = np.cumsum(neg, axis=0) - neg
    with np.errstate(divide="ignore", invalid="ignore"):
        return (pos * (below + neg / 2)).sum(axis=0) / (pos.sum(axis=0) * neg.sum(axis=0))
