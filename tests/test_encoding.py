"""Lyrics vocabulary and sequences, audio blocking, and the tf.data pipeline."""
import os

import numpy as np
import pytest

from dplib.datasets.audio import BLOCK, SAMPLE_RATE, band_filterbank, block_spectrogram
from dplib.datasets.lyrics import EncodedSongs, Vocabulary, encode_lyrics, tokenize
from dplib.datasets.pairs import Pairs
from dplib.datasets.pipeline import pair_dataset


def test_vocabulary_drops_rare_and_too_frequent_words():
    texts = [f"the love song number{i} {'rare' if i == 0 else 'heart'}" for i in range(10)]
    vocab = Vocabulary.fit((tokenize(t) for t in texts), min_count=2, max_doc_freq=0.95)
    assert "rare" not in vocab.index          # seen once
    assert "the" not in vocab.index          # in every song
    assert "heart" in vocab.index and vocab.index["heart"] >= 1
    assert vocab.size == len(vocab.words) + 1


def test_sequences_are_right_padded_and_capped():
    vocab = Vocabulary(["a", "b", "c"])
    songs = encode_lyrics({"S1": "a b c a b", "S2": "c", "S3": "zzz"}, vocab, max_len=4)
    assert songs.track_ids == ["S1", "S2"]  # S3 has no known word: counted, not silently kept as padding
    np.testing.assert_array_equal(songs.data, [[1, 2, 3, 1], [3, 0, 0, 0]])
    np.testing.assert_array_equal(songs.lengths, [4, 1])


def test_block_spectrogram_matches_a_loop_of_rffts():
    x = np.random.default_rng(0).normal(size=3 * BLOCK + 100).astype("float32")
    spec = block_spectrogram(x, log=False, normalize=False)
    loop = np.stack([np.abs(np.fft.rfft(x[i * BLOCK:(i + 1) * BLOCK])) for i in range(3)])
    assert spec.shape == (3, BLOCK // 2 + 1)
    np.testing.assert_allclose(spec, loop, rtol=1e-4, atol=1e-3)
    normed = block_spectrogram(x)
    assert abs(normed.mean()) < 1e-4 and abs(normed.std() - 1) < 1e-3


@pytest.mark.parametrize("scale, n_bands", [("linear", 128), ("mel", 64), ("mel", 8)])
def test_frequency_bands_average_the_bins(scale, n_bands):
    bank = band_filterbank(scale, n_bands)
    assert bank.shape == (BLOCK // 2 + 1, n_bands) and (bank >= 0).all()
    np.testing.assert_allclose(bank.sum(axis=0), 1, rtol=1e-5)  # a weighted mean of its bins, none empty
    covered = bank.sum(axis=1) > 0
    assert covered[1:-1].all()  # every bin inside the range feeds some band
    centres = (bank * np.arange(len(bank))[:, None]).sum(axis=0)
    assert (np.diff(centres) > 0).all()
    widths = (bank > 0).sum(axis=0)
    assert (widths[-1] > 3 * widths[0]) == (scale == "mel")  # mel: narrow low bands, wide high ones


def test_a_tone_lands_in_the_band_around_its_frequency():
    t = np.arange(2 * SAMPLE_RATE) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * 1000 * t).astype("float32")
    bank = band_filterbank("mel", 64)
    hz = np.arange(len(bank)) * (SAMPLE_RATE / 2) / (len(bank) - 1)
    spec = block_spectrogram(tone, log=False, normalize=False, bands="mel64")
    assert spec.shape == (4, 64)
    loudest = spec[0].argmax()
    assert bank[np.abs(hz - 1000).argmin(), loudest] > 0  # the loudest band contains 1 kHz
    with pytest.raises(ValueError, match="bands must be one of"):
        block_spectrogram(tone, bands="mel65")


def toy_songs():
    rng = np.random.default_rng(0)
    lengths = rng.integers(2, 30, size=40).astype("int32")
    data = np.zeros((40, 30), dtype="int32")
    for i, n in enumerate(lengths):
        data[i, :n] = rng.integers(1, 50, size=n)
    return EncodedSongs([f"S{i}" for i in range(40)], data, lengths)


def toy_pairs(n=100):
    rng = np.random.default_rng(1)
    a = np.array([f"S{i}" for i in rng.integers(0, 40, n)], dtype=object)
    b = np.array([f"S{i}" for i in rng.integers(0, 40, n)], dtype=object)
    return Pairs(a, b, np.zeros(n, "float32"), rng.integers(0, 2, n).astype("int32"))


def test_pipeline_keeps_order_and_trims_padding():
    songs, pairs = toy_songs(), toy_pairs()
    batches = list(pair_dataset(pairs, songs, batch_size=16))
    labels = np.concatenate([y.numpy() for _, y in batches])
    np.testing.assert_array_equal(labels, pairs.label)
    (xa, xb), _ = batches[0]
    longest = max(songs.lengths[songs.positions(pairs.a[:16])].max(), songs.lengths[songs.positions(pairs.b[:16])].max())
    assert xa.shape == (16, longest) and xb.shape == (16, longest)
    np.testing.assert_array_equal(xa.numpy(), songs[pairs.a[:16]][:, :longest])


def test_pipeline_runs_without_the_autotuner_and_gives_the_same_shuffled_batches():
    """The autotuner is off (it made fit wait at epoch ends); turning it back on changes no batch and no order."""
    import tensorflow as tf

    songs, pairs = toy_songs(), toy_pairs(200)
    ds = pair_dataset(pairs, songs, batch_size=32, shuffle=True, seed=3, bucket=True)
    assert ds.options().autotune.enabled is False
    on = tf.data.Options()
    on.autotune.enabled = True
    # a second dataset: iterating one seeded dataset again draws its next epoch's order
    tuned = pair_dataset(pairs, songs, batch_size=32, shuffle=True, seed=3, bucket=True).with_options(on)
    assert tuned.options().autotune.enabled is True
    for ((a_off, b_off), y_off), ((a_on, b_on), y_on) in zip(ds, tuned, strict=True):
        np.testing.assert_array_equal(a_off.numpy(), a_on.numpy())
        np.testing.assert_array_equal(b_off.numpy(), b_on.numpy())
        np.testing.assert_array_equal(y_off.numpy(), y_on.numpy())


def test_bucketed_pipeline_yields_every_pair_once_with_less_padding():
    songs, pairs = toy_songs(), toy_pairs(400)
    seen, padded_bucket, padded_plain = [], 0, 0
    for (xa, xb), y in pair_dataset(pairs, songs, batch_size=32, shuffle=True, seed=0, bucket=True):
        seen.extend(zip(map(tuple, xa.numpy()), map(tuple, xb.numpy()), y.numpy()))
        padded_bucket += xa.shape[0] * xa.shape[1]
    for (xa, _), _ in pair_dataset(pairs, songs, batch_size=32, shuffle=True, seed=0, bucket=False):
        padded_plain += xa.shape[0] * xa.shape[1]
    assert len(seen) == len(pairs)
    assert padded_bucket < padded_plain


def test_band_pooling_is_the_same_whatever_blas_kernel_and_threads_compute_it():
    """A float32 matrix product's last bits depend on the BLAS kernel the CPU selects and on its thread count (seen:
    five settings, four different results), and every number trained on the bands would follow. Summed in float64
    and rounded, the bands are the same bytes under each setting (each a fresh process: OpenBLAS reads them once)."""
    import subprocess
    import sys

    code = ("import hashlib, numpy as np; from dplib.datasets.audio import block_spectrogram; "
            "x = np.random.default_rng(0).standard_normal(30 * 22050).astype('float32'); "
            "print(hashlib.sha1(block_spectrogram(x, bands='mel64').tobytes()).hexdigest())")
    digests = set()
    for setting in ({"OPENBLAS_NUM_THREADS": "1"}, {"OPENBLAS_NUM_THREADS": "2"}, {"OPENBLAS_CORETYPE": "Haswell"},
                    {"OPENBLAS_CORETYPE": "Sandybridge"}):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                              env={**os.environ, **setting})
        assert done.returncode == 0, done.stderr[-2000:]
        digests.add(done.stdout.strip())
    assert len(digests) == 1, digests
