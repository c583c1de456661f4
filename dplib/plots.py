"""Plots the notebooks share: accuracy curves and ablation bars beside the paper."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np


def save(fig, name: str, folder: str | Path) -> Path:
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def accuracy_curves(results: list[dict], title: str, ncols: int = 4):
    """Train and validation accuracy per epoch, one panel per configuration."""
    n = len(results)
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), sharey=True, squeeze=False)
    for ax, r in zip(axes.ravel(), results):
        epochs = np.arange(1, len(r["history"]["accuracy"]) + 1)
        ax.plot(epochs, 100 * np.array(r["history"]["accuracy"]), label="train")
        ax.plot(epochs, 100 * np.array(r["history"]["val_accuracy"]), label="validation")
        ax.axhline(50, color="grey", lw=0.8, ls=":")
        ax.set_title(r["name"], fontsize=9)
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy (%)")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def ablation_bars(results: list[dict], paper: dict[str, tuple[float, float]], title: str):
    """Validation accuracy: ours (pair and song splits) beside the paper's."""
    names = [r["name"] for r in results]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names)), 3.6))
    ax.bar(x - 0.27, [paper[n][1] for n in names], 0.27, label="paper (validation)", color="#bbbbbb")
    ax.bar(x, [100 * r["val_accuracy"] for r in results], 0.27, label="ours, pair split")
    song = [r.get("song_val_accuracy") for r in results]
    if any(v is not None for v in song):
        ax.bar(x + 0.27, [100 * (v or 0) for v in song], 0.27, label="ours, song-disjoint split")
    ax.axhline(50, color="black", lw=0.8, ls=":", label="chance")
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("validation accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize=8, ncols=2)
    fig.tight_layout()
    return fig
