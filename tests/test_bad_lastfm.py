"""Bad Last.fm files (JSON trees, .zip, lastfm_similars.db): a counted skip naming the file, or one DataError."""
import json
import re
import sqlite3
import zipfile

import pytest

from conftest import run_cli
from dplib.datasets import lastfm
from dplib.datasets.lastfm import load_lastfm_json, load_lastfm_sqlite
from dplib.datasets.report import DataError, SkipReport


def write_tracks(root, docs: dict):
    """``{file name: document or raw text}`` as track files under ``root/A/B/C``."""
    folder = root / "A" / "B" / "C"
    folder.mkdir(parents=True)
    for name, doc in docs.items():
        (folder / name).write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return root


GOOD = {"track_id": "TRGOOD", "artist": "A", "title": "T", "similars": [["TRB", 0.9]], "tags": [["rock", "100"]]}


@pytest.mark.parametrize("doc,reason", [
    ({**GOOD, "similars": None}, "bad similars (not a list)"),
    ({**GOOD, "similars": 7}, "bad similars (not a list)"),
    ({**GOOD, "track_id": None}, "bad track id"),
    ({**GOOD, "track_id": 12}, "bad track id"),
    ({**GOOD, "track_id": " "}, "bad track id"),
])
def test_track_files_of_the_wrong_shape_are_skipped(tmp_path, doc, reason):
    root = write_tracks(tmp_path / "lastfm_subset", {"TRGOOD.json": GOOD, "TRBAD.json": doc})
    data = load_lastfm_json(root)
    assert list(data.tracks) == ["TRGOOD"] and len(data.pairs) == 1
    assert data.report.skips == {reason: 1}
    with pytest.raises(DataError, match=rf"TRBAD\.json: {re.escape(reason)}"):
        load_lastfm_json(root, strict=True)


@pytest.mark.parametrize("field,value,reason", [
    ("tags", None, None),                      # no tags is fine
    ("tags", 5, "bad tags (not a list)"),
    ("tags", [["rock", "many"]], "bad tag"),
    ("tags", [["rock", True]], "bad tag"),
    ("similars", [[1234, 0.9]], "bad similar entry"),     # a number is not a track id
    ("similars", [[None, 0.9]], "bad similar entry"),
    ("similars", [["TRB", True]], "non-numeric score"),   # float(True) would be 1.0
    ("similars", [["TRB", 0.9, 1]], "bad similar entry"),
])
def test_bad_entries_inside_a_track_are_skipped_and_the_rest_kept(tmp_path, field, value, reason):
    root = write_tracks(tmp_path / "lastfm_subset", {"TRGOOD.json": {**GOOD, field: value}})
    data = load_lastfm_json(root)
    assert list(data.tracks) == ["TRGOOD"]
    assert data.report.skips == ({reason: 1} if reason else {})
    if field == "tags":
        assert len(data.pairs) == 1 and data.tracks["TRGOOD"].tags == []
    if reason:
        with pytest.raises(DataError, match=rf"TRGOOD\.json: {re.escape(reason)}"):
            load_lastfm_json(root, strict=True)


def test_deeply_nested_json_is_a_skip_not_a_recursion_error(tmp_path):
    deep = '{"track_id": "TRDEEP", "similars": ' + "[" * 100_000 + "]" * 100_000 + "}"
    root = write_tracks(tmp_path / "lastfm_subset", {"TRGOOD.json": GOOD, "TRDEEP.json": deep})
    data = load_lastfm_json(root)
    assert list(data.tracks) == ["TRGOOD"] and data.report.skips == {"malformed JSON": 1}
    assert "nested too deeply" in data.report.summary()
    with pytest.raises(DataError, match=r"TRDEEP\.json: malformed JSON: nested too deeply"):
        load_lastfm_json(root, strict=True)


def test_a_zip_that_is_not_a_zip(tmp_path):
    fake = tmp_path / "lastfm_subset.zip"
    fake.write_text("this is not a zip archive")
    with pytest.raises(DataError, match=r"lastfm_subset\.zip: not a readable \.zip"):
        load_lastfm_json(fake)


def test_a_zip_member_too_large_is_refused_before_reading(tmp_path, monkeypatch):
    archive = tmp_path / "lastfm_subset.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("lastfm_subset/A/TRGOOD.json", json.dumps(GOOD))
        zf.writestr("lastfm_subset/A/TRHUGE.json", json.dumps({**GOOD, "track_id": "TRHUGE", "title": "x" * 5000}))
    monkeypatch.setattr(lastfm, "MAX_TRACK_JSON", 1000)  # a tiny .zip can unpack to gigabytes; the limit is 32 MB
    data = load_lastfm_json(archive)
    assert list(data.tracks) == ["TRGOOD"] and data.report.skips == {"track file too large": 1}
    assert "TRHUGE.json" in data.report.summary()


def make_db(path, rows, table="similars_src"):
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE similars_src (tid TEXT, target TEXT)")
        conn.execute("CREATE TABLE similars_dest (tid TEXT, target TEXT)")
        conn.executemany(f"INSERT INTO {table} VALUES (?, ?)", rows)
    conn.close()
    return path


@pytest.mark.parametrize("folder", ["mydata#v2", "what?mode=rwc", "100% real"])
def test_sqlite_path_with_uri_characters_reads_that_file_read_only(tmp_path, folder):
    make_db(tmp_path / "mydata" / "lastfm_similars.db", [("TRS", "TRT,0.5")])  # the sibling a bad URI would read
    db = make_db(tmp_path / folder / "lastfm_similars.db", [("TRA", "TRB,0.9,TRC,0.1"), ("TRB", "TRC,0.4")])
    before = sorted(p.name for p in (tmp_path / folder).iterdir())
    pairs = load_lastfm_sqlite(db)
    assert len(pairs) == 3 and set(pairs.a) == {"TRA", "TRB"}
    assert sorted(p.name for p in (tmp_path / folder).iterdir()) == before  # read-only: nothing created
    with pytest.raises(DataError, match="no such SQLite file"):
        load_lastfm_sqlite(tmp_path / folder / "other.db")
    assert not (tmp_path / folder / "other.db").exists()


def test_sqlite_rows_that_are_not_text_are_counted(tmp_path):
    db = make_db(tmp_path / "lastfm_similars.db", [
        ("TRA", "TRB,0.9"), (None, "TRC,0.5"), ("TRD", b"TRE,0.5"),
        ("TRG", "TRH,0.8"), (b"TR\xff\xfe", "TRI,0.5"), ("TRJ", None)])
    report = SkipReport()
    pairs = load_lastfm_sqlite(db, report=report)
    assert sorted(pairs.a) == ["TRA", "TRG"]
    assert report.skips == {"bad row (track id or target not UTF-8 text)": 3}
    assert "similars_src rowid 2" in report.summary()
    with pytest.raises(DataError, match=r"lastfm_similars\.db: bad row .*rowid 2"):
        load_lastfm_sqlite(db, strict=True)


def test_summary_names_the_similarity_database_it_does_not_read(tmp_path):
    data = tmp_path / "data"
    write_tracks(data / "lastfm_subset", {"TRGOOD.json": GOOD})
    make_db(data / "lastfm_similars.db", [("TRA", "TRB,0.9,TRC,0.1")])
    code, out, err = run_cli("data", "summary", data)
    assert code == 0, err
    assert "scored listings: 1 " in out  # from the JSON tree, not the database's 2
    assert "present but not read: lastfm_similars.db (pairs come from one source" in out


def test_pipes_devices_links_and_huge_numbers_in_a_lastfm_folder_are_counted_skips(tmp_path):
    """A named pipe called X.json hung every command that read the folder; a link to /dev/zero filled memory; a link
    to ``..`` looped; a 5,000-digit track id stopped the command with Python's integer limit. Each is one skip."""
    import os
    import threading
    from pathlib import Path

    root = write_tracks(tmp_path / "lastfm_subset", {"TRGOOD.json": GOOD,
                                                     "TRBIG.json": '{"track_id": ' + "1" * 5000 + "}"})
    folder = root / "A" / "B" / "C"
    expected = {"malformed JSON": 1, "link to a folder (not followed)": 1}
    (folder / "loop").symlink_to("..")
    if hasattr(os, "mkfifo"):
        os.mkfifo(folder / "TRPIPE.json")
        expected["not a regular file"] = 1
    if Path("/dev/zero").exists():
        (folder / "TRZERO.json").symlink_to("/dev/zero")
        expected["not a regular file"] = expected.get("not a regular file", 0) + 1
    found = {}
    reader = threading.Thread(target=lambda: found.update(data=load_lastfm_json(root)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "a named pipe blocked the Last.fm folder's read"
    assert list(found["data"].tracks) == ["TRGOOD"] and found["data"].report.skips == expected
    with pytest.raises(DataError, match=r"C/TRBIG\.json: malformed JSON: Exceeds the limit"):  # sorted: the first
        load_lastfm_json(root, strict=True)


def test_a_lone_surrogate_id_is_a_bad_track_id_when_read(tmp_path):
    """JSON can spell ``"TR\\ud800X"``; no UTF-8 file or file name can hold it (it failed later, writing shards)."""
    root = write_tracks(tmp_path / "lastfm_subset", {"TRGOOD.json": GOOD,
                                                     "TRSUR.json": '{"track_id": "TR\\ud800X", "similars": []}'})
    data = load_lastfm_json(root)
    assert list(data.tracks) == ["TRGOOD"] and data.report.skips == {"bad track id": 1}
