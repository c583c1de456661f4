"""The README's results sections, rewritten from the saved results by ``dplib report`` (and at the end of
``dplib reproduce``): numbers measured, never typed. A section without results here is left as it was."""
from __future__ import annotations

import json
import os
from pathlib import Path

from .datasets.report import DataError


def write_report(readme: Path, size: str | None = None) -> int:
    """The README's results sections from ``results/<size>/`` (``size=None``: the environment's size)."""
    from .config import get_config
    from .datasets.files import write_text
    from .datasets.report import short_path
    from .tables import missing_results

    cfg = get_config(**({"size": size} if size else {}))

    readme = Path(readme).resolve()
    text = readme.read_text()
    real = real_results_section(cfg)
    if real is None:  # a clone without the real set (or its run) keeps the committed section
        print(f"no real-lyrics answer in {cfg.display(cfg.results_folder)}: the real-data section is left as it was; "
              "notebook 06 writes it")
    else:
        text = fill_section(text, "real-results", real, readme)
    missing = missing_results(cfg)
    if missing:  # a partial run (notebook 03 alone, quick mode) must not replace complete tables with n/a
        print(f"{len(missing)} synthetic results missing in {cfg.display(cfg.results_folder)} (e.g. {missing[0]}): "
              "the synthetic Results section is left as it was; notebooks 05 and 07 write them")
    else:
        text = fill_section(text, "results", synthetic_results_section(cfg, readme), readme)
    run = cfg.results_folder / "reproduce_run.json"
    if run.exists() and "<!-- notebook-minutes:start -->" in text:
        text = notebook_minutes(text, json.loads(run.read_text())["notebooks"])
    write_text(readme, text)
    print(f"updated {short_path(readme)}")
    return 0


def notebook_minutes(text: str, seconds: dict[str, float]) -> str:
    """The README's notebook table with its minutes column (the fourth) set from ``seconds`` (a run's clock per
    notebook file); a notebook the run did not time keeps its cell."""
    head, rest = text.split("<!-- notebook-minutes:start -->", 1)
    table, tail = rest.split("<!-- notebook-minutes:end -->", 1)
    rows = []
    for row in table.strip("\n").split("\n"):
        cells = row.split(" | ")
        timed = [sec for name, sec in seconds.items() if name.startswith(cells[0].strip("| ") + "_")]
        if len(cells) == 5 and timed:
            cells[3] = f"{timed[0] / 60:.1f}"
        rows.append(" | ".join(cells))
    return (head + "<!-- notebook-minutes:start -->\n" + "\n".join(rows) + "\n<!-- notebook-minutes:end -->"
            + tail)


#: the figures the README shows beside the tables; every other one is listed by name (it stays in figures/ and in
#: the notebook that draws it)
README_FIGURES = ("table2_lyrics_seeds", "table3_audio_auc")


def figure_lines(figures: list[Path], readme: Path) -> list[str]:
    """The README's figures as images, and the names of the others."""
    def where(fig: Path) -> Path:
        return fig.relative_to(readme.parent) if fig.is_relative_to(readme.parent) else fig

    shown = [f for name in README_FIGURES for f in figures if f.stem == name]
    lines = [f"![{fig.stem}]({where(fig)})" for fig in shown]
    others = [f for f in figures if f not in shown]
    if others:
        lines += ["", f"More figures in [`{where(others[0].parent)}/`]({where(others[0].parent)}/), each drawn by its "
                      f"notebook: {', '.join(f'`{f.stem}`' for f in others)}."]
    return lines


def synthetic_results_section(cfg, readme: Path) -> str:
    """Tables 2 and 3 beside the paper's: mean ± sd over ``cfg.seeds`` where every seed was run (Table 3 with the
    extra rows of notebook 07), else ``cfg.seed``'s table; training and notebook times, and the figures."""
    from .experiments import AUDIO_BEYOND, full_grid, load_results
    from .tables import ablation_table, paired_table, spread_table, training_cost_table

    def table(kind: str) -> tuple[str, list[dict]]:
        extra = tuple(AUDIO_BEYOND) if kind == "audio" else ()
        runs = [r for d in (None, *extra) for s in ("pair", "song") for r in load_results(cfg, kind, s, d, cfg.seeds)]
        expected = sum(len(full_grid(kind, d, s)) for d in (None, *extra) for s in ("pair", "song")) * len(cfg.seeds)
        if len(runs) == expected:
            return (spread_table(cfg, kind, holdouts=("pair", "song"), extra=extra) + "\n\nEach network against the "
                    "model-free baseline on the same test pairs, by the one rule for \"better\" (notebook 05):\n\n"
                    + paired_table(cfg, kind, extra=extra)), runs
        return (f"Seed {cfg.seed} only (not every seed of {cfg.seeds} was run):\n\n" + ablation_table(cfg, kind),
                [r for s in ("pair", "song") for r in load_results(cfg, kind, s)])

    def took(runs: list[dict]) -> str:
        return (f"Training time of this table: {sum(r['seconds'] for r in runs) / 60:.1f} min for {len(runs)} "
                f"trainings on {os.cpu_count()} CPU cores.")

    figures = sorted(f for f in cfg.figures_folder.glob("*.png") if not f.name.startswith("real_")) \
        if cfg.figures_folder.exists() else []
    parts = [f"Size `{cfg.size}`; written by `dplib report`.", ""]
    for kind, title in (("lyrics", "Table 2, lyrics"), ("audio", "Table 3, audio (and the authors' future work)")):
        text, runs = table(kind)
        parts += [f"### {title}", "", text, "", took(runs), ""]
    parts += [f"### What `make reproduce` trains (seeds {', '.join(map(str, cfg.seeds))})", "",
              "Each notebook trains only what is not saved under `results/` from the same pairs and settings, so a "
              "fresh clone trains everything below. Times are those the runs recorded (training only; loading, "
              "evaluation and plots come on top); the first seed's column is what a single-seed run trains. "
              "`make reproduce` runs two notebooks at a time, so it takes less than this sum: `make bench` "
              "(section 3) measures how much less on the machine it runs on, and section 2 the floor that the "
              "audio table's arithmetic sets there.", "",
              training_cost_table(cfg), "", paper_size_estimate(cfg), ""]
    parts += run_time_lines(cfg.results_folder / "reproduce_run.json")
    return "\n".join(parts + figure_lines(figures, readme))


def paper_size_estimate(cfg) -> str:
    """What ``DPLIB_SIZE=paper`` would cost on the machine of this run: its recorded training, each table scaled by
    how much more data the paper size gives it (lyrics pairs; audio clip length), an estimate said as one."""
    from .datasets.synthetic import SIZES
    from .tables import training_costs

    here, paper = SIZES[cfg.size], SIZES["paper"]
    pairs = paper.lyrics_pairs_per_class[0] / here.lyrics_pairs_per_class[0]
    length = paper.clip_seconds / here.clip_seconds
    table2, real, table3, joint = (row["seconds"] for row in training_costs(cfg))
    hours = (table2 * pairs + (table3 + joint) * length + real) / 3600
    return (f"`DPLIB_SIZE=paper` (the paper's Table 1 sizes, for a GPU runtime) trains Table 2 on {pairs:.1f}x these "
            f"lyrics pairs ({paper.lyrics_pairs_per_class[0]:,} training pairs per class) and the audio towers on clips "
            f"{length:.2f}x as long; this run's recorded training scaled by those factors is about {hours:.1f} h on "
            "these CPU cores: an estimate (training time grows at least in proportion), not a measured run.")


def run_time_lines(path: Path) -> list[str]:
    """The clock of the last ``make reproduce`` that trained everything itself, per notebook and in all, as that run
    wrote it (it writes the file only then)."""
    if not path.exists():
        return []
    run = json.loads(path.read_text())
    lines = ["### How long `make reproduce` took", "",
             f"Measured by the last complete run itself, from nothing saved, on {run['cpus']} CPU cores, "
             f"{run['jobs']} notebooks at a time: each notebook's wall-clock time as it ran beside another, and the "
             "whole run, which includes generating the synthetic data (while notebook 06, which reads none of it, runs).",
             *([f"Before it started, the machine multiplied two 2048 x 2048 float32 matrices at "
                f"{run['matmul_gflops']:,} GFLOP/s (NumPy) and trained a small LSTM at {run['lstm_steps_per_second']:,} "
                "steps per second (`dplib.runtime.yardsticks`): for comparing runs, since a shared machine's speed "
                "changes from day to day."] if "lstm_steps_per_second" in run else []),
             "", "| notebook | minutes |", "|---|---|"]
    lines += [f"| {name} | {sec / 60:.1f} |" for name, sec in sorted(run["notebooks"].items())]
    return lines + [f"| **the whole run** | **{run['wall_seconds'] / 60:.1f}** |", ""]


def fill_section(text: str, name: str, body: str, where: Path) -> str:
    """Replace what stands between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise DataError(f"no '{start}' ... '{end}' section to fill", where)
    head, rest = text.split(start, 1)
    return head + start + "\n" + body + "\n" + end + rest.split(end, 1)[1]


def real_results_section(cfg) -> str | None:
    """Notebook 06's answer on the real lyrics set, written from its saved numbers (None: no run saved here)."""
    from .answer import answer_paragraph, answer_table, heads_table, load_answer

    result = load_answer(cfg)
    if result is None:
        return None
    t = result["trainings"]
    figure = cfg.figures_folder / "real_answer.png"
    return "\n".join([
        f"Notebook 06, size `{cfg.size}`; written by `dplib report` from `results/{cfg.size}/real-lyrics/answer.json` "
        f"({t['trainings']} trainings, {t['seconds'] / 60:.0f} min of training on {os.cpu_count()} CPU cores). "
        "ROC AUC with its 95% interval: a bootstrap over the source tracks the pairs hang on, jointly over the "
        "repeats (or seeds). New songs: repeated K-fold over lyric groups, out-of-fold pairs pooled per repeat.", "",
        answer_table(result), "", answer_paragraph(result), "",
        "The eight heads of the paper's Table 2 on new songs (fewer repeats, so wider intervals), each against TF-IDF "
        "cosine on the same pairs; \"better\" only when the paired interval excludes 0:", "", heads_table(result), "",
        *([f"![real_answer](figures/{figure.name})"] if cfg.size == "default" and figure.exists() else [])])
