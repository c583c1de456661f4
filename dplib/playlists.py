"""Playlists from song embeddings, and how well they retrieve held-out Last.fm similars.

Any trained pair model holds a tower; the tower maps a song to a vector, and the
nearest vectors (cosine) to a query song make its playlist. Retrieval is scored
against Last.fm's own similar lists, which the song-disjoint split kept out of training.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from .datasets.lyrics import EncodedSongs


def tower_of(model):
    """The shared tower inside a pair model (lyrics or audio). Taught in notebook 04 (also 09)."""
    for name in ("lyrics_tower", "audio_tower"):
        try:
            return model.get_layer(name)
        except ValueError:
            continue
    raise ValueError(f"model {model.name!r} has no lyrics_tower or audio_tower layer")


def bands_of(audio_tower) -> str | None:
    """The frequency bands an audio tower was trained on, read from its input width (None: every |FFT| bin)."""
    from .datasets.audio import BANDS

    width = audio_tower.input_shape[-1]
    return next((name for name, (_, n) in BANDS.items() if n == width), None)


def embed_songs(tower, songs: EncodedSongs, batch_size: int = 512, positions: np.ndarray | None = None) -> np.ndarray:
    """Tower outputs for every song in ``songs`` order (or for the songs at ``positions``, in that order), a batch at a
    time; lyrics batches are trimmed to their longest song. Taught in notebook 04 (also 09).
    """
    at = np.arange(len(songs)) if positions is None else np.asarray(positions)
    out = []
    for start in range(0, len(at), batch_size):
        x = songs.data[at[start : start + batch_size]]
        if x.ndim == 2:
            x = x[:, : max(int(songs.lengths[at[start : start + batch_size]].max()), 1)]
        out.append(np.asarray(tower(x, training=False)))
    return np.concatenate(out) if out else np.zeros((0, tower.output.shape[-1]), dtype="float32")


def cosine_matrix(queries: np.ndarray, items: np.ndarray) -> np.ndarray:
    q = queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12)
    i = items / np.maximum(np.linalg.norm(items, axis=1, keepdims=True), 1e-12)
    return q @ i.T


def pair_score_matrix(model, queries: np.ndarray, items: np.ndarray, rows_per_call: int = 64) -> np.ndarray:
    """p(similar) of every (query, item) pair of embedded songs, from the layers of ``model`` after its tower (its one
    combiner, then its dense head, dropout off): the tower runs once per song, not once per pair. For a model whose
    combiner is symmetric the matrix is symmetric. Taught in notebook 09."""
    combine, head = pair_head(model)
    out = np.empty((len(queries), len(items)), dtype="float32")
    for start in range(0, len(queries), rows_per_call):
        q = queries[start : start + rows_per_call]
        x = combine(np.repeat(q, len(items), axis=0), np.tile(items, (len(q), 1)))
        for layer in head:
            x = layer(x)
        out[start : start + len(q)] = np.asarray(x)[:, 1].reshape(len(q), len(items))
    return out


def pair_head(model) -> tuple:
    """What a pair model does after its tower: its one combiner layer, and its dense layers in order (dropout is
    off outside training, so it is left out)."""
    import keras

    from .layers import PairCombiner

    combiners = [layer for layer in model.layers if isinstance(layer, PairCombiner)]
    if len(combiners) != 1:
        raise ValueError(f"model {model.name!r} has {len(combiners)} pair combiners; a pair model has one")
    return combiners[0], [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def nearest(embeddings: np.ndarray, track_ids: Sequence[str], query_track: str, k: int = 10) -> list[tuple[str, float]]:
    """The ``k`` songs whose embeddings are closest (cosine) to ``query_track``'s, the query excluded. Taught in
    notebook 09."""
    ids = list(track_ids)
    if query_track not in ids:
        raise KeyError(f"query track {query_track} has no embedding (no lyrics/audio, or not in the data folder)")
    i = ids.index(query_track)
    sims = cosine_matrix(embeddings[i : i + 1], embeddings)[0]
    sims[i] = -np.inf
    order = np.argsort(-sims, kind="stable")[:k]
    return [(ids[j], float(sims[j])) for j in order]


def retrieval_metrics(
    scores: np.ndarray, relevance: np.ndarray, k: int = 10
) -> dict[str, float]:
    """recall@k, MAP@k and NDCG@k over queries (rows).

    ``scores``: (queries, candidates), higher first; use -inf to exclude a candidate (the query itself).
    ``relevance``: the Last.fm score of each (query, candidate), 0 when unlisted; a candidate is
    relevant when its score >= 0.5, and NDCG uses the score itself as the gain.
    """
    recalls, aps, ndcgs = [], [], []
    for s, rel in zip(scores, relevance):
        relevant = rel >= 0.5
        n_rel = int(relevant.sum())
        if n_rel == 0:
            continue
        top = np.argsort(-s, kind="stable")[:k]
        hits = relevant[top]
        recalls.append(hits.sum() / n_rel)
        precision_at = np.cumsum(hits) / np.arange(1, len(top) + 1)
        aps.append(float((precision_at * hits).sum() / min(n_rel, k)))
        discounts = 1.0 / np.log2(np.arange(2, len(top) + 2))
        dcg = float((rel[top] * discounts).sum())
        ideal = float((np.sort(rel)[::-1][: len(top)] * discounts).sum())
        ndcgs.append(dcg / ideal if ideal > 0 else 0.0)
    return {f"recall@{k}": float(np.mean(recalls)) if recalls else float("nan"),
            f"map@{k}": float(np.mean(aps)) if aps else float("nan"),
            f"ndcg@{k}": float(np.mean(ndcgs)) if ndcgs else float("nan"),
            "queries": len(recalls)}


def relevance_matrix(queries: Sequence[str], candidates: Sequence[str], scored_a, scored_b, scores) -> np.ndarray:
    """Last.fm scores of (query, candidate) pairs in either direction (the larger one), 0 if unlisted.
    Taught in notebook 09.
    """
    qi = {t: i for i, t in enumerate(queries)}
    ci = {t: i for i, t in enumerate(candidates)}
    rel = np.zeros((len(queries), len(candidates)), dtype="float32")
    for a, b, s in zip(scored_a, scored_b, scores):
        for x, y in ((a, b), (b, a)):
            if x in qi and y in ci and s > rel[qi[x], ci[y]]:
                rel[qi[x], ci[y]] = s
    return rel


def exclude_self(scores: np.ndarray, queries: Sequence[str], candidates: Sequence[str]) -> np.ndarray:
    ci = {t: i for i, t in enumerate(candidates)}
    scores = scores.astype("float64", copy=True)
    for row, q in enumerate(queries):
        if q in ci:
            scores[row, ci[q]] = -np.inf
    return scores


def describe(track_id: str, tracks: Mapping) -> str:
    info = tracks.get(track_id)
    return f"{track_id}  {info.artist} - {info.title}" if info else track_id


def playlist(run, corpus, query_track: str, k: int = 10, pair_score: bool = False, max_len: int = 120,
             report=None) -> list[str]:
    """``dplib playlist``: the ``k`` songs of ``corpus`` nearest to ``query_track`` by the saved run's tower
    (cosine of the tower states), or by its own p(similar) with ``pair_score``; one line per song, the query first.
    A song that cannot be encoded is counted in ``report`` (default ``corpus.report``; strict: an error)."""
    from .datasets.lyrics import encode_lyrics
    from .datasets.prepare import encode_clips
    from .datasets.report import DataError

    report = report if report is not None else corpus.report  # (an empty report is falsy: no `or`)
    if run.kind == "lyrics":
        songs = encode_lyrics(corpus.lyrics, run.vocab, run.max_len(max_len), report)
    else:
        if corpus.paths.audio is None:
            raise DataError("an audio model needs an audio/ folder of clips (or MSD .h5 track files) in the data folder",
                            corpus.paths.root)
        songs = encode_clips(corpus, corpus.audio_ids, None, report, bands_of(tower_of(run.model)))
    if query_track not in songs.position:
        raise DataError(f"track {query_track}: no {run.kind} for it in this data folder", corpus.paths.root)
    embeddings = embed_songs(tower_of(run.model), songs)
    if pair_score:
        i = songs.position[query_track]
        p = pair_score_matrix(run.model, embeddings[i : i + 1], embeddings)[0].astype("float64")
        p[i] = -np.inf
        ranked = [(songs.track_ids[i], float(p[i])) for i in np.argsort(-p, kind="stable")[:k]]
        label = "p(similar)"
    else:
        ranked = nearest(embeddings, songs.track_ids, query_track, k)
        label = "cosine"
    return [f"query: {describe(query_track, corpus.tracks)}"] + [
        f"{rank:>3}. {label} {score:6.3f}  {describe(tid, corpus.tracks)}" for rank, (tid, score) in enumerate(ranked, 1)]
