"""Looking inside an audio tower: is it still a function of its input? (notebook 07)

A tower that has collapsed gives (nearly) the same embedding for every song, so every pair looks alike and the
model answers one class. Three measurements say where it broke: dead filters (a ReLU after the first convolution
that is zero for every song no longer passes a gradient), the size of what the first layer hands the LSTM, and how
often the LSTM's gates are saturated (a sigmoid at 0 or 1 passes almost no gradient either).
"""
from __future__ import annotations

import keras
import numpy as np

from .datasets.lyrics import EncodedSongs
from .playlists import embed_songs, tower_of
from .runtime import machine_summary
from .tables import by_seed, paired_seeds, possible, spread, versus

#: a gate's pre-activation beyond this is saturated: sigmoid(4) = 0.982, its slope 0.018 (a 14th of its peak)
SATURATED = 4.0


def tower_health(model: keras.Model, songs: EncodedSongs) -> dict:
    """What the audio tower of ``model`` does with ``songs`` (use songs it did not train on).

    ``embedding_sd``: standard deviation of each embedding unit over the songs, averaged (about 0: a constant
    tower); ``dead_filters``: first-layer filters that are zero for every song and block; ``first_layer_mean``: mean
    output of the first convolution; ``saturated_gates``: share of the LSTM's input and forget gate
    pre-activations (from its input, without the recurrent term) beyond :data:`SATURATED`, and the pre-activations
    themselves (``gate_preactivations``); ``embeddings``: the embeddings, one row per song.
    """
    tower = tower_of(model)
    embeddings = embed_songs(tower, songs)
    out = {"embedding_sd": float(embeddings.std(axis=0).mean()), "embeddings": embeddings}
    names = [layer.name for layer in tower.layers]
    lstm_input = tower.get_layer("lstm").input
    reads = keras.Model(tower.inputs, lstm_input).predict(songs.data, verbose=0)
    if "conv1" in names:
        first = keras.Model(tower.inputs, tower.get_layer("conv1").output).predict(songs.data, verbose=0)
        out["dead_filters"] = int((first.max(axis=(0, 1)) <= 0).sum())
        out["filters"] = int(first.shape[-1])
        out["first_layer_mean"] = float(first.mean())
    kernel, _, bias = tower.get_layer("lstm").get_weights()
    hidden = kernel.shape[1] // 4
    steps = np.ceil(songs.lengths * reads.shape[1] / songs.data.shape[1])  # time pooling shortens the sequence
    used = np.arange(reads.shape[1])[None, :] < steps[:, None]  # real blocks, not padding
    gates = reads[used] @ kernel[:, : 2 * hidden] + bias[: 2 * hidden]  # Keras order: input, forget, cell, output
    out["saturated_gates"] = float((np.abs(gates) > SATURATED).mean())
    out["gate_preactivations"] = gates.ravel()
    return out


#: the fixes for a collapsing audio tower that notebook 07 compares (:func:`train_and_inspect`)
VARIANTS = ("paper", "step_scale", "bin_standardise", "lr_1e-4")


#: the per-song arrays of a probe, saved beside its JSON in a .npz file
ARRAYS = ("embeddings", "gate_preactivations")


def train_and_inspect(exp, variant: str = "step_scale", conv_layers: int = 1, combine: str = "absdiff",
                      rerun: bool = False) -> tuple[dict, dict]:
    """Train one audio configuration of ``exp`` (an :class:`dplib.experiments.Experiment`) as the tables do, as one
    of :data:`VARIANTS`: ``paper`` (the paper's tower), ``step_scale`` (the default, see
    :func:`dplib.models.build_audio_tower`; for a row the tables train, that row itself, kept beside its record),
    ``bin_standardise`` (the paper's tower on inputs standardised per frequency bin over the training songs),
    ``lr_1e-4`` (the paper's tower at a tenth of the learning rate). Returns its history and the
    :func:`tower_health` of its best epoch on the test songs, with the test accuracy, ROC AUC (``roc_auc``) and the
    settings it trained with added. Saved under ``results/<size>/audio-probe/`` and reused, as the tables' results
    are, when made from the same pairs, settings and protocol (``rerun``: train anyway). Taught in notebook 07."""
    from .evaluation import evaluate
    from .experiments import FFT_SONG_SPLIT, PROTOCOL, run_config, training_settings
    from .models import build_audio_model
    from .record import HISTORY, recall, record, run_folder
    from .training import train_model

    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    from_table = variant == "step_scale" and dict(conv_layers=conv_layers, combine=combine, fc=1) in FFT_SONG_SPLIT
    settings = training_settings(exp) | ({"from_table": True} if from_table else {})
    if variant == "lr_1e-4":
        settings["learning_rate"] = 1e-4
    folder = run_folder(exp.cfg, f"audio-probe/{exp.results_name}", exp.holdout)
    path = folder / f"{variant}_conv{conv_layers}_{combine}.json"
    saved = None if rerun else recall(path, exp.data_key, settings, PROTOCOL["audio"], arrays=ARRAYS)
    if saved is not None:
        return saved["history"], saved
    data = standardised_bins(exp.data) if variant == "bin_standardise" else exp.data
    if from_table:  # the step-scaled tower is Table 3's own song-split row: trained once, kept for both
        row = run_config(exp, combine, 1, conv_layers, save_model=True)
        model, history = row.pop("model"), {**row["history"], "best_epoch": row["best_epoch"],
                                            "epochs_run": row["epochs_run"], "seconds": 0.0}  # counted by the table
    else:
        model, history = train_model(
            data, lambda: build_audio_model(data.input_dim, conv_layers, combine, 1,
                                            step_scale=variant == "step_scale",
                                            learning_rate=settings["learning_rate"]), settings, exp.cfg.seed,
            exp.cfg.strategy)
    test = evaluate(model, data, "test")
    health = tower_health(model, data.songs.subset(sorted(data.parts.test.songs())))
    result = {"name": path.stem, "seed": exp.cfg.seed, "variant": variant, "data_key": exp.data_key, "protocol": PROTOCOL["audio"],
              "settings": settings, "test_accuracy": test["accuracy"], "roc_auc": test["roc_auc"],
              "best_epoch": history["best_epoch"], "epochs_run": history["epochs_run"],
              "history": {k: history[k] for k in HISTORY if k in history}, "seconds": round(history["seconds"], 2),
              "machine": machine_summary(), **{k: v for k, v in health.items() if k not in ARRAYS}}
    record(path, result, arrays={name: health[name] for name in ARRAYS})
    return result["history"], {**result, **health}


def standardised_bins(data):
    """A copy of audio ``data`` whose blocks have zero mean and unit variance per frequency bin, fitted on the blocks
    of the training songs only."""
    from dataclasses import replace

    songs = data.songs
    train = songs.positions(sorted(data.parts.train.songs()))
    used = np.arange(songs.data.shape[1])[None, :] < songs.lengths[:, None]
    values = songs.data[train][used[train]]
    mean, sd = values.mean(axis=0), values.std(axis=0) + 1e-3
    spectra = songs.data.copy()
    spectra[used] = (spectra[used] - mean) / sd
    return replace(data, songs=replace(songs, data=spectra))


def probe_table(cfg, variants=VARIANTS, seeds=(0, 1, 2), holdout: str = "song", conv_layers: int = 1) -> list[dict]:
    """Why the paper's audio towers collapse, over seeds: one row per (seed, variant) of :func:`train_and_inspect`
    on the audio data of ``cfg``'s size (conv ``conv_layers`` + |h1 - h2| + 1 FC, the paper's best audio row), each
    trained once and reused after, without the per-song arrays. Taught in notebook 07 (:func:`probe_markdown`
    prints it)."""
    from dataclasses import replace

    from .experiments import prepare

    rows = []
    for seed in seeds:
        exp = prepare("audio", replace(cfg, seed=seed), holdout)
        for variant in variants:
            _, health = train_and_inspect(exp, variant, conv_layers)
            rows.append({"seed": seed, **{k: v for k, v in health.items() if k not in ARRAYS}})
    return rows


def median_seed(rows: list[dict], variant: str = "paper", key: str = "dead_filters") -> int:
    """The seed whose ``variant`` run has the median ``key`` (the lower of the two middle ones for an even count):
    the seed notebook 07 plots, chosen by a rule rather than by its look."""
    mine = sorted((r[key], r["seed"]) for r in rows if r["variant"] == variant)
    return mine[(len(mine) - 1) // 2][1]


#: notebook 07's names for the probe's variants (:data:`dplib.diagnose.VARIANTS`)
PROBE_LABELS = {"paper": "the paper's tower", "step_scale": "step-scaled (ours)",
                "bin_standardise": "inputs standardised per bin", "lr_1e-4": "learning rate 1e-4"}


def probe_markdown(rows: list[dict]) -> str:
    """Notebook 07's probe over seeds (:func:`probe_table`): one line per variant, each measure as
    the mean ± standard deviation over seeds with the seeds' own values, and the test AUC against the paper's tower
    by the one rule (the per-seed paired difference, :func:`difference`)."""
    def cell(mine, key, fmt):
        values = [r[key] for r in mine]
        mean, sd, _ = spread(values)
        return f"{fmt.format(mean)} ± {fmt.format(sd)} ({' / '.join(fmt.format(v) for v in values)})"

    paper = by_seed(r for r in rows if r["variant"] == "paper")
    seeds = sorted({r["seed"] for r in rows})
    lines = [f"| tower (seeds {', '.join(map(str, seeds))}) | dead filters (of {rows[0]['filters']}) "
             "| saturated gates | embedding spread "
             "| epochs run | test AUC | AUC minus the paper's tower's (paired) |", "|---|---|---|---|---|---|---|"]
    for variant, label in PROBE_LABELS.items():
        mine = sorted((r for r in rows if r["variant"] == variant), key=lambda r: r["seed"])
        if not mine:
            continue
        against = "—" if variant == "paper" else _against(by_seed(mine), paper)
        lines.append(f"| {label} | {cell(mine, 'dead_filters', '{:.0f}')} | {cell(mine, 'saturated_gates', '{:.0%}')} "
                     f"| {cell(mine, 'embedding_sd', '{:.2f}')} | {cell(mine, 'epochs_run', '{:.0f}')} "
                     f"| {cell(mine, 'roc_auc', '{:.3f}')} | {against} |")
    return "\n".join(lines)


def _against(mine: dict, paper: dict) -> str:
    mean, lo, hi, n = paired_seeds(mine, paper)
    lo, hi = possible(lo, hi)
    verdict = versus(mine, paper).replace(" from", "")
    return f"{mean:+.3f} [{lo:+.3f}, {hi:+.3f}]: {verdict}" if n > 1 else f"{mean:+.3f} (one seed: no interval)"


def probe_reading(rows: list[dict]) -> str:
    """The probe table (:func:`probe_markdown`) in words, written from its rows: which towers keep every filter
    alive on every seed, which seeds' paper towers collapsed outright, and what the one rule says of their AUCs."""
    def of(variant, key):
        return [r[key] for r in sorted(rows, key=lambda r: r["seed"]) if r["variant"] == variant]

    seeds = sorted({r["seed"] for r in rows})
    alive = [PROBE_LABELS[v] for v in PROBE_LABELS if of(v, "dead_filters") and max(of(v, "dead_filters")) == 0]
    dead = of("paper", "dead_filters")
    collapsed = [r["seed"] for r in rows if r["variant"] == "paper" and r["embedding_sd"] < 0.01]
    paper = by_seed(r for r in rows if r["variant"] == "paper")
    verdicts = {PROBE_LABELS[v]: versus(by_seed(r for r in rows if r["variant"] == v), paper)
                for v in PROBE_LABELS if v != "paper" and of(v, "roc_auc")}
    said = [f"The paper's tower lost {min(dead)} to {max(dead)} of its {rows[0]['filters']} first-layer filters on the "
            f"{len(dead)} seeds" + (f", and on seed{'s' if len(collapsed) > 1 else ''} "
                                    f"{', '.join(map(str, collapsed))} it collapsed outright (embedding spread under "
                                    "0.01: nearly the same vector for every song)" if collapsed else "") + "."]
    if alive:
        said.append(f"No filter died on any seed with: {', '.join(a for a in alive)}.")
    above = [k for k, v in verdicts.items() if v == "above"]
    same = [k for k, v in verdicts.items() if v == "not distinguishable from"]
    if above:
        said.append("By the one rule, the test AUC on new songs is above the paper's tower's with: "
                    f"{', '.join(above)}.")
    if same:
        said.append(f"By the one rule, {len(same)} of the {len(verdicts)} fixes ({', '.join(same)}) cannot be told "
                    f"from the paper's tower in test AUC on new songs with {len(seeds)} seeds: a healthier tower is "
                    "not shown to rank better.")
    return " ".join(said)
