"""Notebook 09 over seeds: a joint lyrics+audio model against each modality alone, and playlists from the towers.

Every model of every seed is trained on the same song-disjoint pairs of its seed and saved as ``<name>.keras`` +
``<name>.json`` under ``results/<size>/joint/song/seed<k>/``; a rerun reloads it (in safe mode) when its pairs and
settings are unchanged, so the notebook can show the spread over seeds and still embed songs with seed 0's towers.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Callable

import numpy as np

from .config import Config
from .runtime import machine_summary
from .datasets.corpus import Corpus
from .datasets.prepare import Prepared, prepare_joint, parts_key
from .datasets.synthetic import SIZES
from .evaluation import bootstrap_ci, evaluate, predict_pairs, scores_metrics
from .experiments import PROTOCOL, prepare, training_settings
from .record import HISTORY, recall, record, run_folder
from .tables import mean_sd

#: name: (the kind of the joint data it reads, builder arguments); the same five models on every seed
JOINT_MODELS = {
    "lyrics only (all_sym, 2 FC)": ("lyrics", dict(combine="all_sym", fc=2)),
    "lyrics only (all, 2 FC)": ("lyrics", dict(combine="all", fc=2)),
    "audio only (conv1, absdiff)": ("audio", dict(conv_layers=1, combine="absdiff", fc=1)),
    "joint (all_sym + absdiff)": ("joint", dict(lyrics_combine="all_sym", audio_combine="absdiff")),
    "joint (all + absdiff)": ("joint", dict(lyrics_combine="all", audio_combine="absdiff")),
}
#: the audio input of every audio tower here: 64 mel bands (notebook 07's cheap input, 64/5,513 of the |FFT| tower's
#: first-layer weights and a fraction of its epoch time; 07 sets its AUC beside the |FFT| tower's)
JOINT_BANDS = "mel64"
#: the lyrics model whose tower makes playlists (trained on the lyrics set's own song split)
PLAYLIST_MODEL = "playlist lyrics (all_sym, 2 FC)"
#: the late-fusion baseline: the mean of these two single-modality models' probabilities (both symmetric), nothing trained
LATE_FUSION = "late fusion (mean p, all_sym + absdiff)"
FUSED = ("lyrics only (all_sym, 2 FC)", "audio only (conv1, absdiff)")


def joint_folder(cfg: Config) -> Path:
    return run_folder(cfg, "joint", "song")


def joint_by_kind(cfg: Config, corpus: Corpus) -> dict[str, Prepared]:
    """The song-disjoint split of pairs whose songs have both lyrics and audio (drawn with ``cfg.seed``), seen as
    lyrics only, audio only, and both: every model of the comparison trains and tests on exactly these pairs."""
    joint = prepare_joint(corpus, "song", SIZES[cfg.size].audio_pairs_per_class, max_len=cfg.max_len, seed=cfg.seed,
                          fractions=cfg.fractions, bands=JOINT_BANDS)
    return {"lyrics": joint.of_kind("lyrics"), "audio": joint.of_kind("audio"), "joint": joint}


def _builder(kind: str, data: Prepared, args: dict, learning_rate: float) -> Callable:
    from .models import build_audio_model, build_joint_model, build_lyrics_model

    if kind == "lyrics":
        return lambda: build_lyrics_model(data.vocab.size, args["combine"], args["fc"], learning_rate=learning_rate)
    if kind == "audio":
        return lambda: build_audio_model(data.songs.data.shape[-1], args["conv_layers"], args["combine"], args["fc"],
                                         learning_rate=learning_rate)
    n_bins = data.of_kind("audio").input_dim
    return lambda: build_joint_model(data.vocab.size, n_bins, args["lyrics_combine"], args["audio_combine"],
                                     learning_rate=learning_rate)


def trained_model(folder: Path, name: str, data: Prepared, make: Callable, settings: dict, seed: int,
                  rerun: bool = False, strategy: str = "default"):
    """``(model, result)``: reloaded from ``folder`` when the tables' reuse rule allows it (:mod:`dplib.record`,
    protocol ``PROTOCOL["joint"]``), else trained to its best validation epoch (:func:`dplib.training.train_model`),
    evaluated (test scores kept, with 95% bootstrap intervals) and recorded with its model."""
    from .training import train_model

    path = folder / (name.replace(" ", "_").replace("(", "").replace(")", "").replace(",", "") + ".json")
    key = {"data_key": parts_key(data), "settings": settings, "protocol": PROTOCOL["joint"]}
    saved = None if rerun else recall(path, key["data_key"], settings, key["protocol"], model=True)
    if saved is not None:
        return saved.pop("model"), saved
    model, history = train_model(data, make, settings, seed, strategy)
    test = evaluate(model, data, "test", keep_scores=True)
    val = evaluate(model, data, "val")
    labels = data.parts.test.label
    result = {"name": name, "seed": seed, **key, "val_accuracy": val["accuracy"], "val_auc": val["roc_auc"],
              "test_accuracy": test["accuracy"], "roc_auc": test["roc_auc"], "symmetry_gap": test["symmetry_gap"],
              "acc_ci": bootstrap_ci(labels, test["p"]), "auc_ci": bootstrap_ci(labels, test["p"], "roc_auc"),
              "best_epoch": history["best_epoch"], "epochs_run": history["epochs_run"],
              "history": {k: history[k] for k in HISTORY if k in history},
              "seconds": round(history["seconds"], 2), "n_test_rows": test["n_rows"], "machine": machine_summary()}
    return model, record(path, result, model=model)


def run_joint(cfg: Config, corpus: Corpus, by_kind: dict[str, Prepared] | None = None) -> tuple[dict, dict]:
    """Train (or reload) the models of :func:`models_for` for ``cfg.seed``; return ``(models, results)``."""
    by_kind = by_kind or joint_by_kind(cfg, corpus)
    models, results = {}, {}
    for name, (kind, args) in models_for(cfg).items():
        data = by_kind[kind]
        # the lyrics-only models train at the lyrics rate, the models with an audio tower at the smaller one
        settings = {"epochs": cfg.audio_epochs, "batch_size": cfg.batch_size_for("joint"), "patience": cfg.patience,
                    "learning_rate": cfg.learning_rate_for(kind), "max_len": cfg.max_len if kind != "audio" else None,
                    "bands": JOINT_BANDS if kind != "lyrics" else None}
        models[name], results[name] = trained_model(joint_folder(cfg), name, data,
                                                    _builder(kind, data, args, settings["learning_rate"]),
                                                    settings, cfg.seed, strategy=cfg.strategy)
    if all(name in models for name in FUSED):  # (a run of fewer models has no late fusion)
        results[LATE_FUSION] = late_fusion(models, by_kind, cfg.seed)
    return models, results


def late_fusion(models: dict, by_kind: dict[str, Prepared], seed: int) -> dict:
    """The baseline a joint model has to beat: the mean of the lyrics-only and the audio-only models' p(similar)
    (:data:`FUSED`) on the same validation and test rows, scored like a trained model (nothing is trained)."""
    out = {"name": LATE_FUSION, "seed": seed, "of": list(FUSED)}
    for part in ("val", "test"):
        rows = by_kind["joint"].rows(part)  # the three hold the same rows in the same order
        scored = [predict_pairs(models[name], rows, by_kind[kind].songs) for name, kind in zip(FUSED, ("lyrics", "audio"))]
        got = scores_metrics(rows.label, np.mean(scored, axis=0), keep_scores=True)
        out.update({f"{part}_accuracy": got["accuracy"], f"{part}_auc": got["roc_auc"]})
    # ``got`` and ``rows`` are the test part's now
    out.update({"roc_auc": out.pop("test_auc"), "symmetry_gap": got["symmetry_gap"], "n_test_rows": got["n_rows"],
                "acc_ci": bootstrap_ci(rows.label, got["p"]), "auc_ci": bootstrap_ci(rows.label, got["p"], "roc_auc")})
    return out


def playlist_model(cfg: Config, corpus: Corpus):
    """The lyrics model (``all_sym`` + 2 FC, symmetric) trained to its best epoch on the lyrics set's song split of
    ``cfg.seed``; returns ``(model, experiment, result)``. Its tower embeds the test songs for playlists."""
    from .models import build_lyrics_model

    exp = prepare("lyrics", cfg, "song", corpus=corpus)
    settings = {**training_settings(exp), "max_len": cfg.max_len}
    model, result = trained_model(joint_folder(cfg), PLAYLIST_MODEL, exp.data,
                                  lambda: build_lyrics_model(exp.data.input_dim, "all_sym", 2,
                                                             learning_rate=settings["learning_rate"]),
                                  settings, cfg.seed, strategy=cfg.strategy)
    return model, exp, result


def over_seeds(cfg: Config, corpus: Corpus, progress: bool = True) -> dict[int, dict]:
    """:func:`run_joint` and :func:`playlist_model` for every seed in ``cfg.seeds``:
    ``{seed: {"models", "results", "by_kind", "playlist_model", "playlist_exp"}}``. Taught in notebook 09."""
    runs = {}
    for seed in cfg.seeds:
        c = replace(cfg, seed=seed)
        by_kind = joint_by_kind(c, corpus)
        models, results = run_joint(c, corpus, by_kind)
        model, exp, playlist = playlist_model(c, corpus)
        if progress:  # one line per seed: the next cell of notebook 09 gives each model's numbers
            made = [*(results[name] for name in models), playlist]
            trained = [r for r in made if not r.get("reused")]
            print(f"seed {seed}: {len(made)} models ({len(models)} compared, 1 for playlists), "
                  f"{len(trained)} trained now "
                  f"({sum(r['seconds'] for r in trained):.0f} s of training), {len(made) - len(trained)} reloaded; "
                  f"the playlist model's test AUC {playlist['roc_auc']:.3f}", flush=True)
        runs[seed] = {"models": models, "results": results, "by_kind": by_kind, "playlist_model": model,
                      "playlist_exp": exp}
    return runs


def models_for(cfg: Config) -> dict[str, tuple]:
    """The models a run trains: all of :data:`JOINT_MODELS`, except in quick mode, which keeps the three symmetric
    ones (lyrics ``all_sym``, audio ``absdiff``, joint ``all_sym + absdiff``)."""
    if not cfg.quick:
        return JOINT_MODELS
    return {n: m for n, m in JOINT_MODELS.items() if "all_sym" in n or n.startswith("audio")}


def spread_markdown(rows_by_seed: list[dict[str, dict]], columns: dict[str, str], percent: tuple[str, ...] = ()) -> str:
    """A markdown table, one row per name, each column ``mean ± sd`` over seeds (``columns``: key -> header).
    Taught in notebook 09.
    """
    names = list(rows_by_seed[0])
    lines = ["| | " + " | ".join(columns.values()) + " |", "|---" * (len(columns) + 1) + "|"]
    for n in names:
        cells = [mean_sd([rows[n][k] for rows in rows_by_seed if n in rows], percent=k in percent) for k in columns]
        lines.append(f"| {n} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(f"Mean ± standard deviation over {len(rows_by_seed)} seeds (each seed its own split and start).")
    return "\n".join(lines)


def lyrics_retrieval(corpus: Corpus, model, exp, k: int = 10, seed: int = 0) -> dict[str, dict]:
    """Playlists among the test songs of a lyrics song split, scored against their Last.fm similars: the tower's
    cosine, the model's own p(similar) (:func:`dplib.playlists.pair_score_matrix`), the TF-IDF cosine (IDF fitted on
    the training songs) and a random ranking. Taught in notebook 09."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    test_ids = sorted(exp.data.parts.test.songs())
    tfidf = TfidfVectorizer(token_pattern=r"[a-z0-9']+").fit(
        [corpus.lyrics[t] for t in sorted(exp.data.parts.train.songs())])
    vectors = tfidf.transform([corpus.lyrics[t] for t in test_ids]).toarray()
    return rankings(corpus, model, exp.data.songs, test_ids, "lyrics", ("TF-IDF cosine (baseline)", vectors), k, seed)


def audio_retrieval(corpus: Corpus, model, by_kind: dict[str, Prepared], k: int = 10, seed: int = 0) -> dict[str, dict]:
    """The same for the audio-only model on the joint split's test songs (its tower's cosine and its p(similar)),
    against the spectral cosine (time-averaged log spectra, centred over the test songs) and a random ranking.
    Taught in notebook 09."""
    songs = by_kind["audio"].songs
    test_ids = sorted(by_kind["audio"].parts.test.songs())
    spectra = songs.data[songs.positions(test_ids)].mean(axis=1)
    spectra = spectra - spectra.mean(axis=0)
    return rankings(corpus, model, songs, test_ids, "audio", ("spectral cosine (baseline)", spectra), k, seed)


def rankings(corpus: Corpus, model, songs, test_ids: list[str], kind: str, baseline: tuple[str, np.ndarray], k: int,
             seed: int) -> dict[str, dict]:
    """Playlists among ``test_ids`` from the model's tower (cosine), its p(similar), the model-free ``baseline``
    (name, one vector per song: cosine) and a random ranking, each scored against the Last.fm similars."""
    from .playlists import (cosine_matrix, embed_songs, exclude_self, pair_score_matrix, relevance_matrix,
                            retrieval_metrics, tower_of)

    embeddings = embed_songs(tower_of(model), songs.subset(test_ids))
    relevance = relevance_matrix(test_ids, test_ids, corpus.scored.a, corpus.scored.b, corpus.scored.score)
    name, vectors = baseline
    rankers = {f"{kind} tower (cosine)": cosine_matrix(embeddings, embeddings),
               f"{kind} model's p(similar)": pair_score_matrix(model, embeddings, embeddings),
               name: cosine_matrix(vectors, vectors),
               "random": np.random.default_rng(seed).random((len(test_ids), len(test_ids)))}
    return {n: retrieval_metrics(exclude_self(s, test_ids, test_ids), relevance, k) for n, s in rankers.items()}


def reading(results: list[dict[str, dict]], lyrics_rankings: list[dict], audio_rankings: list[dict], k: int = 10) -> str:
    """The tables above in words, from their numbers: one model is called above or below another only when the 95%
    interval of their per-seed paired difference excludes 0 (:func:`dplib.tables.versus`; the lists are per seed, in
    the same seed order). Taught in notebook 09."""
    from .tables import difference, spread, versus

    def seeded(rows: list[dict], name: str, key: str) -> dict[int, float]:
        return {i: r[name][key] for i, r in enumerate(rows) if name in r}

    def say(rows: list[dict], name: str, key: str = "roc_auc") -> str:
        mean, sd, _ = spread(seeded(rows, name, key).values())
        return f"{mean:.3f} ± {sd:.3f}"

    def compare(rows: list[dict], a: str, b: str, key: str = "roc_auc", label: str | None = None) -> str:
        """``"above the X's (0.6 ± 0.1; paired difference ...)"``: the verdict, the other's number, the difference."""
        x, y = seeded(rows, a, key), seeded(rows, b, key)
        return f"{versus(x, y)} {label or names.get(b, b)} ({say(rows, b, key)}; {difference(x, y)})"

    joint, lyrics, audio = "joint (all_sym + absdiff)", "lyrics only (all_sym, 2 FC)", "audio only (conv1, absdiff)"
    names = {lyrics: "the lyrics-only model's", audio: "the audio-only model's", LATE_FUSION: "late fusion",
             "random": "random ranking", "TF-IDF cosine (baseline)": "the model-free TF-IDF cosine",
             "spectral cosine (baseline)": "the model-free spectral cosine",
             "lyrics tower (cosine)": "the cosine of its tower's states",
             "audio tower (cosine)": "the cosine of its tower's states"}
    width = np.mean([r[n]["auc_ci"][1] - r[n]["auc_ci"][0] for r in results for n in r if "auc_ci" in r[n]])
    pairs = round(np.mean([r[n]["n_test_rows"] for r in results for n in r if "n_test_rows" in r[n]]) / 2)
    lines = [f"* **Fusion.** The symmetric joint model's test AUC ({say(results, joint)}) is "
             f"{compare(results, joint, lyrics)} and {compare(results, joint, audio)}. One model's 95% bootstrap "
             f"interval on one seed's test pairs (about {pairs}, unordered) is {width:.2f} wide on average: that is "
             "how far another test set of that size could move its AUC. The paired intervals above are over seeds: "
             "each also carries what the split and the start change, with Student's t for as few seeds as there "
             "are, so they are wide."]
    if LATE_FUSION in results[0]:
        lines.append(f"* **Late fusion**, the mean of the two single-modality models' probabilities, trains nothing "
                     f"more; the joint model trained end to end is {compare(results, joint, LATE_FUSION)}, and late "
                     f"fusion itself is {compare(results, LATE_FUSION, audio, label='the audio-only model')}.")
    for name, rankings, tower, base in (("lyrics", lyrics_rankings, "lyrics tower (cosine)", "TF-IDF cosine (baseline)"),
                                        ("audio", audio_rankings, "audio tower (cosine)", "spectral cosine (baseline)")):
        key = f"recall@{k}"
        lines.append(f"* **Playlists, {name}.** recall@{k} of the tower's cosine ({say(rankings, tower, key)}) is "
                     f"{compare(rankings, tower, 'random', key)} and {compare(rankings, tower, base, key)}.")
        classifier = f"{name} model's p(similar)"
        if classifier in rankings[0]:
            lines.append(f"  Ranked by the trained model's own probability of \"similar\" instead, recall@{k} is "
                         f"{say(rankings, classifier, key)}: {compare(rankings, classifier, tower, key)}.")
    return "\n".join(lines)
