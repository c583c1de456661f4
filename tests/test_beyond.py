"""Beyond the paper: the joint model, playlists and retrieval metrics, MSD HDF5 segment features."""
import numpy as np
import keras
import pytest

from dplib.datasets.report import DataError, SkipReport
from dplib.models import build_joint_model
from dplib.playlists import cosine_matrix, nearest, relevance_matrix, retrieval_metrics


def joint_inputs(rng, n=6):
    tokens = lambda: rng.integers(1, 50, size=(n, 9)).astype("int32")
    clips = lambda: rng.normal(size=(n, 4, 16)).astype("float32")
    return {"lyrics_a": tokens(), "audio_a": clips(), "lyrics_b": tokens(), "audio_b": clips()}


def test_joint_model_is_symmetric_with_symmetric_combiners_and_saves(tmp_path):
    x = joint_inputs(np.random.default_rng(0))
    swapped = {"lyrics_a": x["lyrics_b"], "audio_a": x["audio_b"], "lyrics_b": x["lyrics_a"], "audio_b": x["audio_a"]}
    model = build_joint_model(50, 16, "all_sym", "absdiff", fc=2, filters=4)
    np.testing.assert_allclose(model.predict(x, verbose=0), model.predict(swapped, verbose=0), atol=1e-6)
    names = [layer.name for layer in model.layers]
    assert names.count("lyrics_tower") == 1 and names.count("audio_tower") == 1
    model.save(tmp_path / "joint.keras")
    loaded = keras.models.load_model(tmp_path / "joint.keras")
    np.testing.assert_array_equal(model.predict(x, verbose=0), loaded.predict(x, verbose=0))


def test_nearest_and_cosine():
    emb = np.array([[1, 0], [0.9, 0.1], [0, 1], [-1, 0]], dtype="float32")
    ids = ["A", "B", "C", "D"]
    assert [t for t, _ in nearest(emb, ids, "A", k=3)] == ["B", "C", "D"]
    np.testing.assert_allclose(cosine_matrix(emb[:1], emb)[0, [0, 3]], [1, -1])
    with pytest.raises(KeyError, match="query track Z"):
        nearest(emb, ids, "Z")


def test_retrieval_metrics_by_hand():
    # one query, candidates c0..c3; relevant (>= 0.5): c1 (0.9) and c3 (0.6); c2 listed but below 0.5
    rel = np.array([[0.0, 0.9, 0.2, 0.6]])
    scores = np.array([[0.1, 0.8, 0.9, 0.3]])  # ranking: c2, c1, c3, c0
    m = retrieval_metrics(scores, rel, k=2)
    assert m["recall@2"] == pytest.approx(0.5)            # c1 of {c1, c3}
    assert m["map@2"] == pytest.approx((1 / 2) / 2)        # precision 1/2 at rank 2, over min(2, 2)
    dcg = 0.2 / np.log2(2) + 0.9 / np.log2(3)
    ideal = 0.9 / np.log2(2) + 0.6 / np.log2(3)
    assert m["ndcg@2"] == pytest.approx(dcg / ideal)
    assert m["queries"] == 1


def test_relevance_matrix_uses_both_directions():
    rel = relevance_matrix(["A"], ["B", "C"], ["B", "A"], ["A", "C"], [0.7, 0.2])
    np.testing.assert_allclose(rel, [[0.7, 0.2]])


def write_msd_h5(path, tid, n_segments):
    import h5py

    rng = np.random.default_rng(len(tid) + n_segments)
    with h5py.File(path, "w") as f:
        f.create_dataset("analysis/segments_timbre", data=rng.normal(size=(n_segments, 12)) * 50)
        f.create_dataset("analysis/segments_pitches", data=rng.random((n_segments, 12)))
        songs = np.zeros(1, dtype=[("track_id", "S18"), ("duration", "f8")])
        songs["track_id"] = tid.encode()
        f.create_dataset("analysis/songs", data=songs)


def test_msd_h5_segments(tmp_path):
    pytest.importorskip("h5py")
    from dplib.datasets.msd_h5 import encode_msd_h5, read_msd_h5

    write_msd_h5(tmp_path / "TRAAAAW128F429D538.h5", "TRAAAAW128F429D538", 30)
    write_msd_h5(tmp_path / "TRAAABD128F429CF47.h5", "TRAAABD128F429CF47", 8)
    (tmp_path / "BROKEN.h5").write_bytes(b"not hdf5")
    tid, feats = read_msd_h5(tmp_path / "TRAAAAW128F429D538.h5")
    assert tid == "TRAAAAW128F429D538" and feats.shape == (30, 24)
    report = SkipReport()
    songs = encode_msd_h5(sorted(tmp_path.glob("*.h5")), n_segments=20, report=report)
    assert songs.track_ids == ["TRAAAAW128F429D538", "TRAAABD128F429CF47"]
    assert songs.data.shape == (2, 20, 24) and list(songs.lengths) == [20, 8]
    assert np.all(songs.data[1, 8:] == 0)  # padding stays zero
    assert report.skips == {"unreadable HDF5": 1}
    with pytest.raises(DataError, match="BROKEN.h5: unreadable HDF5"):
        read_msd_h5(tmp_path / "BROKEN.h5")


def test_tfrecord_shards_round_trip_and_train(tmp_path):
    from dplib.datasets.lyrics import EncodedSongs
    from dplib.datasets.pairs import Pairs
    from dplib.datasets.tfrecords import read_pair_shards, write_pair_shards
    from dplib.models import build_lyrics_model

    rng = np.random.default_rng(0)
    lengths = rng.integers(1, 15, size=30).astype("int32")
    data = np.zeros((30, 15), dtype="int32")
    for i, n in enumerate(lengths):
        data[i, :n] = rng.integers(1, 40, size=n)
    songs = EncodedSongs([f"S{i}" for i in range(30)], data, lengths)
    a = np.array([f"S{i}" for i in rng.integers(0, 30, 250)], dtype=object)
    b = np.array([f"S{i}" for i in rng.integers(0, 30, 250)], dtype=object)
    pairs = Pairs(a, b, np.zeros(250, "float32"), rng.integers(0, 2, 250).astype("int32"))
    paths = write_pair_shards(pairs, songs, tmp_path, shard_size=100)
    assert [p.name for p in paths] == [f"train-0000{i}-of-00003.tfrecord" for i in range(3)]
    seen = []
    for (xa, xb), y in read_pair_shards(tmp_path, batch_size=32, shuffle=False):
        assert xa.shape == xb.shape
        for ra, rb, label in zip(xa.numpy(), xb.numpy(), y.numpy()):
            seen.append((tuple(ra[ra > 0]), tuple(rb[rb > 0]), int(label)))
    expected = [(tuple(songs[[x]][0][: songs.lengths[songs.position[x]]]), tuple(songs[[z]][0][: songs.lengths[songs.position[z]]]), int(l))
                for x, z, l in zip(pairs.a, pairs.b, pairs.label)]
    assert seen == expected
    model = build_lyrics_model(40, "product", 1)
    history = model.fit(read_pair_shards(tmp_path, batch_size=32, seed=1), epochs=1, verbose=0, shuffle=False)
    assert np.isfinite(history.history["loss"][0])
