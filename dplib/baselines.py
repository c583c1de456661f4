"""Model-free baselines: how far does a cosine between simple features get?

Every table in the tutorial prints these beside the networks, so a reader can see
what the LSTM adds over counting words (TF-IDF) or comparing average spectra.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np


def _cosine_rows(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    nx = np.linalg.norm(x, axis=1)
    ny = np.linalg.norm(y, axis=1)
    return np.einsum("ij,ij->i", x, y) / np.maximum(nx * ny, 1e-12)


def tfidf_cosine(texts: Mapping[str, str], a: Sequence[str], b: Sequence[str], fit_on: Sequence[str] | None = None) -> np.ndarray:
    """Cosine similarity of TF-IDF vectors of the lyrics of songs ``a[i]`` and ``b[i]``.

    The IDF weights are fitted on ``fit_on`` (training songs) when given, else on all songs in the pairs.
    Taught in notebook 03.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    songs = sorted(set(a) | set(b))
    vectorizer = TfidfVectorizer(token_pattern=r"[a-z0-9']+")
    vectorizer.fit([texts[t] for t in (fit_on if fit_on is not None else songs)])
    matrix = vectorizer.transform([texts[t] for t in songs])  # rows are L2-normalised
    row = {t: i for i, t in enumerate(songs)}
    ia = np.fromiter((row[t] for t in a), dtype=int, count=len(a))
    ib = np.fromiter((row[t] for t in b), dtype=int, count=len(b))
    return np.asarray(matrix[ia].multiply(matrix[ib]).sum(axis=1)).ravel()


def spectral_cosine(mean_spectra: Mapping[str, np.ndarray], a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """Cosine of the time-averaged (log) spectra of two clips, centred over songs."""
    songs = sorted(set(a) | set(b))
    matrix = np.stack([mean_spectra[t] for t in songs]).astype("float64")
    matrix -= matrix.mean(axis=0)
    row = {t: i for i, t in enumerate(songs)}
    return _cosine_rows(matrix[[row[t] for t in a]], matrix[[row[t] for t in b]])


def threshold_accuracy(train_scores, train_labels, scores, labels) -> tuple[float, float]:
    """Pick the cut on training scores that maximises accuracy; report (cut, accuracy on ``scores``).
    Taught in notebook 03.
    """
    train_scores, train_labels = np.asarray(train_scores), np.asarray(train_labels)
    candidates = np.unique(np.quantile(train_scores, np.linspace(0, 1, 201)))
    accs = [((train_scores >= c) == train_labels).mean() for c in candidates]
    cut = float(candidates[int(np.argmax(accs))])
    return cut, float(((np.asarray(scores) >= cut) == np.asarray(labels)).mean())


def song_identity_scores(train_a: Sequence[str], train_b: Sequence[str], train_labels, a: Sequence[str],
                         b: Sequence[str], prior_weight: float = 1.0) -> np.ndarray:
    """Score a pair by how often each of its two songs was "similar" in the training pairs; reads no lyrics.

    Each song gets its smoothed share of positive training pairs, r(s) = (pos(s) + w p0) / (n(s) + w), with p0
    the training share of positives; a pair scores r(a) + r(b). A song never seen in training gets p0, so on new
    songs this baseline knows nothing: what it reaches on a random pair split is song identity leaking across
    the split. Taught in notebook 06.
    """
    labels = np.asarray(train_labels, dtype=float)
    p0 = float(labels.mean()) if len(labels) else 0.5
    pos: dict[str, float] = {}
    seen: dict[str, float] = {}
    for x, y, label in zip(train_a, train_b, labels):
        for song in (x, y):
            pos[song] = pos.get(song, 0.0) + label
            seen[song] = seen.get(song, 0.0) + 1.0

    def rate(song: str) -> float:
        return (pos.get(song, 0.0) + prior_weight * p0) / (seen.get(song, 0.0) + prior_weight)

    return np.array([rate(x) + rate(y) for x, y in zip(a, b)], dtype="float64")


def tfidf_logistic(texts: Mapping[str, str], train_a: Sequence[str], train_b: Sequence[str], train_labels,
                   a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    """A learned lyrics scorer that is not the paper's: logistic regression on the element-wise product of the
    two songs' TF-IDF vectors (fitted on the training songs), trained on the training pairs. The product is
    symmetric, so is the score; unlike the cosine it learns which shared words matter. Taught in notebook 06."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression

    vectorizer = TfidfVectorizer(token_pattern=r"[a-z0-9']+", min_df=2)
    vectorizer.fit([texts[t] for t in sorted(set(train_a) | set(train_b))])

    def features(x, y):
        songs = sorted(set(x) | set(y))
        matrix = vectorizer.transform([texts[t] for t in songs])
        row = {t: i for i, t in enumerate(songs)}
        return matrix[[row[t] for t in x]].multiply(matrix[[row[t] for t in y]]).tocsr()

    model = LogisticRegression(C=10.0, max_iter=2000)
    model.fit(features(train_a, train_b), np.asarray(train_labels))
    return model.predict_proba(features(a, b))[:, 1]
