"""From a loaded corpus to model-ready data: pairs, parts, vocabulary, encoded songs.

The vocabulary is fitted on training songs only, so validation and test words
never shape it.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import numpy as np

from .audio import clip_length_blocks, encode_audio
from .corpus import CLIP_SUFFIXES, Corpus
from .msd_h5 import encode_msd_h5
from .lyrics import EncodedSongs, Vocabulary, encode_lyrics, lyric_groups, tokenize
from .pairs import PARTS, Pairs, PairParts, build_pair_pool, make_parts
from .report import DataError, SkipReport

if TYPE_CHECKING:
    import tensorflow as tf


class PairData(Protocol):
    """What training and evaluation read, whichever way the pairs were prepared: :class:`Prepared` (in memory, what
    the notebooks use) or :class:`~.shards.StreamedLyrics` (TFRecord shards, any corpus size). Both draw the
    same pairs for the same seed (:class:`~.pairs.PartDraw`), and every part holds each pair in both orders, one
    after the other. :func:`dplib.training.fit` and :func:`dplib.evaluation.evaluate` take either."""

    def dataset(self, part: str, batch_size: int = 256, shuffle: bool | None = None, seed: int = 0,
                fast: bool = True, fixed_shapes: bool = False) -> tf.data.Dataset: ...

    def rows(self, part: str) -> Pairs: ...  # the part's pairs in both orders

    def counts(self) -> dict: ...

    @property
    def leakage(self) -> dict[str, float]: ...

    @property
    def input_dim(self) -> int: ...

    kind: str
    vocab: Vocabulary | None
    report: SkipReport


def saved_counts(part: dict) -> dict:
    """One part's counts as ``counts()`` gives them (``rows``, ``pairs``, ``similar``, ``songs``), also from a
    manifest or result saved before, which named the rows "pairs" and the similar rows "positive"."""
    if "rows" in part:
        return part
    return {"rows": part["pairs"], "pairs": part["pairs"] // 2, "similar": part["positive"] // 2, "songs": part["songs"]}


@dataclass
class JointSongs:
    """Each song encoded both ways, for the joint model (notebook 09)."""

    lyrics: EncodedSongs
    audio: EncodedSongs

    @property
    def track_ids(self) -> list[str]:
        """The songs with both lyrics and audio encoded."""
        audio = set(self.audio.track_ids)
        return [t for t in self.lyrics.track_ids if t in audio]


@dataclass
class Prepared:
    """Pairs prepared in memory: balanced, flipped parts, the encoded songs and the training-song vocabulary.

    Taught in notebook 03; a :class:`PairData`, like the streamed shards."""

    kind: str  # "lyrics", "audio" or "joint"
    parts: PairParts
    songs: EncodedSongs | JointSongs
    vocab: Vocabulary | None
    report: SkipReport

    @property
    def input_dim(self) -> int:
        """Vocabulary size (lyrics) or frequency bins (audio): what the model builder needs."""
        if self.kind == "joint":
            raise ValueError("a joint model reads two inputs: use of_kind('lyrics').input_dim and of_kind('audio').input_dim")
        return self.vocab.size if self.vocab is not None else self.songs.data.shape[-1]

    @classmethod
    def to_score(cls, kind: str, pairs: Pairs, songs: EncodedSongs, report: SkipReport) -> "Prepared":
        """Labelled pairs to score with a trained model (``dplib evaluate``): the test part, both orders."""
        empty = pairs.take(np.zeros(0, dtype=int))
        return cls(kind, PairParts(empty, empty, pairs.with_flips(), "given", {}), songs, None, report)

    def of_kind(self, kind: str) -> "Prepared":
        """Joint data seen as one modality, on the same pairs (notebook 09 compares them)."""
        if self.kind != "joint":
            raise ValueError(f"of_kind() needs joint data, this is {self.kind}")
        return Prepared(kind, self.parts, getattr(self.songs, kind), self.vocab if kind == "lyrics" else None,
                        self.report)

    def rows(self, part: str) -> Pairs:
        """The part's rows: each of its pairs in both orders, one after the other."""
        return self.parts[part]

    def counts(self) -> dict:
        return self.parts.counts()

    @property
    def leakage(self) -> dict[str, float]:
        return self.parts.leakage

    def dataset(self, part: str, batch_size: int = 256, shuffle: bool | None = None, seed: int = 0,
                fast: bool = True, fixed_shapes: bool = False) -> tf.data.Dataset:
        """``((song_a, song_b), label)`` batches of one part (shuffled for ``train`` unless told), in order otherwise.

        ``fast``: lyrics batches cut to their longest song (shuffled rows, no length buckets: see
        :mod:`dplib.datasets.pipeline`);
        ``fixed_shapes``: every batch padded to ``max_len`` and, when shuffled, full (the static shapes a TPU needs).
        """
        from .pipeline import joint_pair_dataset, pair_dataset

        shuffle = part == "train" if shuffle is None else shuffle
        if self.kind == "joint":
            return joint_pair_dataset(self.parts[part], self.songs.lyrics, self.songs.audio, batch_size, shuffle, seed)
        trim = fast and not fixed_shapes
        return pair_dataset(self.parts[part], self.songs, batch_size, shuffle=shuffle, seed=seed,
                            trim=trim, drop_remainder=fixed_shapes and shuffle)


def _keep_encoded(parts: PairParts, songs: EncodedSongs | JointSongs, report: SkipReport) -> PairParts:
    """Drop (and count) pairs whose songs could not be encoded; flips go together."""
    known = set(songs.track_ids)
    for name in PARTS:
        pairs = parts[name]
        ok = np.array([a in known and b in known for a, b in zip(pairs.a, pairs.b)], dtype=bool)
        if not ok.all():
            report.skip("pair dropped: a song could not be encoded", detail=name, count=int((~ok).sum()))
            setattr(parts, name, pairs.take(ok))
    return parts


def _check_parts(parts: PairParts, pool_positive: int, pool_size: int, corpus: Corpus) -> PairParts:
    """Every part must hold pairs of both classes: an empty or one-class part would fail deep in TensorFlow
    (an empty shuffle buffer) or give no AUC. Say which part, and what the pool held, naming the data."""
    for name in PARTS:
        part = parts[name]
        if len(part) == 0 or part.n_positive in (0, len(part)):
            source = corpus.paths.pairs_csv or corpus.paths.root
            skipped = f" (skipped while reading: {corpus.report.top()})" if corpus.report.skips else ""
            raise DataError(f"the {name} part has no balanced pairs after the split ({len(part)} rows): the pairs "
                            f"with data for both songs were {pool_positive:,} similar and "
                            f"{pool_size - pool_positive:,} not similar, and every part needs both{skipped}", source)
    return parts


def used_songs(parts: PairParts) -> list[str]:
    return sorted(set().union(*(parts[n].songs() for n in PARTS)))


def encode_parts_lyrics(corpus: Corpus, parts: PairParts, max_len: int, min_count: int, max_doc_freq: float,
                        report: SkipReport) -> tuple[Vocabulary, EncodedSongs]:
    """Vocabulary from the training songs only, then every song of the parts encoded with it."""
    train_songs = sorted(parts.train.songs())
    vocab = Vocabulary.fit((tokenize(corpus.lyrics[t]) for t in train_songs), min_count, max_doc_freq)
    songs = encode_lyrics({t: corpus.lyrics[t] for t in used_songs(parts)}, vocab, max_len, report)
    return vocab, songs


def encode_clips(corpus: Corpus, track_ids: list[str], n_blocks: int | None, report: SkipReport,
                 bands: str | None = None) -> EncodedSongs:
    """The songs' audio as the tower reads it: block spectrograms of the clips (notebook 02), or, when the audio
    folder holds MSD track files (``TRACKID.h5``), their Echo Nest segment features (:mod:`.msd_h5`; ``n_blocks``
    is then segments per song, default 400)."""
    folder = _audio_folder(corpus)
    kinds = {p.suffix.lower() == ".h5" for p in folder.iterdir() if p.suffix.lower() in CLIP_SUFFIXES}
    if True not in kinds:
        return encode_audio(folder, track_ids, n_blocks or clip_blocks(corpus, track_ids), report=report, bands=bands)
    if len(kinds) > 1 or bands:
        raise DataError("MSD .h5 track files are read as they are: one kind of file per audio folder (no clips beside "
                        "them) and no frequency bands", folder)
    return encode_msd_h5([folder / f"{t}.h5" for t in track_ids], n_blocks or 400, report=report)


def clip_blocks(corpus: Corpus, track_ids=()) -> int:
    """Blocks per clip: from the synthetic data card, else the length of the first readable clips among
    ``track_ids``, else 60 (the 30 s previews of the real data)."""
    if corpus.card and "clip_seconds" in corpus.card:
        return int(round(2 * corpus.card["clip_seconds"]))
    return (clip_length_blocks(corpus.paths.audio, track_ids) if corpus.paths.audio else None) or 60


def _draw(corpus: Corpus, available, split: str, pairs_per_class, negatives: str, seed: int,
          fractions: tuple[float, float, float]) -> tuple[Pairs, PairParts, SkipReport]:
    """Pool the pairs whose songs are ``available``, then split, balance and flip them (every modality's first
    steps); ``--strict`` holds through preparation, not only loading. A song split of real (not synthetic) data
    with ordered lyrics keeps lyric groups whole (:func:`.lyrics.lyric_groups`): other releases and covers of a
    test song are not in training."""
    report = SkipReport(corpus.report.strict)
    pool = build_pair_pool(corpus.scored, available, negatives, seed, report)
    groups = None
    if split == "song" and not corpus.synthetic and corpus.lyrics_format == "ordered text":
        groups = lyric_groups({t: corpus.lyrics[t] for t in pool.songs() if t in corpus.lyrics})
        alone = sorted(pool.songs() - set(groups))  # no lyrics: a group of its own
        groups |= {t: len(pool.songs()) + i for i, t in enumerate(alone)}
    return pool, make_parts(pool, split, pairs_per_class, fractions, seed=seed, groups=groups), report


def finish_prepared(kind: str, corpus: Corpus, pool: Pairs, parts: PairParts, songs, vocab,
                    report: SkipReport) -> Prepared:
    """Drop the pairs whose songs could not be encoded, check every part still has both classes, and package."""
    parts = _check_parts(_keep_encoded(parts, songs, report), pool.n_positive, len(pool), corpus)
    return Prepared(kind, parts, songs, vocab, report)


def _audio_folder(corpus: Corpus):
    if corpus.paths.audio is None:
        raise DataError("no audio/ folder of TRACKID.wav files", corpus.paths.root)
    return corpus.paths.audio


def prepare_lyrics(
    corpus: Corpus,
    split: str = "pair",
    pairs_per_class=(None, None, None),
    negatives: str = "scored",
    max_len: int = 120,
    min_count: int = 3,
    max_doc_freq: float = 0.5,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
) -> Prepared:
    """Lyrics pairs: pool, split, balance and flip, then a training-song vocabulary and integer sequences."""
    pool, parts, report = _draw(corpus, corpus.lyrics.keys(), split, pairs_per_class, negatives, seed, fractions)
    vocab, songs = encode_parts_lyrics(corpus, parts, max_len, min_count, max_doc_freq, report)
    return finish_prepared("lyrics", corpus, pool, parts, songs, vocab, report)


def prepare_audio(
    corpus: Corpus,
    split: str = "pair",
    pairs_per_class=(None, None, None),
    negatives: str = "scored",
    n_blocks: int | None = None,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    bands: str | None = None,
) -> Prepared:
    """Audio pairs: pool, split, balance and flip, then one block spectrogram per song, file by file
    (``bands``: pooled into frequency bands, notebook 07)."""
    _audio_folder(corpus)  # before the pairs are drawn: no audio folder, no work
    pool, parts, report = _draw(corpus, corpus.audio_ids, split, pairs_per_class, negatives, seed, fractions)
    songs = encode_clips(corpus, used_songs(parts), n_blocks, report, bands)
    return finish_prepared("audio", corpus, pool, parts, songs, None, report)


def prepare_joint(
    corpus: Corpus,
    split: str = "pair",
    pairs_per_class=(None, None, None),
    negatives: str = "scored",
    max_len: int = 120,
    min_count: int = 3,
    max_doc_freq: float = 0.5,
    n_blocks: int | None = None,
    seed: int = 0,
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    bands: str | None = None,
) -> Prepared:
    """Pairs whose two songs have both lyrics and audio, encoded both ways (``bands``: the audio pooled into
    frequency bands, as in :func:`prepare_audio`)."""
    _audio_folder(corpus)
    both = set(corpus.lyrics) & set(corpus.audio_ids)
    pool, parts, report = _draw(corpus, both, split, pairs_per_class, negatives, seed, fractions)
    vocab, lyrics = encode_parts_lyrics(corpus, parts, max_len, min_count, max_doc_freq, report)
    audio = encode_clips(corpus, used_songs(parts), n_blocks, report, bands)
    return finish_prepared("joint", corpus, pool, parts, JointSongs(lyrics, audio), vocab, report)


def pairs_text(pairs) -> str:
    """``a,b,label|a,b,label|...``: what the fingerprints below hash."""
    return "|".join(f"{a},{b},{y}" for a, b, y in zip(pairs.a, pairs.b, pairs.label))


def pairs_key(pairs) -> str:
    """A fingerprint of some labelled pairs, in order."""
    return hashlib.sha1(pairs_text(pairs).encode()).hexdigest()[:16]


def parts_key(data: PairData) -> str:
    """A fingerprint of the pairs (and labels) of the train, val and test parts: the same for the same pairs
    prepared in memory or streamed."""
    text = "".join(pairs_text(data.rows(name)) for name in ("train", "val", "test"))
    return hashlib.sha1(text.encode()).hexdigest()[:16]
