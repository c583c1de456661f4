"""The paper's ablations (Tables 2 and 3), run and recorded one configuration at a time.

Every configuration writes one JSON under ``results/<size>/<kind>/<split>/``; a
rerun skips what is already there, so an interrupted run loses nothing that finished.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .baselines import spectral_cosine, tfidf_cosine, threshold_accuracy
from .config import Config, seed_everything
from .datasets.corpus import Corpus, load_corpus
from .datasets.prepare import Prepared, prepare_audio, prepare_lyrics
from .datasets.synthetic import SIZES, generate
from .evaluation import evaluate_pairs, roc_auc

# The paper's reported numbers (train %, validation %), for the tables "beside the paper".
PAPER_TABLE2 = {
    ("concat", 1): (82.7, 77.8), ("diff", 1): (49.9, 50.2), ("product", 1): (88.6, 81.5), ("all", 1): (89.6, 82.8),
    ("concat", 2): (83.7, 78.3), ("diff", 2): (85.2, 79.6), ("product", 2): (88.4, 81.4), ("all", 2): (91.2, 84.7),
}
PAPER_TABLE3 = {
    (0, "concat"): (63.4, 65.0), (0, "absdiff"): (64.6, 62.3), (1, "concat"): (68.0, 69.2),
    (1, "absdiff"): (78.2, 76.5), (2, "absdiff"): (72.4, 70.1),
}
LYRICS_GRID = [dict(combine=c, fc=f) for f in (1, 2) for c in ("concat", "diff", "product", "all")]
AUDIO_GRID = [dict(conv_layers=k, combine=c, fc=1) for k, c in PAPER_TABLE3]


@dataclass
class Experiment:
    """A corpus prepared for one modality and split, ready to train configurations on."""

    kind: str
    split: str
    cfg: Config
    corpus: Corpus
    data: Prepared

    @property
    def folder(self) -> Path:
        return self.cfg.results_dir / self.kind / self.split


def data_folder(cfg: Config) -> Path:
    """``DPLIB_DATA_FOLDER`` when set (your real data), else the synthetic mini-MSD of this size (made if missing)."""
    chosen = os.environ.get("DPLIB_DATA_FOLDER")
    if chosen:
        return Path(chosen)
    folder = cfg.synthetic_dir
    if not (folder / "card.json").exists():
        generate(folder, cfg.size, seed=cfg.seed, progress=False)
    return folder


def prepare(kind: str, cfg: Config, split: str = "pair", corpus: Corpus | None = None) -> Experiment:
    corpus = corpus if corpus is not None else load_corpus(data_folder(cfg))
    size = SIZES[cfg.size]
    if kind == "lyrics":
        data = prepare_lyrics(corpus, split, size.lyrics_pairs, max_len=cfg.max_len, min_count=cfg.min_count,
                              max_doc_freq=cfg.max_doc_freq, seed=cfg.seed)
    elif kind == "audio":
        data = prepare_audio(corpus, split, size.audio_pairs, seed=cfg.seed)
    else:
        raise ValueError(f"kind must be 'lyrics' or 'audio', got {kind!r}")
    return Experiment(kind, split, cfg, corpus, data)


def config_name(kind: str, combine: str, fc: int, conv_layers: int | None = None) -> str:
    return f"{combine}_fc{fc}" if kind == "lyrics" else f"conv{conv_layers}_{combine}_fc{fc}"


def build_model(exp: Experiment, combine: str, fc: int, conv_layers: int = 1):
    """The configuration's model, built inside the config's ``tf.distribute`` strategy."""
    from .models import build_audio_model, build_lyrics_model
    from .training import make_strategy

    lr = exp.cfg.learning_rate_for(exp.kind)
    with make_strategy(exp.cfg.strategy).scope():
        if exp.kind == "lyrics":
            return build_lyrics_model(exp.data.input_dim, combine, fc, learning_rate=lr)
        return build_audio_model(exp.data.input_dim, conv_layers, combine, fc, learning_rate=lr)


def run_config(exp: Experiment, combine: str, fc: int, conv_layers: int | None = None,
               epochs: int | None = None, rerun: bool = False, keep_model: bool = False) -> dict:
    """Train and evaluate one configuration; write (or reuse) its JSON result."""
    from .training import fit

    name = config_name(exp.kind, combine, fc, conv_layers)
    path = exp.folder / f"{name}.json"
    if path.exists() and not rerun:
        return json.loads(path.read_text())
    cfg = exp.cfg
    epochs = epochs or (cfg.lyrics_epochs if exp.kind == "lyrics" else cfg.audio_epochs)
    seed_everything(cfg.seed)
    model = build_model(exp, combine, fc, conv_layers or 0)
    batch_size = cfg.batch_size_for(exp.kind)
    history = fit(model, exp.data, epochs=epochs, batch_size=batch_size, seed=cfg.seed)
    test = evaluate_pairs(model, exp.data.splits.test, exp.data.songs)
    result = {
        "name": name, "kind": exp.kind, "combine": combine, "fc": fc, "conv_layers": conv_layers,
        "split": exp.split, "size": cfg.size, "seed": cfg.seed, "synthetic": exp.corpus.synthetic,
        "train_accuracy": history["accuracy"][-1], "val_accuracy": history["val_accuracy"][-1],
        "test_accuracy": test["accuracy"], "roc_auc": test["roc_auc"], "symmetry_gap": test["symmetry_gap"],
        "history": {k: history[k] for k in ("loss", "accuracy", "val_loss", "val_accuracy")},
        "seconds": round(history["seconds"], 2), "pairs_per_second": round(history["pairs_per_second"]),
        "settings": {"epochs": epochs, "batch_size": batch_size,
                     "learning_rate": cfg.learning_rate_for(exp.kind),
                     "max_len": cfg.max_len if exp.kind == "lyrics" else None,
                     "params": int(model.count_params())},
        "counts": exp.data.counts(), "leakage": exp.data.splits.leakage,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    if keep_model:
        result["model"] = model
    return result


def run_ablation(kind: str, cfg: Config, split: str = "pair", exp: Experiment | None = None,
                 progress: bool = True) -> list[dict]:
    """Every configuration of Table 2 (lyrics) or Table 3 (audio), plus the baseline row."""
    exp = exp if exp is not None else prepare(kind, cfg, split)
    rows = []
    grid = LYRICS_GRID if kind == "lyrics" else AUDIO_GRID
    for settings in grid:
        started = time.perf_counter()
        result = run_config(exp, **settings)
        if progress:
            print(f"{kind}/{split} {result['name']:<22} val {result['val_accuracy']:.3f}  "
                  f"test {result['test_accuracy']:.3f}  ({time.perf_counter() - started:.0f} s)", flush=True)
        rows.append(result)
    baseline_result(exp)
    return rows


def baseline_result(exp: Experiment, path: Path | None = None) -> dict:
    """TF-IDF cosine (lyrics) or spectral cosine (audio): cut chosen on train, scored on val and test."""
    path = path or exp.folder / "baseline.json"
    if path.exists():
        return json.loads(path.read_text())
    splits = exp.data.splits
    if exp.kind == "lyrics":
        texts = exp.corpus.lyrics
        fit_on = sorted(splits.train.songs())
        score = {n: tfidf_cosine(texts, splits[n].a, splits[n].b, fit_on=fit_on) for n in ("train", "val", "test")}
        name = "TF-IDF cosine"
    else:
        songs = exp.data.songs
        spectra = {t: songs.data[i].mean(axis=0) for i, t in enumerate(songs.track_ids)}
        score = {n: spectral_cosine(spectra, splits[n].a, splits[n].b) for n in ("train", "val", "test")}
        name = "spectral cosine"
    result = {"name": name, "kind": exp.kind, "split": exp.split}
    for n in ("train", "val", "test"):
        _, acc = threshold_accuracy(score["train"], splits.train.label, score[n], splits[n].label)
        result[f"{n}_accuracy"] = acc
    result["roc_auc"] = roc_auc(splits.test.label, score["test"])
    result["val_auc"] = roc_auc(splits.val.label, score["val"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(result, indent=1))
    return result


def load_results(cfg: Config, kind: str, split: str = "pair") -> list[dict]:
    folder = cfg.results_dir / kind / split
    grid = LYRICS_GRID if kind == "lyrics" else AUDIO_GRID
    out = []
    for settings in grid:
        path = folder / f"{config_name(kind, **settings)}.json"
        if path.exists():
            out.append(json.loads(path.read_text()))
    return out


def pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.1f}%"


def ablation_table(cfg: Config, kind: str) -> str:
    """Markdown: our train/val/test on both splits beside the paper's train/val, plus chance and the baseline."""
    paper = PAPER_TABLE2 if kind == "lyrics" else PAPER_TABLE3
    head = ("| combination | FC |" if kind == "lyrics" else "| conv | combination |")
    lines = [head + " paper train | paper val | ours train | ours val | ours test | test AUC | sym. gap | "
             "song-split val | song-split test |",
             "|" + "---|" * 11]
    by_split = {s: {r["name"]: r for r in load_results(cfg, kind, s)} for s in ("pair", "song")}
    grid = LYRICS_GRID if kind == "lyrics" else AUDIO_GRID
    for settings in grid:
        name = config_name(kind, **settings)
        key = (settings["combine"], settings["fc"]) if kind == "lyrics" else (settings["conv_layers"], settings["combine"])
        p_train, p_val = paper[key]
        r, s = by_split["pair"].get(name), by_split["song"].get(name)
        auc = f"{r['roc_auc']:.3f}" if r else "n/a"
        gap = f"{r['symmetry_gap']:.3f}" if r else "n/a"
        lines.append(
            f"| {key[0]} | {key[1]} | {p_train}% | {p_val}% | {pct(r and r['train_accuracy'])} | "
            f"{pct(r and r['val_accuracy'])} | {pct(r and r['test_accuracy'])} | {auc} | {gap} | "
            f"{pct(s and s['val_accuracy'])} | {pct(s and s['test_accuracy'])} |"
        )
    for split in ("pair", "song"):
        path = cfg.results_dir / kind / split / "baseline.json"
        if path.exists():
            b = json.loads(path.read_text())
            lines.append(f"| {b['name']} ({split} split) | - | - | - | {pct(b['train_accuracy'])} | {pct(b['val_accuracy'])} | "
                         f"{pct(b['test_accuracy'])} | {b['roc_auc']:.3f} | 0.000 | - | - |")
    lines.append("| chance | - | 50% | 50% | 50% | 50% | 50% | 0.500 | - | 50% | 50% |")
    return "\n".join(lines)
