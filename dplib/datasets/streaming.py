"""Lyrics preparation that streams: from the Last.fm and lyrics files to TFRecord shards,
with the corpus never held in memory.

:mod:`.prepare` does the same job with Python dicts and sets, which is clear and fast
up to a few million listings. The full Last.fm set has 56 M, so here each step
is a pass over files and memory holds a few numbers per song, one byte per pair (its part), the kept pairs and
one bucket of pairs:

1. **songs**: the track ids that have lyrics, sorted.
2. **buckets**: every listing becomes (song index, song index, score), smaller index
   first, appended to one of ``n_buckets`` files by the range its smaller index falls in.
   Both directions of a pair land in the same bucket, so a bucket alone can keep the
   higher score of a pair listed twice, and reading the buckets in order gives the pool's
   pairs in sorted order, the order the in-memory pool has.
3. **parts**: each pair's part from :class:`~.pairs.PartDraw`, the split rule the in-memory
   path uses, fed the pool bucket by bucket: the same seed gives the same parts.
4. **balance**: count positives and negatives per part, then draw ``n = min(positives,
   negatives, cap)`` of each and their shuffle with :func:`~.pairs.balanced_draw`, which needs
   only the counts; a second pass over the buckets picks those pairs, in that order. So the
   kept pairs, and their order, are the in-memory path's for the same seed.
5. **vocabulary** from the training songs only, then the songs the pairs use encoded
   into a memory-mapped ``songs.npy``.
6. **shards**: every kept pair written in both orders (Table 1's flips), plus a CSV of
   the pairs with their track ids, a vocabulary and a ``manifest.json`` of counts.

Each step is a function that takes what the steps before it returned and returns a small value
(``index_songs`` -> ``SongIndex``, ``bucket_pairs`` -> ``Buckets``, ``split_pool`` -> ``PoolParts``,
``balance_parts`` -> a ``BalancedDraw`` per part, ``draw_pairs`` -> ``Drawn``, ``fit_vocabulary``, ``encode_songs``
-> ``EncodedOnDisk``, ``write_shards``), so a test
or a notebook can run the first few and look at what they return; :func:`prepare_lyrics_shards` runs them all.

Only the default negatives (listed pairs scored below 0.5, what the real data gives)
are supported here; random unlisted negatives need the in-memory path.
"""
from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .corpus import DataPaths, find_data, iter_lyrics, iter_listings
from .files import partial_folder, replace_folder, write_json
from .lyrics import Vocabulary, tokenize
from .pairs import (PARTS, THRESHOLD, BalancedDraw, PartDraw, balanced_draw,
                    report_pool_skips)
from .report import DataError, SkipReport
from .shards import MANIFEST, StreamedLyrics, fingerprint

PAIR_RECORD = np.dtype([("a", "<i4"), ("b", "<i4"), ("score", "<f4")])
KEPT_RECORD = np.dtype([("a", "<i4"), ("b", "<i4"), ("score", "<f4"), ("label", "i1")])
PER_CHUNK = 10_000


def lookup(ids: np.ndarray, keys: np.ndarray) -> np.ndarray:
    """Position of each key in the sorted ``ids``, or -1."""
    if len(ids) == 0:
        return np.full(len(keys), -1, dtype=np.int32)
    pos = np.searchsorted(ids, keys).clip(0, len(ids) - 1)
    return np.where(ids[pos] == keys, pos, -1).astype(np.int32)


def _as_bytes(values: list[str]) -> np.ndarray:
    return np.array([v.encode("utf-8") for v in values], dtype="S") if values else np.array([], dtype="S1")


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    chunk = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# 1. songs -------------------------------------------------------------------------------------
@dataclass
class SongIndex:
    """Pass 1's result: the sorted utf-8 ids of the songs with lyrics, and which repeat."""

    ids: np.ndarray
    repeats: dict[int, int]  # song index -> times listed, for songs listed more than once

    def lyrics_once(self, paths: DataPaths) -> Iterator[tuple[int, str]]:
        """(song index, text) for every song, its last text when it is listed twice (as a dict keeps it)."""
        seen: dict[int, int] = {}
        for chunk in _chunks(iter_lyrics(paths, SkipReport()), 10_000):  # skips were counted in pass 1
            index = lookup(self.ids, _as_bytes([tid for tid, _ in chunk]))
            for i, (_, text) in zip(index.tolist(), chunk):
                if i in self.repeats:
                    seen[i] = seen.get(i, 0) + 1
                    if seen[i] < self.repeats[i]:
                        continue
                yield i, text


def index_songs(paths: DataPaths, report: SkipReport) -> SongIndex:
    """Pass 1: one read of the lyrics for their track ids."""
    if paths.lyrics is None and not paths.mxm:
        raise DataError("no lyrics: expected lyrics.jsonl, lyrics/ or mxm_dataset_*.txt", paths.root)
    tids = (tid for tid, _ in iter_lyrics(paths, report))
    chunks = [_as_bytes(chunk) for chunk in _chunks(tids, PER_CHUNK)]
    all_ids = np.concatenate(chunks) if chunks else np.array([], dtype="S1")
    ids, counts = np.unique(all_ids, return_counts=True)
    repeats = {int(i): int(c) for i, c in zip(np.flatnonzero(counts > 1), counts[counts > 1])}
    if repeats:
        report.note("track with lyrics listed more than once (its last text kept)", len(repeats))
    return SongIndex(ids, repeats)


# 2. buckets -----------------------------------------------------------------------------------
@dataclass
class Buckets:
    """Pass 2's result: ``n`` files of (smaller index, larger index, score) records, bucket ``k`` holding the pairs
    whose smaller index is in the ``k``-th range; how many listings were read, and which songs the pool uses."""

    folder: Path
    n: int
    listed: int
    in_pool: np.ndarray  # per song index: does a kept pair name it

    def pool_rank(self) -> np.ndarray:
        """Each song's position among the pool's songs (sorted), as :func:`~.pairs.split_pairs` numbers them."""
        return (np.cumsum(self.in_pool) - 1).astype(np.int64)

    def pools(self) -> Iterator[tuple[np.ndarray, int]]:
        """Each bucket's unique unordered pairs, sorted (the higher score of a pair listed twice), and how many
        pairs it held twice with different scores. Bucket after bucket, the pool in sorted order."""
        for k in range(self.n):
            rec = np.fromfile(self.folder / f"bucket-{k:04d}.bin", dtype=PAIR_RECORD)
            key = (rec["a"].astype(np.int64) << 32) | rec["b"].astype(np.int64)
            order = np.lexsort((-rec["score"], key))
            key, rec = key[order], rec[order]
            first = np.ones(len(key), dtype=bool)
            first[1:] = key[1:] != key[:-1]
            kept_score = rec["score"][np.maximum.accumulate(np.where(first, np.arange(len(key)), 0))]
            yield rec[first], int((~first & (rec["score"] != kept_score)).sum())


def bucket_pairs(paths: DataPaths, index: SongIndex, folder: Path, n_buckets: int, report: SkipReport) -> Buckets:
    """Pass 2: every listing to its bucket file, chosen by the range its smaller song index is in."""
    files = [open(folder / f"bucket-{k:04d}.bin", "wb") for k in range(n_buckets)]
    listed = unknown = self_pairs = 0
    n_songs = max(len(index.ids), 1)
    in_pool = np.zeros(len(index.ids), dtype=bool)
    try:
        for chunk in _chunks(iter_listings(paths, report), PER_CHUNK):
            a = _as_bytes([r[0] for r in chunk])
            b = _as_bytes([r[1] for r in chunk])
            score = np.fromiter((r[2] for r in chunk), dtype=np.float32, count=len(chunk))
            listed += len(chunk)
            same = a == b
            ia, ib = lookup(index.ids, a), lookup(index.ids, b)
            missing = ~same & ((ia < 0) | (ib < 0))
            self_pairs += int(same.sum())
            unknown += int(missing.sum())
            keep = ~same & ~missing
            lo, hi = np.minimum(ia, ib)[keep], np.maximum(ia, ib)[keep]
            rec = np.empty(len(lo), dtype=PAIR_RECORD)
            rec["a"], rec["b"], rec["score"] = lo, hi, score[keep]
            in_pool[lo] = in_pool[hi] = True
            bucket = lo.astype(np.int64) * n_buckets // n_songs
            order = np.argsort(bucket, kind="stable")
            starts = np.searchsorted(bucket[order], np.arange(n_buckets + 1))
            for k in range(n_buckets):
                if starts[k + 1] > starts[k]:
                    rec[order[starts[k]:starts[k + 1]]].tofile(files[k])
    finally:
        for f in files:
            f.close()
    report_pool_skips(report, unknown, self_pairs, path=paths.pairs_csv or paths.root)
    return Buckets(folder, n_buckets, listed, in_pool)


# 3. parts -------------------------------------------------------------------------------------
@dataclass
class PoolParts:
    """Pass 3's result: each bucket's part per pair (0, 1, 2; -1 across parts), each part's negatives and positives,
    and counts for the manifest."""

    of_bucket: list[np.ndarray]
    available: np.ndarray  # part x (negative, positive)
    stats: dict


def split_pool(buckets: Buckets, split: str, fractions, seed: int, report: SkipReport) -> PoolParts:
    """Pass 3: the parts of the pool's pairs, drawn by :class:`~.pairs.PartDraw` in the pool's sorted order."""
    draw = PartDraw(split, fractions, int(buckets.in_pool.sum()), seed)
    rank = buckets.pool_rank()
    counts = np.zeros((3, 2), dtype=np.int64)
    of_bucket, unique, across, conflicts = [], 0, 0, 0
    for pool, twice in buckets.pools():
        which = draw(rank[pool["a"]], rank[pool["b"]])
        label = (pool["score"] >= THRESHOLD).astype(np.int64)
        ok = which >= 0
        np.add.at(counts, (which[ok], label[ok]), 1)
        of_bucket.append(which)
        unique, across, conflicts = unique + len(pool), across + int((~ok).sum()), conflicts + twice
    report_pool_skips(report, conflicts=conflicts)
    stats = {"unique_pairs": unique, "pairs_across_parts": across, "available": {
        name: {"negative": int(counts[s, 0]), "positive": int(counts[s, 1])} for s, name in enumerate(PARTS)}}
    return PoolParts(of_bucket, counts, stats)


# 4. balance -----------------------------------------------------------------------------------
def balance_parts(parts: PoolParts, pairs_per_class, seed: int, root: Path) -> list[BalancedDraw]:
    """Pass 4: per part, which positives and negatives to keep and their shuffle, drawn from the counts alone with
    :func:`~.pairs.balanced_draw` and the in-memory path's seeds (``seed``, ``seed + 1``, ``seed + 2``)."""
    draws = [balanced_draw(int(parts.available[s, 1]), int(parts.available[s, 0]), pairs_per_class[s], seed + s)
             for s in range(3)]
    if len(draws[0].order) == 0:
        raise DataError(f"no training pairs to draw (per part: {parts.stats['available']})", root)
    return draws


# 5. draw --------------------------------------------------------------------------------------
@dataclass
class Drawn:
    """Pass 5's result: the kept pairs of each part in ``kept-<part>.bin`` (in their final, shuffled order), and
    which songs each part uses."""

    folder: Path
    in_part: np.ndarray  # part x song: bool

    def kept(self, name: str) -> np.ndarray:
        return np.fromfile(self.folder / f"kept-{name}.bin", dtype=KEPT_RECORD)

    def leakage(self) -> dict[str, float]:
        """For val and test: the share of pairs that touch a song seen in training."""
        train = self.in_part[0]
        out = {}
        for name in ("val", "test"):
            rec = self.kept(name)
            out[name] = float((train[rec["a"]] | train[rec["b"]]).mean()) if len(rec) else 0.0
        return out


def _targets(draw: BalancedDraw) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per class (negative, positive): the drawn ranks, sorted, and where each drawn pair ends up after the shuffle
    (positives take slots 0..n-1 and negatives n..2n-1 before it)."""
    n = len(draw.positive)
    position = np.argsort(draw.order)  # slot -> final position
    out = []
    for ranks, first in ((draw.negative, n), (draw.positive, 0)):
        by_rank = np.argsort(ranks)
        out.append((ranks[by_rank], position[first + by_rank]))
    return out


def draw_pairs(buckets: Buckets, parts: PoolParts, draws: list[BalancedDraw], n_songs: int) -> Drawn:
    """Pass 5: the drawn pairs of every part, found by their rank within part and class bucket by bucket, written
    in the drawn order."""
    targets = [_targets(d) for d in draws]
    kept = [np.empty(len(d.order), dtype=KEPT_RECORD) for d in draws]
    seen = np.zeros((3, 2), dtype=np.int64)  # pairs of each part and class in the buckets before this one
    for (pool, _), which in zip(buckets.pools(), parts.of_bucket):
        label = (pool["score"] >= THRESHOLD).astype(np.int8)
        for s in range(3):
            for c in (0, 1):
                idx = np.flatnonzero((which == s) & (label == c))
                ranks, position = targets[s][c]
                lo, hi = np.searchsorted(ranks, [seen[s, c], seen[s, c] + len(idx)])
                chosen, at = idx[ranks[lo:hi] - seen[s, c]], position[lo:hi]
                kept[s]["a"][at], kept[s]["b"][at] = pool["a"][chosen], pool["b"][chosen]
                kept[s]["score"][at], kept[s]["label"][at] = pool["score"][chosen], c
                seen[s, c] += len(idx)
    in_part = np.zeros((3, n_songs), dtype=bool)
    for s, (name, rec) in enumerate(zip(PARTS, kept)):
        rec.tofile(buckets.folder / f"kept-{name}.bin")
        in_part[s, rec["a"]] = in_part[s, rec["b"]] = True
    return Drawn(buckets.folder, in_part)


# 6. vocabulary and songs ----------------------------------------------------------------------
def fit_vocabulary(paths: DataPaths, index: SongIndex, drawn: Drawn, min_count: int, max_doc_freq: float,
                   out: Path) -> Vocabulary:
    """Pass 6: the words of the training songs only (the paper's rare / frequent cuts), saved in ``out``."""
    train = drawn.in_part[0]
    vocab = Vocabulary.fit((tokenize(text) for i, text in index.lyrics_once(paths) if train[i]), min_count,
                           max_doc_freq)
    vocab.save(out / "vocabulary.json")
    return vocab


@dataclass
class EncodedOnDisk:
    """Pass 7's result: each song's position in ``songs.npy`` (-1 when no kept pair uses it), the songs' word ids,
    their lengths."""

    position: np.ndarray
    songs: np.ndarray  # memory-mapped (songs, max_len) int32
    lengths: np.ndarray


def encode_songs(paths: DataPaths, index: SongIndex, drawn: Drawn, vocab: Vocabulary, out: Path, max_len: int,
                 report: SkipReport) -> EncodedOnDisk:
    """Pass 7: every song a kept pair uses into ``songs.npy`` (memory-mapped), in song index order, with
    ``lengths.npy`` and ``track_ids.txt``."""
    used = drawn.in_part.any(axis=0)
    position = np.where(used, np.cumsum(used) - 1, -1).astype(np.int32)
    n = int(used.sum())
    songs = np.lib.format.open_memmap(out / "songs.npy", mode="w+", dtype=np.int32, shape=(n, max_len))
    lengths = np.zeros(n, dtype=np.int32)
    for i, text in index.lyrics_once(paths):
        r = position[i]
        if r < 0:
            continue
        seq = vocab.encode(tokenize(text))[:max_len]
        if not seq:
            report.skip("no in-vocabulary words", detail=index.ids[i].decode())
            continue
        songs[r, : len(seq)] = seq
        lengths[r] = len(seq)
    songs.flush()
    np.save(out / "lengths.npy", lengths)
    with open(out / "track_ids.txt", "w") as f:
        for t in index.ids[used]:
            f.write(t.decode() + "\n")
    return EncodedOnDisk(position, songs, lengths)


# all passes; the last one, the shards, is dplib.datasets.tfrecords.write_shards ------------------
def prepare_lyrics_shards(
    data: str | Path | DataPaths,
    out: str | Path,
    split: str = "pair",
    pairs_per_class=(None, None, None),
    max_len: int = 120,
    min_count: int = 3,
    max_doc_freq: float = 0.5,
    seed: int = 0,
    shard_size: int = 100_000,
    n_buckets: int = 64,
    strict: bool = False,
    fractions=(0.8, 0.1, 0.1),
) -> StreamedLyrics:
    """Stream a data folder into ``out``: TFRecord shards per part (train, val, test), pair CSVs, encoded songs,
    the vocabulary and ``manifest.json`` (counts, leakage, what was skipped). The passes run in order, each
    taking what the ones before returned; the work files live in a temporary folder removed at the end.
    Taught in notebook 10."""
    if split not in ("pair", "song"):
        raise ValueError(f"split must be 'pair' or 'song', got {split!r}")
    if n_buckets < 1:
        raise ValueError(f"n_buckets must be at least 1, got {n_buckets}")
    paths = data if isinstance(data, DataPaths) else find_data(data)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise DataError("not empty and not a folder written by 'dplib data shards': choose another --out", out)
    partial = partial_folder(out)
    partial.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".work-", dir=partial))
    report = SkipReport(strict)
    try:
        index = index_songs(paths, report)
        buckets = bucket_pairs(paths, index, work, n_buckets, report)
        parts = split_pool(buckets, split, fractions, seed, report)
        draws = balance_parts(parts, tuple(pairs_per_class), seed, paths.root)
        drawn = draw_pairs(buckets, parts, draws, len(index.ids))
        vocab = fit_vocabulary(paths, index, drawn, min_count, max_doc_freq, partial)
        encoded = encode_songs(paths, index, drawn, vocab, partial, max_len, report)
        from .tfrecords import write_shards  # TensorFlow loads here, for the writing pass only

        written = write_shards(index.ids, drawn, encoded, partial, shard_size, report)
        leakage = drawn.leakage()
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    manifest = {
        "kind": "lyrics", "source": str(paths.root), "split": split, "seed": seed, "max_len": max_len,
        "min_count": min_count, "max_doc_freq": max_doc_freq, "pairs_per_class": list(pairs_per_class),
        "n_buckets": n_buckets,
        "vocab_size": vocab.size, **written, "leakage": leakage, "songs_with_lyrics": int(len(index.ids)),
        "listed_pairs": buckets.listed, **parts.stats, "encoded_songs": int((encoded.lengths > 0).sum()),
        "skipped": dict(report.skips), "notes": dict(report.notes), "examples": report.examples,
        "report": report.summary(),
    }
    manifest["files"] = {p.name: fingerprint(p) for p in sorted(partial.iterdir()) if p.is_file()}
    write_json(partial / MANIFEST, manifest)
    replace_folder(partial, out)
    return StreamedLyrics(out, manifest)
