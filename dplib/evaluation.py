"""Evaluation of a pair model: accuracy, ROC AUC and the symmetry gap.

The symmetry gap is mean |p(a, b) - p(b, a)|: zero for a symmetric model,
whatever its accuracy. It shows in numbers what the concat-versus-difference
lesson argues on paper.
"""
from __future__ import annotations

import warnings

import numpy as np

from .datasets.lyrics import EncodedSongs
from .datasets.pairs import Pairs
from .datasets.prepare import PairData, Prepared


def roc_auc(labels, scores) -> float:
    """Area under the ROC curve of ``scores`` for binary ``labels``; NaN when one class is missing (no curve).
    Taught in notebook 03; the model-free baselines are scored with it too.
    """
    from sklearn.metrics import roc_auc_score

    labels = np.asarray(labels)
    if len(labels) == 0 or labels.min() == labels.max():
        return float("nan")
    return float(roc_auc_score(labels, scores))


def _inputs(x, y):
    """A batch without its labels, for ``model.predict``."""
    return (x,)


def predict_pairs(model, pairs: Pairs, songs: EncodedSongs, batch_size: int = 512) -> np.ndarray:
    """p(similar) for every pair, in order: any pairs of encoded songs (a playlist's candidates, notebook 03's
    ROC curve); :func:`evaluate` scores a part of prepared data."""
    if len(pairs) == 0:
        return np.zeros(0, dtype="float32")
    from .datasets.pipeline import pair_dataset  # TensorFlow: loaded by what runs a model, not by the tables

    return model.predict(pair_dataset(pairs, songs, batch_size, trim=True).map(_inputs), verbose=0)[:, 1]


def evaluate(model, data: PairData, part: str = "test", batch_size: int = 512, keep_scores: bool = False) -> dict:
    """Accuracy at p >= 0.5, ROC AUC and the symmetry gap on one part of ``data`` (in memory or streamed shards);
    ``p``: every prediction, in the part's order, when asked.

    Every part holds each pair in both orders, one after the other, so the symmetry gap compares neighbouring
    predictions: nothing has to be swapped or predicted twice.
    Taught in notebook 04.
    """
    rows = data.rows(part)
    if len(rows) == 0:
        return {"accuracy": float("nan"), "roc_auc": float("nan"), "symmetry_gap": float("nan"), "n_rows": 0}
    if not (np.array_equal(rows.a[0::2], rows.b[1::2]) and np.array_equal(rows.b[0::2], rows.a[1::2])):
        raise ValueError(f"the {part} part does not hold each pair in both orders side by side (Pairs.with_flips)")
    towers = {layer.name for layer in model.layers} & {"audio_tower", "lyrics_tower"}
    if towers == {"audio_tower"} and hasattr(data, "songs"):  # one audio tower, songs in memory
        p = audio_pair_scores(model, data.songs, rows, batch_size)
    else:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Your input ran out of data")  # a stream of unknown length ends
            p = model.predict(data.dataset(part, batch_size, shuffle=False).map(_inputs), verbose=0)[:, 1]
    return scores_metrics(rows.label, p, keep_scores)


def audio_pair_scores(model, songs: EncodedSongs, pairs: Pairs, batch_size: int = 512) -> np.ndarray:
    """p(similar) of every pair of an audio model, with its tower run once per song rather than twice per row:
    what ``model.predict`` computes (the head's layers on the combined tower outputs, dropout off), with the tower,
    most of the work, run about a quarter as often on a training part (a row's two orders and a song's several pairs
    share it). Equal to ``model.predict`` to float32 rounding (tested)."""
    from .playlists import embed_songs, pair_head

    used = sorted(pairs.songs())  # the clips are gathered a batch at a time, never copied whole
    embeddings = embed_songs(model.get_layer("audio_tower"), songs, batch_size, positions=songs.positions(used))
    position = {t: i for i, t in enumerate(used)}  # in ``embeddings``
    a = np.fromiter((position[t] for t in pairs.a), dtype="int64", count=len(pairs))
    b = np.fromiter((position[t] for t in pairs.b), dtype="int64", count=len(pairs))
    combine, head = pair_head(model)
    out = []
    for start in range(0, len(pairs), 8 * batch_size):  # the head is small: larger batches
        x = combine(embeddings[a[start : start + 8 * batch_size]], embeddings[b[start : start + 8 * batch_size]])
        for layer in head:
            x = layer(x)
        out.append(np.asarray(x)[:, 1])
    return np.concatenate(out)


def scores_metrics(label: np.ndarray, p: np.ndarray, keep_scores: bool = False) -> dict:
    """:func:`evaluate`'s numbers from the predictions ``p`` of a part's rows (each pair in both orders, side by
    side) and their labels: also for scores that no single model made (notebook 09's late fusion)."""
    p = np.asarray(p)
    out = {
        "accuracy": float(((p >= 0.5) == (np.asarray(label) == 1)).mean()),
        "roc_auc": roc_auc(label, p),
        "symmetry_gap": float(np.abs(p[0::2] - p[1::2]).mean()),
        "n_rows": int(len(p)),  # each pair twice
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
    for start in range(0, n_boot, 250):  # resamples in blocks: one block's picks stay a few MB
        picks = np.stack([_resample(rng, len(labels), flipped) for _ in range(min(250, n_boot - start))])
        if metric == "accuracy":
            values.append(((scores[picks] >= 0.5) == (labels[picks] == 1)).mean(axis=1))
        else:
            values.append(roc_auc_rows(labels[picks], scores[picks]))
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
    :func:`roc_auc` gives row by row, without its per-call cost. NaN where a row has one class."""
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
        of_class = labels == cls
        per[cls] = np.zeros((len(values), len(weights)))
        np.add.at(per[cls], group[of_class], weights[:, of_class].T)
    pos, neg = per[1], per[0]
    below = np.cumsum(neg, axis=0) - neg
    with np.errstate(divide="ignore", invalid="ignore"):
        return (pos * (below + neg / 2)).sum(axis=0) / (pos.sum(axis=0) * neg.sum(axis=0))


def score_saved(run, pairs_csv, lyrics, strict: bool = False, max_len: int = 120) -> dict:
    """``dplib evaluate``: a saved lyrics run (:func:`dplib.runs.load_run`) scores the labelled pairs of
    ``pairs_csv`` whose two songs have lyrics in ``lyrics``, beside TF-IDF cosine on the same pairs. ROC AUC with
    a 95% interval from a bootstrap over the source tracks the pairs hang on; fewer than 30 pairs of a class is a
    ``warning``; pairs of one class only is a :class:`DataError` (an AUC needs both). ``max_len``: words kept per
    song when the run does not record its own."""
    from .answer import interval
    from .baselines import tfidf_cosine
    from .datasets.lyrics import encode_lyrics, load_lyrics_texts
    from .datasets.pairs import build_pair_pool, read_pairs_csv
    from .datasets.report import DataError, SkipReport
    from .songfolds import OutOfFold, pair_scores, pair_sources

    if run.kind != "lyrics":
        raise DataError("dplib evaluate scores lyrics models; this one has an audio tower", run.folder / "model.keras")
    report = SkipReport(strict)
    scored = read_pairs_csv(pairs_csv, report)
    texts = load_lyrics_texts(lyrics, report=report)
    if not texts:
        raise DataError("no lyrics read from it: a JSONL file of {track_id, text} or a folder of TRACKID.txt", lyrics)
    songs = encode_lyrics(texts, run.vocab, run.max_len(max_len), report)
    pairs = build_pair_pool(scored, songs.track_ids, report=report)
    if len(pairs) == 0:
        raise DataError("no pair left to score: both songs of a pair need lyrics with known words"
                        + (f" (skipped: {report.top()})" if report.skips else ""), pairs_csv)
    if pairs.n_positive in (0, len(pairs)):
        raise DataError(f"all {len(pairs):,} scorable pairs are {'similar' if pairs.n_positive else 'not similar'} "
                        "(score >= 0.5 is similar): an AUC needs pairs of both classes", pairs_csv)
    data = Prepared.to_score("lyrics", pairs, songs, report)
    measured = evaluate(run.model, data, "test", keep_scores=True)
    p = np.asarray(measured.pop("p"))
    test_pairs = OutOfFold(pairs.a, pairs.b, pairs.label, pair_sources(scored, pairs))
    test_pairs.scores = {"model": pair_scores(p), "baseline": tfidf_cosine(texts, pairs.a, pairs.b)}
    point, draws = cluster_bootstrap([test_pairs], seed=0)
    positives = pairs.label == 1
    metrics = {
        "model": str(run.folder / "model.keras"), "pairs": str(pairs_csv), "n_pairs": len(pairs),
        "n_positive": int(positives.sum()), "accuracy": measured["accuracy"],
        "balanced_accuracy": balanced_accuracy(p, data.rows("test").label == 1),
        "roc_auc": point["model"], "roc_auc_ci": interval(draws["model"]), "symmetry_gap": measured["symmetry_gap"],
        "baseline": "TF-IDF cosine (IDF fitted on these songs)", "baseline_auc": point["baseline"],
        "baseline_auc_ci": interval(draws["baseline"]),
        "model_minus_baseline_ci": interval(draws["model"] - draws["baseline"]),
        "interval": (f"95% percentile bootstrap, 2,000 resamples of the {len(set(test_pairs.source)):,} source tracks "
                     "the pairs hang on (the track whose Last.fm listing named each pair)"),
        "majority_accuracy": float(max(positives.mean(), 1 - positives.mean())), "skipped": dict(report.skips),
        "report": report.summary(),
    }
    sources = len(set(test_pairs.source))
    if sources < 2:  # every resample is the same set: no interval, rather than one of zero width
        metrics |= {key: None for key in ("roc_auc_ci", "baseline_auc_ci", "model_minus_baseline_ci")}
    warning = small_sample_warning(metrics, sources)
    return metrics | ({"warning": warning} if warning else {})


def small_sample_warning(metrics: dict, sources: int) -> str:
    """What ``dplib evaluate`` says when its numbers rest on few pairs or few source tracks ("" when neither)."""
    fewest = min(metrics["n_positive"], metrics["n_pairs"] - metrics["n_positive"])
    said = []
    if fewest < 30:  # the AUC compares every similar pair with every other: its interval rests on so few
        said.append(f"only {fewest} {'similar' if fewest == metrics['n_positive'] else 'not similar'} "
                    f"pair{'s' if fewest != 1 else ''}: the AUC and its interval rest on them")
    if sources < 2:
        said.append("all pairs hang on one source track: no interval (a bootstrap over sources needs several)")
    elif sources < 10:
        said.append(f"only {sources} source tracks: the interval, resampled over them, is a rough guide")
    return "; ".join(said)


def balanced_accuracy(p: np.ndarray, similar: np.ndarray) -> float:
    """Mean of the two classes' recalls at p >= 0.5 (a class absent from ``similar`` is left out)."""
    said = p >= 0.5
    return float(np.mean([(said[similar == c] == c).mean() for c in (True, False) if (similar == c).any()]))
