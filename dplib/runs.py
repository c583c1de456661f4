"""A run folder, what ``dplib train`` writes and ``dplib evaluate`` / ``dplib playlist`` read: ``model.keras``,
``vocabulary.json`` (lyrics), ``metrics.json`` and, for data in memory, ``baselines.json``.

:func:`train_run` trains and saves one; :func:`load_run` is its inverse, in any fresh process.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .datasets.pairs import PARTS
from .datasets.report import DataError, SkipReport
from .experiments import Experiment, baseline_results, train_and_evaluate
from .record import record


def save_run(out: Path, model, metrics: dict, vocab=None) -> Path:
    """``vocabulary.json`` (lyrics), ``model.keras`` and ``metrics.json`` into ``out``, by the run recorder
    (:func:`dplib.record.record`: the common keys checked, metrics last). The command line writes ``out`` as a
    temporary folder that replaces the user's ``--out`` whole (:mod:`dplib.outputs`)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if vocab is not None:
        vocab.save(out / "vocabulary.json")
    record(out / "metrics.json", metrics, model, model_file=out / "model.keras")
    return out / "metrics.json"


def train_run(exp: Experiment, out: str | Path, combine: str | None = None, fc: int | None = None,
              conv_layers: int = 1, epochs: int | None = None, verbose: int = 2) -> dict:
    """Train one model on prepared data, in memory or streamed, and write its run folder ``out``, with
    ``baselines.json`` when the corpus is in memory (the model-free rows read the songs' texts or spectra): what
    ``dplib train`` does. Returns the metrics."""
    default_combine, default_fc = exp.cfg.default_head(exp.kind)
    combine, fc = combine or default_combine, fc or default_fc
    model, result = train_and_evaluate(exp, combine, fc, conv_layers if exp.kind == "audio" else None, epochs, verbose)
    out = Path(out)
    skipped = SkipReport().merge(exp.corpus.report) if exp.corpus is not None else SkipReport()
    skipped.merge(exp.data.report)
    counts = exp.data.counts()
    metrics = {**{k: v for k, v in result.items() if k != "test_p"},
               **{f"n_{part}_pairs": counts[part]["pairs"] for part in PARTS},
               "skipped": dict(skipped.skips), "notes": dict(skipped.notes), "report": skipped.summary()}
    if exp.corpus is not None:
        baselines = baseline_results(exp, out / "baselines.json")
        metrics |= {"baseline": baselines["content"]["name"], "baseline_auc": baselines["content"]["roc_auc"],
                    "song_identity_auc": baselines["song_identity"]["roc_auc"]}
    save_run(out, model, metrics, exp.data.vocab)
    return metrics


@dataclass
class SavedRun:
    """A run folder read back: the model, its kind (``lyrics`` or ``audio``), its vocabulary (lyrics) and the
    settings it trained with."""

    folder: Path
    model: object
    kind: str
    vocab: object | None
    metrics: dict

    def max_len(self, default: int) -> int:
        """Words kept per song: what the run trained with, or ``default`` for a run that did not record it."""
        return self.metrics.get("settings", {}).get("max_len") or default


def load_run(model_path: str | Path) -> SavedRun:
    """The run whose ``model.keras`` is ``model_path``; a missing vocabulary or an unreadable ``metrics.json`` is a
    :class:`DataError` naming the file."""
    from .datasets.lyrics import Vocabulary
    from .models import load_pair_model
    from .playlists import tower_of

    model_path = Path(model_path)
    model = load_pair_model(model_path)
    try:
        tower = tower_of(model)
    except ValueError:
        raise DataError("a Keras model, but not a pair model of dplib (no lyrics_tower or audio_tower)",
                        model_path) from None
    kind = "lyrics" if tower.name == "lyrics_tower" else "audio"
    folder = model_path.parent
    vocab = None
    if kind == "lyrics":
        vocab_file = folder / "vocabulary.json"
        if not vocab_file.is_file():
            raise DataError("a lyrics model needs the vocabulary it was trained with, beside it", vocab_file)
        vocab = Vocabulary.load(vocab_file)
        entries = tower.get_layer("embedding").input_dim
        if vocab.size != entries:  # a smaller one would score garbage silently, a larger one fail inside TensorFlow
            raise DataError(f"this vocabulary has {vocab.size:,} entries and the model's embedding {entries:,}: it is "
                            "not the vocabulary the model was trained with", vocab_file)
    metrics_file, metrics = folder / "metrics.json", {}
    if metrics_file.exists():
        try:
            metrics = json.loads(metrics_file.read_text())
        except (ValueError, OSError) as err:
            raise DataError(f"unreadable run record ({str(err)[:80]})", metrics_file) from None
        if not isinstance(metrics, dict) or not isinstance(metrics.get("settings", {}), dict):
            raise DataError("not a run record written by dplib train", metrics_file)
    return SavedRun(folder, model, kind, vocab, metrics)
