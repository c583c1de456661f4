"""Sharded TFRecord files of lyrics pairs, for data that does not fit in memory.

For the full Last.fm corpus (943,000 tracks, 56 M scored pairs) the pairs and their
token sequences are written once, shard by shard (:mod:`.streaming` does it straight
from the data files; :func:`write_pair_shards` from pairs already in memory), and
training streams them back with ``tf.data``: memory then holds a shuffle buffer, not
the corpus. Each example stores the two unpadded token sequences and the label;
batches are padded to their longest song, as in the in-memory fast path.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import tensorflow as tf

from .lyrics import EncodedSongs
from .pairs import PARTS, Pairs, write_pairs_csv
from .pipeline import prefetched
from .report import SkipReport


def _example(a: np.ndarray, b: np.ndarray, label: int) -> bytes:
    feature = {
        "song_a": tf.train.Feature(int64_list=tf.train.Int64List(value=a.tolist())),
        "song_b": tf.train.Feature(int64_list=tf.train.Int64List(value=b.tolist())),
        "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[int(label)])),
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


class ShardWriter:
    """Writes ``total`` examples as ``prefix-00000-of-000NN.tfrecord`` files of at most ``shard_size`` each.

    The total is needed up front for the names; the writer moves to the next file by itself.
    """

    def __init__(self, folder: str | Path, prefix: str, total: int, shard_size: int = 100_000):
        if shard_size < 1:
            raise ValueError(f"shard_size must be at least 1, got {shard_size}")
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.prefix, self.total, self.shard_size = prefix, total, shard_size
        self.n_shards = max(1, -(-total // shard_size))
        self.paths: list[Path] = []
        self.written = 0
        self._writer = None

    def write(self, a: np.ndarray, b: np.ndarray, label: int) -> None:
        if self.written >= self.total:
            raise ValueError(f"{self.prefix}: more than the {self.total} examples announced")
        if self.written % self.shard_size == 0:
            self._next_file()
        self._writer.write(_example(a, b, label))
        self.written += 1

    def _next_file(self) -> None:
        if self._writer is not None:
            self._writer.close()
        path = self.folder / f"{self.prefix}-{len(self.paths):05d}-of-{self.n_shards:05d}.tfrecord"
        self._writer = tf.io.TFRecordWriter(str(path))
        self.paths.append(path)

    def close(self) -> list[Path]:
        if self.written == 0 and not self.paths:
            self._next_file()  # an empty split still gets its (empty) file
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self.written != self.total:
            raise ValueError(f"{self.prefix}: {self.written} examples written, {self.total} announced")
        return self.paths

    def __enter__(self) -> "ShardWriter":
        return self

    def __exit__(self, *exc) -> None:
        if exc[0] is None:
            self.close()
        elif self._writer is not None:
            self._writer.close()


def write_pair_shards(pairs: Pairs, songs: EncodedSongs, folder: str | Path, prefix: str = "train",
                      shard_size: int = 100_000) -> list[Path]:
    """Write ``pairs`` as ``prefix-00000-of-000NN.tfrecord`` files of at most ``shard_size`` examples."""
    ra, rb = songs.positions(pairs.a), songs.positions(pairs.b)
    with ShardWriter(folder, prefix, len(pairs), shard_size) as writer:
        for i, j, y in zip(ra, rb, pairs.label):
            writer.write(songs.data[i, : songs.lengths[i]], songs.data[j, : songs.lengths[j]], y)
    return writer.paths


def read_pair_shards(folder: str | Path, prefix: str = "train", batch_size: int = 256, shuffle: bool = True,
                     seed: int = 0, buffer: int = 10_000, fixed_length: int | None = None,
                     bucket_boundaries: list[int] | None = None, drop_remainder: bool = False) -> tf.data.Dataset:
    """Stream ``((song_a, song_b), label)`` batches from the shards, both songs padded to one length.

    By default each batch is padded to its longest song; with ``bucket_boundaries`` (and
    ``shuffle``) pairs of similar length are batched together first, as ``pair_dataset(bucket=True)``
    does in memory (training uses neither: :mod:`dplib.datasets.pipeline` says why).
    ``fixed_length`` (at least the longest song, e.g. the manifest's ``max_len``) pads
    every batch to that length; with ``drop_remainder`` too, every batch is full: the static
    shapes a TPU compiles for.
    """
    files = sorted(str(p) for p in Path(folder).glob(f"{prefix}-*.tfrecord"))
    if not files:
        raise FileNotFoundError(f"{folder}: no {prefix}-*.tfrecord shards")
    ds = tf.data.Dataset.from_tensor_slices(files)
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    ds = ds.interleave(tf.data.TFRecordDataset, cycle_length=min(4, len(files)) if shuffle else 1,
                       num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if shuffle:
        ds = ds.shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    spec = {"song_a": tf.io.VarLenFeature(tf.int64), "song_b": tf.io.VarLenFeature(tf.int64),
            "label": tf.io.FixedLenFeature([1], tf.int64)}

    def parse(record):
        ex = tf.io.parse_single_example(record, spec)
        a = tf.cast(tf.sparse.to_dense(ex["song_a"]), tf.int32)
        b = tf.cast(tf.sparse.to_dense(ex["song_b"]), tf.int32)
        return a, b, tf.cast(ex["label"][0], tf.int32)

    def same_length(a, b, y):
        longest = tf.maximum(tf.shape(a)[1], tf.shape(b)[1])
        a = tf.pad(a, [[0, 0], [0, longest - tf.shape(a)[1]]])
        b = tf.pad(b, [[0, 0], [0, longest - tf.shape(b)[1]]])
        return (a, b), y

    ds = ds.map(parse, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if fixed_length is not None:
        ds = ds.padded_batch(batch_size, padded_shapes=([fixed_length], [fixed_length], []),
                             drop_remainder=drop_remainder)
        return prefetched(ds.map(lambda a, b, y: ((a, b), y)))
    if bucket_boundaries and shuffle:
        ds = ds.bucket_by_sequence_length(
            lambda a, b, _: tf.maximum(tf.shape(a)[0], tf.shape(b)[0]),
            bucket_boundaries=list(bucket_boundaries),
            bucket_batch_sizes=[batch_size] * (len(bucket_boundaries) + 1),
            padded_shapes=([None], [None], []),
        )
    else:
        ds = ds.padded_batch(batch_size, padded_shapes=([None], [None], []))
    return prefetched(ds.map(same_length, num_parallel_calls=tf.data.AUTOTUNE))


def write_shards(ids: np.ndarray, drawn, encoded, out: Path, shard_size: int, report: SkipReport) -> dict:
    """The last pass of :func:`dplib.datasets.streaming.prepare_lyrics_shards`: each part's kept pairs (``drawn``,
    song indices into the sorted utf-8 ``ids``), both orders, as TFRecord shards of the ``encoded`` songs; the pairs
    also as CSV. Returns the counts, shard names and the training part's length boundaries for the manifest."""
    from .pipeline import length_boundaries

    counts, shards, boundaries = {}, {}, []
    songs, lengths = encoded.songs, encoded.lengths
    for name in PARTS:
        rec = drawn.kept(name)
        ra, rb = encoded.position[rec["a"]], encoded.position[rec["b"]]
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
        rows = ((x.decode(), z.decode(), s) for x, z, s in zip(ids[rec["a"]], ids[rec["b"]], rec["score"]))
        write_pairs_csv(rows, out / f"{name}_pairs.csv", digits=9)  # float32 exactly: labels read back the same
        used = np.union1d(rec["a"], rec["b"])
        counts[name] = {"rows": 2 * len(rec), "pairs": len(rec), "similar": int(rec["label"].sum()),
                        "songs": int(len(used))}
        shards[name] = [p.name for p in writer.paths]
    return {"counts": counts, "shards": shards, "length_boundaries": boundaries}
