"""A data folder, real or synthetic: find the files by their official names and load them.

Recognised names (any subset):
``lastfm_subset/``, ``lastfm_train/``, ``lastfm_test/`` (or the same as .zip),
``lastfm_similars.db``, ``mxm_dataset_train.txt``, ``mxm_dataset_test.txt``,
``lyrics.jsonl`` or ``lyrics/`` (ordered text, bring your own), ``pairs.csv``
(bring your own pairs), ``audio/`` (``TRACKID.wav``), ``card.json`` (synthetic data card).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

from .audio import AUDIO_SUFFIXES
from .lastfm import TrackInfo, iter_lastfm_json, iter_lastfm_sqlite, load_lastfm_json, load_lastfm_sqlite
from .lyrics import iter_lyrics_texts, load_lyrics_texts
from .musixmatch import iter_musixmatch_texts, load_musixmatch
from .pairs import ScoredPairs, iter_pairs_csv, read_pairs_csv
from .report import DataError, SkipReport, short_path, text_hint

CLIP_SUFFIXES = (*AUDIO_SUFFIXES, ".h5")  # audio clips, or MSD track files of segment features (:mod:`.msd_h5`)


def clip_ids(folder: Path) -> list[str]:
    """The track ids of the audio files in ``folder`` (``TRACKID.wav``, ``.mp3``, ... or ``TRACKID.h5``), once each."""
    return sorted({p.stem for p in folder.iterdir() if p.suffix.lower() in CLIP_SUFFIXES})


@dataclass
class DataPaths:
    root: Path
    lastfm_json: list[Path] = field(default_factory=list)
    lastfm_db: Path | None = None
    mxm: list[Path] = field(default_factory=list)
    lyrics: Path | None = None
    pairs_csv: Path | None = None
    audio: Path | None = None
    card: Path | None = None

    def unread(self) -> list[tuple[Path, str]]:
        """Files present but not read, each with the rule that passed it over: the summary names them."""
        pairs_rule = "pairs come from one source: pairs.csv, else lastfm_*/, else lastfm_similars.db"
        unused = []
        if self.pairs_csv:
            unused += [(p, pairs_rule) for p in self.lastfm_json + ([self.lastfm_db] if self.lastfm_db else [])]
        elif self.lastfm_json and self.lastfm_db:
            unused.append((self.lastfm_db, pairs_rule))
        if self.lyrics:
            unused += [(p, "lyrics come from one source: lyrics.jsonl or lyrics/, else mxm_dataset_*.txt")
                       for p in self.mxm]
        return unused


def find_data(root: str | Path) -> DataPaths:
    root = Path(root)
    if not root.is_dir():
        raise DataError("no such data folder", root)
    paths = DataPaths(root)
    for name in ("lastfm_subset", "lastfm_train", "lastfm_test"):
        for candidate in (root / name, root / f"{name}.zip"):
            if candidate.exists():
                paths.lastfm_json.append(candidate)
                break
    if (root / "lastfm_similars.db").exists():
        paths.lastfm_db = root / "lastfm_similars.db"
    paths.mxm = [root / f"mxm_dataset_{p}.txt" for p in ("train", "test") if (root / f"mxm_dataset_{p}.txt").exists()]
    for candidate in (root / "lyrics.jsonl", root / "lyrics"):
        if candidate.exists():
            paths.lyrics = candidate
            break
    if (root / "pairs.csv").exists():
        paths.pairs_csv = root / "pairs.csv"
    if (root / "audio").is_dir():
        paths.audio = root / "audio"
    if (root / "card.json").exists():
        paths.card = root / "card.json"
    return paths


@dataclass
class Corpus:
    """Everything a data folder holds, loaded, with what was skipped on the way."""

    paths: DataPaths
    tracks: dict[str, TrackInfo]
    scored: ScoredPairs
    lyrics: dict[str, str]
    lyrics_format: str  # "ordered text", "bag of words (order-free)" or "none"
    audio_ids: list[str]
    report: SkipReport
    card: dict | None = None

    @property
    def synthetic(self) -> bool:
        return bool(self.card and self.card.get("synthetic"))

    def summary(self) -> str:
        kind = "SYNTHETIC mini-MSD" if self.synthetic else "real / your own data"
        d = self.scored.describe()
        lines = [
            f"data folder: {short_path(self.paths.root)} ({kind})",
            f"  tracks with Last.fm metadata: {len(self.tracks):,}",
            f"  scored listings: {d['listings']:,} ({d['similar_listings']:,} with score >= 0.5) over {d['tracks']:,} tracks",
            f"  unordered pairs: {d['unordered_pairs']:,} ({d['unordered_positive']:,} >= 0.5, higher score kept); "
            f"{d['listed_both_ways']:,} listed both ways, {d['asymmetric_scores']:,} of them with different scores",
            f"  tracks with lyrics: {len(self.lyrics):,} ({self.lyrics_format})",
            f"  tracks with audio: {len(self.audio_ids):,}",
            *[f"  present but not read: {p.name} ({rule})" for p, rule in self.paths.unread()],
            "  " + self.report.summary().replace("\n", "\n  "),
        ]
        return "\n".join(lines)


def load_corpus(root: str | Path, strict: bool = False) -> Corpus:
    """Load a data folder. Pairs come from ``pairs.csv`` if present, else the Last.fm
    JSON tree, else ``lastfm_similars.db``; lyrics from ordered text if present, else musiXmatch.
    Taught in notebook 01 (also 02, 06, 09)."""
    paths = find_data(root)
    report = SkipReport(strict)
    tracks: dict[str, TrackInfo] = {}
    json_pairs = []
    for tree in paths.lastfm_json:
        data = load_lastfm_json(tree, report=report)
        tracks.update(data.tracks)
        json_pairs.append(data.pairs)
    if paths.pairs_csv:
        scored = read_pairs_csv(paths.pairs_csv, report)
    elif json_pairs:
        scored = ScoredPairs.concat(json_pairs)
    elif paths.lastfm_db:
        scored = load_lastfm_sqlite(paths.lastfm_db, report=report)
    else:
        raise DataError("no pairs: expected pairs.csv, a lastfm_* folder or lastfm_similars.db", paths.root)
    if paths.lyrics:
        lyrics, form = load_lyrics_texts(paths.lyrics, report=report), "ordered text"
    elif paths.mxm:
        lyrics, form = {}, "bag of words (order-free)"
        for f in paths.mxm:
            lyrics.update(load_musixmatch(f, report=report).as_texts())
    else:
        lyrics, form = {}, "none"
    audio_ids = clip_ids(paths.audio) if paths.audio else []
    try:
        card = json.loads(paths.card.read_text(encoding="utf-8")) if paths.card else None
    except ValueError as err:  # not JSON, not UTF-8, or an integer too long to convert
        raise DataError(f"unreadable data card ({err})", paths.card) from None
    return Corpus(paths, tracks, scored, lyrics, form, audio_ids, report, card)


def corpus_from_files(pairs_csv: str | Path, lyrics: str | Path | None = None, audio: str | Path | None = None,
                      strict: bool = False) -> Corpus:
    """A corpus from loose files rather than a data folder (``dplib train``): a ``track_a,track_b,score`` CSV,
    and lyrics (JSONL or a folder of ``TRACKID.txt``) or a folder of audio clips."""
    report = SkipReport(strict)
    paths = DataPaths(Path(pairs_csv).parent, pairs_csv=Path(pairs_csv))
    scored = read_pairs_csv(pairs_csv, report)
    texts = load_lyrics_texts(lyrics, report=report) if lyrics else {}
    if lyrics and not texts:  # named here: otherwise the pairs file would seem to blame ("0 similar pairs")
        why = ", ".join(f"{n:,} {reason}" for reason, n in sorted(report.skips.items()))
        raise DataError("no lyrics read from it (a JSONL file of {track_id, text} or a folder of TRACKID.txt; "
                        f"skipped: {why or 'nothing'})" + (text_hint(Path(lyrics)) if Path(lyrics).is_file() else ""),
                        lyrics)
    audio_ids: list[str] = []
    if audio:
        paths.audio = Path(audio)
        if not paths.audio.is_dir():
            raise DataError("no such folder of audio clips", paths.audio)
        audio_ids = clip_ids(paths.audio)
    return Corpus(paths, {}, scored, texts, "ordered text" if lyrics else "none", audio_ids, report)


def iter_listings(paths: DataPaths, report: SkipReport) -> Iterator[tuple[str, str, float]]:
    """The scored listings :func:`load_corpus` would load, one at a time, from the same source."""
    if paths.pairs_csv:
        yield from iter_pairs_csv(paths.pairs_csv, report)
    elif paths.lastfm_json:
        for tree in paths.lastfm_json:
            for _, listings in iter_lastfm_json(tree, report):
                yield from listings
    elif paths.lastfm_db:
        for listings in iter_lastfm_sqlite(paths.lastfm_db, report=report):
            yield from listings
    else:
        raise DataError("no pairs: expected pairs.csv, a lastfm_* folder or lastfm_similars.db", paths.root)


def iter_lyrics(paths: DataPaths, report: SkipReport) -> Iterator[tuple[str, str]]:
    """``(track_id, text)`` from the lyrics source :func:`load_corpus` would use (none: nothing)."""
    if paths.lyrics:
        yield from iter_lyrics_texts(paths.lyrics, report)
    else:
        for f in paths.mxm:
            yield from iter_musixmatch_texts(f, report)
