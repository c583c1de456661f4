"""From scored track pairs to balanced, flipped, leak-aware train/val/test parts.

Words: a *split* is the way pairs are assigned to parts, ``pair`` or ``song``; the *parts* are train, val and test.
Steps, each a small function a notebook can show (notebook 01):
1. :func:`build_pair_pool` merges both directions of a listed pair, keeps pairs
   whose two songs have data, labels them (score >= 0.5) and finds negatives.
2. :func:`split_pairs` assigns pairs to parts: ``pair`` (random over pairs, as the
   paper seems to have done) or ``song`` (song-disjoint: no song in two parts).
3. :func:`balance` draws equal positives and negatives in each part (train, val, test).
4. :meth:`Pairs.with_flips` adds (b, a, y) for every (a, b, y): Table 1.
"""
from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Mapping

import numpy as np

from .files import written
from .report import DataError, SkipReport, csv_rows, text_hint, valid_track_id

THRESHOLD = 0.5
#: the parts of a split (the split itself is "pair" or "song", the way pairs are assigned to them)
PARTS = ("train", "val", "test")


DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")  # a score as Last.fm writes one


def parse_score(text, path=None, line=None) -> float:
    """A similarity score in [0, 1]; anything else (a boolean too) raises :class:`DataError`."""
    if isinstance(text, bool):  # float(True) is 1.0: a JSON true is not a score
        raise DataError(f"non-numeric score: {text!r}", path, line)
    if isinstance(text, str) and not DECIMAL.fullmatch(text.strip()):  # float() also reads "٠.٥", "1_0", "inf"
        raise DataError(f"non-numeric score: {text!r}", path, line)
    try:
        score = float(text)
    except (TypeError, ValueError):
        raise DataError(f"non-numeric score: {text!r}", path, line) from None
    if not 0.0 <= score <= 1.0:  # also rejects NaN
        raise DataError(f"score outside [0, 1]: {text!r}", path, line)
    return score


@dataclass
class ScoredPairs:
    """Directed (track_a, track_b, score) listings: track_a's Last.fm list names track_b, with that score."""

    a: np.ndarray
    b: np.ndarray
    score: np.ndarray
    path: str | Path | None = None  # the file or folder they were read from (what skip reports name)

    @classmethod
    def from_listings(cls, listings: Iterable[tuple[str, str, float]], path: str | Path | None = None) -> "ScoredPairs":
        a, b, s = zip(*listings) if (listings := list(listings)) else ((), (), ())
        return cls(np.array(a, dtype=object), np.array(b, dtype=object), np.array(s, dtype="float32"), path)

    def __len__(self) -> int:
        return len(self.score)

    @property
    def n_positive(self) -> int:
        return int((self.score >= THRESHOLD).sum())

    def describe(self) -> dict[str, int]:
        """What a reader checks first: listings, tracks, unordered pairs (a pair listed both ways keeps its higher
        score, as :func:`build_pair_pool` does) and how many pairs are listed both ways, with different scores."""
        best: dict[tuple[str, str], float] = {}
        by_direction: dict[tuple[str, str], float] = {}
        for a, b, s in zip(self.a, self.b, self.score):
            by_direction[(a, b)] = float(s)
            key = (a, b) if a < b else (b, a)
            best[key] = max(best.get(key, -1.0), float(s))
        both = [(a, b) for (a, b) in by_direction if a < b and (b, a) in by_direction]
        return {
            "listings": len(self), "similar_listings": self.n_positive, "tracks": len(set(self.a) | set(self.b)),
            "unordered_pairs": len(best), "unordered_positive": sum(s >= THRESHOLD for s in best.values()),
            "listed_both_ways": len(both),
            "asymmetric_scores": sum(by_direction[(a, b)] != by_direction[(b, a)] for a, b in both),
        }

    @staticmethod
    def concat(parts: list["ScoredPairs"]) -> "ScoredPairs":
        return ScoredPairs(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("a", "b", "score")))


@dataclass
class Pairs:
    """Labelled pairs of one part (or a pool); ``label`` is 1 for "similar". Taught in notebook 01."""

    a: np.ndarray
    b: np.ndarray
    score: np.ndarray
    label: np.ndarray

    def __len__(self) -> int:
        return len(self.label)

    def take(self, index) -> "Pairs":
        return Pairs(self.a[index], self.b[index], self.score[index], self.label[index])

    def with_flips(self) -> "Pairs":
        """Every (a, b, y) followed by (b, a, y), so both orders sit in the same part."""
        n = len(self)
        out = Pairs(*(np.empty(2 * n, dtype=x.dtype) for x in (self.a, self.b, self.score, self.label)))
        out.a[0::2], out.a[1::2] = self.a, self.b
        out.b[0::2], out.b[1::2] = self.b, self.a
        out.score[0::2] = out.score[1::2] = self.score
        out.label[0::2] = out.label[1::2] = self.label
        return out

    def songs(self) -> set[str]:
        return set(self.a) | set(self.b)

    @property
    def n_positive(self) -> int:
        return int(self.label.sum())

    @staticmethod
    def concat(parts: list["Pairs"]) -> "Pairs":
        return Pairs(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("a", "b", "score", "label")))


def iter_pairs_csv(path: str | Path, report: SkipReport) -> Iterator[tuple[str, str, float]]:
    """The rows of a ``track_a,track_b,score`` CSV; bad rows are counted in ``report``."""
    path = Path(path)
    rows = csv_rows(path, report)
    line_no, header = next(rows, (1, None))
    if header is None or line_no != 1 or [h.strip() for h in header[:3]] != ["track_a", "track_b", "score"]:
        raise DataError(f"expected the header 'track_a,track_b,score', got {header}"[:200] + text_hint(path), path, 1)
    for line_no, row in rows:
        if len(row) < 3 or not row[0].strip() or not row[1].strip():
            report.skip("malformed pair row", path, line_no, repr(row)[:80])
            continue
        a, b = row[0].strip(), row[1].strip()
        if not (valid_track_id(a) and valid_track_id(b)):
            report.skip("bad track id", path, line_no, repr(a if not valid_track_id(a) else b)[:60])
            continue
        if len(row) > 3 and any(field.strip() for field in row[3:]):
            report.note("pair row with extra fields after the score (ignored)")
        try:
            score = parse_score(row[2], path, line_no)
        except DataError as err:
            report.skip(err.reason, path, line_no, repr(row[2])[:40])
            continue
        yield a, b, score


def read_pairs_csv(path: str | Path, report: SkipReport | None = None) -> ScoredPairs:
    """A ``track_a,track_b,score`` CSV with that header: the bring-your-own-pairs entry."""
    report = report if report is not None else SkipReport()
    return ScoredPairs.from_listings(iter_pairs_csv(path, report), path)


def write_pairs_csv(pairs: ScoredPairs | Pairs | Iterable[tuple[str, str, float]], path: str | Path,
                    digits: int = 6) -> Path:
    """A ``track_a,track_b,score`` CSV, written row by row under a temporary name and renamed (complete or not at
    all); ``digits``: significant digits of the scores (9 keep a float32 exactly)."""
    rows = zip(pairs.a, pairs.b, pairs.score) if isinstance(pairs, (ScoredPairs, Pairs)) else pairs
    with written(path) as partial, open(partial, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["track_a", "track_b", "score"])
        for a, b, score in rows:
            writer.writerow([a, b, f"{float(score):.{digits}g}"])
    return Path(path)


def report_pool_skips(report: SkipReport, unknown: int = 0, self_pairs: int = 0, conflicts: int = 0,
                      path: str | Path | None = None) -> None:
    """What pooling drops or merges, counted in the same words by both preparation paths (``path``: the pairs'
    file or folder, which the report names)."""
    if conflicts:
        report.note("pair listed twice with different scores (the higher kept)", conflicts)
    if unknown:
        report.skip("pair names a track without data", path, detail=f"{unknown} listed pairs", count=unknown)
    if self_pairs:
        report.skip("pair of a track with itself", path, detail=f"{self_pairs} listed pairs", count=self_pairs)


def build_pair_pool(
    scored: ScoredPairs,
    available: Iterable[str],
    negatives: str = "scored",
    seed: int = 0,
    report: SkipReport | None = None,
    n_random: int | None = None,
) -> Pairs:
    """Unique unordered pairs whose two songs are both ``available``, labelled.

    A pair listed in both directions keeps its higher score. Negatives are the
    listed pairs below 0.5 (``scored``, what the real data gives) or random
    unlisted pairs of available songs (``random``). Pairs naming a song without
    data are counted in ``report``, not dropped silently.
    Taught in notebook 01.
    """
    if negatives not in ("scored", "random"):
        raise ValueError(f"negatives must be 'scored' or 'random', got {negatives!r}")
    report = report if report is not None else SkipReport()
    available = set(available)
    best: dict[tuple[str, str], float] = {}
    unknown = self_pairs = conflicts = 0
    for a, b, s in zip(scored.a, scored.b, scored.score):
        if a == b:
            self_pairs += 1
            continue
        if a not in available or b not in available:
            unknown += 1
            continue
        key = (a, b) if a < b else (b, a)
        seen = best.get(key)
        if seen is not None and seen != s:
            conflicts += 1
        if seen is None or s > seen:
            best[key] = float(s)
    report_pool_skips(report, unknown, self_pairs, conflicts, scored.path)
    keys = sorted(best)
    a = np.array([k[0] for k in keys], dtype=object)
    b = np.array([k[1] for k in keys], dtype=object)
    score = np.array([best[k] for k in keys], dtype="float32")
    label = (score >= THRESHOLD).astype("int32")
    pool = Pairs(a, b, score, label)
    if negatives == "random":
        positives = pool.take(label == 1)
        want = n_random if n_random is not None else 4 * len(positives)
        pool = Pairs.concat([positives, random_unlisted(sorted(available), set(best), want, seed)])
    return pool


def random_unlisted(songs: list[str], listed: set[tuple[str, str]], want: int, seed: int) -> Pairs:
    """Up to ``want`` random pairs of two different ``songs`` that are not ``listed`` (keys: the smaller id first),
    labelled not similar with score 0: the ``random`` negatives."""
    songs = np.array(songs, dtype=object)
    rng = np.random.default_rng(seed)
    seen, rows = set(listed), []
    for _ in range(20):
        if len(rows) >= want or len(songs) < 2:
            break
        i = rng.integers(0, len(songs), size=2 * want)
        j = rng.integers(0, len(songs), size=2 * want)
        for x, y in zip(songs[i], songs[j]):
            key = (x, y) if x < y else (y, x)
            if x != y and key not in seen:
                seen.add(key)
                rows.append(key)
                if len(rows) >= want:
                    break
    return Pairs(np.array([r[0] for r in rows], dtype=object), np.array([r[1] for r in rows], dtype=object),
                 np.zeros(len(rows), dtype="float32"), np.zeros(len(rows), dtype="int32"))


def song_fractions(fractions: tuple[float, float, float]) -> np.ndarray:
    """Share of songs per part so that kept pairs come out near ``fractions``.

    A pair stays only if both songs land in the same part, so a part with a
    share q of the songs keeps about q**2 of the pairs: take q ~ sqrt(fraction).
    """
    q = np.sqrt(np.asarray(fractions, dtype=float))
    return q / q.sum()


def draw_parts(n: int, shares, rng: np.random.Generator) -> np.ndarray:
    """Part 0, 1 or 2 (train, val, test) for each of ``n`` items, one uniform each, in order: drawing for a pool
    in chunks gives the same parts as drawing for it whole (the same as ``rng.choice(3, n, p=shares)``)."""
    cdf = np.cumsum(np.asarray(shares, dtype=float))
    cdf /= cdf[-1]
    return cdf.searchsorted(rng.random(n), side="right").astype(np.int8)


class PartDraw:
    """Which part each pair of a pool goes to: 0, 1, 2 for train, val, test, -1 for a pair across parts (``song``).

    The one split rule of both preparation paths (notebook 01 shows it): the pool's unique pairs come sorted by
    (song, song), each song named by its position among the pool's songs sorted. :func:`split_pairs` passes the
    pool whole; the streamed preparation (:mod:`.streaming`) passes it bucket by bucket in the same order. Both
    draw the same parts from the same seed: ``pair`` takes one uniform per pair in order, ``song`` one per song.
    """

    def __init__(self, split: str, fractions, n_songs: int, seed: int, units: np.ndarray | None = None):
        if split not in ("pair", "song"):
            raise ValueError(f"split must be 'pair' or 'song', got {split!r}")
        self.split = split
        self.rng = np.random.default_rng(seed)
        self.shares = np.asarray(fractions) / sum(fractions)
        self.song_part = None
        if split == "song" and units is None:
            self.song_part = draw_parts(n_songs, song_fractions(fractions), self.rng)
        elif split == "song":  # one draw per unit (lyric group): a unit's songs land in one part together
            n_units = int(units.max()) + 1 if len(units) else 0
            self.song_part = draw_parts(n_units, song_fractions(fractions), self.rng)[units]

    def __call__(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """The parts of the next ``len(a)`` pairs of the pool (song positions ``a`` < ``b``); call once per pair."""
        if self.split == "pair":
            return draw_parts(len(a), self.shares, self.rng)
        sa, sb = self.song_part[a], self.song_part[b]
        return np.where(sa == sb, sa, -1).astype(np.int8)


def split_pairs(
    pool: Pairs, split: str = "pair", fractions=(0.8, 0.1, 0.1), seed: int = 0, groups: Mapping[str, int] | None = None
) -> dict[str, Pairs]:
    """Assign unflipped pairs to train/val/test, deterministically by ``seed`` (:class:`PartDraw`).

    ``pair``: each pair goes to a random part; songs are shared between parts.
    ``song``: every song goes to one part and only pairs within a part stay,
    so no validation or test song was seen in training (pairs across parts are dropped).
    ``groups`` (song split): ``{track: group}``, e.g. lyric groups (:func:`.lyrics.lyric_groups`); a group's songs
    go to one part together, so no test song has a twin in training.
    ``pool`` is in :func:`build_pair_pool`'s order (sorted pairs).
    """
    songs = np.array(sorted(pool.songs()), dtype=object) if split == "song" else np.array([], dtype=object)
    ia, ib = (np.searchsorted(songs, x) if split == "song" else x for x in (pool.a, pool.b))
    units = None
    if split == "song" and groups is not None:
        units = np.unique([groups[t] for t in songs], return_inverse=True)[1].reshape(-1)
    which = PartDraw(split, fractions, len(songs), seed, units)(ia, ib)
    return {name: pool.take(which == i) for i, name in enumerate(PARTS)}


@dataclass
class BalancedDraw:
    """Which pairs of one part :func:`balance` keeps: ranks among the part's positives and negatives (in draw
    order), and the order to shuffle the kept pairs into (positives first, then negatives, before it)."""

    positive: np.ndarray
    negative: np.ndarray
    order: np.ndarray


def balanced_draw(n_positive: int, n_negative: int, pairs_per_class: int | None, seed: int) -> BalancedDraw:
    """Draw ``n = min(positives, negatives, pairs_per_class)`` of each class without replacement, then a shuffle:
    needs only the counts, so the streamed preparation draws the same pairs as :func:`balance` without holding the part."""
    rng = np.random.default_rng(seed)
    n = min(n_positive, n_negative, pairs_per_class if pairs_per_class is not None else n_positive)
    positive = rng.choice(n_positive, n, replace=False)
    negative = rng.choice(n_negative, n, replace=False)
    return BalancedDraw(positive, negative, rng.permutation(2 * n))


def balance(pairs: Pairs, pairs_per_class: int | None = None, seed: int = 0) -> Pairs:
    """Equal numbers of positives and negatives (at most ``pairs_per_class`` each), shuffled (:func:`balanced_draw`)."""
    pos = np.flatnonzero(pairs.label == 1)
    neg = np.flatnonzero(pairs.label == 0)
    drawn = balanced_draw(len(pos), len(neg), pairs_per_class, seed)
    return pairs.take(np.concatenate([pos[drawn.positive], neg[drawn.negative]])[drawn.order])


def leakage(parts: dict[str, Pairs]) -> dict[str, float]:
    """For val and test: the share of pairs that touch a song seen in training."""
    train_songs = parts["train"].songs()
    out = {}
    for name in ("val", "test"):
        p = parts[name]
        touched = [x in train_songs or y in train_songs for x, y in zip(p.a, p.b)]
        out[name] = float(np.mean(touched)) if len(p) else 0.0
    return out


@dataclass
class PairParts:
    """Balanced, flipped train/val/test pairs plus how they were made."""

    train: Pairs
    val: Pairs
    test: Pairs
    split: str
    leakage: dict[str, float]
    flipped: bool = True  # each part holds every pair in both orders

    def __getitem__(self, name: str) -> Pairs:
        return getattr(self, name)

    def counts(self) -> dict[str, dict[str, int]]:
        """Per part: ``rows`` (what a model reads), ``pairs`` (unordered), ``similar`` (similar pairs), ``songs``."""
        per = 2 if self.flipped else 1
        return {name: {"rows": len(self[name]), "pairs": len(self[name]) // per,
                       "similar": self[name].n_positive // per, "songs": len(self[name].songs())} for name in PARTS}


def make_parts(
    pool: Pairs,
    split: str = "pair",
    pairs_per_class: tuple[int | None, int | None, int | None] = (None, None, None),
    fractions=(0.8, 0.1, 0.1),
    seed: int = 0,
    flip: bool = True,
    groups: Mapping[str, int] | None = None,
) -> PairParts:
    """Split, balance each part 50/50, then add flipped copies (Table 1); ``groups``: see :func:`split_pairs`.
    Taught in notebook 01."""
    raw = split_pairs(pool, split, fractions, seed, groups)
    balanced = {name: balance(raw[name], n, seed + i) for i, (name, n) in enumerate(zip(PARTS, pairs_per_class))}
    leaks = leakage(balanced)
    if flip:
        balanced = {name: p.with_flips() for name, p in balanced.items()}
    return PairParts(balanced["train"], balanced["val"], balanced["test"], split, leaks, flipped=flip)
