"""Why the paper's audio towers collapse, measured: one JSON line per (variant, seed).

    python scripts/probe_audio_towers.py --variant paper step_scale --seeds 0 1 2 [--holdout song] [--conv 1]

Each run trains conv<k> + absdiff + 1 FC (the paper's best audio row) on the synthetic data of this size with the
tutorial's settings, keeps the best validation epoch, and reports beside the accuracies what a collapsed tower looks
like from inside: the spread of its embeddings over the test songs (about 0 = the same vector for every song), the
number of first-layer filters that are zero for every test song (dead ReLUs), and the mean output of the first
convolution (what the LSTM's gates receive) and the share of saturated LSTM gates (``dplib.diagnose``). Variants: ``paper`` (the paper's tower), ``step_scale`` (the default:
see ``dplib.models.build_audio_tower``), ``bin_standardise`` (the paper's tower on inputs standardised per frequency
bin over the training songs), ``lr_1e-4`` (the paper's tower at a tenth of the learning rate). About 4-8 minutes a run
on 2 CPU cores at the default size. The README's "audio tower's first layer" row quotes its output.
"""
from __future__ import annotations

import argparse
import json
import time

import numpy as np

VARIANTS = ("paper", "step_scale", "bin_standardise", "lr_1e-4")


def standardise_bins(data) -> None:
    """Zero mean, unit variance per frequency bin, fitted on the blocks of the training songs only (in place)."""
    songs = data.songs
    train = songs.rows(sorted(data.splits.train.songs()))
    used = np.arange(songs.data.shape[1])[None, :] < songs.lengths[:, None]
    values = songs.data[train][used[train]]
    mean, sd = values.mean(axis=0), values.std(axis=0) + 1e-3
    songs.data[used] = (songs.data[used] - mean) / sd


def probe(variant: str, seed: int, holdout: str, conv: int) -> dict:
    from dplib.config import get_config, seed_everything
    from dplib.diagnose import tower_health
    from dplib.evaluation import evaluate
    from dplib.experiments import prepare, training_settings
    from dplib.models import build_audio_model
    from dplib.training import fit

    cfg = get_config(seed=seed)
    exp = prepare("audio", cfg, holdout)
    if variant == "bin_standardise":
        standardise_bins(exp.data)
    settings = training_settings(exp)
    lr = 1e-4 if variant == "lr_1e-4" else settings["learning_rate"]
    seed_everything(seed)
    model = build_audio_model(exp.data.input_dim, conv, "absdiff", 1, learning_rate=lr,
                              step_scale=variant == "step_scale")
    started = time.perf_counter()
    history = fit(model, exp.data, epochs=settings["epochs"], batch_size=settings["batch_size"], seed=seed,
                  patience=settings["patience"])
    val, test = (evaluate(model, exp.data, part) for part in ("val", "test"))
    health = tower_health(model, exp.data.songs.subset(sorted(exp.data.splits.test.songs())))
    out = {"variant": variant, "seed": seed, "holdout": holdout, "conv": conv, "size": cfg.size,
           "val_accuracy": round(val["accuracy"], 4), "val_auc": round(val["roc_auc"], 4),
           "test_accuracy": round(test["accuracy"], 4), "test_auc": round(test["roc_auc"], 4),
           "best_epoch": history["best_epoch"], "epochs_run": history["epochs_run"],
           "train_loss": [round(v, 4) for v in history["loss"]],
           "embedding_sd": round(health["embedding_sd"], 4), "saturated_gates": round(health["saturated_gates"], 3),
           "seconds": round(time.perf_counter() - started)}
    if conv:
        out["dead_filters"] = f"{health['dead_filters']} of {health['filters']}"
        out["conv1_mean_output"] = round(health["first_layer_mean"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", nargs="+", choices=VARIANTS, default=list(VARIANTS[:2]))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    parser.add_argument("--holdout", choices=["pair", "song"], default="song")
    parser.add_argument("--conv", type=int, choices=[0, 1, 2], default=1)
    args = parser.parse_args()
    from dplib.config import quiet_tensorflow

    quiet_tensorflow()
    for variant in args.variant:
        for seed in args.seeds:
            print(json.dumps(probe(variant, seed, args.holdout, args.conv)), flush=True)


if __name__ == "__main__":
    main()
