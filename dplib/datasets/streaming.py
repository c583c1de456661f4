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


class LyricsShardBuilder:
    """The passes of streamed preparation, one method each (see the module docstring).

    :func:`prepare_lyrics_shards` runs them in order; a notebook or test can run them
    one by one and look at what each leaves behind.
    """

    def __init__(self, paths: DataPaths, out: Path, split: str = "pair", n_per_class=(None, None, None),
                 fractions=(0.8, 0.1, 0.1), max_len: int = 120, min_count: int = 3, max_doc_freq: float = 0.5,
                 seed: int = 0, n_buckets: int = 64, report: SkipReport | None = None):
        if split not in ("pair", "song"):
            raise ValueError(f"split must be 'pair' or 'song', got {split!r}")
        if n_buckets < 1:
            raise ValueError(f"n_buckets must be at least 1, got {n_buckets}")
        self.paths, self.out, self.split = paths, Path(out), split
        self.n_per_class, self.fractions = tuple(n_per_class), tuple(fractions)
        self.max_len, self.min_count, self.max_doc_freq = max_len, min_count, max_doc_freq
        self.seed, self.n_buckets = seed, n_buckets
        self.report = report if report is not None else SkipReport()
        self.out.mkdir(parents=True, exist_ok=True)
        self.work = Path(tempfile.mkdtemp(prefix=".work-", dir=self.out))
        self.stats: dict = {}
        self.conflicts: dict[int, int] = {}  # per bucket: pairs listed twice with different scores

    # 1. songs ---------------------------------------------------------------------------------
    def index_songs(self) -> None:
        """Sorted utf-8 ids of the songs with lyrics, a hash each, and which ids repeat."""
        if self.paths.lyrics is None and not self.paths.mxm:
            raise DataError("no lyrics: expected lyrics.jsonl, lyrics/ or mxm_dataset_*.txt", self.paths.root)
        tids = (tid for tid, _ in iter_lyrics(self.paths, self.report))
        parts = [_as_bytes(chunk) for chunk in _chunks(tids, ROWS_PER_CHUNK)]
        all_ids = np.concatenate(parts) if parts else np.array([], dtype="S1")
        self.ids, counts = np.unique(all_ids, return_counts=True)
        self.repeats = {int(i): int(c) for i, c in zip(np.flatnonzero(counts > 1), counts[counts > 1])}
        if self.repeats:
            self.report.note("track with lyrics listed more than once (its last text kept)", len(self.repeats))
        self.hash = song_hashes(self.ids, self.seed)
        self.stats["songs_with_lyrics"] = int(len(self.ids))

    def lyrics_once(self) -> Iterator[tuple[int, str]]:
        """(song index, text) for every song, its last text when it is listed twice (as a dict keeps it)."""
        seen: dict[int, int] = {}
        for chunk in _chunks(iter_lyrics(self.paths, SkipReport()), 10_000):  # skips were counted in pass 1
            index = lookup(self.ids, _as_bytes([tid for tid, _ in chunk]))
            for i, (_, text) in zip(index.tolist(), chunk):
                if i in self.repeats:
                    seen[i] = seen.get(i, 0) + 1
                    if seen[i] < self.repeats[i]:
                        continue
                yield i, text

    # 2. buckets -------------------------------------------------------------------------------
    def _pair_hash(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):
            return _mix(self.hash[lo] * np.uint64(0x9E3779B97F4A7C15) + _mix(self.hash[hi]))

    def bucket_pairs(self) -> None:
        """Every listed row to its bucket file as (smaller index, larger index, score)."""
        files = [open(self.work / f"bucket-{k:04d}.bin", "wb") for k in range(self.n_buckets)]
        listed = unknown = self_pairs = 0
        try:
            for chunk in _chunks(iter_scored_rows(self.paths, self.report), ROWS_PER_CHUNK):
                a = _as_bytes([r[0] for r in chunk])
                b = _as_bytes([r[1] for r in chunk])
                score = np.fromiter((r[2] for r in chunk), dtype=np.float32, count=len(chunk))
                listed += len(chunk)
                same = a == b
                ia, ib = lookup(self.ids, a), lookup(self.ids, b)
                missing = ~same & ((ia < 0) | (ib < 0))
                self_pairs += int(same.sum())
                unknown += int(missing.sum())
                keep = ~same & ~missing
                lo, hi = np.minimum(ia, ib)[keep], np.maximum(ia, ib)[keep]
                rec = np.empty(len(lo), dtype=PAIR_RECORD)
                rec["a"], rec["b"], rec["score"] = lo, hi, score[keep]
                bucket = (self._pair_hash(lo, hi) >> np.uint64(40)) % np.uint64(self.n_buckets)
                order = np.argsort(bucket, kind="stable")
                starts = np.searchsorted(bucket[order], np.arange(self.n_buckets + 1, dtype=np.uint64))
                for k in range(self.n_buckets):
                    if starts[k + 1] > starts[k]:
                        rec[order[starts[k]:starts[k + 1]]].tofile(files[k])
        finally:
            for f in files:
                f.close()
        if unknown:
            self.report.skip("pair names a track without data", detail=f"{unknown} listed pairs", count=unknown)
        if self_pairs:
            self.report.skip("pair of a track with itself", detail=f"{self_pairs} listed pairs", count=self_pairs)
        self.stats["listed_pairs"] = listed

    def pool_buckets(self) -> Iterator[np.ndarray]:
        """Each bucket's unique unordered pairs (the higher score of a pair listed twice)."""
        for k in range(self.n_buckets):
            rec = np.fromfile(self.work / f"bucket-{k:04d}.bin", dtype=PAIR_RECORD)
            key = (rec["a"].astype(np.int64) << 32) | rec["b"].astype(np.int64)
            order = np.lexsort((-rec["score"], key))
            key, rec = key[order], rec[order]
            first = np.ones(len(key), dtype=bool)
            first[1:] = key[1:] != key[:-1]
            kept_score = rec["score"][np.maximum.accumulate(np.where(first, np.arange(len(key)), 0))]
            self.conflicts[k] = int((~first & (rec["score"] != kept_score)).sum())
            yield rec[first]

    # 3. splits --------------------------------------------------------------------------------
    def split_of(self, pool: np.ndarray) -> np.ndarray:
        """0, 1, 2 for train, val, test; -1 for a pair across splits (``song`` only)."""
        if self.split == "pair":
            u = _uniform(_mix(self._pair_hash(pool["a"], pool["b"]) ^ np.uint64(0xA5A5A5A5A5A5A5A5)))
            return _which(u, np.asarray(self.fractions) / sum(self.fractions))
        if getattr(self, "song_split", None) is None:
            self.song_split = _which(_uniform(self.hash), song_fractions(self.fractions))
        sa, sb = self.song_split[pool["a"]], self.song_split[pool["b"]]
        return np.where(sa == sb, sa, -1).astype(np.int8)

    # 4. balance -------------------------------------------------------------------------------
    def count(self) -> None:
        """Positives and negatives per split, and how many of each to draw."""
        counts = np.zeros((3, 2), dtype=np.int64)  # split x (negative, positive)
        unique = across = 0
        for pool in self.pool_buckets():
            which = self.split_of(pool)
            label = (pool["score"] >= THRESHOLD).astype(np.int64)
            unique += len(pool)
            across += int((which < 0).sum())
            ok = which >= 0
            np.add.at(counts, (which[ok], label[ok]), 1)
        self.available = counts
        if sum(self.conflicts.values()):
            self.report.note("pair listed twice with different scores (the higher kept)", sum(self.conflicts.values()))
        cap = [n if n is not None else np.iinfo(np.int64).max for n in self.n_per_class]
        self.wanted = np.array([min(counts[s, 0], counts[s, 1], cap[s]) for s in range(3)], dtype=np.int64)
        self.stats.update(unique_pairs=unique, pairs_across_splits=across, available={
            name: {"negative": int(counts[s, 0]), "positive": int(counts[s, 1])} for s, name in enumerate(SPLITS)})
        if self.wanted[0] == 0:
            raise DataError(f"no training pairs to draw (per split: {self.stats['available']})", self.paths.root)

    def draw(self) -> None:
        """Exactly ``wanted`` positives and negatives per split, uniformly, bucket by bucket."""
        rng = np.random.default_rng(self.seed)
        left = self.available.copy()  # not yet seen, per split and class
        need = np.repeat(self.wanted[:, None], 2, axis=1)  # still to draw
        self.in_split = np.zeros((3, len(self.ids)), dtype=bool)
        files = [open(self.work / f"kept-{name}.bin", "wb") for name in SPLITS]
        try:
            for pool in self.pool_buckets():
                which = self.split_of(pool)
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
                    self.in_split[s, rec["a"]] = True
                    self.in_split[s, rec["b"]] = True
        finally:
            for f in files:
                f.close()
        assert not need.any(), f"drew too few pairs: {need.tolist()}"

    def kept(self, name: str) -> np.ndarray:
        return np.fromfile(self.work / f"kept-{name}.bin", dtype=KEPT_RECORD)

    def leakage(self) -> dict[str, float]:
        """For val and test: the share of pairs that touch a song seen in training."""
        train = self.in_split[0]
        out = {}
        for name in ("val", "test"):
            rec = self.kept(name)
            out[name] = float((train[rec["a"]] | train[rec["b"]]).mean()) if len(rec) else 0.0
        return out

    # 5. vocabulary and songs ------------------------------------------------------------------
    def fit_vocabulary(self) -> Vocabulary:
        """Words of the training songs only (the paper's rare / frequent cuts)."""
        train = self.in_split[0]
        self.vocab = Vocabulary.fit((tokenize(text) for i, text in self.lyrics_once() if train[i]),
                                    self.min_count, self.max_doc_freq)
        self.vocab.save(self.out / "vocabulary.json")
        return self.vocab

    def encode_songs(self) -> None:
        """Every song a kept pair uses, into ``songs.npy`` (memory-mapped), row by song index order."""
        used = self.in_split.any(axis=0)
        self.row = np.where(used, np.cumsum(used) - 1, -1).astype(np.int32)
        n = int(used.sum())
        self.songs = np.lib.format.open_memmap(self.out / "songs.npy", mode="w+", dtype=np.int32,
                                               shape=(n, self.max_len))
        self.lengths = np.zeros(n, dtype=np.int32)
        for i, text in self.lyrics_once():
            r = self.row[i]
            if r < 0:
                continue
            seq = self.vocab.encode(tokenize(text))[: self.max_len]
            if not seq:
                self.report.skip("no in-vocabulary words", detail=self.ids[i].decode())
                continue
            self.songs[r, : len(seq)] = seq
            self.lengths[r] = len(seq)
        self.songs.flush()
        np.save(self.out / "lengths.npy", self.lengths)
        with open(self.out / "track_ids.txt", "w") as f:
            for t in self.ids[used]:
                f.write(t.decode() + "\n")
        self.stats["encoded_songs"] = int((self.lengths > 0).sum())

    # 6. shards --------------------------------------------------------------------------------
    def write_shards(self, shard_size: int = 100_000) -> dict:
        """Each split's kept pairs, both orders, as TFRecord shards; the pairs also as CSV."""
        from .pipeline import length_boundaries
        from .tfrecords import ShardWriter

        counts, shards, boundaries = {}, {}, []
        for name in SPLITS:
            rec = self.kept(name)
            ra, rb = self.row[rec["a"]], self.row[rec["b"]]
            ok = (self.lengths[ra] > 0) & (self.lengths[rb] > 0)
            if not ok.all():
                self.report.skip("pair dropped: a song could not be encoded", detail=name, count=2 * int((~ok).sum()))
            rec, ra, rb = rec[ok], ra[ok], rb[ok]
            if name == "train" and len(rec):
                boundaries = length_boundaries(np.maximum(self.lengths[ra], self.lengths[rb]))
            with ShardWriter(self.out, name, 2 * len(rec), shard_size) as writer:
                for i, j, y in zip(ra.tolist(), rb.tolist(), rec["label"].tolist()):
                    a, b = self.songs[i, : self.lengths[i]], self.songs[j, : self.lengths[j]]
                    writer.write(a, b, y)
                    writer.write(b, a, y)
            with open(self.out / f"{name}_pairs.csv", "w", newline="") as f:
                out = csv.writer(f)
                out.writerow(["track_a", "track_b", "score"])
                for x, z, s in zip(self.ids[rec["a"]], self.ids[rec["b"]], rec["score"].tolist()):
                    out.writerow([x.decode(), z.decode(), f"{s:.6g}"])
            songs = np.union1d(rec["a"], rec["b"])
            counts[name] = {"pairs": 2 * len(rec), "positive": 2 * int(rec["label"].sum()), "songs": int(len(songs))}
            shards[name] = [p.name for p in writer.paths]
        return {"counts": counts, "shards": shards, "length_boundaries": boundaries}

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)


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
) -> StreamedLyrics:
    """Stream a data folder into ``out``: TFRecord shards per split, pair CSVs, encoded songs,
    the vocabulary and ``manifest.json`` (counts, leakage, what was skipped)."""
    paths = data if isinstance(data, DataPaths) else find_data(data)
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not (out / MANIFEST).exists():
        raise DataError("not empty and not a folder written by 'dplib data shards': choose another --out", out)
    partial = partial_folder(out)
    report = SkipReport(strict)
    builder = LyricsShardBuilder(paths, partial, split, n_per_class, max_len=max_len, min_count=min_count,
                                 max_doc_freq=max_doc_freq, seed=seed, n_buckets=n_buckets, report=report)
    try:
        builder.index_songs()
        builder.bucket_pairs()
        builder.count()
        builder.draw()
        leakage = builder.leakage()
        vocab = builder.fit_vocabulary()
        builder.encode_songs()
        written = builder.write_shards(shard_size)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    finally:
        builder.close()
    manifest = {
        "kind": "lyrics", "source": str(paths.root), "split": split, "seed": seed, "max_len": max_len,
        "min_count": min_count, "max_doc_freq": max_doc_freq, "n_per_class": list(n_per_class), "n_buckets": n_buckets,
        "vocab_size": vocab.size, **written, "leakage": leakage, **builder.stats,
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
