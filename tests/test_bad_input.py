"""Bad input: a clear error naming the file (and line), or a counted skip; never a silent drop."""
import json
import os
import sqlite3
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from scipy.io import wavfile

from dplib.datasets.audio import SAMPLE_RATE, encode_audio, read_audio
from dplib.datasets.lastfm import load_lastfm_json, load_lastfm_sqlite
from dplib.datasets.lyrics import load_lyrics_texts
from dplib.datasets.musixmatch import load_musixmatch
from dplib.datasets.pairs import build_pair_pool, iter_pairs_csv, read_pairs_csv
from dplib.datasets.report import DataError, SkipReport


def track_doc(tid, similars, **extra):
    return {"artist": "A", "title": "T", "track_id": tid, "similars": similars, "tags": [["rock", "10"]], **extra}


@pytest.fixture
def lastfm_tree(tmp_path):
    root = tmp_path / "lastfm_subset"
    (root / "A" / "A" / "A").mkdir(parents=True)
    good = track_doc("TRAAAGOOD", [["TRB", 1], ["TRC", 0.25]])
    (root / "A" / "A" / "A" / "TRAAAGOOD.json").write_text(json.dumps(good))
    (root / "A" / "A" / "A" / "TRAAABAD1.json").write_text('{"artist": "x",\n "similars": [\n')  # malformed
    (root / "A" / "A" / "A" / "TRAAABAD2.json").write_text(json.dumps({"artist": "no id"}))  # missing keys
    bad_scores = track_doc("TRAAABAD3", [["TRD", "high"], ["TRE", 1.5], ["TRF", 0.7]])
    (root / "A" / "A" / "A" / "TRAAABAD3.json").write_text(json.dumps(bad_scores))
    return root


def test_lastfm_json_counts_every_skip(lastfm_tree):
    data = load_lastfm_json(lastfm_tree)
    assert sorted(data.tracks) == ["TRAAABAD3", "TRAAAGOOD"]
    assert len(data.pairs) == 3  # TRB, TRC and TRF
    assert data.report.skips == {"malformed JSON": 1, "missing key": 1, "non-numeric score": 1,
                                 "score outside [0, 1]": 1}
    assert "TRAAABAD1.json, line 3" in data.report.summary()


def test_lastfm_json_strict_names_file_and_line(lastfm_tree):
    with pytest.raises(DataError, match=r"TRAAABAD1\.json, line 3: malformed JSON"):
        load_lastfm_json(lastfm_tree, strict=True)


def test_lastfm_json_reads_a_zip(lastfm_tree, tmp_path):
    archive = tmp_path / "lastfm_subset.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for f in lastfm_tree.rglob("*.json"):
            zf.write(f, f.relative_to(tmp_path))
    assert len(load_lastfm_json(archive).pairs) == len(load_lastfm_json(lastfm_tree).pairs)


def test_lastfm_sqlite_bad_targets(tmp_path):
    db = tmp_path / "lastfm_similars.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE similars_src (tid TEXT, target TEXT)")
        conn.execute("CREATE TABLE similars_dest (tid TEXT, target TEXT)")
        conn.execute("INSERT INTO similars_src VALUES ('TRA', 'TRB,0.9,TRC,oops,TRD,2,TRE')")
    report = SkipReport()
    pairs = load_lastfm_sqlite(db, report=report)
    assert list(pairs.b) == ["TRB"]
    assert report.skips == {"non-numeric score": 1, "score outside [0, 1]": 1, "odd number of fields in target": 1}
    with pytest.raises(DataError, match="lastfm_similars.db: odd number of fields in target: TRA"):
        load_lastfm_sqlite(db, strict=True)
    with pytest.raises(DataError, match="no such SQLite file"):
        load_lastfm_sqlite(tmp_path / "missing.db")


MXM_HEADER = "# comment\n%i,the,you\n"


@pytest.mark.parametrize("line,reason", [
    ("TRX,1,4:2", "bad index or count"),     # index past the 3 words
    ("TRX,1,0:2", "bad index or count"),     # indices start at 1
    ("TRX,1,2:0", "bad index or count"),     # a count of 0
    ("TRX,1,2:x", "bad index or count"),
    ("TRX,1", "empty lyrics"),
])
def test_musixmatch_bad_lines(tmp_path, line, reason):
    f = tmp_path / "mxm_dataset_test.txt"
    f.write_text(MXM_HEADER + "TRGOOD,7,1:3,3:1\n" + line + "\n")
    bow = load_musixmatch(f)
    assert bow.track_ids == ["TRGOOD"] and bow.tokens(0) == ["i", "i", "i", "you"]
    assert bow.report.skips == {reason: 1}
    with pytest.raises(DataError, match=rf"mxm_dataset_test.txt, line 4: {reason}"):
        load_musixmatch(f, strict=True)


def test_musixmatch_without_word_list(tmp_path):
    f = tmp_path / "mxm.txt"
    f.write_text("# c\nTRX,1,1:1\n")
    with pytest.raises(DataError, match="line 2: track line before the '%' word list"):
        load_musixmatch(f)


def test_lyrics_jsonl_and_folder(tmp_path):
    f = tmp_path / "lyrics.jsonl"
    f.write_text('{"track_id": "A", "text": "la la love"}\n{"track_id": "B", "text": "  "}\nnot json\n{"text": "x"}\n')
    report = SkipReport()
    assert load_lyrics_texts(f, report=report) == {"A": "la la love"}
    assert report.skips == {"empty lyrics": 1, "malformed JSON": 1, "missing key": 1}
    with pytest.raises(DataError, match="lyrics.jsonl, line 2: empty lyrics"):
        load_lyrics_texts(f, strict=True)
    folder = tmp_path / "lyrics"
    folder.mkdir()
    (folder / "TRA.txt").write_text("Hello, world")
    (folder / "TRB.txt").write_text("")
    report = SkipReport()
    assert load_lyrics_texts(folder, report=report) == {"TRA": "Hello, world"}
    assert report.skips == {"empty lyrics": 1}


def test_pairs_csv_bad_rows_and_unknown_tracks(tmp_path):
    f = tmp_path / "pairs.csv"
    f.write_text("track_a,track_b,score\nA,B,0.9\nA,C,abc\nB,C,1.2\nA\nA,Z,0.8\n")
    report = SkipReport()
    scored = read_pairs_csv(f, report)
    assert len(scored) == 2
    assert report.skips == {"non-numeric score": 1, "score outside [0, 1]": 1, "malformed pair row": 1}
    with pytest.raises(DataError, match="pairs.csv, line 3: non-numeric score"):
        read_pairs_csv(f, SkipReport(strict=True))
    pool = build_pair_pool(scored, {"A", "B", "C"}, report=report)
    assert len(pool) == 1 and report.skips["pair names a track without data"] == 1
    (tmp_path / "bad.csv").write_text("a,b\n")
    with pytest.raises(DataError, match="bad.csv, line 1: expected the header"):
        read_pairs_csv(tmp_path / "bad.csv")


@pytest.mark.parametrize("reader", ["pairs", "scores"])
def test_a_stray_quote_costs_its_own_line_not_the_rows_after_it(reader, tmp_path):
    """A quote that does not close would make one CSV field of the next thousand lines (one skip, at the wrong line,
    a thousand rows gone): the pairs and the scores are parsed line by line."""
    from dplib.datasets.real_lyrics import iter_score_listings

    rows = [f"TRA{i:04d},TRB{i:04d},0.{i % 10}" for i in range(1_000)]
    rows[2] = 'TRA0002,"TRB0002,0.2'
    f = tmp_path / "pairs.csv"
    f.write_text(("track_a,track_b,score\n" if reader == "pairs" else "") + "\n".join(rows) + "\n")
    report = SkipReport()
    read = (lambda: list(iter_pairs_csv(f, report))) if reader == "pairs" else lambda: list(iter_score_listings(f, report))
    assert len(read()) == 999 and report.skips == {"unbalanced quote": 1}
    line = 4 if reader == "pairs" else 3
    assert f"pairs.csv, line {line}" in report.summary()
    report = SkipReport(strict=True)
    with pytest.raises(DataError, match=f"pairs.csv, line {line}: unbalanced quote"):
        read()


def write_wav(path, data, rate=SAMPLE_RATE):
    wavfile.write(path, rate, data)
    return path


def tone(seconds=1.2, rate=SAMPLE_RATE, freq=440.0):
    t = np.arange(int(seconds * rate)) / rate
    return np.sin(2 * np.pi * freq * t).astype("float32")


def test_wav_conversions_are_noted(tmp_path):
    report = SkipReport()
    x16 = read_audio(write_wav(tmp_path / "a.wav", (tone() * 32767).astype("int16")), report=report)
    assert x16.dtype == np.float32 and abs(x16.max() - 1.0) < 1e-3
    x32 = read_audio(write_wav(tmp_path / "b.wav", (tone() * 2**31 * 0.5).astype("int32")), report=report)
    assert abs(x32.max() - 0.5) < 1e-3
    stereo = np.stack([tone(), tone()], axis=1)
    x_st = read_audio(write_wav(tmp_path / "c.wav", stereo), report=report)
    assert x_st.ndim == 1
    x44 = read_audio(write_wav(tmp_path / "d.wav", tone(rate=44_100), rate=44_100), report=report)
    assert abs(len(x44) - len(tone())) <= 1
    assert report.notes == {"stereo mixed down to mono": 1, "resampled to 22050 Hz": 1}
    assert report.total == 0


def test_bad_wavs_are_skipped_with_reasons(tmp_path):
    write_wav(tmp_path / "GOOD.wav", tone())
    write_wav(tmp_path / "EMPTY.wav", np.zeros(0, dtype="int16"))
    good_bytes = (tmp_path / "GOOD.wav").read_bytes()
    (tmp_path / "TRUNC.wav").write_bytes(good_bytes[:30])
    nan = tone()
    nan[10] = np.nan
    write_wav(tmp_path / "NAN.wav", nan)
    report = SkipReport()
    songs = encode_audio(tmp_path, ["GOOD", "EMPTY", "TRUNC", "NAN", "MISSING"], n_blocks=2, report=report)
    assert songs.track_ids == ["GOOD"] and songs.data.shape == (1, 2, 5513)
    assert report.skips == {"empty audio": 1, "unreadable or truncated WAV": 1, "NaN or inf samples": 1,
                            "missing audio file": 1}
    with pytest.raises(DataError, match=r"EMPTY\.wav: empty audio"):
        encode_audio(tmp_path, ["EMPTY"], n_blocks=2, report=SkipReport(strict=True))


def test_mp3_without_the_extra_says_what_to_install(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_soundfile(name, *args, **kwargs):
        if name == "soundfile":
            raise ImportError(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_soundfile)
    (tmp_path / "x.mp3").write_bytes(b"ID3")
    with pytest.raises(DataError, match=r"x\.mp3: reading \.mp3 files needs the optional extra"):
        read_audio(tmp_path / "x.mp3")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_the_track_id_grammar(text):
    """Ids name files (lyrics/TRACKID.txt) and CSV cells: no path separators, control characters or blanks at the ends."""
    from dplib.datasets.report import valid_track_id

    bad_char = any(c in "/\\" or ord(c) < 32 or ord(c) == 127 for c in text)
    expected = bool(text) and not bad_char and text == text.strip() and text not in (".", "..")
    assert valid_track_id(text) == expected


@pytest.mark.parametrize("bad_id", ["../../etc/passwd", "TR\x00NUL", "a\\b", "..", "x" * 201])
def test_a_path_like_or_control_character_id_is_a_counted_skip_and_an_error_under_strict(bad_id, tmp_path):
    import csv as csv_module

    from dplib.datasets.pairs import read_pairs_csv

    path = tmp_path / "pairs.csv"
    with open(path, "w", newline="") as f:
        writer = csv_module.writer(f)
        writer.writerows([["track_a", "track_b", "score"], ["TRA", "TRB", "0.9"], [bad_id, "TRB", "0.8"],
                          ["TRA", "TRC", "0.1", "extra"]])
    report = SkipReport()
    pairs = read_pairs_csv(path, report)
    assert len(pairs.a) == 2 and report.skips == {"bad track id": 1}
    assert report.notes == {"pair row with extra fields after the score (ignored)": 1}
    with pytest.raises(DataError, match="pairs.csv, line 3: bad track id"):
        read_pairs_csv(path, SkipReport(strict=True))


def test_a_multiline_id_in_jsonl_lyrics_is_a_counted_skip(tmp_path):
    from dplib.datasets.lyrics import load_lyrics_texts

    path = tmp_path / "lyrics.jsonl"
    path.write_text('{"track_id": "TRA", "text": "la la"}\n{"track_id": "TR\\nB", "text": "la"}\n'
                    '{"track_id": "../x", "text": "la"}\n')
    report = SkipReport()
    assert list(load_lyrics_texts(path, report=report)) == ["TRA"] and report.skips == {"bad track id": 2}


def test_a_line_longer_than_the_limit_is_a_counted_skip_never_read_whole(tmp_path, monkeypatch):
    """A 200 MB single-line lyric would be read into memory whole: lines over the limit are skipped in bounded
    pieces (the limit is 16 MB; lowered here so that the test writes little)."""
    from dplib.datasets import report as report_module

    monkeypatch.setattr(report_module, "MAX_LINE_BYTES", 64)
    path = tmp_path / "lyrics.jsonl"
    path.write_text('{"track_id": "TRA", "text": "la la"}\n'
                    '{"track_id": "TRB", "text": "' + "na " * 200 + '"}\n'
                    '{"track_id": "TRC", "text": "oh"}\n')
    report = SkipReport()
    assert sorted(load_lyrics_texts(path, report=report)) == ["TRA", "TRC"]
    assert sum(n for reason, n in report.skips.items() if reason.startswith("line over")) == 1
    with pytest.raises(DataError, match="lyrics.jsonl, line 2: line over"):
        load_lyrics_texts(path, report=SkipReport(strict=True))


def test_a_device_is_refused_as_a_text_input(tmp_path):
    """``/dev/zero`` has no end and no line break: reading it line by line would never finish."""
    with pytest.raises(DataError, match="/dev/zero: not a regular file"):
        read_pairs_csv("/dev/zero")


def capped_cli(*args, cwd):
    """``dplib ARGS`` in a fresh process whose address space is capped at 4 GiB, as the issue's tries were: an
    input that would be read whole then fails with MemoryError instead of taking the machine (and CI) down."""
    import resource
    import subprocess
    import sys

    def cap():
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run([sys.executable, "-m", "dplib.cli", *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, env=env, preexec_fn=cap, timeout=300)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.skipif(not Path("/dev/zero").exists() or os.name != "posix", reason="needs /dev/zero and rlimits (POSIX)")
def test_endless_and_huge_inputs_end_in_one_named_line_under_a_memory_cap(tmp_path):
    """Under a 4 GiB cap: ``--pairs /dev/zero`` is refused before anything loads; a JSONL lyric on one 19 MB line is
    a counted skip read in bounded pieces, and the lyrics file that yields nothing is named as the cause."""
    (tmp_path / "pairs.csv").write_text("track_a,track_b,score\nTRAAAAA128F9301234,TRAAAAB128F9301235,0.9\n")
    with open(tmp_path / "big.jsonl", "w") as f:
        f.write('{"track_id": "TRAAAAA128F9301234", "text": "' + "la " * (6 << 20) + '"}\n')
    code, out, err = capped_cli("train", "lyrics", "--pairs", "/dev/zero", "--lyrics", "big.jsonl", "--out", "run",
                                cwd=tmp_path)
    assert code == 1 and err.strip() == "dplib train: error: /dev/zero: not a regular file or folder (a device or a " \
                                        "pipe): give a file", err
    code, out, err = capped_cli("train", "lyrics", "--pairs", "pairs.csv", "--lyrics", "big.jsonl", "--out", "run",
                                cwd=tmp_path)
    assert code == 1 and "MemoryError" not in err and "Traceback" not in err, err
    assert err.startswith("dplib train: error: big.jsonl: no lyrics read from it") and "1 line over 16 MB" in err, err
    assert not (tmp_path / "run").exists()


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes (POSIX)")
def test_a_pipe_a_device_or_a_huge_file_in_a_lyrics_folder_is_a_counted_skip(tmp_path, monkeypatch):
    """A folder of TRACKID.txt: a named pipe would block the read forever, a link to /dev/zero or a huge file would
    fill memory. Each is looked at before it is opened (the limit lowered here so that the test writes little)."""
    import threading

    from dplib.datasets import lyrics as lyrics_module

    monkeypatch.setattr(lyrics_module, "MAX_LINE_BYTES", 64)
    (tmp_path / "TRA.txt").write_text("la la la")
    os.mkfifo(tmp_path / "TRB.txt")
    (tmp_path / "TRC.txt").write_text("na " * 100)
    if Path("/dev/zero").exists():
        (tmp_path / "TRD.txt").symlink_to("/dev/zero")
    found, report = {}, SkipReport()
    reader = threading.Thread(target=lambda: found.update(load_lyrics_texts(tmp_path, report=report)), daemon=True)
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "a named pipe blocked the lyrics folder's read"
    assert list(found) == ["TRA"]
    assert report.skips["not a regular file"] == 1 + Path("/dev/zero").exists() and report.skips["file too large"] == 1
    with pytest.raises(DataError, match=r"TRB\.txt: not a regular file"):
        load_lyrics_texts(tmp_path, report=SkipReport(strict=True))


@pytest.mark.parametrize("text", ["٠.٥", "0_5", "nan", "inf", "0x1", "½", "0.5 0.5", ""])
def test_a_score_is_ascii_decimal_text_only(text):
    """float() reads Arabic-Indic digits, underscores and "nan": none of them is a score a Last.fm file writes."""
    from dplib.datasets.pairs import parse_score

    with pytest.raises(DataError, match="non-numeric score"):
        parse_score(text)


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0.0, max_value=1.0, allow_nan=False))
def test_every_score_written_as_text_reads_back_as_itself(score):
    from dplib.datasets.pairs import parse_score

    for text in (repr(score), f"{score:.6g}", f"{score:e}", f" {score} "):
        assert parse_score(text) == float(text)


def test_a_number_too_long_for_python_in_a_jsonl_lyric_is_a_counted_skip(tmp_path):
    path = tmp_path / "lyrics.jsonl"
    path.write_text('{"track_id": ' + "1" * 5000 + ', "text": "a b"}\n{"track_id": "TRA", "text": "la la"}\n')
    report = SkipReport()
    assert list(load_lyrics_texts(path, report=report)) == ["TRA"] and report.skips == {"malformed JSON": 1}
    assert "lyrics.jsonl, line 1" in report.summary()


@pytest.mark.parametrize("case", ["utf-16", "bare CR", "trailing blank lines"])
def test_a_pairs_file_in_another_text_form_says_which(case, tmp_path):
    """UTF-16 and old-Mac line ends made 'expected the header ... got None' (or line 2's bytes as line 1's); blank
    lines at the end were each a malformed row (an error under --strict)."""
    text = "track_a,track_b,score\nTRA,TRB,0.9\nTRA,TRC,0.1\n"
    f = tmp_path / "pairs.csv"
    if case == "utf-16":
        f.write_bytes(text.encode("utf-16"))
    elif case == "bare CR":
        f.write_bytes(text.replace("\n", "\r").encode())
    else:
        f.write_text(text + "\n\n  \n")
        assert len(read_pairs_csv(f, SkipReport(strict=True))) == 2
        return
    with pytest.raises(DataError, match="UTF-16 text: save it as UTF-8" if case == "utf-16" else "bare CR"):
        read_pairs_csv(f)


def test_a_pool_skip_names_the_pairs_file_not_input(tmp_path):
    f = tmp_path / "pairs.csv"
    f.write_text("track_a,track_b,score\nTRA,TRB,0.9\nTRA,TRX,0.1\n")
    report = SkipReport()
    build_pair_pool(read_pairs_csv(f), {"TRA", "TRB"}, report=report)
    assert "pairs.csv: 1 listed pairs" in report.summary() and "<input>" not in report.summary()
    with pytest.raises(DataError, match=r"pairs\.csv: pair names a track without data"):
        build_pair_pool(read_pairs_csv(f), {"TRA", "TRB"}, report=SkipReport(strict=True))
