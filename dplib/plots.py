"""Plots the notebooks share: accuracy curves and ablation bars beside the paper."""
from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np


def save(fig, name: str, folder: str | Path) -> Path:
    """``folder/name.png``, written under a temporary name and renamed (a README never shows half a figure).
    Taught in notebook 05 (also 06, 07).
    """
    from .datasets.files import written

    path = Path(folder) / f"{name}.png"
    with written(path) as partial:
        fig.savefig(partial, dpi=110, bbox_inches="tight")
    return path


def accuracy_curves(results: list[dict], title: str, ncols: int = 4, metric: str = "accuracy",
                    baseline: tuple[str, float] | None = None):
    """Train and validation ``accuracy`` (or ``loss``) per epoch, one panel per configuration; a dashed line marks
    the best validation epoch, whose weights the model keeps. ``baseline``: (name, validation accuracy) of a
    model-free baseline on the same pairs, drawn beside chance on the accuracy panels. Taught in notebook 08."""
    if metric not in ("accuracy", "loss"):
        raise ValueError(f"metric must be 'accuracy' or 'loss', got {metric!r}")
    n = len(results)
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.6 * nrows), sharey=True, squeeze=False)
    scale = 100 if metric == "accuracy" else 1
    for ax, r in zip(axes.ravel(), results):
        epochs = np.arange(1, len(r["history"][metric]) + 1)
        ax.plot(epochs, scale * np.array(r["history"][metric]), label="train")
        ax.plot(epochs, scale * np.array(r["history"][f"val_{metric}"]), label="validation")
        if metric == "accuracy":
            ax.axhline(50, color="grey", lw=0.8, ls=":", label="chance")
            if baseline is not None:
                ax.axhline(100 * baseline[1], color="tab:red", lw=0.9, ls="-.", label=f"{baseline[0]} (val)")
        if r.get("best_epoch"):
            ax.axvline(r["best_epoch"], color="black", lw=0.8, ls="--", label="best epoch (kept)")
        ax.set_title(r["name"], fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    for ax in axes[:, 0]:
        ax.set_ylabel("accuracy (%)" if metric == "accuracy" else "cross-entropy (nats)")
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    axes.ravel()[0].legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def ablation_bars(results: list[dict], paper: dict[str, tuple[float, float]], title: str,
                  baselines: dict[str, float] | None = None):
    """Validation accuracy: ours (pair and song splits) beside the paper's; ``baselines`` (label -> validation
    accuracy in %, pair split first) as dashed lines in the colours of the split they belong to.
    Taught in notebook 05."""
    names = [r["name"] for r in results]
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(6, 1.1 * len(names)), 3.6))
    ax.bar(x - 0.27, [paper[n][1] for n in names], 0.27, label="paper (validation)", color="#bbbbbb")
    ax.bar(x, [100 * r["val_accuracy"] for r in results], 0.27, label="ours, pair split")
    song = [r.get("song_val_accuracy") for r in results]
    if any(v is not None for v in song):
        ax.bar(x + 0.27, [100 * (v or 0) for v in song], 0.27, label="ours, song-disjoint split")
    ax.axhline(50, color="black", lw=0.8, ls=":", label="chance")
    for (label, value), colour, dash in zip((baselines or {}).items(), ("C0", "C1"), ("--", "-.")):
        ax.axhline(value, color=colour, lw=1.4, ls=dash, label=label)  # two dash styles: the lines may coincide
    ax.set_xticks(x, names, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("validation accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_title(title)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))  # beside the axes, never over a bar
    fig.tight_layout()
    return fig


HOLDOUT_LABELS = {"pair": "pair split", "song": "song-disjoint split", "pair_matched": "pair split, song-split size"}


def holdout_points(results: dict[str, list[dict]], baselines: dict[str, list[dict]], paper: dict[str, float],
                   title: str, metric: str = "test_accuracy"):
    """One group per configuration, one column per holdout: every seed's value as a small dot, their mean as a
    diamond with the standard deviation as an error bar; each holdout's baselines (means over the same seeds) as short
    ticks in its column (dashes: the content cosine, dots: song identity); the paper's validation accuracy as a grey
    cross. The value axis spans the data, not 0 to 1. Taught in notebook 05 (also 07)."""
    from .tables import spread

    holdouts, key = list(results), "test_accuracy" if metric == "test_accuracy" else "roc_auc"
    names = list(dict.fromkeys(r["name"] for rs in results.values() for r in rs))
    x, step = np.arange(len(names)), 0.8 / len(holdouts)
    scale = 100 if metric == "test_accuracy" else 1
    fig, ax = plt.subplots(figsize=(max(7, 1.0 * len(names)) + 3, 4.2))
    shown = [scale * 0.5]
    for i, holdout in enumerate(holdouts):
        colour, label = f"C{i}", HOLDOUT_LABELS.get(holdout, holdout)
        pos = x - 0.4 + step * (i + 0.5)
        for j, n in enumerate(names):
            values = scale * np.array([r[metric] for r in results[holdout] if r["name"] == n])
            ax.plot(np.full(len(values), pos[j]) + np.linspace(-0.04, 0.04, len(values)), values, "o", ms=3,
                    color=colour, alpha=0.6, label=f"{label}: each seed" if j == 0 else None)
            shown += list(values)
        stats = [spread([r[metric] for r in results[holdout] if r["name"] == n]) for n in names]
        ax.errorbar(pos, [scale * m for m, _, _ in stats], yerr=[scale * s for _, s, _ in stats], fmt="D", ms=5,
                    color=colour, capsize=3, label=f"{label}: mean ± sd")
        for name, style in (("content", "--"), ("song_identity", ":")):
            rows = [b[name] for b in baselines.get(holdout, [])]
            if rows:
                mean = scale * spread([r[key] for r in rows])[0]
                ax.hlines(np.full(len(names), mean), pos - step / 2.2, pos + step / 2.2, colors=colour, ls=style,
                          lw=1.4, label=f"{rows[0]['name']}, {label}")
                shown.append(mean)
    if metric == "test_accuracy" and paper:
        values = [paper.get(n, np.nan) for n in names]
        ax.plot(x, values, "x", color="#777777", ms=7, mew=2, label="paper (validation accuracy)")
        shown += [v for v in values if v == v]
    ax.axhline(scale * 0.5, color="black", lw=0.8, label="chance")
    low, high = min(shown), max(shown)
    pad = 0.05 * scale
    ax.set_ylim(max(0, low - pad), min(scale, high + pad))
    ax.set_xticks(x, names, rotation=25, ha="right", fontsize=8)
    ax.set_ylabel("test accuracy (%)" if metric == "test_accuracy" else "test ROC AUC")
    ax.set_title(title)
    ax.grid(axis="y", lw=0.3, alpha=0.5)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def tower_health_plot(runs: dict[str, tuple[dict, dict]], title: str):
    """Two towers side by side: training loss and validation AUC per epoch (``history``), the LSTM's gate
    pre-activations, and each one's embeddings of held-out songs, one box per embedding unit (``health`` from
    :func:`dplib.diagnose.tower_health`): a collapsed tower draws flat boxes, the same vector for every song.
    Taught in notebook 07."""
    fig, axes = plt.subplots(1, 3 + len(runs), figsize=(4.0 * (3 + len(runs)), 3.4))
    for label, (history, health) in runs.items():
        epochs = np.arange(1, len(history["loss"]) + 1)
        axes[0].plot(epochs, history["loss"], marker="o", ms=3, label=label)
        axes[1].plot(epochs, history["val_auc"], marker="o", ms=3, label=label)
        gates = np.clip(health["gate_preactivations"], -20, 20)
        axes[2].hist(gates, bins=np.linspace(-20, 20, 81), alpha=0.6, density=True, label=label)
    axes[0].set(title="training loss", xlabel="epoch", ylabel="cross-entropy (nats)")
    axes[1].axhline(0.5, color="grey", lw=0.8, ls=":", label="chance")
    axes[1].set(title="validation ROC AUC", xlabel="epoch", ylabel="AUC", ylim=(0.3, 1.0))
    for edge in (-4, 4):
        axes[2].axvline(edge, color="black", lw=0.8, ls="--")
    axes[2].set(title="LSTM input/forget gates (saturated beyond ±4)", xlabel="pre-activation (clipped to ±20)",
                ylabel="density")
    for ax in axes[:3]:
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes[:2]:
        ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
    for ax, (label, (_, health)) in zip(axes[3:], runs.items()):
        e = health["embeddings"]
        ax.boxplot([e[:, j] for j in range(e.shape[1])], whis=(5, 95), showfliers=False)
        ax.set(title=f"{label}: embeddings of test songs", xlabel="embedding unit",
               ylabel="value (LSTM output, -1..1)", ylim=(-1.05, 1.05))
        ax.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def answer_plot(answer: dict, title: str):
    """Notebook 06's answer: every scorer's AUC with its 95% interval (a bootstrap over source tracks), on seen
    songs (pair split) and on new songs with listed and random negatives, with the fingerprint controls; chance
    (0.5) marked."""
    model, fp = answer["model"], answer["fingerprint"]
    columns = (("pair split (seen songs)", answer["pair_split"], fp["pair_split"]),
               ("new songs, listed negatives", answer["new_songs"]["listed"], fp["new_songs"]),
               ("new songs, random negatives", answer["new_songs"]["random"], {}))
    names = list(answer["new_songs"]["listed"]["scorers"])
    names += [f"{model}, fingerprints per {u}" for u in ("track", "group")]
    fig, axes = plt.subplots(1, 3, figsize=(11, 0.45 * len(names) + 1.6), sharey=True, sharex=True)
    for ax, (label, summary, controls) in zip(axes, columns):
        stats = {**summary["scorers"], **{f"{model}, fingerprints per {u}": c["scorers"][model]
                                          for u, c in controls.items()}}
        for i, name in enumerate(names):
            if name not in stats:
                continue
            stat = stats[name]
            low, high = stat["ci"]
            ax.errorbar(stat["auc"], i, xerr=[[stat["auc"] - low], [high - stat["auc"]]], fmt="o", capsize=3,
                        color="#4477aa" if name == model else "#aa7744" if "fingerprints" in name else "#777777")
        ax.axvline(0.5, color="black", ls="--", lw=1, label="chance (AUC 0.5)")
        ax.set(title=label, xlabel="test ROC AUC (95% interval)", xlim=(0.35, 1.0))
        ax.grid(axis="x", alpha=0.3)
    axes[0].set_yticks(range(len(names)), names)
    axes[0].invert_yaxis()
    from matplotlib.lines import Line2D

    keys = [Line2D([], [], color=c, marker="o", label=t) for c, t in
            (("#4477aa", f"{model} (the paper's best head)"), ("#777777", "baselines and TF-IDF logistic"),
             ("#aa7744", "fingerprint controls (fewer runs)"))]
    axes[2].legend(handles=[*keys, Line2D([], [], color="black", ls="--", label="chance (AUC 0.5)")],
                   loc="lower right", fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
