"""The paper's ablations (Tables 2 and 3), run and recorded one configuration at a time (notebooks 05-07).

Every configuration writes one JSON under ``results/<size>/<results name>/<holdout>/seed<k>/``; a rerun reuses what
is there when it was made from the same pairs (the ``data_key``), so an interrupted run loses nothing that
finished. Tables with a spread train each configuration once per seed in ``cfg.seeds``.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from .baselines import song_identity_scores, spectral_cosine, tfidf_cosine, threshold_accuracy
from .config import Config
from .runtime import machine_summary
from .datasets.audio import BANDS
from .datasets.corpus import Corpus, load_corpus
from .datasets.files import write_json
from .datasets.pairs import PARTS
from .datasets.prepare import PairData, pairs_key, prepare_audio, prepare_lyrics, saved_counts, parts_key
from .datasets.synthetic import SIZES, generate
from .evaluation import evaluate, roc_auc
from .record import HISTORY, recall, record, reproduced, run_folder

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
#: Table 3 on new songs (the song split) from the |FFT| bins: the paper's best row only. The other four rows cost
#: 7 of the 30 minutes ``make reproduce`` may take and tell nothing the pair split does not (README, "Choices");
#: the banded inputs, at a tenth of the cost, keep every row on both splits.
FFT_SONG_SPLIT = [dict(conv_layers=1, combine="absdiff", fc=1)]
#: the authors' future work as extra rows of Table 3 (notebook 07): the paper's best audio head on |FFT| bins
#: pooled into frequency bands (``dplib.datasets.audio.BANDS``: equal-width, or mel), and with max-pooling over time
#: after the convolution. Each input's records go in a folder of their own, ``audio-<bands>``.
AUDIO_BEYOND = {
    "bands128": [dict(conv_layers=1, combine="absdiff", fc=1)],
    "mel64": [dict(conv_layers=k, combine="absdiff", fc=1) for k in (0, 1)]
    + [dict(conv_layers=1, combine="absdiff", fc=1, pool=2)],
}


@dataclass
class Experiment:
    """A corpus prepared for one modality and holdout, ready to train configurations on.

    ``corpus_name`` says which corpus the pairs come from: ``""`` the synthetic tables (or your own data folder),
    ``real-lyrics`` the real set (notebook 06) or one of its controls (``real-lyrics-fp-track``, ``-fp-group``);
    ``bands`` is the audio input (``None``: the paper's |FFT| bins, else a key of ``dplib.datasets.audio.BANDS``).
    The parts are drawn with ``cfg.seed``, so another seed draws other parts and another start.
    """

    kind: str
    holdout: str  # a split, pair_matched, or a real-data fold: what the results folder is named after
    cfg: Config
    corpus: Corpus | None  # None for streamed shards
    data: PairData
    corpus_name: str = ""
    bands: str | None = None

    @property
    def results_name(self) -> str:
        return results_name(self.kind, self.corpus_name, self.bands)

    @property
    def folder(self) -> Path:
        return run_folder(self.cfg, self.results_name, self.holdout)

    @property
    def data_key(self) -> str:
        """A fingerprint of the pairs in every part: a saved result is reused only for the same pairs."""
        return parts_key(self.data)


def input_folder(cfg: Config) -> Path:
    """``cfg.user_data_folder`` when set (your real data), else the synthetic mini-MSD of this size, which is
    generated the first time it is asked for (and says so)."""
    if cfg.user_data_folder is not None:
        return cfg.user_data_folder
    folder = cfg.synthetic_folder
    if not (folder / "card.json").exists():
        print(f"generating the synthetic mini-MSD ({cfg.size}) in {cfg.display(folder)} (once) ...", flush=True)
        generate(folder, cfg.size, seed=cfg.seed, progress=False)
    return folder


#: how results are made, per kind: a saved result is reused only when made the same way (and from the same pairs).
#: Raise a kind's number when a change alters what its models compute. audio 2: the step-scaled towers;
#: audio 3: convolutions as one matrix product (same function, other rounding), at most 30 epochs.
#: lyrics 2: training batches of shuffled rows, no longer length buckets (other batches, other weights). joint
#: (notebook 09's models, with their weights): 2, the same for its lyrics batches; 3, audio towers on 64 mel bands;
#: 4, those bands pooled in float64 (:data:`BAND_POOLING`).
PROTOCOL = {"lyrics": 2, "audio": 3, "joint": 4}

#: how an ``audio-<bands>`` input is pooled, recorded in its results' settings: 2, bins summed in float64 and rounded
#: (the same on every CPU); 1, a float32 product, whose last bits changed with the BLAS kernel and thread count
BAND_POOLING = 2

#: holdouts: random over pairs, song-disjoint, and random over pairs with the song split's number of training pairs
HOLDOUTS = ("pair", "song", "pair_matched")


def results_name(kind: str, corpus_name: str = "", bands: str | None = None) -> str:
    """The results folder of an input: ``lyrics``, ``audio``, ``audio-mel64``, ``real-lyrics``, ``real-lyrics-fp-track``."""
    return corpus_name or (f"audio-{bands}" if bands else kind)


def prepare(kind: str, cfg: Config, holdout: str = "pair", corpus: Corpus | None = None, corpus_name: str = "",
            bands: str | None = None, pairs_per_class: tuple | None = None, n_blocks: int | None = None) -> Experiment:
    """Load (or take) the corpus and draw the parts of the ``holdout`` for ``cfg.seed``.

    ``pairs_per_class``: the cap on each class's pairs in train, val and test (``(int | None,) * 3``; default: the
    synthetic size's, or the real set's); ``n_blocks``: audio blocks per clip (default: the clips' length).

    ``corpus_name="real-lyrics"`` reads the real lyrics set (``cfg.real_lyrics_folder``) with the ``real_*`` settings;
    ``bands="mel64"`` (audio) pools the |FFT| bins into 64 mel bands.
    ``holdout="pair_matched"`` is the pair split with its training part cut to the song split's size (same seed),
    so that leakage is not confused with having less data; its validation and test pairs are the pair split's.
    Taught in notebook 03 (also 04, 06, 07...)."""
    if holdout not in HOLDOUTS:
        raise ValueError(f"holdout must be one of {HOLDOUTS}, got {holdout!r}")
    if kind not in ("lyrics", "audio"):
        raise ValueError(f"kind must be 'lyrics' or 'audio', got {kind!r}")
    if bands is not None and (kind != "audio" or bands not in BANDS):
        raise ValueError(f"bands={bands!r}: an audio input, one of {', '.join(BANDS)}")
    if corpus_name.startswith("real-lyrics"):
        if corpus is None:
            from .datasets.real_lyrics import ensure_real_lyrics

            corpus = load_corpus(ensure_real_lyrics(cfg))
        pairs_per_class, fractions = pairs_per_class or cfg.real_pairs_per_class, cfg.real_fractions
    else:
        corpus = corpus if corpus is not None else load_corpus(input_folder(cfg))
        pairs_per_class = pairs_per_class or getattr(SIZES[cfg.size], f"{kind}_pairs_per_class")
        fractions = cfg.fractions
    split = "pair" if holdout == "pair_matched" else holdout
    if holdout == "pair_matched":
        song = prepare(kind, cfg, "song", corpus, corpus_name, bands).data.parts.train
        pairs_per_class = (song.n_positive // 2, *pairs_per_class[1:])  # flipped rows: each positive pair is there twice
    if kind == "lyrics":
        data = prepare_lyrics(corpus, split, pairs_per_class, max_len=cfg.max_len, min_count=cfg.min_count,
                              max_doc_freq=cfg.max_doc_freq, seed=cfg.seed, fractions=fractions)
    else:
        data = prepare_audio(corpus, split, pairs_per_class, n_blocks=n_blocks, seed=cfg.seed, bands=bands)
    return Experiment(kind, holdout, cfg, corpus, data, corpus_name, bands)


def config_name(kind: str, combine: str, fc: int, conv_layers: int | None = None, pool: int = 1,
                bands: str | None = None) -> str:
    """``all_fc2`` (lyrics), ``conv1_absdiff_fc1`` (audio), ``mel64_conv1_pool2_absdiff_fc1`` (banded audio)."""
    if kind == "lyrics":
        return f"{combine}_fc{fc}"
    return f"{bands + '_' if bands else ''}conv{conv_layers}{f'_pool{pool}' if pool > 1 else ''}_{combine}_fc{fc}"


def full_grid(kind: str, bands: str | None = None, holdout: str | None = None) -> list[dict]:
    """The configurations of an input: Table 2, Table 3, or the extra rows of a banded audio input; with
    ``holdout``, those trained on that holdout (:data:`FFT_SONG_SPLIT`)."""
    if kind == "lyrics":
        return LYRICS_GRID
    if bands:
        return AUDIO_BEYOND[bands]
    return FFT_SONG_SPLIT if holdout == "song" else AUDIO_GRID


def training_settings(exp: Experiment) -> dict:
    """Epoch budget, batch size, learning rate and patience for this experiment (all from ``cfg``)."""
    cfg = exp.cfg
    if exp.corpus_name.startswith("real-lyrics"):
        epochs, batch_size, patience = cfg.real_epochs, cfg.real_batch_size, cfg.real_patience
    else:
        epochs = cfg.lyrics_epochs if exp.kind == "lyrics" else cfg.audio_epochs
        batch_size, patience = cfg.batch_size_for(exp.kind), cfg.patience
    return {"epochs": epochs, "batch_size": batch_size, "learning_rate": cfg.learning_rate_for(exp.kind),
            "patience": patience}


def build_model(exp: Experiment, combine: str, fc: int, conv_layers: int = 1, pool: int = 1):
    """The configuration's model, compiled at the experiment's learning rate (build it inside a strategy's scope
    to spread it over devices: :func:`dplib.training.train_model` does). Taught in notebook 04."""
    from .models import build_audio_model, build_lyrics_model

    lr = exp.cfg.learning_rate_for(exp.kind)
    if exp.kind == "lyrics":
        return build_lyrics_model(exp.data.input_dim, combine, fc, learning_rate=lr)
    return build_audio_model(exp.data.input_dim, conv_layers, combine, fc, learning_rate=lr, pool=pool)


def train_and_evaluate(exp: Experiment, combine: str, fc: int, conv_layers: int | None = None,
                       epochs: int | None = None, verbose: int = 0, pool: int = 1):
    """Train one configuration to its best validation epoch; return ``(model, result)``.

    Accuracies are measured after training with dropout off, with the best epoch's weights, on every part; song
    folds (notebook 06) skip the train part, which none of their readings uses (1-2 s of a 20 s training).
    Taught in notebooks 05-07 and 10."""
    from .training import train_model

    settings = training_settings(exp)
    if epochs is not None:
        settings["epochs"] = epochs
    model, history = train_model(exp.data, lambda: build_model(exp, combine, fc, conv_layers or 0, pool), settings,
                                 exp.cfg.seed, exp.cfg.strategy, verbose)
    train = {"accuracy": None} if exp.holdout.startswith("folds") else evaluate(model, exp.data, "train")
    val = evaluate(model, exp.data, "val")
    test = evaluate(model, exp.data, "test", keep_scores=True)
    result = {
        "name": config_name(exp.kind, combine, fc, conv_layers, pool, exp.bands), "kind": exp.kind,
        "dataset": exp.results_name, "combine": combine, "fc": fc, "conv_layers": conv_layers,
        "pool": pool if exp.kind == "audio" else None, "bands": exp.bands, "split": exp.holdout,
        "size": exp.cfg.size, "seed": exp.cfg.seed, "data_key": exp.data_key,
        "synthetic": exp.corpus.synthetic if exp.corpus is not None else None,
        "protocol": PROTOCOL[exp.kind],
        "train_accuracy": train["accuracy"], "val_accuracy": val["accuracy"], "val_auc": val["roc_auc"],
        "test_accuracy": test["accuracy"], "roc_auc": test["roc_auc"], "symmetry_gap": test["symmetry_gap"],
        "test_p": test["p"], "best_epoch": history["best_epoch"], "epochs_run": history["epochs_run"],
        "history": {k: history[k] for k in HISTORY if k in history},
        "seconds": round(history["seconds"], 2), "pairs_per_second": round(history["pairs_per_second"]),
        "machine": machine_summary(),
        "settings": {**settings, "max_len": exp.cfg.max_len if exp.kind == "lyrics" else None,
                     **({"band_pooling": BAND_POOLING} if exp.bands else {}),
                     "params": int(model.count_params())},
        "counts": exp.data.counts(), "leakage": exp.data.leakage,
    }
    return model, result


def shards_experiment(shards: str | Path, cfg: Config) -> Experiment:
    """Lyrics shards written by ``dplib data shards`` as an experiment (streamed, never loaded whole); the shards
    fix the holdout and ``max_len``. Taught in notebook 10."""
    from .datasets.shards import StreamedLyrics

    data = StreamedLyrics.load(shards)
    return Experiment("lyrics", data.manifest["split"], replace(cfg, max_len=int(data.manifest["max_len"])), None, data)


def run_config(exp: Experiment, combine: str, fc: int, conv_layers: int | None = None, pool: int = 1,
               epochs: int | None = None, rerun: bool = False, keep_model: bool = False,
               extra: dict | None = None, save_model: bool = False) -> dict:
    """Train and evaluate one configuration; write its JSON, or reuse a saved one made from the same pairs.

    ``keep_model`` needs a trained model, so it always trains; ``save_model`` keeps it on disk beside the JSON and
    returns it (``"model"``) trained or reloaded (notebook 07's probe looks inside Table 3's own row). ``extra``: more
    pairs to score with the trained model (``{key: Pairs}``, both orders side by side), saved as ``<key>_p``.
    Taught in notebook 03 (also 06, 09).
    """
    from .evaluation import predict_pairs

    name = config_name(exp.kind, combine, fc, conv_layers, pool, exp.bands)
    path = exp.folder / f"{name}.json"
    extra = extra or {}
    saved = None if rerun or keep_model else recall(path, exp.data_key, making(exp, epochs), PROTOCOL[exp.kind],
                                                    model=save_model)
    if saved is not None and all(saved.get(f"{key}_key") == pairs_key(p) for key, p in extra.items()):
        return newer_counts(saved)
    model, result = train_and_evaluate(exp, combine, fc, conv_layers, epochs, pool=pool)
    for key, pairs in extra.items():
        result[f"{key}_p"] = [round(float(x), 5) for x in predict_pairs(model, pairs, exp.data.songs)]
        result[f"{key}_key"] = pairs_key(pairs)
    kept = recall(path, exp.data_key, making(exp, epochs), PROTOCOL[exp.kind]) if rerun or keep_model else None
    if save_model or extra or not reproduced(kept, result):  # a rerun that measured what the record holds keeps it
        record(path, result, model=model if save_model else None)
    if keep_model or save_model:
        result["model"] = model
    return result


def making(exp: Experiment, epochs: int | None = None) -> dict:
    """The settings a result of ``exp`` is made with now, as its record holds them: the experiment's, ``epochs``
    when given, and ``max_len`` for lyrics (other inputs from the same pairs), the band pooling for banded audio."""
    now = training_settings(exp)
    if epochs is not None:
        now["epochs"] = epochs
    if exp.kind == "lyrics":
        now["max_len"] = exp.cfg.max_len
    if exp.bands:
        now["band_pooling"] = BAND_POOLING
    return now


def run_grid(kind: str, cfg: Config, bands: str | None = None, holdout: str | None = None) -> list[dict]:
    """The configurations a run trains: all of :func:`full_grid` (on ``holdout``), except in quick mode, which keeps one
    row per input (lyrics: all + 2 FC; audio: conv1 + |h1 - h2| on the |FFT| bins and on mel64): every row runs the
    same code, and quick mode checks the code. Taught in notebook 05 (also 06, 07, 08)."""
    grid = full_grid(kind, bands, holdout)
    if not cfg.quick:
        return grid
    if kind == "lyrics":
        return [g for g in grid if (g["combine"], g["fc"]) == ("all", 2)]
    if bands not in (None, "mel64"):
        return []
    return [g for g in grid if g["conv_layers"] == 1 and g["combine"] == "absdiff" and g.get("pool", 1) == 1]


def run_ablation(kind: str, cfg: Config, holdout: str = "pair", exp: Experiment | None = None,
                 progress: bool = True, grid: list[dict] | None = None, bands: str | None = None) -> list[dict]:
    """The configurations of :func:`full_grid` on ``holdout`` (or ``grid``: the notebooks pass :func:`run_grid`'s,
    which quick mode shrinks) for ``cfg.seed``, plus the baselines; ``bands="mel64"`` (for example) runs the extra
    rows on that banded input. An empty grid prepares, trains and writes nothing. Taught in notebook 05 (also 06-08)."""
    if exp is not None:
        bands, holdout = exp.bands, exp.holdout
    grid = grid if grid is not None else full_grid(kind, bands, holdout)
    if not grid:
        return []
    exp = exp if exp is not None else prepare(kind, cfg, holdout, bands=bands)
    rows = []
    for settings in grid:
        result = run_config(exp, **settings)
        if progress:
            took = f"{result['seconds']:.0f} s of training" + (", saved by an earlier run" if result.get("reused") else "")
            print(f"{exp.results_name}/{holdout}/seed{cfg.seed} {result['name']:<12} "
                  f"test {result['test_accuracy']:.3f}  AUC {result['roc_auc']:.3f}  "
                  f"best epoch {result['best_epoch']:>2} of {result['epochs_run']:>2}  ({took})", flush=True)
        rows.append(result)
    baseline_results(exp)
    return rows


def baseline_results(exp: Experiment, path: Path | None = None) -> dict[str, dict]:
    """Model-free rows on the same pairs: TF-IDF cosine (lyrics) or spectral cosine (audio), the song-identity
    baseline (no lyrics, no audio), and the majority class. Cuts are chosen on train, scored on val and test.
    Saved in ``path`` (default: the experiment's folder) and reused only for the same pairs."""
    path = path or exp.folder / "baselines.json"
    if path.exists():
        saved = json.loads(path.read_text())
        if saved.get("data_key") == exp.data_key:
            return saved["rows"]
    parts = exp.data.parts
    if exp.kind == "lyrics":
        fit_on = sorted(parts.train.songs())
        content = {n: tfidf_cosine(exp.corpus.lyrics, parts[n].a, parts[n].b, fit_on=fit_on) for n in PARTS}
        content_name = "TF-IDF cosine"
    else:
        songs = exp.data.songs
        spectra = {t: songs.data[i].mean(axis=0) for i, t in enumerate(songs.track_ids)}
        content = {n: spectral_cosine(spectra, parts[n].a, parts[n].b) for n in PARTS}
        content_name = f"spectral cosine{f' ({exp.bands})' if exp.bands else ''}"
    train = parts.train
    identity = {n: song_identity_scores(train.a, train.b, train.label, parts[n].a, parts[n].b) for n in PARTS}
    rows = {}
    for key, name, score in (("content", content_name, content), ("song_identity", "song identity", identity)):
        row = {"name": name, "kind": exp.kind, "split": exp.holdout, "seed": exp.cfg.seed}
        for n in PARTS:
            _, row[f"{n}_accuracy"] = threshold_accuracy(score["train"], train.label, score[n], parts[n].label)
        row["roc_auc"], row["val_auc"] = roc_auc(parts.test.label, score["test"]), roc_auc(parts.val.label, score["val"])
        rows[key] = row
    majority = int(train.label.mean() >= 0.5)
    rows["majority"] = {"name": "majority class", "split": exp.holdout, "seed": exp.cfg.seed, "roc_auc": 0.5,
                        **{f"{n}_accuracy": float((parts[n].label == majority).mean()) for n in PARTS}}
    write_json(path, {"data_key": exp.data_key, "rows": rows})
    return rows


def read_result(path: Path) -> dict:
    """A saved result, its counts read the new way when it is older (:func:`newer_counts`)."""
    return newer_counts(json.loads(path.read_text()))


def newer_counts(result: dict) -> dict:
    """``result`` with its counts read the new way when it is older (:func:`dplib.datasets.prepare.saved_counts`)."""
    if "counts" in result:
        result = {**result, "counts": {part: saved_counts(c) for part, c in result["counts"].items()}}
    return result


def load_results(cfg: Config, kind: str, holdout: str = "pair", bands: str | None = None,
                 seeds: tuple[int, ...] | None = None, corpus_name: str = "") -> list[dict]:
    """Saved results of the grid, in grid order, for ``cfg.seed`` (or every seed in ``seeds``), made the way training
    makes them now (:data:`PROTOCOL`): a result of an older protocol stays on disk, out of every table, until a run
    replaces it. Taught in notebook 05 (also 06, 07, 08)."""
    out = []
    for seed in seeds if seeds is not None else (cfg.seed,):
        folder = run_folder(cfg, results_name(kind, corpus_name, bands), holdout, seed)
        for settings in full_grid(kind, bands):
            path = folder / f"{config_name(kind, **settings, bands=bands)}.json"
            result = read_result(path) if path.exists() else None
            if result is not None and result.get("protocol", 1) == PROTOCOL[kind]:
                out.append(result)
    return out


def load_baselines(cfg: Config, kind: str, holdout: str = "pair", bands: str | None = None,
                   seeds: tuple[int, ...] | None = None, corpus_name: str = "") -> list[dict]:
    """Saved baseline rows (one dict per seed: ``{"content", "song_identity", "majority"}``).
    Taught in notebook 05 (also 06, 07, 08)."""
    out = []
    for seed in seeds if seeds is not None else (cfg.seed,):
        path = run_folder(cfg, results_name(kind, corpus_name, bands), holdout, seed) / "baselines.json"
        if path.exists():
            out.append(json.loads(path.read_text())["rows"])
    return out
