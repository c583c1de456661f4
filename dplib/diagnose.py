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


def train_and_inspect(exp, step_scale: bool, conv_layers: int = 1, combine: str = "absdiff") -> tuple[dict, dict]:
    """Train one audio configuration of ``exp`` (an :class:`dplib.experiments.Experiment`) as the tables do, with
    or without the step scale (:func:`dplib.models.build_audio_tower`); return its history and the
    :func:`tower_health` of its best epoch on the test songs, with the test accuracy and ROC AUC added.
    Taught in notebook 07."""
    from .config import seed_everything
    from .evaluation import evaluate
    from .experiments import training_settings
    from .models import build_audio_model
    from .training import fit

    settings = training_settings(exp)
    seed_everything(exp.cfg.seed)
    model = build_audio_model(exp.data.input_dim, conv_layers, combine, 1, learning_rate=settings["learning_rate"],
                              step_scale=step_scale)
    history = fit(model, exp.data, epochs=settings["epochs"], batch_size=settings["batch_size"], seed=exp.cfg.seed,
                  patience=settings["patience"])
    test = evaluate(model, exp.data, "test")
    health = tower_health(model, exp.data.songs.subset(sorted(exp.data.splits.test.songs())))
    health |= {"test_accuracy": test["accuracy"], "test_auc": test["roc_auc"], "best_epoch": history["best_epoch"],
               "epochs_run": history["epochs_run"]}
    return history, health
