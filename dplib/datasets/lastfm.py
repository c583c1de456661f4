"""Loaders for the Last.fm similarity data of the Million Song Dataset.

Two official shapes: one JSON file per track (``lastfm_subset`` / ``lastfm_train`` /
``lastfm_test``, in A/B/C/ folders or inside a .zip) and the SQLite
``lastfm_similars.db`` (tables ``similars_src`` and ``similars_dest``, each row
``tid, "TRID,score,TRID,score,..."``).
"""
from __future__ import annotations

import json
import os
import sqlite3
import sys
import zipfile
import zlib
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import numpy as np

from .pairs import ScoredPairs, parse_score
from .report import DataError, SkipReport, small_file, valid_track_id

REQUIRED_KEYS = ("track_id", "similars")
MAX_TRACK_JSON = 32 << 20  # bytes; the largest real track file is a few hundred KB


@dataclass
class TrackInfo:
    track_id: str
    artist: str = ""
    title: str = ""
    tags: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class LastfmData:
    tracks: dict[str, TrackInfo]
    pairs: ScoredPairs
    report: SkipReport


def _json_sources(root: Path, report: SkipReport) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every track JSON under a folder or inside a .zip, in sorted order."""
    if root.is_file() and root.suffix == ".zip":
        try:
            zf = zipfile.ZipFile(root)
        except (zipfile.BadZipFile, OSError) as err:
            raise DataError(f"not a readable .zip ({err})", root) from None
        with zf:
            for info in sorted((i for i in zf.infolist() if i.filename.endswith(".json")), key=lambda i: i.filename):
                name = info.filename
                if info.file_size > MAX_TRACK_JSON:  # checked before reading: a tiny .zip can unpack to gigabytes
                    report.skip("track file too large", f"{root}!{name}",
                                detail=f"{info.file_size:,} bytes, at most {MAX_TRACK_JSON:,}")
                    continue
                try:
                    raw = zf.read(name)
                except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as err:
                    raise DataError(f"damaged .zip member {name} ({err})", root) from None
                yield f"{root}!{name}", raw
    elif root.is_dir():
        for path in _sorted_json_files(root, report):
            try:
                yield path, small_file(Path(path), MAX_TRACK_JSON, "a real one is a few hundred KB", "track file")
            except DataError as err:
                report.skip(err.reason, path, detail=err.detail)
            except OSError as err:  # a link that leads nowhere, a file that cannot be read
                report.skip("unreadable file", path, detail=err.strerror or type(err).__name__)
    else:
        raise DataError("not a Last.fm folder or .zip", root)


def _sorted_json_files(folder: Path, report: SkipReport) -> Iterator[str]:
    """``*.json`` under ``folder`` in sorted path order, one directory at a time: a full
    listing of the 943,000 files would itself take hundreds of MB. A link to a folder is not followed (a link to
    ``..`` would loop): counted."""
    with os.scandir(folder) as it:
        entries = sorted((e.name, e.is_dir(follow_symlinks=False), e.is_symlink() and e.is_dir()) for e in it)
    for name, is_dir, linked_folder in entries:
        path = os.path.join(folder, name)
        if linked_folder:
            report.skip("link to a folder (not followed)", path)
        elif is_dir:
            yield from _sorted_json_files(path, report)
        elif name.endswith(".json"):
            yield path


def parse_track_json(raw: bytes, name: str, report: SkipReport):
    """One track file -> (TrackInfo, [(track, similar, score)]), or None when skipped."""
    if len(raw) > MAX_TRACK_JSON:
        report.skip("track file too large", name, detail=f"{len(raw):,} bytes, at most {MAX_TRACK_JSON:,}")
        return None
    try:
        doc = json.loads(raw)
    except ValueError as err:  # not JSON, not UTF-8, or an integer of more digits than Python converts
        report.skip("malformed JSON", name, getattr(err, "lineno", None), str(err)[:120])
        return None
    except RecursionError:
        report.skip("malformed JSON", name, detail="nested too deeply")
        return None
    if not isinstance(doc, dict):
        report.skip("malformed JSON", name, detail="top level is not an object")
        return None
    missing = [k for k in REQUIRED_KEYS if k not in doc]
    if missing:
        report.skip("missing key", name, detail=", ".join(missing))
        return None
    if not _is_track_id(doc["track_id"]):
        report.skip("bad track id", name, detail=repr(doc["track_id"])[:60])
        return None
    if not isinstance(doc["similars"], list):
        report.skip("bad similars (not a list)", name, detail=repr(doc["similars"])[:60])
        return None
    tid = sys.intern(doc["track_id"])  # ids repeat across millions of listings: keep one copy
    info = TrackInfo(tid, _text(doc.get("artist")), _text(doc.get("title")), _tags(doc.get("tags"), name, report))
    listings = []
    for entry in doc["similars"]:
        if not isinstance(entry, list) or len(entry) != 2 or not _is_track_id(entry[0]):
            report.skip("bad similar entry", name, detail=repr(entry)[:60])
            continue
        try:
            listings.append((tid, sys.intern(entry[0]), parse_score(entry[1], name)))
        except DataError as err:
            report.skip(err.reason, name, detail=f"{entry[0]}: {entry[1]!r}")
    return info, listings


def _is_track_id(value) -> bool:
    return valid_track_id(value)


def _text(value) -> str:
    return value if isinstance(value, str) else ""


def _tags(entries, name: str, report: SkipReport) -> list[tuple[str, int]]:
    """``[["rock", "100"], ...]`` -> [("rock", 100)]; the counts are strings in the real files."""
    if entries is None:
        return []
    if not isinstance(entries, list):
        report.skip("bad tags (not a list)", name, detail=repr(entries)[:60])
        return []
    tags = []
    for entry in entries:
        try:
            if not isinstance(entry, list) or isinstance(entry[1], bool):
                raise TypeError
            tags.append((str(entry[0]), int(entry[1])))
        except (TypeError, ValueError, IndexError, OverflowError):
            report.skip("bad tag", name, detail=repr(entry)[:60])
    return tags


def iter_lastfm_json(root: str | Path, report: SkipReport) -> Iterator[tuple[TrackInfo, list[tuple[str, str, float]]]]:
    """One (TrackInfo, scored listings) per readable track file, in sorted order; bad files are counted."""
    for name, raw in _json_sources(Path(root), report):
        parsed = parse_track_json(raw, name, report)
        if parsed is not None:
            yield parsed


def load_lastfm_json(root: str | Path, strict: bool = False, report: SkipReport | None = None) -> LastfmData:
    """Read every track JSON under ``root`` (a folder tree or a .zip)."""
    report = report if report is not None else SkipReport(strict)
    tracks: dict[str, TrackInfo] = {}
    # three flat columns, not a list of tuples: millions of listings cost 8 bytes a cell, not ~80 a listing
    a: list[str] = []
    b: list[str] = []
    scores = array("f")
    for info, track_listings in iter_lastfm_json(root, report):
        tracks[info.track_id] = info
        for tid, other, score in track_listings:
            a.append(tid)
            b.append(other)
            scores.append(score)
    pairs = ScoredPairs(np.array(a, dtype=object), np.array(b, dtype=object),
                        np.frombuffer(scores, dtype="float32").copy(), root)
    return LastfmData(tracks, pairs, report)


def parse_target(tid: str, target: str, path, report: SkipReport) -> list[tuple[str, str, float]]:
    """``"TRID,score,TRID,score,..."`` -> listings; a bad entry is counted, not dropped silently."""
    fields = target.split(",") if target else []
    if len(fields) % 2:
        report.skip("odd number of fields in target", path, detail=tid)
        fields = fields[:-1]
    listings = []
    tid = sys.intern(tid)
    for other, score in zip(fields[0::2], fields[1::2]):
        if not (valid_track_id(tid) and valid_track_id(other)):
            report.skip("bad track id", path, detail=f"{tid!r} -> {other!r}"[:80])
            continue
        try:
            listings.append((tid, sys.intern(other), parse_score(score, path)))
        except DataError as err:
            report.skip(err.reason, path, detail=f"{tid} -> {other}: {score!r}")
    return listings


def iter_lastfm_sqlite(
    path: str | Path, table: str = "similars_src", report: SkipReport | None = None
) -> Iterator[list[tuple[str, str, float]]]:
    """The scored listings of ``lastfm_similars.db``, one list per table row (see :func:`load_lastfm_sqlite`)."""
    if table not in ("similars_src", "similars_dest"):
        raise ValueError(f"table must be similars_src or similars_dest, got {table!r}")
    path = Path(path)
    if not path.exists():
        raise DataError("no such SQLite file", path)
    report = report if report is not None else SkipReport()
    # as_uri() percent-encodes the path: a '#' or '?' in a folder name would otherwise end the file name
    # (reading a sibling file) or drop read-only mode
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    conn.text_factory = bytes  # decoded row by row below: one bad row is a counted skip, not an abort
    try:
        try:
            cursor = conn.execute(f"SELECT rowid, tid, target, typeof(target) FROM {table} ORDER BY rowid")
        except sqlite3.DatabaseError as err:
            raise DataError(f"not a lastfm_similars.db ({err})", path) from None
        for rowid, tid, target, target_type in cursor:
            tid, target = _sqlite_text(tid), _sqlite_text(target) if target_type in (b"text", b"null") else None
            if not tid or target is None:
                report.skip("bad row (track id or target not UTF-8 text)", path,
                            detail=f"{table} rowid {rowid}")
                continue
            parsed = parse_target(tid, target, path, report)
            if table == "similars_dest":
                parsed = [(b, a, s) for a, b, s in parsed]
            yield parsed
    except sqlite3.DatabaseError as err:
        raise DataError(f"damaged lastfm_similars.db ({err})", path) from None
    finally:
        conn.close()


def _sqlite_text(value) -> str | None:
    """A TEXT cell read as bytes -> str; NULL -> ""; None for a number or undecodable bytes."""
    if value is None:
        return ""
    if not isinstance(value, bytes):
        return None
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return None


def load_lastfm_sqlite(
    path: str | Path, table: str = "similars_src", strict: bool = False, report: SkipReport | None = None
) -> ScoredPairs:
    """Scored pairs from ``lastfm_similars.db``.

    ``similars_src``: each row lists the tracks similar to ``tid``.
    ``similars_dest``: each row lists the tracks that list ``tid`` as similar
    (the listings come back as (listing track, tid, score)).
    """
    report = report if report is not None else SkipReport(strict)
    listings: list[tuple[str, str, float]] = []
    for parsed in iter_lastfm_sqlite(path, table, report):
        listings.extend(parsed)
    return ScoredPairs.from_listings(listings, path)
