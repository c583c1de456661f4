"""Shard folders written completely or not at all, and refused when their parts do not belong together."""
import json

import numpy as np
import pytest

from dplib.datasets import tfrecords
from dplib.datasets.corpus import load_corpus
from dplib.datasets.pairs import build_pair_pool
from dplib.datasets.report import DataError, SkipReport
from dplib.datasets.shards import MANIFEST, StreamedLyrics
from dplib.datasets.streaming import prepare_lyrics_shards


@pytest.fixture(scope="module")
def small_data(tmp_path_factory):
    """40 songs with lyrics and 300 scored listings, some pairs listed twice with different scores."""
    folder = tmp_path_factory.mktemp("shards") / "data"
    folder.mkdir()
    songs = [f"TR{i:04d}" for i in range(40)]
    rng = np.random.default_rng(0)
    rows = [(*rng.choice(songs, 2, replace=False), rng.choice([0.1, 0.9])) for _ in range(300)]
    rows += [("TR0001", "TR0002", 0.9), ("TR0002", "TR0001", 0.2)]  # the higher is kept, with a note
    (folder / "pairs.csv").write_text("track_a,track_b,score\n" + "".join(f"{a},{b},{s}\n" for a, b, s in rows))
    with open(folder / "lyrics.jsonl", "w") as f:
        for k, t in enumerate(songs):
            f.write(json.dumps({"track_id": t, "text": f"love night road word{k % 7} {t.lower()}"}) + "\n")
    return folder


def shards(small_data, out, **kw):
    return prepare_lyrics_shards(small_data, out, split="pair", min_count=1, shard_size=100, **kw)


def test_conflicting_scores_are_noted_the_same_way_on_both_paths(small_data, tmp_path):
    data = shards(small_data, tmp_path / "out")
    corpus = load_corpus(small_data)
    report = SkipReport()
    build_pair_pool(corpus.scored, corpus.lyrics.keys(), report=report)
    key = "pair listed twice with different scores (the higher kept)"
    assert report.notes[key] >= 1 and data.manifest["notes"][key] == report.notes[key]


def test_an_interrupted_rerun_leaves_the_previous_folder_whole(small_data, tmp_path, monkeypatch):
    out = tmp_path / "out"
    first = shards(small_data, out, seed=1)
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C while the shards were written

    monkeypatch.setattr(tfrecords, "write_shards", killed)  # the last pass, imported when it runs
    with pytest.raises(KeyboardInterrupt):
        shards(small_data, out, seed=2)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # no partial folder left behind
    assert StreamedLyrics.load(out).manifest == first.manifest


def test_parts_from_another_run_are_refused(small_data, tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    shards(small_data, one, seed=1, max_len=5)
    shards(small_data, two, seed=2, max_len=8)
    (one / "songs.npy").write_bytes((two / "songs.npy").read_bytes())
    with pytest.raises(DataError, match=r"one/songs\.npy: songs\.npy is not the file manifest\.json was written"):
        StreamedLyrics.load(one)


def test_a_truncated_shard_is_refused_before_training(small_data, tmp_path):
    out = tmp_path / "out"
    shards(small_data, out)
    shard = sorted(out.glob("train-*.tfrecord"))[0]
    shard.write_bytes(shard.read_bytes()[:-7])
    with pytest.raises(DataError, match=rf"{shard.name}: .*truncated.*rerun 'dplib data shards'"):
        StreamedLyrics.load(out)
    shard.unlink()
    with pytest.raises(DataError, match=rf"missing {shard.name}, listed in {MANIFEST}"):
        StreamedLyrics.load(out)


def test_a_folder_of_something_else_is_not_overwritten(small_data, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.tex").write_text("months of work")
    with pytest.raises(DataError, match="not empty and not a folder written by 'dplib data shards'"):
        shards(small_data, mine)
    assert (mine / "thesis.tex").read_text() == "months of work"
