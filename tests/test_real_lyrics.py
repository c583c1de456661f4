"""The real lyrics set: building it from its two sources, reading the authors' excerpt format, and the counts
its README lists (read from ../shared/real-lyrics, skipped where it is absent)."""
import csv
import json
import zipfile

import pytest

from conftest import run_cli
from dplib.datasets.corpus import load_corpus
from dplib.datasets.lyrics import load_lyrics_texts, strip_excerpt_footer
from dplib.datasets.real_lyrics import LYRICS_COMMIT, archive_lyrics, build_real_lyrics, fetch_real_lyrics
from dplib.datasets.report import DataError, SkipReport

FOOTER = "...\n\n******* This Lyrics is NOT for Commercial use *******"
PREFIX = f"deep-playlist-{LYRICS_COMMIT}"


def excerpt(words: str) -> str:
    return f"{words}\n{FOOTER}"


def write_archive(path, files: dict[str, str | bytes]):
    """A zip laid out as GitHub's archive of the authors' repository: ``{"train/TRX": text}``."""
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{PREFIX}/code/get_data.py", "# not lyrics")
        for name, text in files.items():
            z.writestr(f"{PREFIX}/data/lyrics/{name}.txt", text)
    return path


@pytest.fixture
def small_sources(tmp_path):
    archive = write_archive(tmp_path / "archive.zip", {
        "train/TRA": excerpt("love you so"), "train/TRB": excerpt("river deep"),
        "test/TRB": excerpt("another copy"),  # a track in both parts keeps its training file
        "train/TRC": "",  # empty file: no lyrics
        "test/TRD": excerpt("only in test"), "train/TRE": FOOTER,  # only the footer: kept as a file, skipped on reading
    })
    scores = tmp_path / "similar_songs.csv"
    scores.write_text("TRA,TRB,0.9\nTRA,TRC,0.8\nTRB,TRD,0.1\nTRA,TRX,0.7\nTRD,TRE,0.6\nTRA,TRD,high\n")
    return scores, archive


def test_build_keeps_listings_whose_two_songs_have_lyrics(small_sources, tmp_path):
    scores, archive = small_sources
    report = SkipReport()
    counts = build_real_lyrics(scores, archive, tmp_path / "out", report)
    assert counts["listings"] == 3 and counts["similar_listings"] == 2 and counts["tracks"] == 4
    rows = list(csv.reader(open(tmp_path / "out" / "pairs.csv", newline="")))
    assert rows == [["track_a", "track_b", "score"], ["TRA", "TRB", "0.9"], ["TRB", "TRD", "0.1"], ["TRD", "TRE", "0.6"]]
    assert (tmp_path / "out" / "lyrics" / "TRB.txt").read_text() == excerpt("river deep")
    assert sorted(p.name for p in (tmp_path / "out" / "lyrics").iterdir()) == ["TRA.txt", "TRB.txt", "TRD.txt", "TRE.txt"]
    assert report.skips == {"non-numeric score": 1}
    assert not list(tmp_path.glob(".out.partial*")), "the temporary folder is renamed, not left behind"


def test_a_set_built_before_listings_reads_with_the_new_words(small_sources, tmp_path):
    """A folder built when build.json said rows/positive_rows is kept and read in today's words, not rebuilt."""
    scores, archive = small_sources
    counts = build_real_lyrics(scores, archive, tmp_path / "out")
    old = {"rows": counts["listings"], "positive_rows": counts["similar_listings"],
           **{k: v for k, v in counts.items() if k not in ("listings", "similar_listings")}}
    (tmp_path / "out" / "build.json").write_text(json.dumps(old))
    kept = fetch_real_lyrics(tmp_path / "out", tmp_path / "no-cache")  # complete: nothing downloaded
    assert kept == counts and not (tmp_path / "no-cache").exists()


def test_bad_score_line_is_an_error_under_strict(small_sources, tmp_path):
    scores, archive = small_sources
    with pytest.raises(DataError, match=r"similar_songs.csv, line 6: non-numeric score"):
        build_real_lyrics(scores, archive, tmp_path / "out", SkipReport(strict=True))
    assert not (tmp_path / "out").exists(), "nothing is written when the build fails"


def test_archives_that_are_not_the_authors_are_refused(tmp_path):
    (tmp_path / "bad.zip").write_bytes(b"not a zip at all")
    with pytest.raises(DataError, match=r"bad.zip: not a readable zip archive"):
        archive_lyrics(tmp_path / "bad.zip")
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as z:
        z.writestr("repo-main/README.md", "hello")
    with pytest.raises(DataError, match=r"other.zip: no data/lyrics"):
        archive_lyrics(tmp_path / "other.zip")


def test_offline_fetch_says_what_to_download(tmp_path, monkeypatch):
    import pooch

    def offline(*args, **kwargs):
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(RuntimeError) as err:
        fetch_real_lyrics(tmp_path / "real-lyrics", tmp_path / "downloads")
    message = str(err.value)
    assert "similar_songs.csv" in message and f"{LYRICS_COMMIT}.zip" in message
    assert "--scores" in message and "--lyrics-archive" in message


def test_footer_is_not_lyrics(tmp_path):
    text, found = strip_excerpt_footer(excerpt("Darling I know"))
    assert found and text == "Darling I know"
    assert strip_excerpt_footer("no footer here\n...") == ("no footer here\n...", False)
    folder = tmp_path / "lyrics"
    folder.mkdir()
    (folder / "TRA.txt").write_text(excerpt("Darling I know"))
    (folder / "TRE.txt").write_text(FOOTER)
    report = SkipReport()
    assert load_lyrics_texts(folder, report=report) == {"TRA": "Darling I know"}
    assert report.skips == {"empty lyrics": 1} and "TRE.txt" in report.summary()
    assert report.notes["Musixmatch excerpt footer removed"] == 2
    with pytest.raises(DataError, match="TRE.txt: empty lyrics"):
        load_lyrics_texts(folder, strict=True)


def test_cli_builds_from_local_files_in_a_fresh_process(small_sources, tmp_path):
    scores, archive = small_sources
    code, out, err = run_cli("data", "fetch", "real-lyrics", "--scores", scores, "--lyrics-archive", archive,
                             "--out", tmp_path / "rl")
    assert code == 0, err
    assert "3 scored listings (2 >= 0.5) over 4 tracks" in out
    assert "skipped 1:" in err and "non-numeric score" in err  # the skipped row is said, on stderr
    code, out, err = run_cli("data", "summary", tmp_path / "rl")
    assert code == 0, err
    assert "scored listings: 3 (2 with score >= 0.5) over 4 tracks" in out
    assert "tracks with lyrics: 3" in out and "TRE.txt" in out  # the footer-only file is a counted skip


def test_a_look_alike_build_says_it_is_unverified_and_records_its_own_hashes(small_sources, tmp_path):
    """Local files are not the pinned sources: the build says so, and build.json names what it was made from."""
    import hashlib
    import json

    scores, archive = small_sources
    code, out, err = run_cli("data", "fetch", "real-lyrics", "--scores", scores, "--lyrics-archive", archive,
                             "--out", tmp_path / "rl")
    assert code == 0 and "warning: built from files that are not the pinned sources" in out, out + err
    build = json.loads((tmp_path / "rl" / "build.json").read_text())
    assert build["verified"] is False and "github" not in json.dumps(build["sources"])
    assert build["sources"]["scores"]["sha256"] == hashlib.sha256(scores.read_bytes()).hexdigest()
    assert build["sources"]["lyrics"]["sha256"] == hashlib.sha256(archive.read_bytes()).hexdigest()


def test_an_archive_member_that_inflates_too_far_is_refused_and_leaves_nothing(small_sources, tmp_path):
    from dplib.datasets.real_lyrics import MAX_LYRICS_BYTES

    scores, _ = small_sources
    bomb = write_archive(tmp_path / "bomb.zip", {"train/TRA": excerpt("la"), "train/TRB": b"0" * (MAX_LYRICS_BYTES + 1)})
    with pytest.raises(DataError, match="TRB.txt is 1,048,577 bytes: not one of the authors' lyrics files"):
        build_real_lyrics(scores, bomb, tmp_path / "out")
    lying = tmp_path / "lying.zip"  # whatever a header says, reading itself stops at the limit
    with zipfile.ZipFile(bomb) as z, zipfile.ZipFile(lying, "w", zipfile.ZIP_DEFLATED) as w:
        for info in z.infolist():
            w.writestr(info.filename, z.read(info.filename))
    with zipfile.ZipFile(lying) as z:
        from dplib.datasets.real_lyrics import read_member

        member = next(n for n in z.namelist() if n.endswith("TRB.txt"))
        with pytest.raises(DataError, match="inflates past"):
            read_member(z, member, lying)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["archive.zip", "similar_songs.csv", "bomb.zip",
                                                                  "lying.zip"])


def test_shared_set_has_its_readme_counts(real_lyrics):
    corpus = load_corpus(real_lyrics)
    assert corpus.scored.describe() == {"listings": 21_057, "similar_listings": 982, "tracks": 1_955,
                                        "unordered_pairs": 20_220, "unordered_positive": 955,
                                        "listed_both_ways": 837, "asymmetric_scores": 832}
    assert len(corpus.lyrics) == 1_954 and "TRQDDYK12903D083DE" not in corpus.lyrics
    assert corpus.report.skips == {"empty lyrics": 1}
    assert "TRQDDYK12903D083DE.txt" in corpus.report.summary()
    assert not any("NOT for Commercial use" in text for text in corpus.lyrics.values())


def test_summary_command_prints_the_counts(real_lyrics):
    code, out, err = run_cli("data", "summary", real_lyrics)
    assert code == 0, err
    assert "scored listings: 21,057 (982 with score >= 0.5) over 1,955 tracks" in out
    assert "unordered pairs: 20,220 (955 >= 0.5, higher score kept); 837 listed both ways, 832 of them" in out
    assert "1 empty lyrics" in out


def test_build_from_a_repository_archive_gives_the_shared_set(real_lyrics, tmp_path):
    """The shared set's own rows and files, laid out as the two sources, rebuild it byte for byte."""
    rows = list(csv.reader(open(real_lyrics / "pairs.csv", newline="")))[1:]
    scores = tmp_path / "similar_songs.csv"
    with open(scores, "w", newline="") as f:  # the source file: no header, LF lines, rows without lyrics too
        f.write("TRNOLYRICS0000001,TRNOLYRICS0000002,0.5\n")
        f.writelines(f"{a},{b},{s}\n" for a, b, s in rows)
        f.write(f"{rows[0][0]},TRNOLYRICS0000003,0.9\n")
    files = {f"train/{p.stem}": p.read_bytes() for p in (real_lyrics / "lyrics").iterdir()}
    files["test/" + rows[0][0]] = b"a different test copy"
    files["train/TRNOLYRICS0000003"] = b""
    archive = write_archive(tmp_path / "archive.zip", files)
    counts = build_real_lyrics(scores, archive, tmp_path / "rebuilt")
    assert (counts["listings"], counts["similar_listings"], counts["tracks"]) == (21_057, 982, 1_955)
    assert (tmp_path / "rebuilt" / "pairs.csv").read_bytes() == (real_lyrics / "pairs.csv").read_bytes()
    for path in (real_lyrics / "lyrics").iterdir():
        assert (tmp_path / "rebuilt" / "lyrics" / path.name).read_bytes() == path.read_bytes(), path.name


def test_lyrics_archive_joins_lastfm_files_by_track_id(small_sources, tmp_path):
    """The paper's full set: the official Last.fm files beside ``lyrics/`` from the archive, joined by track id."""
    import json

    from dplib.datasets.pairs import build_pair_pool
    from dplib.datasets.real_lyrics import build_lyrics_folder

    _, archive = small_sources
    folder = tmp_path / "paper"
    assert build_lyrics_folder(archive, folder) == 4  # TRA, TRB, TRD and TRE (footer only); the empty TRC is left out
    leaf = folder / "lastfm_subset" / "A" / "A" / "A"
    leaf.mkdir(parents=True)
    doc = {"artist": "x", "title": "y", "track_id": "TRA", "timestamp": "t", "tags": [],
           "similars": [["TRB", 0.9], ["TRD", 0.2], ["TRX", 1.0], ["TRE", 0.7]]}
    (leaf / "TRA.json").write_text(json.dumps(doc))
    corpus = load_corpus(folder)
    assert corpus.lyrics_format == "ordered text" and sorted(corpus.lyrics) == ["TRA", "TRB", "TRD"]
    report = SkipReport()
    pool = build_pair_pool(corpus.scored, corpus.lyrics, report=report)
    assert sorted(zip(pool.a, pool.b)) == [("TRA", "TRB"), ("TRA", "TRD")]
    assert report.skips == {"pair names a track without data": 2}  # TRX has no file, TRE only the footer


@pytest.mark.parametrize("case", ["every line bad", "no listing joins the archive"])
def test_a_build_with_no_pair_left_is_an_error_not_an_empty_set(case, small_sources, tmp_path):
    scores, archive = small_sources
    scores.write_text("TRA,TRB,high\nTRA,TRX,nope\n" if case == "every line bad" else "TRA,TRX,0.9\nTRY,TRZ,0.1\n")
    code, out, err = run_cli("data", "fetch", "real-lyrics", "--scores", scores, "--lyrics-archive", archive,
                             "--out", tmp_path / "rl")
    said = "no listing was read: 2 non-numeric score; e.g. " if case == "every line bad" else "2 listings read, none with lyrics of both songs"
    assert code == 1 and "similar_songs.csv: no scored pair to build the set from" in err and said in err, err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "rl").exists()
