"""Loaders against real excerpts of the MSD companion files (read from ../shared, never copied)."""
import json

from dplib.datasets.lastfm import load_lastfm_json, load_lastfm_sqlite
from dplib.datasets.musixmatch import load_musixmatch


def test_musixmatch_excerpt_counts(real_formats):
    bow = load_musixmatch(real_formats / "mxm_dataset_test.txt")
    assert len(bow) == 40
    assert len(bow.words) == 5000
    assert bow.words[:3] == ["i", "the", "you"]
    assert bow.report.total == 0
    # indices in the file start at 1; ours are 0-based positions in the word list
    first_line = next(l for l in open(real_formats / "mxm_dataset_test.txt") if l.startswith("TR"))
    idx, count = first_line.split(",")[2].split(":")
    assert bow.indices[0][0] == int(idx) - 1 and bow.counts[0][0] == int(count)


def test_lastfm_json_excerpt(real_formats):
    tree = real_formats / "lastfm_subset"
    data = load_lastfm_json(tree)
    assert len(data.tracks) == 1 and len(data.pairs) == 12
    info = data.tracks["TRAAABD128F429CF47"]
    assert (info.artist, info.title) == ("The Box Tops", "Soul Deep")
    assert len(info.tags) == 23 and info.tags[0] == ("60s", 100)
    raw = json.loads(next(tree.rglob("*.json")).read_text())
    assert raw["similars"][0][1] == 1 and isinstance(raw["similars"][0][1], int)  # as published
    assert all(isinstance(count, str) for _, count in raw["tags"])
    assert data.pairs.score[0] == 1.0 and data.report.total == 0


def test_lastfm_sqlite_excerpt(real_formats):
    src = load_lastfm_sqlite(real_formats / "lastfm_similars.db", "similars_src")
    assert len(src) == 3060
    assert src.n_positive == 71
    assert len(set(src.a)) == 60


def test_real_excerpts_stream_with_the_same_counts(real_formats, tmp_path):
    from dplib.datasets.corpus import find_data, iter_lyrics, iter_listings
    from dplib.datasets.lastfm import iter_lastfm_sqlite
    from dplib.datasets.report import SkipReport
    from dplib.datasets.streaming import bucket_pairs, index_songs

    assert sum(len(rows) for rows in iter_lastfm_sqlite(real_formats / "lastfm_similars.db")) == 3060
    paths = find_data(real_formats)
    report = SkipReport()
    assert len(list(iter_listings(paths, report))) == 12  # the JSON tree comes first, as in load_corpus
    assert len(list(iter_lyrics(paths, report))) == 40 and report.total == 0
    index = index_songs(paths, report=report)
    buckets = bucket_pairs(paths, index, tmp_path, n_buckets=4, report=report)
    assert len(index.ids) == 40 and buckets.listed == 12
