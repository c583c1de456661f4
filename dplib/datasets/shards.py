"""A shard folder written by :func:`dplib.datasets.streaming.prepare_lyrics_shards`, read back: the manifest's
checks (every part the size, small parts the sha256, it was written with), the pairs, the vocabulary, and
``tf.data`` batches streamed from the shards (notebook 10). A :class:`~.prepare.PairData`, like prepared data."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from .lyrics import Vocabulary
from .pairs import THRESHOLD, Pairs, read_pairs_csv
from .prepare import saved_counts
from .report import DataError, SkipReport

MANIFEST = "manifest.json"
HASHED_UP_TO = 16 << 20  # bytes: parts up to this size are checked by sha256, larger ones by size


@dataclass
class StreamedLyrics:
    """A folder written by :func:`prepare_lyrics_shards`: shards, pairs, vocabulary and manifest."""

    folder: Path
    manifest: dict

    @classmethod
    def load(cls, folder: str | Path) -> "StreamedLyrics":
        folder = Path(folder)
        path = folder / MANIFEST
        if not path.exists():
            raise DataError(f"no {MANIFEST}: not a folder written by 'dplib data shards'", folder)
        try:
            manifest = json.loads(path.read_text(encoding="utf-8"))
        except ValueError as err:  # not JSON, not UTF-8, or an integer too long to convert
            raise DataError(f"unreadable manifest ({err})", path) from None
        for name, expected in manifest.get("files", {}).items():
            part = folder / name
            if not part.exists():
                raise DataError(f"missing {name}, listed in {MANIFEST}: rerun 'dplib data shards'", folder)
            if fingerprint(part) != expected:
                raise DataError(f"{name} is not the file {MANIFEST} was written with (truncated, or from another "
                                "run): rerun 'dplib data shards'", part)
        return cls(folder, manifest)

    kind = "lyrics"

    @property
    def input_dim(self) -> int:
        """The vocabulary size, what the model builder needs."""
        return int(self.manifest["vocab_size"])

    @cached_property
    def vocab(self) -> Vocabulary:
        return Vocabulary.load(self.folder / "vocabulary.json")

    def counts(self) -> dict:
        """As :meth:`dplib.datasets.pairs.PairParts.counts`, from any manifest (:func:`.prepare.saved_counts`)."""
        return {part: saved_counts(c) for part, c in self.manifest["counts"].items()}

    @property
    def leakage(self) -> dict[str, float]:
        return self.manifest["leakage"]

    @property
    def report(self) -> SkipReport:
        """What preparation skipped and noted, as it counted them."""
        report = SkipReport()
        report.skips.update(self.manifest["skipped"])
        report.notes.update(self.manifest["notes"])
        report.examples.update(self.manifest.get("examples", {}))
        return report

    def rows(self, part: str) -> Pairs:
        """The part's rows (each pair in both orders) with track ids, scores and labels, in the shards' order (read
        whole from ``<part>_pairs.csv``: evaluation and the pairs' fingerprint need them)."""
        listed = read_pairs_csv(self.folder / f"{part}_pairs.csv")
        return Pairs(listed.a, listed.b, listed.score, (listed.score >= THRESHOLD).astype("int32")).with_flips()

    def dataset(self, part: str, batch_size: int = 256, shuffle: bool | None = None, seed: int = 0,
                fast: bool = True, fixed_shapes: bool = False):
        """``((song_a, song_b), label)`` batches streamed from the shards (shuffled for ``train`` unless told).

        ``fast``: batches cut to their longest song (shuffled rows; the manifest's ``length_boundaries`` are there
        for :func:`dplib.datasets.tfrecords.read_pair_shards`, which training does not use); ``fixed_shapes``: every
        batch padded to ``max_len`` and, when shuffled, full (the static shapes a TPU needs). The same options as
        :meth:`dplib.datasets.prepare.Prepared.dataset`.
        """
        from .tfrecords import read_pair_shards

        shuffle = part == "train" if shuffle is None else shuffle
        padded = fixed_shapes or not fast
        return read_pair_shards(self.folder, part, batch_size, shuffle=shuffle, seed=seed,
                                fixed_length=int(self.manifest["max_len"]) if padded else None,
                                drop_remainder=fixed_shapes and shuffle)




def fingerprint(path: Path) -> dict:
    """What :meth:`StreamedLyrics.load` checks before training reads a part: its size, and for the small parts
    that name a run (vocabulary, track ids, lengths) its sha256; hashing gigabytes of shards at every load would
    cost more than the check is worth, and a truncated shard already has the wrong size."""
    size = path.stat().st_size
    if size > HASHED_UP_TO:
        return {"bytes": size}
    return {"bytes": size, "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
