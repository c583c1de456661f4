"""``tf.data`` pipelines that yield ``((song_a, song_b), label)`` batches.

Songs are encoded once (:class:`~dplib.datasets.lyrics.EncodedSongs`); a pair is
two positions in them. Each batch gathers its songs, and for lyrics trims the padding
to the longest song in the batch: on a CPU the LSTM's cost is per time step.
``bucket=True`` also batches pairs of similar length together, which leaves less
padding to trim, but training does not use it: at the default size its batches
learned more slowly per epoch than shuffled ones in our trials (notebook 03 compares them),
so it cost more time per result than it saved per epoch.
"""
from __future__ import annotations

import numpy as np
import tensorflow as tf

from .lyrics import EncodedSongs
from .pairs import Pairs


def prefetched(ds: tf.data.Dataset) -> tf.data.Dataset:
    """The last step of every pipeline here: prefetch, with tf.data's autotuner off.

    With the autotuner on, dropping an epoch's iterator (``fit`` does it at each epoch's end) sometimes waited
    for the autotuner's next wake-up, and those wake-ups double in spacing (10 ms, 20 ms, ...), with a core idle
    meanwhile. ``make bench`` (section 2) trains the paper's audio row both ways (how much it saves depends on
    the machine). Off, ``AUTOTUNE`` parallelism means one call per core and the prefetch buffer still grows when
    it runs dry; the batches and their order are the same.
    """
    options = tf.data.Options()
    options.autotune.enabled = False
    return ds.prefetch(tf.data.AUTOTUNE).with_options(options)


def length_boundaries(lengths: np.ndarray, n_buckets: int = 8) -> list[int]:
    """Bucket edges at quantiles of the pair lengths (strictly increasing, >= 2)."""
    qs = np.quantile(lengths, np.linspace(0, 1, n_buckets + 1)[1:-1])
    return sorted({int(q) + 1 for q in qs if q >= 1})


def pair_dataset(
    pairs: Pairs,
    songs: EncodedSongs,
    batch_size: int = 256,
    shuffle: bool = False,
    seed: int = 0,
    bucket: bool = False,
    trim: bool = True,
    n_buckets: int = 8,
    drop_remainder: bool = False,
) -> tf.data.Dataset:
    """Batches of ``((song_a, song_b), label)`` for ``model.fit`` / ``predict``.

    ``trim`` cuts right padding to the batch's longest song (lyrics only; audio
    clips have one fixed length). Without ``shuffle`` or ``bucket`` the order of
    ``pairs`` is kept, which evaluation relies on. ``drop_remainder``: full batches only.
    :meth:`dplib.datasets.prepare.Prepared.dataset` is the usual way in.
    """
    ia = songs.positions(pairs.a)
    ib = songs.positions(pairs.b)
    y = pairs.label.astype("int32")
    data, lengths = songs.data, songs.lengths
    sequence = data.ndim == 2
    ds = tf.data.Dataset.from_tensor_slices((ia, ib, y))
    if shuffle:
        ds = ds.shuffle(len(y), seed=seed, reshuffle_each_iteration=True)
    if bucket and sequence:
        pair_len = np.maximum(lengths[ia], lengths[ib])
        bounds = length_boundaries(pair_len, n_buckets)
        table = tf.constant(lengths)
        ds = ds.bucket_by_sequence_length(
            lambda a, b, _: tf.maximum(tf.gather(table, a), tf.gather(table, b)),
            bucket_boundaries=bounds,
            bucket_batch_sizes=[batch_size] * (len(bounds) + 1),
            drop_remainder=drop_remainder,
        )
    else:
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)

    def gather(a, b):
        xa, xb = data[a], data[b]
        if sequence and trim:
            longest = max(int(lengths[a].max(initial=1)), int(lengths[b].max(initial=1)), 1)
            xa, xb = xa[:, :longest], xb[:, :longest]
        return xa, xb

    out_dtype = tf.as_dtype(data.dtype)
    shape = [None, None] if sequence else [None, *data.shape[1:]]

    def to_batch(a, b, label):
        xa, xb = tf.numpy_function(gather, [a, b], [out_dtype, out_dtype], stateful=False)
        xa.set_shape(shape)
        xb.set_shape(shape)
        return (xa, xb), label

    return prefetched(ds.map(to_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True))


def joint_pair_dataset(
    pairs: Pairs, lyrics: EncodedSongs, audio: EncodedSongs, batch_size: int = 256, shuffle: bool = False, seed: int = 0
) -> tf.data.Dataset:
    """Batches of ``({"lyrics_a", "audio_a", "lyrics_b", "audio_b"}, label)`` for the joint model."""
    positions = [lyrics.positions(pairs.a), audio.positions(pairs.a), lyrics.positions(pairs.b), audio.positions(pairs.b)]
    ds = tf.data.Dataset.from_tensor_slices((*positions, pairs.label.astype("int32")))
    if shuffle:
        ds = ds.shuffle(len(pairs), seed=seed, reshuffle_each_iteration=True)
    ds = ds.batch(batch_size)

    def gather(la, aa, lb, ab):
        longest = max(int(lyrics.lengths[la].max(initial=1)), int(lyrics.lengths[lb].max(initial=1)), 1)
        return lyrics.data[la][:, :longest], audio.data[aa], lyrics.data[lb][:, :longest], audio.data[ab]

    def to_batch(la, aa, lb, ab, label):
        out = tf.numpy_function(gather, [la, aa, lb, ab], [tf.int32, tf.float32, tf.int32, tf.float32], stateful=False)
        names = ("lyrics_a", "audio_a", "lyrics_b", "audio_b")
        shapes = ([None, None], [None, *audio.data.shape[1:]]) * 2
        for tensor, shape in zip(out, shapes):
            tensor.set_shape(shape)
        return dict(zip(names, out)), label

    return prefetched(ds.map(to_batch, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True))
