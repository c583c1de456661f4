"""Lyrics preparation that streams: from the Last.fm and lyrics files to TFRecord shards,
with the corpus never held in memory.

:mod:`.prepare` does the same job with Python dicts and sets, which is clear and fast
up to a few million listed pairs. The full Last.fm set lists 56 M, so here each step
is a pass over files and memory holds a few numbers per song plus one bucket of pairs:

1. **songs**: the track ids that have lyrics, sorted, and a 64-bit hash of each.
2. **buckets**: every listed row becomes (song index, song index, score), smaller index
   first, appended to one of ``n_buckets`` files chosen by a hash of the pair. Both
   directions of a pair land in the same bucket, so a bucket alone can keep the
   higher score of a pair listed twice.
3. **splits**: a pair's split comes from a hash of the pair (``pair``) or of each song
   (``song``: a pair stays when both songs drew the same split). Hashes of track ids,
   not positions, so adding songs to the corpus never moves a test song into training.
4. **balance**: count positives and negatives per split, then draw exactly
   ``n = min(positives, negatives, cap)`` of each without replacement, bucket by bucket
   (a hypergeometric draw says how many come from each bucket), shuffled per bucket.
5. **vocabulary** from the training songs only, then the songs the pairs use encoded
   into a memory-mapped ``songs.npy``.
6. **shards**: every kept pair written in both orders (Table 1's flips), plus a CSV of
   the pairs with their track ids, a vocabulary and a ``manifest.json`` of counts.

Each step is a function that takes what the steps before it returned and returns a small value
(``index_songs`` -> ``SongIndex``, ``bucket_pairs`` -> ``Buckets``, ``SplitRule``, ``count_pairs`` -> ``Balance``,
``draw_pairs`` -> ``Drawn``, ``fit_vocabulary``, ``encode_songs`` -> ``EncodedRows``, ``write_shards``), so a test
or a notebook can run the first few and look at what they return; :func:`prepare_lyrics_shards` runs them all.

Only the default negatives (listed pairs scored below 0.5, what the real data gives)
are supported here; random unlisted negatives need the in-memory path.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .corpus import DataPaths, find_data, iter_lyrics, iter_scored_rows
from .files import partial_folder, replace_folder, write_json
from .lyrics import Vocabulary, tokenize
from .pairs import SPLITS, THRESHOLD, song_fractions
from .report import DataError, SkipReport

PAIR_RECORD = np.dtype([("a", "<i4"), ("b", "<i4"), ("score", "<f4")])
KEPT_RECORD = np.dtype([("a", "<i4"), ("b", "<i4"), ("score", "<f4"), ("label", "i1")])
ROWS_PER_CHUNK = 10_000
MANIFEST = "manifest.json"
HASHED_UP_TO = 16 << 20  # bytes: parts up to this size are checked by sha256, larger ones by size


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a well-spread 64-bit hash of 64-bit integers."""
    x = np.asarray(x, dtype=np.uint64)
    with np.errstate(over="ignore"):
        x = x + np.uint64(0x9E3779B97F4A7C15)
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _uniform(h: np.ndarray) -> np.ndarray:
    """A 64-bit hash -> a number in [0, 1)."""
    return (h >> np.uint64(11)).astype(np.float64) / float(2**53)


def _which(u: np.ndarray, shares) -> np.ndarray:
    """Split index (0, 1, 2) for uniforms ``u`` and split shares summing to 1."""
    edges = np.cumsum(np.asarray(shares, dtype=float))[:-1]
    return np.searchsorted(edges, u, side="right").astype(np.int8)


def song_hashes(ids: np.ndarray, seed: int) -> np.ndarray:
    """A 64-bit hash of each (utf-8) track id and the seed."""
    salt = f"dplib:{seed}:".encode()
    return np.fromiter((int.from_bytes(hashlib.blake2b(salt + t, digest_size=8).digest(), "little") for t in ids),
                       dtype=np.uint64, count=len(ids))


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


@dataclass
class StreamedLyrics:
    """A folder written by :func:`prepare_lyrics_shards`: shards, pairs, vocabulary and manifest."""

    folder: Path
    manifest: dict

    @classmethod
    def load(cls, folder: str | Path) -> "StreamedLyrics":
        folder = Path(folder)
        path = folder / MANIFEST
        if not path.exists():
            raise DataError(f"no {MANIFEST}: not a folder written by 'dplib data shards'", folder)
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            raise DataError(f"unreadable manifest ({err})", path) from None
        for name, expected in manifest.get("files", {}).items():
            part = folder / name
            if not part.exists():
                raise DataError(f"missing {name}, listed in {MANIFEST}: rerun 'dplib data shards'", folder)
            if _fingerprint(part) != expected:
                raise DataError(f"{name} is not the file {MANIFEST} was written with (truncated, or from another "
                                "run): rerun 'dplib data shards'", part)
        return cls(folder, manifest)

    @property
    def vocab_size(self) -> int:
        return int(self.manifest["vocab_size"])

    def counts(self) -> dict:
        return self.manifest["counts"]

    def dataset(self, split: str = "train", batch_size: int = 256, shuffle: bool | None = None, seed: int = 0,
                fixed_shapes: bool = False):
        """``((song_a, song_b), label)`` batches streamed from the shards (shuffled for ``train``).

        Shuffled batches group pairs of similar length (the manifest's ``length_boundaries``);
        ``fixed_shapes``: every batch padded to ``max_len`` (and full, for training), as a TPU needs.
        """
        from .tfrecords import read_pair_shards

        return read_pair_shards(self.folder, split, batch_size, shuffle=split == "train" if shuffle is None else shuffle,
                                seed=seed, fixed_length=int(self.manifest["max_len"]) if fixed_shapes else None,
                                bucket_boundaries=self.manifest.get("length_boundaries"))

    def vocabulary(self) -> Vocabulary:
        return Vocabulary.load(self.folder / "vocabulary.json")


# 1. songs -------------------------------------------------------------------------------------
@dataclass
class SongIndex:
    """Pass 1's result: the sorted utf-8 ids of the songs with lyrics, a 64-bit hash each, and which repeat."""

    ids: np.ndarray
    hash: np.ndarray
    repeats: dict[int, int]  # song index -> times listed, for songs listed more than once

    def pair_hash(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return _mix(self.hash[lo] * np.uint64(0x9E3779B97F4A7C15) + _mix(self.hash[hi]))

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


def index_songs(paths: DataPaths, seed: int, report: SkipReport) -> SongIndex:
    """Pass 1: one read of the lyrics for their track ids."""
    if paths.lyrics is None and not paths.mxm:
        raise DataError("no lyrics: expected lyrics.jsonl, lyrics/ or mxm_dataset_*.txt", paths.root)
    tids = (tid for tid, _ in iter_lyrics(paths, report))
    parts = [_as_bytes(chunk) for chunk in _chunks(tids, ROWS_PER_CHUNK)]
    all_ids = np.concatenate(parts) if parts else np.array([], dtype="S1")
    ids, counts = np.unique(all_ids, return_counts=True)
    repeats = {int(i): int(c) for i, c in zip(np.flatnonzero(counts > 1), counts[counts > 1])}
    if repeats:
        report.note("track with lyrics listed more than once (its last text kept)", len(repeats))
    return SongIndex(ids, song_hashes(ids, seed), repeats)


# 2. buckets -----------------------------------------------------------------------------------
@dataclass
class Buckets:
    """Pass 2's result: ``n`` files of (smaller index, larger index, score) records, and how many rows were listed."""

    folder: Path
    n: int
    listed: int

    def pools(self) -> Iterator[tuple[np.ndarray, int]]:
        """Each bucket's unique unordered pairs (the higher score of a pair listed twice), and how many pairs it
        held twice with different scores."""
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
    """Pass 2: every listed row to its bucket file, chosen by a hash of the unordered pair."""
    files = [open(folder / f"bucket-{k:04d}.bin", "wb") for k in range(n_buckets)]
    listed = unknown = self_pairs = 0
    try:
        for chunk in _chunks(iter_scored_rows(paths, report), ROWS_PER_CHUNK):
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
            bucket = (index.pair_hash(lo, hi) >> np.uint64(40)) % np.uint64(n_buckets)
            order = np.argsort(bucket, kind="stable")
            starts = np.searchsorted(bucket[order], np.arange(n_buckets + 1, dtype=np.uint64))
            for k in range(n_buckets):
                if starts[k + 1] > starts[k]:
                    rec[order[starts[k]:starts[k + 1]]].tofile(files[k])
    finally:
        for f in files:
            f.close()
    if unknown:
        report.skip("pair names a track without data", detail=f"{unknown} listed pairs", count=unknown)
    if self_pairs:
        report.skip("pair of a track with itself", detail=f"{self_pairs} listed pairs", count=self_pairs)
    return Buckets(folder, n_buckets, listed)


# 3. splits ------------------------------------------------------------------------------------
class SplitRule:
    """Which part a pair goes to: 0, 1, 2 for train, val, test; -1 for a pair across parts (``song`` only).
    From hashes of track ids, so adding songs to a corpus never moves a pair from one part to another."""

    def __init__(self, method: str, fractions, index: SongIndex):
        if method not in ("pair", "song"):
            raise ValueError(f"split must be 'pair' or 'song', got {method!r}")
        self.method, self.index = method, index
        self.shares = np.asarray(fractions) / sum(fractions)
        self.song_part = _which(_uniform(index.hash), song_fractions(fractions)) if method == "song" else None

    def __call__(self, pool: np.ndarray) -> np.ndarray:
        if self.method == "pair":
            u = _uniform(_mix(self.index.pair_hash(pool["a"], pool["b"]) ^ np.uint64(0xA5A5A5A5A5A5A5A5)))
            return _which(u, self.shares)
        sa, sb = self.song_part[pool["a"]], self.song_part[pool["b"]]
        return np.where(sa == sb, sa, -1).astype(np.int8)


# 4. balance -----------------------------------------------------------------------------------
@dataclass
class Balance:
    """Pass 4's result: positives and negatives available per part, how many of each to draw, and counts."""

    available: np.ndarray  # part x (negative, positive)
    wanted: np.ndarray  # per part
    stats: dict


def count_pairs(buckets: Buckets, rule: SplitRule, n_per_class, report: SkipReport, root: Path) -> Balance:
    """Pass 4: count each part's classes; draw ``min(positives, negatives, cap)`` of each."""
    counts = np.zeros((3, 2), dtype=np.int64)
    unique = across = conflicts = 0
    for pool, twice in buckets.pools():
        which = rule(pool)
        label = (pool["score"] >= THRESHOLD).astype(np.int64)
        unique += len(pool)
        across += int((which < 0).sum())
        conflicts += twice
        ok = which >= 0
        np.add.at(counts, (which[ok], label[ok]), 1)
    if conflicts:
        report.note("pair listed twice with different scores (the higher kept)", conflicts)
    cap = [n if n is not None else np.iinfo(np.int64).max for n in n_per_class]
    wanted = np.array([min(counts[s, 0], counts[s, 1], cap[s]) for s in range(3)], dtype=np.int64)
    stats = {"unique_pairs": unique, "pairs_across_splits": across, "available": {
        name: {"negative": int(counts[s, 0]), "positive": int(counts[s, 1])} for s, name in enumerate(SPLITS)}}
    if wanted[0] == 0:
        raise DataError(f"no training pairs to draw (per split: {stats['available']})", root)
    return Balance(counts, wanted, stats)


# 5. draw --------------------------------------------------------------------------------------
@dataclass
class Drawn:
    """Pass 5's result: the kept pairs of each part in ``kept-<part>.bin``, and which songs each part uses."""

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


def draw_pairs(buckets: Buckets, rule: SplitRule, balance: Balance, n_songs: int, seed: int) -> Drawn:
    """Pass 5: exactly ``wanted`` positives and negatives per part, uniformly, bucket by bucket (a hypergeometric
    draw says how many come from each bucket), shuffled within the bucket."""
    rng = np.random.default_rng(seed)
    left = balance.available.copy()  # not yet seen, per part and class
    need = np.repeat(balance.wanted[:, None], 2, axis=1)  # still to draw
    in_part = np.zeros((3, n_songs), dtype=bool)
    files = [open(buckets.folder / f"kept-{name}.bin", "wb") for name in SPLITS]
    try:
        for pool, _ in buckets.pools():
            which = rule(pool)
            label = (pool["score"] >= THRESHOLD).astype(np.int8)
            for s in range(3):
                picked = []
                for c in (0, 1):
                    idx = np.flatnonzero((which == s) & (label == c))
                    if len(idx) and need[s, c]:
                        k = int(rng.hypergeometric(len(idx), left[s, c] - len(idx), need[s, c]))
                        picked.append(rng.choice(idx, k, replace=False))
                        need[s, c] -= k
                    left[s, c] -= len(idx)
                if not picked:
                    continue
                chosen = rng.permutation(np.concatenate(picked))
                rec = np.empty(len(chosen), dtype=KEPT_RECORD)
                rec["a"], rec["b"] = pool["a"][chosen], pool["b"][chosen]
                rec["score"], rec["label"] = pool["score"][chosen], label[chosen]
                rec.tofile(files[s])
                in_part[s, rec["a"]] = True
                in_part[s, rec["b"]] = True
    finally:
        for f in files:
            f.close()
    assert not need.any(), f"drew too few pairs: {need.tolist()}"
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
class EncodedRows:
    """Pass 7's result: each song's row in ``songs.npy`` (-1 when no kept pair uses it), the rows, their lengths."""

    row: np.ndarray
    songs: np.ndarray  # memory-mapped (songs, max_len) int32
    lengths: np.ndarray


def encode_songs(paths: DataPaths, index: SongIndex, drawn: Drawn, vocab: Vocabulary, out: Path, max_len: int,
                 report: SkipReport) -> EncodedRows:
    """Pass 7: every song a kept pair uses into ``songs.npy`` (memory-mapped), in song index order, with
    ``lengths.npy`` and ``track_ids.txt``."""
    used = drawn.in_part.any(axis=0)
    row = np.where(used, np.cumsum(used) - 1, -1).astype(np.int32)
    n = int(used.sum())
    songs = np.lib.format.open_memmap(out / "songs.npy", mode="w+", dtype=np.int32, shape=(n, max_len))
    lengths = np.zeros(n, dtype=np.int32)
    for i, text in index.lyrics_once(paths):
        r = row[i]
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
    return EncodedRows(row, songs, lengths)


# 8. shards ------------------------------------------------------------------------------------
def write_shards(index: SongIndex, drawn: Drawn, encoded: EncodedRows, out: Path, shard_size: int,
                 report: SkipReport) -> dict:
    """Pass 8: each part's kept pairs, both orders, as TFRecord shards; the pairs also as CSV."""
    from .pipeline import length_boundaries
    from .tfrecords import ShardWriter

    counts, shards, boundaries = {}, {}, []
    songs, lengths = encoded.songs, encoded.lengths
    for name in SPLITS:
        rec = drawn.kept(name)
        ra, rb = encoded.row[rec["a"]], encoded.row[rec["b"]]
        ok = (lengths[ra] > 0) & (lengths[rb] > 0)
        if not ok.all():
            report.skip("pair dropped: a song could not be encoded", detail=name, count=2 * int((~ok).sum()))
        rec, ra, rb = rec[ok], ra[ok], rb[ok]
        if name == "train" and len(rec):
            boundaries = length_boundaries(np.maximum(lengths[ra], lengths[rb]))
        with ShardWriter(out, name, 2 * len(rec), shard_size) as writer:
            for i, j, y in zip(ra.tolist(), rb.tolist(), rec["label"].tolist()):
                a, b = songs[i, : lengths[i]], songs[j, : lengths[j]]
                writer.write(a, b, y)
                writer.write(b, a, y)
        with open(out / f"{name}_pairs.csv", "w", newline="") as f:
            rows = csv.writer(f)
            rows.writerow(["track_a", "track_b", "score"])
            for x, z, s in zip(index.ids[rec["a"]], index.ids[rec["b"]], rec["score"].tolist()):
                rows.writerow([x.decode(), z.decode(), f"{s:.6g}"])
        used = np.union1d(rec["a"], rec["b"])
        counts[name] = {"pairs": 2 * len(rec), "positive": 2 * int(rec["label"].sum()), "songs": int(len(used))}
        shards[name] = [p.name for p in writer.paths]
    return {"counts": counts, "shards": shards, "length_boundaries": boundaries}


def prepare_lyrics_shards(
    data: str | Path | DataPaths,
    out: str | Path,
    split: str = "pair",
    n_per_class=(None, None, None),
    max_len: int = 120,
    min_count: int = 3,
    max_doc_freq: float = 0.5,
    seed: int = 0,
    shard_size: int = 100_000,
    n_buckets: int = 64,
    strict: bool = False,
    fractions=(0.8, 0.1, 0.1),
) -> StreamedLyrics:
    """Stream a data folder into ``out``: TFRecord shards per split, pair CSVs, encoded songs,
    the vocabulary and ``manifest.json`` (counts, leakage, what was skipped). The passes run in order, each
    taking what the ones before returned; the work files live in a temporary folder removed at the end."""
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
        index = index_songs(paths, seed, report)
        buckets = bucket_pairs(paths, index, work, n_buckets, report)
        rule = SplitRule(split, fractions, index)
        balance = count_pairs(buckets, rule, tuple(n_per_class), report, paths.root)
        drawn = draw_pairs(buckets, rule, balance, len(index.ids), seed)
        vocab = fit_vocabulary(paths, index, drawn, min_count, max_doc_freq, partial)
        encoded = encode_songs(paths, index, drawn, vocab, partial, max_len, report)
        written = write_shards(index, drawn, encoded, partial, shard_size, report)
        leakage = drawn.leakage()
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    manifest = {
        "kind": "lyrics", "source": str(paths.root), "split": split, "seed": seed, "max_len": max_len,
        "min_count": min_count, "max_doc_freq": max_doc_freq, "n_per_class": list(n_per_class), "n_buckets": n_buckets,
        "vocab_size": vocab.size, **written, "leakage": leakage, "songs_with_lyrics": int(len(index.ids)),
        "listed_pairs": buckets.listed, **balance.stats, "encoded_songs": int((encoded.lengths > 0).sum()),
        "skipped": dict(report.skips), "notes": dict(report.notes), "report": report.summary(),
    }
    manifest["files"] = {p.name: _fingerprint(p) for p in sorted(partial.iterdir()) if p.is_file()}
    write_json(partial / MANIFEST, manifest)
    replace_folder(partial, out)
    return StreamedLyrics(out, manifest)


def _fingerprint(path: Path) -> dict:
    """What :meth:`StreamedLyrics.load` checks before training reads a part: its size, and for the small parts
    that name a run (vocabulary, track ids, lengths) its sha256; hashing gigabytes of shards at every load would
    cost more than the check is worth, and a truncated shard already has the wrong size."""
    size = path.stat().st_size
    if size > HASHED_UP_TO:
        return {"bytes": size}
    return {"bytes": size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
