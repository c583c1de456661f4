"""Streamed preparation (corpus -> TFRecord shards without loading it) against the in-memory path."""
import csv
import json

import numpy as np
import pytest
import tensorflow as tf

from dplib.datasets.corpus import find_data, load_corpus
from dplib.datasets.lyrics import Vocabulary, tokenize
from dplib.datasets.pairs import build_pair_pool
from dplib.datasets.report import DataError, SkipReport
from dplib.datasets.shards import StreamedLyrics
from dplib.datasets.streaming import bucket_pairs, index_songs, prepare_lyrics_shards


def read_csv_pairs(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    assert rows[0] == ["track_a", "track_b", "score"]
    return [(a, b, float(s)) for a, b, s in rows[1:]]


def raw_examples(folder, split):
    """(song_a, song_b, label) of every example, in file order."""
    files = sorted(str(p) for p in folder.glob(f"{split}-*.tfrecord"))
    out = []
    for record in tf.data.TFRecordDataset(files):
        ex = tf.train.Example.FromString(record.numpy()).features.feature
        out.append((tuple(ex["song_a"].int64_list.value), tuple(ex["song_b"].int64_list.value),
                    ex["label"].int64_list.value[0]))
    return out


@pytest.mark.parametrize("n_buckets", [1, 7])
def test_streamed_pool_is_the_in_memory_pool(synth_quick, tmp_path, n_buckets):
    corpus = load_corpus(synth_quick)
    report = SkipReport()
    pool = build_pair_pool(corpus.scored, corpus.lyrics.keys(), report=report)
    expected = {(a, b, float(s)) for a, b, s in zip(pool.a, pool.b, pool.score)}

    paths, streamed = find_data(synth_quick), SkipReport()
    index = index_songs(paths, report=streamed)
    buckets = bucket_pairs(paths, index, tmp_path, n_buckets, streamed)
    got = [(index.ids[r["a"]].decode(), index.ids[r["b"]].decode(), float(r["score"]))
           for bucket, _ in buckets.pools() for r in bucket]
    assert len(list(tmp_path.glob("bucket-*.bin"))) == n_buckets
    assert len(got) == len(set(got)) == len(expected)  # each unordered pair once, in one bucket
    assert set(got) == expected  # higher score of a pair listed both ways, like the dict version
    assert streamed.skips == corpus.report.skips + report.skips  # empty lyrics, unknown tracks


def test_song_split_shards_are_balanced_flipped_and_song_disjoint(synth_quick, tmp_path):
    out = tmp_path / "shards"
    data = prepare_lyrics_shards(synth_quick, out, split="song", shard_size=500)
    m = data.manifest
    songs = {}
    for name in ("train", "val", "test"):
        pairs = read_csv_pairs(out / f"{name}_pairs.csv")
        counts = m["counts"][name]
        assert counts["rows"] == 2 * counts["pairs"] == 2 * len(pairs) > 0  # both orders of each pair
        assert counts["similar"] == counts["pairs"] // 2  # balanced 50/50
        assert sum(s >= 0.5 for _, _, s in pairs) == len(pairs) // 2
        songs[name] = {t for a, b, _ in pairs for t in (a, b)}
        assert counts["songs"] == len(songs[name])
        examples = raw_examples(out, name)
        assert len(examples) == counts["rows"]
        for first, second in zip(examples[0::2], examples[1::2]):  # every pair in both orders, side by side
            assert (first[1], first[0], first[2]) == second
        assert len(m["shards"][name]) == -(-counts["rows"] // 500)
    assert not songs["train"] & songs["val"] and not songs["train"] & songs["test"] and not songs["val"] & songs["test"]
    assert m["leakage"] == {"val": 0.0, "test": 0.0}
    assert m["pairs_across_parts"] > 0  # the price of a song-disjoint split, counted

    loaded = StreamedLyrics.load(out)
    n = sum(int(y.shape[0]) for _, y in loaded.dataset("val", batch_size=64))
    assert n == m["counts"]["val"]["rows"]


def test_shards_hold_the_training_vocabulary_encodings(synth_quick, tmp_path):
    out = tmp_path / "shards"
    data = prepare_lyrics_shards(synth_quick, out, split="pair", max_len=30)
    texts = load_corpus(synth_quick).lyrics
    train = read_csv_pairs(out / "train_pairs.csv")
    train_songs = sorted({t for a, b, _ in train for t in (a, b)})
    expected_vocab = Vocabulary.fit((tokenize(texts[t]) for t in train_songs), 3, 0.5)
    vocab = data.vocab
    assert vocab.words == expected_vocab.words and data.input_dim == vocab.size
    examples = raw_examples(out, "train")
    for k, (a, b, score) in enumerate(train[:25]):
        song_a, song_b, label = examples[2 * k]
        assert song_a == tuple(vocab.encode(tokenize(texts[a]))[:30])
        assert song_b == tuple(vocab.encode(tokenize(texts[b]))[:30])
        assert label == int(score >= 0.5)
    songs = np.load(out / "songs.npy", mmap_mode="r")
    assert songs.shape[1] == 30 and len(songs) == len((out / "track_ids.txt").read_text().split())


def test_caps_and_determinism(synth_quick, tmp_path):
    one = prepare_lyrics_shards(synth_quick, tmp_path / "one", pairs_per_class=(150, 20, 20), seed=3)
    prepare_lyrics_shards(synth_quick, tmp_path / "two", pairs_per_class=(150, 20, 20), seed=3)
    prepare_lyrics_shards(synth_quick, tmp_path / "other", pairs_per_class=(150, 20, 20), seed=4)
    assert {k: v["rows"] for k, v in one.counts().items()} == {"train": 600, "val": 80, "test": 80}
    old = {part: {"pairs": c["rows"], "positive": c["rows"] // 2, "songs": c["songs"]}  # a manifest before "rows"
           for part, c in one.manifest["counts"].items()}
    new = one.counts()
    one.manifest["counts"] = old
    assert one.counts() == new and new["train"] == {"rows": 600, "pairs": 300, "similar": 150,
                                                    "songs": new["train"]["songs"]}
    assert one.manifest["available"]["train"]["positive"] > 150
    for name in ("train_pairs.csv", "vocabulary.json", "train-00000-of-00001.tfrecord", "songs.npy"):
        assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name
    assert (tmp_path / "one" / "train_pairs.csv").read_text() != (tmp_path / "other" / "train_pairs.csv").read_text()
    again = prepare_lyrics_shards(synth_quick, tmp_path / "one", pairs_per_class=(150, 20, 20), seed=3, shard_size=256)
    assert sorted(p.name for p in (tmp_path / "one").glob("train-*.tfrecord")) == again.manifest["shards"]["train"]
    assert len(again.manifest["shards"]["train"]) == 3  # the earlier single shard is gone, not read twice


def test_bad_input_is_counted_or_raised_with_file_and_line(tmp_path):
    folder = tmp_path / "data"
    folder.mkdir()
    songs = [f"TR{i:04d}" for i in range(40)]
    rng = np.random.default_rng(0)
    lines = ["track_a,track_b,score"]
    for _ in range(300):
        a, b = rng.choice(songs, 2, replace=False)
        lines.append(f"{a},{b},{rng.choice([0.1, 0.9]):.1f}")
    lines[2] = "TR0001,TR0002,high"  # line 3: a bad score
    lines += ["TR0001,NOLYRICS,0.9", "TR0003,TR0003,1.0", "TR0004,TR0005"]
    (folder / "pairs.csv").write_text("\n".join(lines) + "\n")
    with open(folder / "lyrics.jsonl", "w") as f:
        for t in songs:
            f.write(json.dumps({"track_id": t, "text": "love night road " * 2 + t.lower()}) + "\n")
        f.write(json.dumps({"track_id": "TR9999", "text": ""}) + "\n")  # empty: counted
        f.write(json.dumps({"track_id": "TR0008", "text": "a second text"}) + "\n")  # repeated: first kept, counted
    data = prepare_lyrics_shards(folder, tmp_path / "out", split="pair", min_count=1)
    assert data.manifest["skipped"] == {"non-numeric score": 1, "pair names a track without data": 1,
                                        "pair of a track with itself": 1, "malformed pair row": 1, "empty lyrics": 1,
                                        "duplicate track id (the first text is kept)": 1}
    with pytest.raises(DataError, match=r"lyrics.jsonl, line 41: empty lyrics"):  # lyrics are read first
        prepare_lyrics_shards(folder, tmp_path / "strict", strict=True)
    text = (folder / "lyrics.jsonl").read_text().splitlines()
    (folder / "lyrics.jsonl").write_text("\n".join(text[:40]) + "\n")  # without the two bad lines
    with pytest.raises(DataError, match=r"pairs.csv, line 3: non-numeric score"):
        prepare_lyrics_shards(folder, tmp_path / "strict", strict=True)
    (folder / "lyrics.jsonl").unlink()
    with pytest.raises(DataError, match="no lyrics"):
        prepare_lyrics_shards(folder, tmp_path / "none")
    with pytest.raises(DataError, match="manifest.json"):
        StreamedLyrics.load(tmp_path / "none")


def test_cli_shards_then_train(synth_quick, tmp_path, capsys):
    from dplib.cli import main

    shards = tmp_path / "shards"
    assert main(["data", "shards", str(synth_quick), "--out", str(shards), "--pairs-per-class", "300"]) == 0
    assert "train with: dplib train lyrics --shards" in capsys.readouterr().out
    run = tmp_path / "run"
    assert main(["train", "lyrics", "--shards", str(shards), "--combine", "product", "--fc", "1",
                 "--epochs", "1", "--out", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["n_train_pairs"] == 600 and metrics["split"] == "song"  # 300 per class, unordered
    assert metrics["n_test_pairs"] == StreamedLyrics.load(shards).counts()["test"]["pairs"]
    assert 0.0 <= metrics["test_accuracy"] <= 1.0
    assert metrics["symmetry_gap"] < 1e-6  # product is symmetric, and the flips sit side by side
    assert (run / "model.keras").exists()
    capsys.readouterr()
    track = read_csv_pairs(shards / "test_pairs.csv")[0][0]
    assert main(["playlist", "--model", str(run / "model.keras"), "--track", track, "--k", "3",
                 "--data", str(synth_quick)]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 4  # the query, then 3 songs
    for argv, said in ((["data", "shards", str(synth_quick), "--out", str(shards), "--pairs-per-class", "1", "2", "3",
                         "4"], "at most three caps"), (["train", "audio", "--shards", str(shards), "--out", str(run)],
                                                       "--shards trains lyrics models")):
        with pytest.raises(SystemExit) as stopped:
            main(argv)
        assert stopped.value.code == 2 and said in capsys.readouterr().err  # a usage error, said by the parser


def test_fixed_shapes_for_tpus(synth_quick, tmp_path):
    data = prepare_lyrics_shards(synth_quick, tmp_path / "shards", max_len=40, pairs_per_class=(100, 30, 30))
    train = [(a.shape, b.shape) for (a, b), _ in data.dataset("train", batch_size=64, fixed_shapes=True)]
    assert train == [((64, 40), (64, 40))] * (400 // 64)  # full batches only: the partial one is dropped
    val = [a.shape[0] for (a, _), _ in data.dataset("val", batch_size=64, fixed_shapes=True)]
    assert sum(val) == 120  # evaluation keeps every example
    varied = {a.shape[1] for (a, _), _ in data.dataset("train", batch_size=2)}
    assert max(varied) <= 40 and len(varied) > 1  # by default each batch is cut to its longest song


def test_bucketed_shard_batches_group_similar_lengths(synth_quick, tmp_path):
    from dplib.datasets.tfrecords import read_pair_shards

    data = prepare_lyrics_shards(synth_quick, tmp_path / "shards", max_len=60)
    bounds = data.manifest["length_boundaries"]
    assert bounds == sorted(bounds) and len(bounds) >= 2
    edges = [0, *bounds, 10**6]
    n = 0
    for (a, b), y in read_pair_shards(data.folder, "train", batch_size=32, seed=1, bucket_boundaries=bounds):
        longest = np.maximum((a.numpy() > 0).sum(axis=1), (b.numpy() > 0).sum(axis=1))
        assert a.shape[1] == longest.max()  # cut to the batch's longest song
        k = np.searchsorted(edges, longest, side="right")
        assert k.min() == k.max()  # one length bucket per batch
        n += len(y)
    assert n == data.counts()["train"]["rows"]


@pytest.mark.parametrize("split,seed,caps", [("pair", 0, (None, None, None)), ("song", 3, (150, 20, None)),
                                             ("song", 0, (None, 30, 10))])
def test_streamed_and_in_memory_paths_draw_the_same_pairs(synth_quick, tmp_path, split, seed, caps):
    """One split rule (PartDraw) and one balanced draw: the same seed gives the same pairs, in the same order,
    the same vocabulary and the same encoded songs, whichever path prepared them."""
    from dplib.datasets.prepare import prepare_lyrics
    from dplib.datasets.prepare import parts_key

    memory = prepare_lyrics(load_corpus(synth_quick), split, caps, max_len=40, seed=seed)
    streamed = prepare_lyrics_shards(synth_quick, tmp_path / "s", split, caps, max_len=40, seed=seed, n_buckets=5)
    assert parts_key(streamed) == parts_key(memory)
    for part in ("train", "val", "test"):
        mine, theirs = memory.rows(part), streamed.rows(part)
        assert len(mine) > 0
        assert list(zip(mine.a, mine.b, mine.label)) == list(zip(theirs.a, theirs.b, theirs.label))
        np.testing.assert_allclose(mine.score, theirs.score, rtol=1e-6)
        examples = raw_examples(tmp_path / "s", part)
        for k in range(0, len(mine), max(1, len(mine) // 20)):  # the shards hold the in-memory encodings
            a, b = memory.songs[[mine.a[k]]][0], memory.songs[[mine.b[k]]][0]
            assert examples[k] == (tuple(a[a > 0]), tuple(b[b > 0]), int(mine.label[k]))
    assert streamed.vocab.words == memory.vocab.words
    assert streamed.leakage == pytest.approx(memory.leakage)
    assert streamed.counts() == memory.counts()


def test_part_draw_is_the_same_in_chunks_as_whole():
    from dplib.datasets.pairs import PartDraw

    rng = np.random.default_rng(1)
    a = np.sort(rng.integers(0, 50, 1000))
    b = a + rng.integers(1, 50, 1000)
    for split in ("pair", "song"):
        whole = PartDraw(split, (0.8, 0.1, 0.1), 100, seed=7)(a, b)
        draw = PartDraw(split, (0.8, 0.1, 0.1), 100, seed=7)
        chunked = np.concatenate([draw(a[i:i + 37], b[i:i + 37]) for i in range(0, 1000, 37)])
        np.testing.assert_array_equal(chunked, whole)
        assert set(np.unique(whole)) == ({0, 1, 2} if split == "pair" else {-1, 0, 1, 2})
        assert abs((whole == 0).mean() - (0.8 if split == "pair" else 0.5)) < 0.2
    with pytest.raises(ValueError, match="'pair' or 'song'"):
        PartDraw("track", (0.8, 0.1, 0.1), 100, seed=0)


def test_one_fit_and_one_evaluate_for_both_paths(synth_quick, tmp_path):
    """training.fit and evaluation.evaluate take in-memory and streamed data alike; on the same pairs the
    evaluation sees the same labels, and fast=False pads every batch to max_len on both paths."""
    from dplib.datasets.prepare import prepare_lyrics
    from dplib.evaluation import evaluate, predict_pairs
    from dplib.models import build_lyrics_model
    from dplib.training import fit

    caps = (100, 20, 20)
    memory = prepare_lyrics(load_corpus(synth_quick), "pair", caps, max_len=30, seed=2)
    streamed = prepare_lyrics_shards(synth_quick, tmp_path / "s", "pair", caps, max_len=30, seed=2)
    for data in (memory, streamed):
        assert {a.shape[1] for (a, _), _ in data.dataset("val", 16, fast=False)} == {30}
        model = build_lyrics_model(data.input_dim, "product", 1)
        history = fit(model, data, epochs=1, batch_size=32)
        assert history["epochs_run"] == 1 and history["pairs_per_second"] > 0
        result = evaluate(model, data, "test", keep_scores=True)
        assert result["n_rows"] == 80 and result["symmetry_gap"] < 1e-6  # 40 pairs, both orders; product: symmetric
        p = np.array(result["p"])
        assert result["accuracy"] == pytest.approx(((p >= 0.5) == (data.rows("test").label == 1)).mean())
    concat = build_lyrics_model(memory.input_dim, "concat", 1)  # asymmetric: its gap is measured, not assumed
    pairs = memory.rows("test")
    swapped = type(pairs)(pairs.b, pairs.a, pairs.score, pairs.label)
    direct = np.abs(predict_pairs(concat, pairs, memory.songs) - predict_pairs(concat, swapped, memory.songs)).mean()
    assert evaluate(concat, memory, "test")["symmetry_gap"] == pytest.approx(direct, rel=1e-4) and direct > 1e-4
    unflipped = memory.rows("test").take(np.arange(0, 80, 2))
    memory.parts.test = unflipped
    with pytest.raises(ValueError, match="both orders"):
        evaluate(model, memory, "test")


def test_training_batches_are_shuffled_rows_trimmed_not_length_groups(synth_quick):
    """The fast path trims each batch to its longest song and keeps the shuffled order: it draws the batches of
    the plain shuffled pipeline (length buckets learned much more slowly per epoch; dplib.datasets.pipeline)."""
    from dplib.datasets.pipeline import pair_dataset
    from dplib.datasets.prepare import prepare_lyrics

    data = prepare_lyrics(load_corpus(synth_quick), "pair", (200, 20, 20), max_len=40, seed=1)
    fast = list(data.dataset("train", batch_size=32, seed=5))
    plain = list(pair_dataset(data.parts.train, data.songs, batch_size=32, shuffle=True, seed=5, trim=False))
    assert len(fast) == len(plain) > 2
    for ((fa, fb), fy), ((pa, pb), py) in zip(fast, plain, strict=True):
        width = fa.shape[1]
        np.testing.assert_array_equal(fa.numpy(), pa.numpy()[:, :width])
        np.testing.assert_array_equal(fb.numpy(), pb.numpy()[:, :width])
        assert not pa.numpy()[:, width:].any() and not pb.numpy()[:, width:].any()  # only padding was cut
        np.testing.assert_array_equal(fy.numpy(), py.numpy())
