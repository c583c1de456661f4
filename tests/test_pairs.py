"""Pairs: labels, balance, flips in one part, song-disjoint splits, leakage, determinism."""
import numpy as np
import pytest

from dplib.datasets.pairs import ScoredPairs, balance, build_pair_pool, make_parts, song_fractions, split_pairs


def random_scored(n_songs=300, n_pairs=4000, seed=0):
    rng = np.random.default_rng(seed)
    songs = np.array([f"TR{i:04d}" for i in range(n_songs)], dtype=object)
    a, b = rng.choice(songs, n_pairs), rng.choice(songs, n_pairs)
    score = np.where(rng.random(n_pairs) < 0.3, rng.uniform(0.5, 1, n_pairs), rng.uniform(0, 0.5, n_pairs))
    return ScoredPairs(a, b, score.astype("float32")), set(songs)


def test_pool_merges_directions_and_thresholds():
    scored = ScoredPairs.from_listings([("A", "B", 0.4), ("B", "A", 0.6), ("A", "C", 0.5), ("C", "C", 1.0), ("A", "D", 0.1)])
    pool = build_pair_pool(scored, {"A", "B", "C", "D"})
    got = {(a, b): (float(s), int(y)) for a, b, s, y in zip(pool.a, pool.b, pool.score, pool.label)}
    assert got == {("A", "B"): (pytest.approx(0.6), 1), ("A", "C"): (0.5, 1), ("A", "D"): (pytest.approx(0.1), 0)}


def test_random_negatives_are_unlisted_pairs():
    scored, songs = random_scored()
    pool = build_pair_pool(scored, songs, negatives="random", seed=1)
    listed = {tuple(sorted(p)) for p in zip(scored.a, scored.b)}
    negatives = pool.take(pool.label == 0)
    assert len(negatives) > 0
    assert not any((a, b) in listed for a, b in zip(negatives.a, negatives.b))


@pytest.mark.parametrize("split", ["pair", "song"])
def test_splits_are_balanced_flipped_and_deterministic(split):
    scored, songs = random_scored()
    pool = build_pair_pool(scored, songs)
    s1 = make_parts(pool, split, (200, 40, 40), seed=3)
    s2 = make_parts(pool, split, (200, 40, 40), seed=3)
    for name in ("train", "val", "test"):
        p = s1[name]
        assert p.n_positive * 2 == len(p)
        assert np.array_equal(p.a, s2[name].a) and np.array_equal(p.label, s2[name].label)
        # both orders of every pair sit in the same split, with the same label
        rows = {(a, b, y) for a, b, y in zip(p.a, p.b, p.label)}
        assert all((b, a, y) in rows for a, b, y in rows)
    assert len(s1.train) == 800


def test_song_split_is_song_disjoint_and_pair_split_leaks():
    scored, songs = random_scored()
    pool = build_pair_pool(scored, songs)
    song = make_parts(pool, "song", seed=0)
    assert not (song.train.songs() & song.val.songs())
    assert not (song.train.songs() & song.test.songs())
    assert not (song.val.songs() & song.test.songs())
    assert song.leakage == {"val": 0.0, "test": 0.0}
    pair = make_parts(pool, "pair", seed=0)
    assert pair.leakage["val"] > 0.5


def test_song_fractions_make_pair_shares_close_to_asked():
    q = song_fractions((0.8, 0.1, 0.1))
    kept = q**2 / (q**2).sum()
    np.testing.assert_allclose(kept, [0.8, 0.1, 0.1], atol=1e-9)


def test_balance_never_invents_pairs():
    scored, songs = random_scored()
    pool = build_pair_pool(scored, songs)
    b = balance(pool, 10**9)
    assert b.n_positive == len(b) - b.n_positive == min(pool.n_positive, len(pool) - pool.n_positive)


def test_unknown_split_method():
    scored, songs = random_scored(20, 50)
    with pytest.raises(ValueError, match="split must be"):
        split_pairs(build_pair_pool(scored, songs), "artist")
