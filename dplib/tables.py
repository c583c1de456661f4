"""Tables and readings written from saved results: spreads over seeds, markdown tables beside the paper, what
``make reproduce`` trains, and the paragraphs that quote numbers (notebooks 05-08, ``dplib report``).

Every number comes from the results :mod:`dplib.experiments` saved; nothing here trains. The real-data answer
(notebook 06) has its own module, :mod:`dplib.answer`.
"""
from __future__ import annotations

import json

import numpy as np

from .config import Config
from .experiments import (AUDIO_BEYOND, AUDIO_GRID, HOLDOUTS, LYRICS_GRID, PAPER_TABLE2, PAPER_TABLE3, PROTOCOL,
                          config_name, full_grid, load_baselines, load_results)
from .record import run_folder


def spread(values) -> tuple[float, float, int]:
    """Mean, sample standard deviation (0 for one value) and count, NaNs left out."""
    v = np.asarray([x for x in values if x is not None and not np.isnan(x)], dtype=float)
    if len(v) == 0:
        return float("nan"), float("nan"), 0
    return float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0, len(v)


def mean_sd(values, percent: bool = True) -> str:
    """``"84.1 ± 2.3%"`` (or ``"0.812 ± 0.020"``) over seeds; ``n/a`` when there is nothing."""
    mean, sd, n = spread(values)
    if n == 0:
        return "n/a"
    return f"{100 * mean:.1f} ± {100 * sd:.1f}%" if percent else f"{mean:.3f} ± {sd:.3f}"


#: a holdout's name in table headers
HOLDOUT_LABELS = {"pair": "pair split", "song": "song split", "pair_matched": "pair split, song-split size"}


def spread_table(cfg: Config, kind: str, bands: str | None = None, holdouts=HOLDOUTS, seeds: tuple[int, ...] | None = None,
                 extra: tuple[str, ...] = ()) -> str:
    """Markdown: test accuracy and ROC AUC, mean ± standard deviation over seeds, per holdout, beside the
    paper's validation accuracy; then the rows of the ``extra`` audio inputs (bands, e.g. ``mel64``); the baselines
    below the networks. Taught in notebook 05 (also 06, 07)."""
    seeds = seeds if seeds is not None else cfg.seeds
    paper = PAPER_TABLE2 if kind == "lyrics" else PAPER_TABLE3
    head = "| model | paper val |" + "".join(f" {HOLDOUT_LABELS[s]}: test acc | AUC |" for s in holdouts)
    lines = [head, "|" + "---|" * (2 + 2 * len(holdouts))]

    def cells(runs: dict[str, list[dict]]) -> str:
        return "".join(f" {mean_sd(r['test_accuracy'] for r in runs[s])} | "
                       f"{mean_sd((r['roc_auc'] for r in runs[s]), percent=False)} |" for s in holdouts)

    n_seeds = 0
    for input_bands in (bands, *extra):
        results = {s: load_results(cfg, kind, s, input_bands, seeds) for s in holdouts}
        n_seeds = max([n_seeds, *(len({r["seed"] for r in results[s]}) for s in holdouts)])
        for settings in full_grid(kind, input_bands):
            name = config_name(kind, **settings, bands=input_bands)
            key = (settings["combine"], settings["fc"]) if kind == "lyrics" else (settings["conv_layers"], settings["combine"])
            runs = {s: [r for r in results[s] if r["name"] == name] for s in holdouts}
            if any(runs.values()):
                lines.append(f"| {name} | {f'{paper[key][1]}%' if input_bands == bands else '-'} |{cells(runs)}")
    for input_bands in (bands, *extra):
        base = {s: load_baselines(cfg, kind, s, input_bands, seeds) for s in holdouts}
        for key in ("content", "song_identity", "majority") if input_bands == bands else ("content",):
            rows = {s: [b[key] for b in base[s]] for s in holdouts}
            if any(rows.values()):
                name = next(r for s in holdouts for r in rows[s])["name"]
                lines.append(f"| {name} (baseline) | - |{cells(rows)}")
    lines.append("")
    lines.append(f"Mean ± standard deviation over {n_seeds} seeds (each seed draws its own split and initialisation); "
                 "test pairs are balanced 50/50, so chance is 50% and AUC 0.5." + not_trained(kind, lines))
    return "\n".join(lines)


def not_trained(kind: str, lines: list[str]) -> str:
    """The footnote for ``n/a`` cells, when a table has any."""
    if not any("n/a" in line for line in lines):
        return ""
    why = " (on new songs the |FFT| bins train only the paper's best row: README, Choices)" if kind == "audio" else ""
    return f" n/a: no saved run on that split{why}."


def paired_table(cfg: Config, kind: str, holdouts=("pair", "song"), seeds: tuple[int, ...] | None = None,
                 extra: tuple[str, ...] = ()) -> str:
    """Markdown, per holdout: each network's mean test AUC with its 95% interval over seeds against chance (0.5), then
    its AUC minus the model-free baseline on the same test pairs, seed by seed, with the 95% interval of that paired
    difference; each with what the one rule for "better" says (:func:`versus`). The baseline is TF-IDF cosine
    (lyrics) or the spectral cosine of the full |FFT| spectra (audio, for the banded rows too: the strongest
    model-free row, the one :func:`table3_paragraph` reads). Taught in notebook 05 (also 07)."""
    seeds = seeds if seeds is not None else cfg.seeds
    short = "TF-IDF" if kind == "lyrics" else "spectral cosine"
    lines = ["| model |" + "".join(f" {HOLDOUT_LABELS[s]}: AUC [95% interval] | {HOLDOUT_LABELS[s]}: AUC minus {short} |"
                                   for s in holdouts), "|---|" + "---|" * 2 * len(holdouts)]
    base = {s: by_seed(b["content"] for b in load_baselines(cfg, kind, s, None, seeds)) for s in holdouts}
    for input_bands in (None, *extra):
        runs = {s: load_results(cfg, kind, s, input_bands, seeds) for s in holdouts}
        for settings in full_grid(kind, input_bands):
            name = config_name(kind, **settings, bands=input_bands)
            cells = []
            for s in holdouts:
                mine = by_seed(r for r in runs[s] if r["name"] == name)
                coin = dict.fromkeys(mine, 0.5)
                cells += [verdict_cell(mine, coin, "{:.3f}", chance=True), verdict_cell(mine, base[s], "{:+.3f}")]
            if any(c != "n/a" for c in cells):
                lines.append(f"| {name} | " + " | ".join(cells) + " |")
    content = "TF-IDF cosine" if kind == "lyrics" else "the spectral cosine of the full |FFT| spectra (every row, banded too)"
    lines.append("")
    lines.append(f"Intervals are Student's t over the seeds. Against chance: the mean AUC and its interval. Against "
                 f"{content}: the difference, where per seed both scored the same test pairs. \"above\" or "
                 "\"below\" only where the interval excludes 0.5 (chance) or 0 (difference)." + not_trained(kind, lines))
    return "\n".join(lines)


def verdict_cell(mine: dict, other: dict, fmt: str, chance: bool = False) -> str:
    """One cell of :func:`paired_table`: ``mine`` against ``other`` seed by seed, e.g. ``"+0.012 [-0.030, +0.054] not
    distinguishable"``; against chance (``other`` all 0.5) the mean AUC and its interval themselves, e.g.
    ``"0.612 [0.571, 0.653] above chance"``."""
    mean, lo, hi, n = paired_seeds(mine, other)
    shift = 0.5 if chance else 0.0  # show the AUC, not AUC - 0.5
    word = versus(mine, other)
    if chance:
        word = "not distinguishable from chance" if word.endswith("from") else f"{word} chance"
    else:
        word = word.removesuffix(" from")
    if n == 0:
        return "n/a"
    if n == 1:
        return f"{fmt.format(mean + shift)} (1 seed)"
    lo, hi = possible(lo + shift, hi + shift, chance)
    return f"{fmt.format(mean + shift)} [{fmt.format(lo)}, {fmt.format(hi)}] {word}"


def possible(lo: float, hi: float, chance: bool = False) -> tuple[float, float]:
    """An interval cut to the values the quantity can take: [0, 1] for an AUC or accuracy (``chance``), [-1, 1] for
    a difference of two. With 2 seeds Student's t stretches to 12.7 standard errors, past both ends; the cut never
    changes whether 0.5 or 0 is inside."""
    return max(lo, 0.0 if chance else -1.0), min(hi, 1.0)


def cost_table(results: dict[str, list[dict]]) -> str:
    """Markdown: per configuration, its weights and the mean seconds per training epoch over every saved run
    (``results``: holdout -> result rows), in first-seen order. Times are this machine's, from the runs themselves.
    Taught in notebook 07."""
    rows = [r for runs in results.values() for r in runs]
    names = list(dict.fromkeys(r["name"] for r in rows))
    lines = ["| model | weights | seconds per epoch | epochs run (mean) | runs |", "|---|---|---|---|---|"]
    for name in names:
        runs = [r for r in rows if r["name"] == name]
        per_epoch = np.mean([r["seconds"] / r["epochs_run"] for r in runs])
        lines.append(f"| {name} | {runs[0]['settings']['params']:,} | {per_epoch:.1f} | "
                     f"{np.mean([r['epochs_run'] for r in runs]):.1f} | {len(runs)} |")
    return "\n".join(lines)


TRAINING_NOTEBOOKS = ("05 Table 2 (lyrics)", "06 real lyrics", "07 Table 3 (audio), future-work rows, probe",
                      "09 joint model and playlist towers")


def saved_trainings(cfg: Config) -> list[tuple[str, str, int, dict]]:
    """Every saved training at ``cfg.size`` over ``cfg.seeds`` (notebook 06: over its repeats) as (notebook, stage,
    seed, result); its time and machine are in the result: what a fresh ``make reproduce`` has to train. A stage is
    one holdout of one table (or one model of notebook 09, or one input and design of notebook 06, or notebook 07's
    probe). Only results of today's protocols count: older ones would be trained again."""
    table2, real, table3, joint = TRAINING_NOTEBOOKS
    rows = []
    for seed in cfg.seeds:
        for holdout in ("pair", "song"):
            rows += [(table2, f"{holdout} split", seed, r) for r in load_results(cfg, "lyrics", holdout, None, (seed,))]
        for bands in (None, *AUDIO_BEYOND):
            for holdout in ("pair", "song"):
                stage = f"{bands or '|FFT| bins'}, {holdout} split"
                rows += [(table3, stage, seed, r) for r in load_results(cfg, "audio", holdout, bands, (seed,))]
        for path in sorted(run_folder(cfg, "joint", "song", seed).glob("*.json")):
            result = json.loads(path.read_text())
            if result.get("protocol") == PROTOCOL["joint"]:
                rows.append((joint, result["name"], seed, result))
        for path in sorted((cfg.results_folder / "audio-probe").glob(f"*/*/seed{seed}/*.json")):
            probe = json.loads(path.read_text())
            if probe.get("protocol") == PROTOCOL["audio"] and not probe.get("settings", {}).get("from_table"):
                rows.append((table3, "probe", seed, probe))
    for path in sorted(cfg.results_folder.glob("real-lyrics*/*/seed*/*_fc[12].json")):  # repeats are seeds there too
        stage = f"{path.parts[-4]}, {path.parts[-3].split('_')[0]}"
        result = json.loads(path.read_text())
        if result.get("protocol", 1) == PROTOCOL["lyrics"]:
            rows.append((real, stage, int(path.parts[-2].removeprefix("seed")), result))
    return rows


def training_costs(cfg: Config, by_stage: bool = False) -> list[dict]:
    """Per notebook (or per stage of each notebook): the number of trainings, their summed training time as the
    runs recorded it over every seed and for the first seed alone, and the machines they ran on."""
    def empty(notebook: str, stage: str) -> dict:
        return {"notebook": notebook, "stage": stage, "trainings": 0, "seconds": 0.0, "first_seed_seconds": 0.0,
                "machines": set()}

    # every notebook gets a row, trained or not; stages appear as the saved results name them
    costs = {} if by_stage else {(notebook, ""): empty(notebook, "") for notebook in TRAINING_NOTEBOOKS}
    for notebook, stage, seed, result in saved_trainings(cfg):
        key = (notebook, stage if by_stage else "")
        row = costs.setdefault(key, empty(*key))
        row["trainings"] += 1
        row["seconds"] += result["seconds"]
        row["first_seed_seconds"] += result["seconds"] if seed == cfg.seeds[0] else 0.0
        row["machines"].add(result.get("machine", "not recorded"))
    return [{**row, "machines": sorted(row["machines"])} for row in costs.values()]


def training_cost_table(cfg: Config) -> str:
    """Markdown: per notebook, the trainings a fresh ``make reproduce`` runs, their summed training time as the runs
    recorded it (every seed, and the first seed alone), and the machines they ran on. Written into the README by
    ``dplib report``."""
    first = cfg.seeds[0]
    lines = [f"| notebook | trainings | training time | seed {first} alone | machine |", "|---|---|---|---|---|"]
    costs = training_costs(cfg)
    for row in costs:
        lines.append(f"| {row['notebook']} | {row['trainings']} | {row['seconds'] / 60:.0f} min | "
                     f"{row['first_seed_seconds'] / 60:.0f} min | {'; '.join(row['machines']) or '-'} |")
    total, one = (sum(row[k] for row in costs) for k in ("seconds", "first_seed_seconds"))
    lines.append(f"| total | | {total / 3600:.1f} h | {one / 3600:.1f} h | |")
    return "\n".join(lines)


def pct(x) -> str:
    return "n/a" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.1f}%"


def ablation_table(cfg: Config, kind: str) -> str:
    """Markdown for ``cfg.seed``: our train/val/test on both splits beside the paper's train/val, plus chance and
    the baselines. Accuracies are those of the best validation epoch, measured with dropout off.
    Taught in notebook 05."""
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
        for b in load_baselines(cfg, kind, split):
            for row in (b["content"], b["song_identity"]):
                lines.append(f"| {row['name']} ({split} split) | - | - | - | {pct(row['train_accuracy'])} | "
                             f"{pct(row['val_accuracy'])} | {pct(row['test_accuracy'])} | {row['roc_auc']:.3f} | "
                             "0.000 | - | - |")
    lines.append("| chance | - | 50% | 50% | 50% | 50% | 50% | 0.500 | - | 50% | 50% |")
    return "\n".join(lines)


def missing_results(cfg: Config, holdouts: tuple[str, ...] = ("pair", "song")) -> list[str]:
    """The Table 2 and Table 3 results of ``cfg.seed`` not saved yet, as ``kind/holdout/name``."""
    missing = []
    for kind in ("lyrics", "audio"):
        for holdout in holdouts:
            saved = {r["name"] for r in load_results(cfg, kind, holdout)}
            missing += [f"{kind}/{holdout}/{config_name(kind, **g)}" for g in full_grid(kind, None, holdout)
                        if config_name(kind, **g) not in saved]
    return missing


def interval(values) -> tuple[float, float, float, int]:
    """Mean and 95% interval over seeds (Student's t with n - 1 degrees of freedom): ``(mean, lo, hi, n)``, the
    interval NaN below two seeds. With 3 seeds the half-width is 2.48 standard deviations: only differences much
    larger than the seed-to-seed spread can exclude 0."""
    from scipy.stats import t

    v = np.asarray([x for x in values if x is not None and not np.isnan(x)], dtype=float)
    if len(v) < 2:
        mean = float(v.mean()) if len(v) else float("nan")
        return mean, float("nan"), float("nan"), len(v)
    half = float(t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v)))
    return float(v.mean()), float(v.mean()) - half, float(v.mean()) + half, len(v)


def paired_seeds(a: dict, b: dict) -> tuple[float, float, float, int]:
    """The paired difference ``a - b`` seed by seed, over the seeds both have (``{seed: value}``; each seed's two
    values measured on the same test pairs), with its 95% interval (:func:`interval`)."""
    return interval([a[s] - b[s] for s in sorted(set(a) & set(b))])


def versus(a: dict, b: dict) -> str:
    """The one rule for "better" over seeds: ``"above"`` or ``"below"`` only when the 95% interval of the per-seed
    paired difference (:func:`paired_seeds`) excludes 0, else ``"not distinguishable from"`` (also below two seeds)."""
    _, lo, hi, n = paired_seeds(a, b)
    return "above" if n > 1 and lo > 0 else "below" if n > 1 and hi < 0 else "not distinguishable from"


def difference(a: dict, b: dict) -> str:
    """What :func:`versus` read, in words: ``"paired difference +0.052 [+0.011, +0.093], 3 seeds"``."""
    mean, lo, hi, n = paired_seeds(a, b)
    if n < 2:
        return f"{n} seed{'s' if n != 1 else ''}, no interval"
    lo, hi = possible(lo, hi)
    return f"paired difference {mean:+.3f} [{lo:+.3f}, {hi:+.3f}], {n} seeds"


def by_seed(runs, key: str = "roc_auc") -> dict[int, float]:
    """``{seed: run[key]}`` for runs (result dicts that carry their seed)."""
    return {r["seed"]: r[key] for r in runs}


def above_chance(above: int, of: int) -> str:
    """``"2 of 5 are above chance: their mean AUC's 95% interval over seeds excludes 0.5"``, in words that fit 0 and 1."""
    if above == 0:
        return f"none of the {of} is above chance: no mean AUC's 95% interval over seeds excludes 0.5"
    if above == 1:
        return f"1 of {of} is above chance: its mean AUC's 95% interval over seeds excludes 0.5"
    return f"{above} of {of} are above chance: their mean AUC's 95% interval over seeds excludes 0.5"


def table3_paragraph(cfg: Config, seeds: tuple[int, ...] | None = None) -> str:
    """What Table 3 (with the extra rows) says, every number from the saved results: per split the best network
    by mean test AUC, how many are above chance and how they stand against the spectral cosine; the cells at
    exactly 50% accuracy and what their AUC says about them. Taught in notebook 07."""
    seeds = seeds if seeds is not None else cfg.seeds
    inputs = (None, *AUDIO_BEYOND)
    parts = []
    for split, label in (("pair", "On the pair split"), ("song", "On songs never seen in training")):
        runs = [r for d in inputs for r in load_results(cfg, "audio", split, d, seeds)]
        if not runs:
            continue
        names = list(dict.fromkeys(r["name"] for r in runs))
        auc = {n: spread(r["roc_auc"] for r in runs if r["name"] == n) for n in names}
        seeded = {n: by_seed(r for r in runs if r["name"] == n) for n in names}
        acc = {n: spread(r["test_accuracy"] for r in runs if r["name"] == n) for n in names}
        best = max(names, key=lambda n: auc[n][0])
        fit = spread(r["train_accuracy"] for r in runs if r["name"] == best)
        pairs = spread(r["counts"]["train"]["pairs"] for r in runs if r["name"] == best)
        cosines = [b["content"] for b in load_baselines(cfg, "audio", split, seeds=seeds)]
        cosine = spread(b["roc_auc"] for b in cosines)
        above = sum(versus(seeded[n], dict.fromkeys(seeded[n], 0.5)) == "above" for n in names)  # the one rule
        standing = [versus(seeded[n], by_seed(cosines)) for n in names]
        parts.append(
            f"{label} (about {pairs[0]:,.0f} training pairs), the best of the {len(names)} networks by mean test AUC "
            f"is {best}: {100 * acc[best][0]:.1f} ± "
            f"{100 * acc[best][1]:.1f}% test accuracy (on its training pairs {100 * fit[0]:.1f} ± {100 * fit[1]:.1f}%), "
            f"AUC {auc[best][0]:.3f} ± {auc[best][1]:.3f}; {above_chance(above, len(names))}. The spectral "
            f"cosine, which learns nothing, has AUC {cosine[0]:.3f} ± {cosine[1]:.3f}; against it, seed by seed on the "
            f"same test pairs, {standing.count('above')} networks are above, {standing.count('below')} below, and "
            f"{standing.count('not distinguishable from')} cannot be told from it (the paired rule).")
        pattern = [(a, b) for a, b in (("conv1_absdiff_fc1", "conv1_concat_fc1"), ("conv0_absdiff_fc1", "conv0_concat_fc1"),
                                       ("conv1_absdiff_fc1", "conv0_absdiff_fc1")) if a in auc and b in auc]
        if pattern:
            parts.append("The paper's pattern by the same rule: " + "; ".join(
                f"{a} is {versus(seeded[a], seeded[b])} {b} ({difference(seeded[a], seeded[b])})" for a, b in pattern)
                + ".")
        if split == "song":
            paper_best = "conv1_absdiff_fc1"
            for name in names:
                if name.startswith(("bands", "mel")) and name.endswith("conv1_absdiff_fc1") and paper_best in auc:
                    parts.append(f"On new songs, {name} ({auc[name][0]:.3f} ± {auc[name][1]:.3f}) is "
                                 f"{versus(seeded[name], seeded[paper_best])} the paper's input "
                                 f"({auc[paper_best][0]:.3f} ± {auc[paper_best][1]:.3f}; "
                                 f"{difference(seeded[name], seeded[paper_best])}).")
    runs = [r for d in inputs for s in ("pair", "song") for r in load_results(cfg, "audio", s, d, seeds)]
    parts.append(half_accuracy_reading(runs))
    return " ".join(parts)


def one_sided(p) -> bool:
    """Whether every saved test score ``p`` falls on one side of the 0.5 cut (False when none were saved)."""
    return p is not None and len(p) > 0 and (min(p) >= 0.5 or max(p) < 0.5)


def half_accuracy_reading(runs: list[dict]) -> str:
    """The runs that end at exactly 50.0% test accuracy, and whether their saved test scores all fall on one side
    of the 0.5 cut (accuracy at that cut then says nothing)."""
    half = [r for r in runs if r["test_accuracy"] == 0.5]
    if not half:
        return f"None of the {len(runs)} runs ends at exactly 50.0% test accuracy."
    sided = sum(one_sided(r.get("test_p")) for r in half)  # every test score on one side of the cut
    if sided == len(half):
        said = f"{'it puts' if sided == 1 else 'all of them put'} every test pair on one side of 0.5, so accuracy at " \
               "that cut says nothing"
    elif sided == 0:
        said = "none of them puts every test pair on one side of 0.5: each is right on exactly half at that cut"
    else:
        said = (f"{sided} of them put{'s' if sided == 1 else ''} every test pair on one side of 0.5 (accuracy at that "
                "cut then says nothing)")
    aucs = ", ".join(f"{r['roc_auc']:.2f}" for r in half)
    return (f"{len(half)} of {len(runs)} runs end{'s' if len(half) == 1 else ''} at exactly 50.0% test accuracy (AUC "
            f"{aucs}); {said}. An AUC near 0.5 is a tower that learned nothing, one far from it ranks pairs but was not "
            "calibrated by its best epoch.")
