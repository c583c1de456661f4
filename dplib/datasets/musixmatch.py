"""The musiXmatch bag-of-words files (``mxm_dataset_train.txt`` / ``mxm_dataset_test.txt``).

Format: ``#`` comment lines, one ``%`` line with the comma-separated top words,
then ``MSD_TRACK_ID,MXM_ID,idx:count,...`` with word indices starting at 1.
Word order is lost in this format; :func:`bow_to_tokens` makes an order-free
token list from it, which is all a sequence model can get from these files.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import numpy as np

from .report import DataError, SkipReport, utf8_lines

MAX_WORDS = 100_000  # per song; real lyrics have a few hundred, and a count of 2e9 would ask for gigabytes


@dataclass
class BagOfWords:
    words: list[str]
    track_ids: list[str]
    mxm_ids: list[int]
    indices: list[np.ndarray]  # 0-based positions in ``words``
    counts: list[np.ndarray]
    report: SkipReport

    def __len__(self) -> int:
        return len(self.track_ids)

    def tokens(self, i: int) -> list[str]:
        return bow_to_tokens(self.words, self.indices[i], self.counts[i])

    def as_texts(self) -> dict[str, str]:
        """Order-free pseudo-texts (each word repeated ``count`` times, in vocabulary order)."""
        return {tid: " ".join(self.tokens(i)) for i, tid in enumerate(self.track_ids)}


def bow_to_tokens(words: list[str], indices: np.ndarray, counts: np.ndarray) -> list[str]:
    return [words[i] for i, c in zip(indices, counts) for _ in range(int(c))]


def iter_musixmatch(path: str | Path, report: SkipReport) -> Iterator[tuple[list[str], str, int, np.ndarray, np.ndarray]]:
    """``(words, track_id, mxm_id, indices, counts)`` per good track line; bad lines are counted.

    Lines are decoded one by one (:func:`.pairs.utf8_lines`); a track listed twice keeps its first line."""
    path = Path(path)
    words: list[str] | None = None
    seen: set[str] = set()
    where = [0]
    for line in utf8_lines(path, report, where):
        line_no, line = where[0], line.rstrip("\r\n")
        if not line or line.startswith("#"):
            continue
        if line.startswith("%"):
            if words is not None:
                raise DataError("a second '%' word list (the file has one, before the track lines)", path, line_no)
            words = line[1:].split(",")
            continue
        if words is None:
            raise DataError("track line before the '%' word list", path, line_no)
        parsed = _parse_track_line(line, len(words), path, line_no, report)
        if parsed is None:
            continue
        if parsed[0] in seen:
            report.skip("duplicate track id (the first line is kept)", path, line_no, parsed[0])
            continue
        seen.add(parsed[0])
        yield (words, *parsed)
    if words is None:
        raise DataError("no '%' word list found", path)


def iter_musixmatch_texts(path: str | Path, report: SkipReport) -> Iterator[tuple[str, str]]:
    """``(track_id, order-free pseudo-text)``, as :meth:`BagOfWords.as_texts` gives them."""
    for words, tid, _, idx, cnt in iter_musixmatch(path, report):
        yield tid, " ".join(bow_to_tokens(words, idx, cnt))


def load_musixmatch(path: str | Path, strict: bool = False, report: SkipReport | None = None) -> BagOfWords:
    """Read one musiXmatch file; bad track lines are counted (or raise when ``strict``)."""
    path = Path(path)
    report = report if report is not None else SkipReport(strict)
    words: list[str] | None = None
    tids, mxm_ids, all_idx, all_counts = [], [], [], []
    for words, tid, mxm, idx, cnt in iter_musixmatch(path, report):
        tids.append(tid)
        mxm_ids.append(mxm)
        all_idx.append(idx)
        all_counts.append(cnt)
    if words is None:  # a word list and no track lines
        words = _word_list(path)
    return BagOfWords(words, tids, mxm_ids, all_idx, all_counts, report)


def _word_list(path: Path) -> list[str]:
    for line in utf8_lines(path, SkipReport(), [0]):
        if line.startswith("%"):
            return line[1:].rstrip("\r\n").split(",")
    raise DataError("no '%' word list found", path)


def _parse_track_line(line: str, n_words: int, path, line_no: int, report: SkipReport):
    fields = line.split(",")
    if len(fields) < 2 or not fields[0]:
        report.skip("malformed mxm line", path, line_no, line[:60])
        return None
    tid, mxm = fields[0], fields[1]
    if len(fields) == 2:
        report.skip("empty lyrics", path, line_no, tid)
        return None
    idx = np.empty(len(fields) - 2, dtype="int32")
    cnt = np.empty(len(fields) - 2, dtype="int32")
    for k, item in enumerate(fields[2:]):
        i, sep, c = item.partition(":")
        try:
            i, c = int(i), int(c)
        except ValueError:
            report.skip("bad index or count", path, line_no, f"{tid}: {item!r}")
            return None
        if c > MAX_WORDS:
            report.skip("word count too large", path, line_no, f"{tid}: {item!r} (at most {MAX_WORDS:,} words)")
            return None
        if not 1 <= i <= n_words or c < 1 or not sep:
            report.skip("bad index or count", path, line_no, f"{tid}: {item!r} (index 1..{n_words}, count >= 1)")
            return None
        idx[k], cnt[k] = i - 1, c
    if int(cnt.sum(dtype=np.int64)) > MAX_WORDS:  # each word is repeated count times when read as text
        report.skip("word count too large", path, line_no, f"{tid}: {int(cnt.sum(dtype=np.int64)):,} words, at most {MAX_WORDS:,}")
        return None
    try:
        mxm_id = int(mxm)
    except ValueError:
        report.skip("malformed mxm line", path, line_no, f"{tid}: mxm id {mxm!r}")
        return None
    return tid, mxm_id, idx, cnt
