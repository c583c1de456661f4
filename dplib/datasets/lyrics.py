"""Lyrics text: loading (a folder of ``TRACKID.txt`` or a JSONL file), a vocabulary
without too-rare and too-frequent words (as the paper did), and integer sequences.

Index 0 is padding; sequences are right-padded (the layout cuDNN needs) and capped.
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import numpy as np

from .files import write_text
from .report import MAX_LINE_BYTES, DataError, SkipReport, small_file, utf8_lines, valid_track_id

TOKEN = re.compile(r"[a-z0-9']+")
#: the last line of every Musixmatch API excerpt (the authors' lyrics files end with it, after a "..." line)
EXCERPT_FOOTER = re.compile(r"^\**\s*This Lyrics is NOT for Commercial use\s*\**$", re.IGNORECASE)


def tokenize(text: str) -> list[str]:
    """Lower-case words; punctuation separates."""
    return TOKEN.findall(text.lower())


def strip_excerpt_footer(text: str) -> tuple[str, bool]:
    """Drop the Musixmatch excerpt footer (the "NOT for Commercial use" line and the "..." line that marks
    where the excerpt was cut): they are not lyrics, and the authors' own loader dropped them too.
    Returns the text and whether a footer was found. Taught in notebook 06."""
    lines = text.rstrip().splitlines()
    if not lines or not EXCERPT_FOOTER.match(lines[-1].strip()):
        return text, False
    lines.pop()
    while lines and lines[-1].strip() in ("", "..."):
        lines.pop()
    return "\n".join(lines), True


def _lyrics_text(text: str, report: SkipReport) -> str:
    text, had_footer = strip_excerpt_footer(text)
    if had_footer:
        report.note("Musixmatch excerpt footer removed")
    return text


def iter_lyrics_texts(path: str | Path, report: SkipReport) -> Iterator[tuple[str, str]]:
    """``(track_id, text)`` from a folder of ``TRACKID.txt`` or a JSONL of ``{"track_id", "text"}``.

    Empty lyrics (a file holding only the Musixmatch footer included) and malformed lines are counted in
    ``report`` (errors when strict).
    """
    path = Path(path)
    seen: set[str] = set()
    if path.is_dir():
        for file in sorted(path.glob("*.txt")):
            try:
                raw = small_file(file, MAX_LINE_BYTES, "lyrics are a few KB")
                text = _lyrics_text(raw.decode("utf-8-sig"), report)
            except UnicodeDecodeError as err:
                report.skip("not UTF-8 text", file, detail=f"byte {err.start}")
                continue
            except DataError as err:
                report.skip(err.reason, file, detail=err.detail)
                continue
            except OSError as err:  # a folder named X.txt, a file that cannot be read
                report.skip("unreadable file", file, detail=type(err).__name__)
                continue
            if not tokenize(text):
                report.skip("empty lyrics", file)
                continue
            seen.add(file.stem)
            yield file.stem, text
    elif path.is_file():
        where = [0]
        for line in utf8_lines(path, report, where):
            line_no = where[0]
            if not line.strip():
                continue
            try:
                doc = json.loads(line)
                tid, text = doc["track_id"], doc["text"]
            except (ValueError, RecursionError) as err:  # ValueError: also an integer too long to convert
                report.skip("malformed JSON", path, line_no, str(err)[:80])
                continue
            except (KeyError, TypeError):
                report.skip("missing key", path, line_no, "need 'track_id' and 'text'")
                continue
            tid = tid.strip() if isinstance(tid, str) else tid
            if not valid_track_id(tid):
                report.skip("bad track id", path, line_no, repr(tid)[:40])
                continue
            if tid in seen:
                report.skip("duplicate track id (the first text is kept)", path, line_no, tid[:40])
                continue
            if isinstance(text, str):
                text = _lyrics_text(text, report)
            if not isinstance(text, str) or not tokenize(text):
                report.skip("empty lyrics", path, line_no, tid[:40])
                continue
            seen.add(tid)
            yield tid, text
    else:
        raise DataError("no lyrics folder or JSONL file here", path)


def load_lyrics_texts(path: str | Path, strict: bool = False, report: SkipReport | None = None) -> dict[str, str]:
    """``{track_id: text}``: see :func:`iter_lyrics_texts` (a repeated track id is a counted skip)."""
    report = report if report is not None else SkipReport(strict)
    return dict(iter_lyrics_texts(path, report))


#: the words that decide a lyric group: a text's first PREFIX_WORDS words, when they hold at least MIN_DISTINCT
#: different words; else the whole text. The excerpts are cut at different points and transcribed a little
#: differently, so same-song texts differ near their ends (9 such pairs on the real set); "la la la ..." openings
#: hold too few different words to name a song.
PREFIX_WORDS, MIN_DISTINCT = 20, 8


def lyric_key(text: str) -> tuple[str, ...]:
    """The words that decide a text's lyric group (see :data:`PREFIX_WORDS`)."""
    words = tuple(tokenize(text))
    head = words[:PREFIX_WORDS]
    return head if len(head) == PREFIX_WORDS and len(set(head)) >= MIN_DISTINCT else words


def lyric_groups(lyrics: Mapping[str, str]) -> dict[str, int]:
    """``{track: group}``: tracks whose lyrics have the same :func:`lyric_key` share a group (numbered from 0 in
    the order of their first track, sorted). Other releases, remasters and covers of one song are one group, which
    every song split of real data keeps whole (notebook 06)."""
    numbers: dict[tuple[str, ...], int] = {}
    return {t: numbers.setdefault(lyric_key(lyrics[t]), len(numbers)) for t in sorted(lyrics)}


@dataclass
class Vocabulary:
    """Word -> index (from 1; 0 pads). Built from training texts only."""

    words: list[str]

    def __post_init__(self):
        self.index = {w: i + 1 for i, w in enumerate(self.words)}

    @property
    def size(self) -> int:
        """Embedding rows needed, padding included."""
        return len(self.words) + 1

    @classmethod
    def fit(
        cls,
        token_lists: Iterable[list[str]],
        min_count: int = 3,
        max_doc_freq: float = 0.5,
        max_words: int | None = None,
    ) -> "Vocabulary":
        """Keep words seen at least ``min_count`` times and in at most ``max_doc_freq`` of songs."""
        counts: Counter[str] = Counter()
        docs: Counter[str] = Counter()
        n_docs = 0
        for tokens in token_lists:
            n_docs += 1
            counts.update(tokens)
            docs.update(set(tokens))
        limit = max_doc_freq * n_docs
        kept = [w for w, c in counts.items() if c >= min_count and docs[w] <= limit]
        kept.sort(key=lambda w: (-counts[w], w))
        return cls(kept[:max_words] if max_words else kept)

    def encode(self, tokens: list[str]) -> list[int]:
        """Known words only: dropped words are the paper's too-rare / too-frequent ones."""
        return [self.index[t] for t in tokens if t in self.index]

    def save(self, path: str | Path) -> None:
        write_text(path, json.dumps(self.words))

    @classmethod
    def load(cls, path: str | Path) -> "Vocabulary":
        """A vocabulary saved by :meth:`save`: a JSON list of words (anything else is a :class:`DataError`)."""
        try:
            words = json.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise DataError("no vocabulary file", path) from None
        except ValueError as err:  # not JSON, not UTF-8, or an integer too long to convert
            raise DataError(f"unreadable vocabulary ({err})", path) from None
        if not isinstance(words, list) or not all(isinstance(w, str) for w in words):
            raise DataError("not a vocabulary (expected a JSON list of words)", path)
        return cls(words)


@dataclass
class EncodedSongs:
    """Per-song model inputs, stored once; pairs refer to songs by their position (``position[track]``)."""

    track_ids: list[str]
    data: np.ndarray  # (songs, max_len) int32 for lyrics, (songs, blocks, bins) float32 for audio
    lengths: np.ndarray  # time steps actually used per song

    def __post_init__(self):
        self.position = {tid: i for i, tid in enumerate(self.track_ids)}

    def __len__(self) -> int:
        return len(self.track_ids)

    def positions(self, track_ids: Iterable[str]) -> np.ndarray:
        """Where these songs sit in ``data`` (one index each, in the order given)."""
        try:
            return np.fromiter((self.position[t] for t in track_ids), dtype="int32")
        except KeyError as err:
            raise KeyError(f"track {err.args[0]} has no encoded data") from None

    def __getitem__(self, track_ids) -> np.ndarray:
        return self.data[self.positions(track_ids)]

    def subset(self, track_ids: Iterable[str]) -> "EncodedSongs":
        """These songs only, in the order given (e.g. the test songs, for :func:`dplib.diagnose.tower_health`)."""
        ids = list(track_ids)
        at = self.positions(ids)
        return EncodedSongs(ids, self.data[at], self.lengths[at])


def encode_lyrics(
    texts: Mapping[str, str], vocab: Vocabulary, max_len: int = 120, report: SkipReport | None = None
) -> EncodedSongs:
    """Right-padded int32 sequences, cut at ``max_len`` words.

    A song whose words are all outside the vocabulary would be all padding; it is
    counted in ``report`` and left out.
    """
    report = report if report is not None else SkipReport()
    ids, rows, lengths = [], [], []
    for tid, text in texts.items():
        seq = vocab.encode(tokenize(text))[:max_len]
        if not seq:
            report.skip("no in-vocabulary words", detail=tid)
            continue
        ids.append(tid)
        rows.append(seq)
        lengths.append(len(seq))
    data = np.zeros((len(rows), max_len), dtype="int32")
    for i, seq in enumerate(rows):
        data[i, : len(seq)] = seq
    return EncodedSongs(ids, data, np.asarray(lengths, dtype="int32"))
