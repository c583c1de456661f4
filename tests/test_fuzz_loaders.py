"""Property tests: for any bytes, a text loader yields records, counts skips, or raises DataError naming the file;
never another exception (Hypothesis draws the bytes, the test writes them to a file)."""
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dplib.datasets.lastfm import iter_lastfm_json
from dplib.datasets.lyrics import iter_lyrics_texts
from dplib.datasets.musixmatch import iter_musixmatch
from dplib.datasets.pairs import iter_pairs_csv
from dplib.datasets.real_lyrics import iter_score_listings
from dplib.datasets.report import DataError, SkipReport

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
# raw bytes, and text that looks like the real formats (commas, quotes, braces, BOMs, newlines, numbers)
PIECES = list('TRAB01.,"{}:[]\\ \n\r\ufeff\x00é%#') + [
    "track_a,track_b,score\n", '{"track_id": ', '"text": ', '"similars": ', '"tags": ', "true", "null", "1:2000000000"]
LIKELY = st.lists(st.sampled_from(PIECES), max_size=80).map(lambda parts: "".join(parts).encode("utf-8"))
ANY_BYTES = st.one_of(st.binary(max_size=300), LIKELY)


def consume(loader, path):
    report = SkipReport()
    try:
        records = list(loader(path, report))
    except DataError as err:
        assert path.name in str(err)  # the error names the file
        return None
    return records, report


@FUZZ
@given(data=ANY_BYTES)
def test_pairs_csv_never_crashes(tmp_path, data):
    path = tmp_path / "pairs.csv"
    path.write_bytes(b"track_a,track_b,score\n" + data)
    out = consume(iter_pairs_csv, path)
    if out is not None:
        for a, b, score in out[0]:
            assert a and b and 0.0 <= score <= 1.0


@FUZZ
@given(data=ANY_BYTES)
def test_score_rows_never_crash(tmp_path, data):
    path = tmp_path / "similar_songs.csv"
    path.write_bytes(data)
    out = consume(iter_score_listings, path)
    if out is not None:
        assert all(len(r) == 3 for r in out[0])


@FUZZ
@given(lines=st.lists(st.one_of(ANY_BYTES, st.builds(lambda t, x: json.dumps({"track_id": t, "text": x}).encode(),
                                                           st.one_of(st.text(max_size=5), st.none(), st.integers()),
                                                           st.one_of(st.text(max_size=20), st.none()))), max_size=6))
def test_lyrics_jsonl_never_crashes(tmp_path, lines):
    path = tmp_path / "lyrics.jsonl"
    path.write_bytes(b"\n".join(lines))
    out = consume(iter_lyrics_texts, path)
    assert out is not None  # a JSONL file never fails whole: bad lines are counted
    ids = [tid for tid, _ in out[0]]
    assert len(ids) == len(set(ids)) and all(isinstance(t, str) and t for t in ids)


@FUZZ
@given(data=ANY_BYTES)
def test_lyrics_file_never_crashes(tmp_path, data):
    folder = tmp_path / "lyrics"
    folder.mkdir(exist_ok=True)
    (folder / "TRFUZZ.txt").write_bytes(data)
    records, report = consume(iter_lyrics_texts, folder)
    assert len(records) + report.total == 1  # read, or counted


@FUZZ
@given(data=ANY_BYTES)
def test_musixmatch_never_crashes(tmp_path, data):
    path = tmp_path / "mxm_dataset_train.txt"
    path.write_bytes(b"%i,the,you\n" + data)
    out = consume(iter_musixmatch, path)
    if out is not None:
        for words, tid, _, idx, cnt in out[0]:
            assert tid and ((idx >= 0) & (idx < len(words))).all() and (cnt >= 1).all()


@FUZZ
@given(data=st.one_of(ANY_BYTES, st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(
        st.sampled_from(["track_id", "similars", "tags", "artist", "title"]), inner, max_size=5)),
    max_leaves=12).map(lambda doc: json.dumps(doc).encode())))
def test_lastfm_track_json_never_crashes(tmp_path, data):
    folder = tmp_path / "lastfm_subset"
    folder.mkdir(exist_ok=True)
    (folder / "TRFUZZ.json").write_bytes(data)
    records, report = consume(iter_lastfm_json, folder)
    for info, rows in records:
        assert isinstance(info.track_id, str) and info.track_id
        assert all(isinstance(b, str) and 0.0 <= s <= 1.0 for _, b, s in rows)


def test_bom_and_invalid_utf8_are_handled(tmp_path):
    (tmp_path / "pairs.csv").write_bytes("\ufefftrack_a,track_b,score\nA,B,0.5\n".encode("utf-8"))
    assert list(iter_pairs_csv(tmp_path / "pairs.csv", SkipReport())) == [("A", "B", 0.5)]
    (tmp_path / "bad.csv").write_bytes(b"track_a,track_b,score\nA,B,0.5\nA,\xff\xfe,0.5\n")
    report = SkipReport()
    assert list(iter_pairs_csv(tmp_path / "bad.csv", report)) == [("A", "B", 0.5)]
    assert report.skips == {"not UTF-8 text": 1} and "bad.csv, line 3" in report.summary()
    with pytest.raises(DataError, match=r"bad.csv, line 3: not UTF-8 text"):
        list(iter_pairs_csv(tmp_path / "bad.csv", SkipReport(strict=True)))
    (tmp_path / "l.jsonl").write_bytes(b'\xef\xbb\xbf{"track_id": "A", "text": "la"}\n{"track_id": "A", "text": "x"}\n'
                                       b'\xff\n{"track_id": null, "text": "y"}\n')
    report = SkipReport()
    assert list(iter_lyrics_texts(tmp_path / "l.jsonl", report)) == [("A", "la")]
    assert report.skips == {"duplicate track id (the first text is kept)": 1, "not UTF-8 text": 1, "bad track id": 1}
    with pytest.raises(DataError, match=r"l.jsonl, line 2: duplicate track id"):
        list(iter_lyrics_texts(tmp_path / "l.jsonl", SkipReport(strict=True)))
