"""The real lyrics set: real Last.fm scores joined with the lyrics the paper's authors scraped (taught in notebook 06).

Two public sources, both pinned:

* the scores: ``data/similar_songs.csv`` of the repository rohit-nair/neuralist (listings of the official
  ``lastfm_similars.db`` for Billboard songs; no header, ``src,dest,score``), with a known size and sha256;
* the lyrics: the archive of the authors' own repository anushabala/deep-playlist at the last commit that
  still held their data (``data/lyrics/{train,test}/TRACKID.txt``, Musixmatch excerpts).

:func:`build_real_lyrics` keeps every scored listing whose two tracks both have a non-empty lyrics file and writes
``pairs.csv`` plus ``lyrics/TRACKID.txt`` (the file bytes as in the archive; the training copy when a track has
two). :func:`fetch_real_lyrics` downloads the sources (or takes local copies) and builds. The lyrics files keep
the Musixmatch footer; :func:`dplib.datasets.lyrics.strip_excerpt_footer` removes it when they are read.
"""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from .files import partial_folder, replace_folder, write_json
from .pairs import parse_score
from .report import DataError, SkipReport, csv_rows, valid_track_id


@dataclass(frozen=True)
class Source:
    url: str
    filename: str
    sha256: str | None = None
    size: int | None = None


LYRICS_COMMIT = "ef4367471b6ff8694276515961d706d894afe5fb"
SCORES = Source(
    "https://raw.githubusercontent.com/rohit-nair/neuralist/0c611d15b4c6bc455eb2df292201bae713f784b0/data/similar_songs.csv",
    "similar_songs.csv",
    "852938a7d2339a635574f234c31b6d91b75af310c8df0adbaf7cca9422ae4858",
    2_919_123,
)
# GitHub builds archives on demand, so their bytes (and hash) are not stable; the build checks the counts instead.
LYRICS_ARCHIVE = Source(f"https://github.com/anushabala/deep-playlist/archive/{LYRICS_COMMIT}.zip",
                        f"deep-playlist-{LYRICS_COMMIT}.zip")
#: what the build must give from the pinned sources (shared/real-lyrics/README.md lists the same)
EXPECTED = {"listings": 21_057, "similar_listings": 982, "tracks": 1_955}
PARTS = ("train", "test")  # a track in both keeps its training file, as the authors' training code read it
MAX_LYRICS_BYTES = 1 << 20  # the largest of the authors' files is a few KB: a member claiming more is refused unread


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_member(z: zipfile.ZipFile, member: str, archive: Path) -> bytes:
    """One lyrics file of the archive, read no further than :data:`MAX_LYRICS_BYTES` (a zip bomb stops there)."""
    with z.open(member) as f:
        data = f.read(MAX_LYRICS_BYTES + 1)
    if len(data) > MAX_LYRICS_BYTES:
        raise DataError(f"{member} inflates past {MAX_LYRICS_BYTES:,} bytes: not one of the authors' lyrics files",
                        archive)
    return data


def archive_lyrics(archive: str | Path) -> dict[str, str]:
    """``{track_id: member name}`` for every non-empty ``data/lyrics/{train,test}/TRACKID.txt`` in the archive."""
    archive = Path(archive)
    try:
        with zipfile.ZipFile(archive) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError) as err:
        raise DataError(f"not a readable zip archive ({err})", archive) from None
    found: dict[str, dict[str, str]] = {}
    for info in infos:
        parts = info.filename.split("/")
        # <prefix>/data/lyrics/<part>/<TRACKID>.txt, as in any GitHub archive of the repository
        if (len(parts) == 5 and parts[1:3] == ["data", "lyrics"] and parts[3] in PARTS
                and parts[4].endswith(".txt") and info.file_size > 0):
            if info.file_size > MAX_LYRICS_BYTES:
                raise DataError(f"{info.filename} is {info.file_size:,} bytes: not one of the authors' lyrics files",
                                archive)
            found.setdefault(parts[4][:-4], {})[parts[3]] = info.filename
    if not found:
        raise DataError("no data/lyrics/train|test/TRACKID.txt files: not the deep-playlist archive "
                        f"at commit {LYRICS_COMMIT}", archive)
    return {tid: next(m[p] for p in PARTS if p in m) for tid, m in found.items()}


def iter_score_listings(path: str | Path, report: SkipReport) -> Iterator[tuple[str, str, str]]:
    """``(src, dest, score text)`` of the headerless scores CSV; bad rows are counted (errors when strict)."""
    path = Path(path)
    for line_no, row in csv_rows(path, report):
        if len(row) != 3 or not row[0].strip() or not row[1].strip():
            report.skip("malformed score row", path, line_no, repr(row)[:80])
            continue
        if not (valid_track_id(row[0].strip()) and valid_track_id(row[1].strip())):
            report.skip("bad track id", path, line_no, repr(row[:2])[:80])
            continue
        try:
            parse_score(row[2], path, line_no)
        except DataError as err:
            report.skip(err.reason, path, line_no, repr(row[2])[:40])
            continue
        yield row[0].strip(), row[1].strip(), row[2].strip()


def build_real_lyrics(scores: str | Path, archive: str | Path, out: str | Path,
                      report: SkipReport | None = None) -> dict:
    """Join the scores with the archive's lyrics into ``out/pairs.csv`` and ``out/lyrics/``; return the counts.

    The folder is written under a temporary name and renamed when complete, so ``out`` is either whole or absent.
    ``build.json`` says whether the inputs were the pinned ones: the scores file's sha256 and the counts the pinned
    sources give (:data:`EXPECTED`); otherwise ``verified`` is false and it records the files' own hashes.
    """
    report = report if report is not None else SkipReport()
    out = Path(out)
    members = archive_lyrics(archive)
    read = list(iter_score_listings(scores, report))
    listings = [r for r in read if r[0] in members and r[1] in members]
    if not listings:  # an empty set would pass for a built one
        skipped = ", ".join(f"{n:,} {reason}" for reason, n in sorted(report.skips.items()))
        first = next(iter(report.examples.values()), [""])[0]
        why = (f"{len(read):,} listings read, none with lyrics of both songs in the archive" if read else
               f"no listing was read: {skipped or 'the file is empty'}" + (f"; e.g. {first}" if first else ""))
        raise DataError(f"no scored pair to build the set from ({why})", scores)
    tracks = sorted({t for r in listings for t in r[:2]})
    partial = partial_folder(out)
    try:
        (partial / "lyrics").mkdir()
        with open(partial / "pairs.csv", "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["track_a", "track_b", "score"])
            writer.writerows(listings)
        with zipfile.ZipFile(archive) as z:
            for tid in tracks:
                (partial / "lyrics" / f"{tid}.txt").write_bytes(read_member(z, members[tid], Path(archive)))
        counts = {"listings": len(listings), "similar_listings": sum(parse_score(r[2]) >= 0.5 for r in listings),
                  "tracks": len(tracks), "skipped": dict(report.skips)}
        counts |= provenance(scores, archive, counts)
        write_json(partial / "build.json", counts)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    replace_folder(partial, out)
    return counts


def provenance(scores: str | Path, archive: str | Path, counts: dict) -> dict:
    """``verified`` and ``sources`` for ``build.json``: the pinned addresses when the scores file has the pinned
    sha256 and the build the expected counts, else the two files' names and sha256 as they are."""
    scores_sha = sha256_of(Path(scores))
    verified = scores_sha == SCORES.sha256 and all(counts[k] == v for k, v in EXPECTED.items())
    if verified:
        return {"verified": True, "sources": {"scores": SCORES.url, "lyrics": LYRICS_ARCHIVE.url}}
    return {"verified": False, "sources": {"scores": {"file": Path(scores).name, "sha256": scores_sha},
                                           "lyrics": {"file": Path(archive).name, "sha256": sha256_of(Path(archive))}},
            "expected": EXPECTED}


def build_lyrics_folder(archive: str | Path, out: str | Path) -> int:
    """Every non-empty lyrics file of the archive as ``out/lyrics/TRACKID.txt`` (for joining with the official
    Last.fm files by track id); written under a temporary name, then renamed. Returns the number of tracks."""
    members = archive_lyrics(archive)
    out = Path(out) / "lyrics"
    partial = partial_folder(out)
    try:
        with zipfile.ZipFile(archive) as z:
            for tid, member in members.items():
                (partial / f"{tid}.txt").write_bytes(read_member(z, member, Path(archive)))
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    replace_folder(partial, out)
    return len(members)


def download(source: Source, folder: Path) -> Path:
    """One source into ``folder`` (pooch; checked against its sha256 when known). Offline: a RuntimeError that
    says what to download by hand."""
    import pooch

    target = folder / source.filename
    if target.exists() and (source.size is None or target.stat().st_size == source.size):
        return target
    try:
        return Path(pooch.retrieve(source.url, f"sha256:{source.sha256}" if source.sha256 else None,
                                   fname=source.filename, path=folder,
                                   progressbar=sys.stderr.isatty()))  # a bar at a terminal; CI logs stay quiet
    except Exception as err:  # network and hash errors come in many types
        raise RuntimeError(f"could not download {source.url} ({type(err).__name__}: {err})") from None


def fetch_real_lyrics(out: str | Path, cache: str | Path, scores: str | Path | None = None,
                      archive: str | Path | None = None, report: SkipReport | None = None,
                      rebuild: bool = False) -> dict:
    """Download (or take the local ``scores`` / ``archive``) and build ``out``; a complete ``out`` is kept unless
    ``rebuild``."""
    out, cache = Path(out), Path(cache)
    if (out / "build.json").exists() and scores is None and archive is None and not rebuild:
        built = json.loads((out / "build.json").read_text())
        older = {"rows": "listings", "positive_rows": "similar_listings"}  # the words of builds before 2026-12-03
        return {older.get(key, key): value for key, value in built.items()}
    try:
        scores = Path(scores) if scores else download(SCORES, cache)
        archive = Path(archive) if archive else download(LYRICS_ARCHIVE, cache)
    except RuntimeError as err:
        raise RuntimeError(
            f"{err}.\nDownload by hand:\n  {SCORES.url}\n  {LYRICS_ARCHIVE.url}\nthen run: dplib data fetch "
            f"real-lyrics --scores {SCORES.filename} --lyrics-archive {LYRICS_ARCHIVE.filename} --out {out}") from None
    for path in (scores, archive):
        if not path.is_file():
            raise DataError("no such file", path)
    return build_real_lyrics(scores, archive, out, report)


def ensure_real_lyrics(cfg) -> Path:
    """The real lyrics set for ``cfg`` (see :attr:`dplib.config.Config.real_lyrics_folder`), downloaded and built into
    ``real-lyrics`` in the data folder (``cfg.data_folder``) when no copy is found; without a network, a
    FileNotFoundError that says what to do."""
    folder = cfg.real_lyrics_folder
    if folder is not None:
        return folder
    out = cfg.data_folder / "real-lyrics"
    try:
        fetch_real_lyrics(out, cfg.data_folder / "downloads")
    except (RuntimeError, DataError) as err:
        raise FileNotFoundError(f"no real lyrics set found, and it could not be fetched: {err}\n"
                                "Or set DPLIB_REAL_LYRICS to a folder holding pairs.csv and lyrics/.") from None
    return out
