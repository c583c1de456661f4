"""The dplib command line: data, ablations, training on your own files, and running the notebooks."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .config import SIZE_NAMES
from .datasets.download import PUBLIC_FILES


def cmd_data_synth(args) -> int:
    from .datasets.synthetic import generate

    out = generate(args.out, args.size, seed=args.seed, noise=args.noise)
    print((out / "DATA_CARD.md").read_text())
    return 0


def cmd_data_summary(args) -> int:
    from .datasets.corpus import load_corpus

    print(load_corpus(args.folder, strict=args.strict).summary())
    return 0


def cmd_data_fetch(args) -> int:
    from .config import get_config
    from .datasets.download import fetch
    from .datasets.real_lyrics import build_lyrics_folder, download, fetch_real_lyrics, LYRICS_ARCHIVE
    from .datasets.report import SkipReport

    cache = Path(args.cache) if args.cache else get_config().data_dir / "downloads"
    for name in args.files:
        if name == "real-lyrics":
            out = Path(args.out if args.out else "data/real-lyrics")
            counts = fetch_real_lyrics(out, cache, args.scores, args.lyrics_archive, SkipReport(args.strict))
            print(f"{out}: {counts['rows']:,} scored rows ({counts['positive_rows']:,} >= 0.5) over "
                  f"{counts['tracks']:,} tracks with lyrics; check it with: dplib data summary {out}")
        elif name == "lyrics-archive":
            out = Path(args.out if args.out else "data/real")
            archive = Path(args.lyrics_archive) if args.lyrics_archive else download(LYRICS_ARCHIVE, cache)
            print(f"{out / 'lyrics'}: {build_lyrics_folder(archive, out):,} tracks with lyrics (join them with "
                  "lastfm_train/ or lastfm_similars.db in the same folder)")
        else:
            print(fetch(name, args.out or "data/real"))
    return 0


def cmd_data_shards(args) -> int:
    from .config import get_config
    from .datasets.streaming import prepare_lyrics_shards

    cfg = get_config(seed=args.seed)
    if len(args.pairs_per_class) > 3:
        raise SystemExit("--pairs-per-class takes at most three caps: train [val [test]]")
    caps = (args.pairs_per_class + [None, None, None])[:3]
    data = prepare_lyrics_shards(args.folder, args.out, args.split, caps, max_len=args.max_len or cfg.max_len,
                                 min_count=cfg.min_count, max_doc_freq=cfg.max_doc_freq, seed=cfg.seed,
                                 shard_size=args.shard_size, strict=args.strict)
    m = data.manifest
    print(f"{m['listed_pairs']:,} listed pairs -> {m['unique_pairs']:,} unique -> split '{m['split']}', balanced, "
          f"both orders; vocabulary {m['vocab_size']:,} (training songs only)")
    for name, c in m["counts"].items():
        print(f"  {name:>5}: {c['pairs']:>9,} pairs ({c['positive']:,} similar), {c['songs']:,} songs, "
              f"{len(m['shards'][name])} shard(s)")
    print(f"  leakage (val/test pairs touching a training song): {m['leakage']}")
    print(m["report"])
    print(f"written to {args.out}; train with: dplib train lyrics --shards {args.out} --out runs/NAME")
    return 0


def cmd_ablation(args) -> int:
    from .config import get_config
    from .experiments import run_ablation
    from .tables import ablation_table

    overrides = {"size": args.size} if args.size else {}
    cfg = get_config(**overrides)
    for split in args.split:
        run_ablation(args.kind, cfg, split)
    print(ablation_table(cfg, args.kind))
    print(f"results: {cfg.results_dir / args.kind}")
    return 0


def cmd_train(args) -> int:
    """Train one model on any data (the bring-your-own path) and write model.keras, vocabulary.json, metrics.json."""
    from .config import get_config
    from .datasets.corpus import corpus_from_files
    from .experiments import prepare, shards_experiment, train_run

    lr_field = "learning_rate" if args.kind == "lyrics" else "audio_learning_rate"  # see Config.learning_rate_for
    overrides = {lr_field: args.lr} if args.lr is not None else {}
    if args.patience is not None:
        overrides["patience"] = args.patience
    cfg = get_config(seed=args.seed, **overrides)
    if args.shards:
        if args.kind != "lyrics" or args.pairs:
            raise SystemExit("--shards trains lyrics models from 'dplib data shards' output, without --pairs")
        exp = shards_experiment(args.shards, cfg)
    else:
        if not args.pairs:
            raise SystemExit("dplib train needs --pairs (a track_a,track_b,score CSV) or, for lyrics, --shards")
        if args.kind == "lyrics" and not args.lyrics:
            raise SystemExit("dplib train lyrics needs --lyrics (a JSONL file or a folder of TRACKID.txt)")
        if args.kind == "audio" and not args.audio:
            raise SystemExit("dplib train audio needs --audio (a folder of TRACKID.wav)")
        corpus = corpus_from_files(args.pairs, args.lyrics if args.kind == "lyrics" else None,
                                   args.audio if args.kind == "audio" else None, strict=args.strict)
        exp = prepare(args.kind, cfg, args.split, corpus, caps=(args.pairs_per_class, None, None), n_blocks=args.blocks)
    metrics = train_run(exp, args.out, args.combine, args.fc, args.conv, args.epochs)
    print(json.dumps({k: v for k, v in metrics.items() if k not in ("history", "counts", "report")}, indent=1))
    print(metrics["report"])
    return 0


def cmd_evaluate(args) -> int:
    """Score labelled pairs with a saved lyrics model and, on the same pairs, the TF-IDF cosine baseline."""
    import numpy as np

    from .baselines import tfidf_cosine
    from .config import get_config
    from .datasets.lyrics import Vocabulary, encode_lyrics, load_lyrics_texts
    from .datasets.pairs import build_pair_pool, read_pairs_csv
    from .datasets.report import DataError, SkipReport
    from .datasets.files import write_json
    from .datasets.prepare import Prepared
    from .answer import interval
    from .evaluation import cluster_bootstrap, evaluate
    from .models import load_pair_model
    from .songfolds import OutOfFold, pair_scores, pair_sources
    from .playlists import tower_of

    model_path = Path(args.model)
    if Path(args.out).resolve() == model_path.parent.resolve():
        raise DataError("--out is the model's own folder: its metrics.json is the training run's; choose another "
                        "folder", args.out)
    model = load_pair_model(model_path)
    if tower_of(model).name != "lyrics_tower":
        raise SystemExit(f"{model_path}: dplib evaluate scores lyrics models; this one has an audio tower")
    vocab_file = model_path.parent / "vocabulary.json"
    if not vocab_file.exists():
        raise DataError("a lyrics model needs the vocabulary it was trained with, beside it", vocab_file)
    trained = model_path.parent / "metrics.json"
    max_len = json.loads(trained.read_text())["settings"]["max_len"] if trained.exists() else get_config().max_len
    report = SkipReport(args.strict)
    scored = read_pairs_csv(args.pairs, report)
    texts = load_lyrics_texts(args.lyrics, report=report)
    songs = encode_lyrics(texts, Vocabulary.load(vocab_file), max_len, report)
    pairs = build_pair_pool(scored, songs.track_ids, report=report)
    if len(pairs) == 0:
        raise DataError("no pair left to score: both songs of a pair need lyrics with known words", args.pairs)
    if pairs.n_positive in (0, len(pairs)):
        raise DataError(f"all {len(pairs):,} scorable pairs are {'similar' if pairs.n_positive else 'not similar'} "
                        "(score >= 0.5 is similar): an AUC needs pairs of both classes", args.pairs)
    data = Prepared.to_score("lyrics", pairs, songs, report)
    measured = evaluate(model, data, "test", keep_scores=True)
    measured_p = measured.pop("p")
    said_similar = np.asarray(measured_p) >= 0.5  # both orders of every pair
    rows = data.pairs("test").label == 1
    recall = [float((said_similar[rows == c] == c).mean()) if (rows == c).any() else float("nan")
              for c in (True, False)]
    positives = pairs.label == 1
    rows = OutOfFold(pairs.a, pairs.b, pairs.label, pair_sources(scored, pairs))
    rows.scores = {"model": pair_scores(measured_p), "baseline": tfidf_cosine(texts, pairs.a, pairs.b)}
    point, draws = cluster_bootstrap([rows], seed=0)
    resampled = (f"95% percentile bootstrap, 2,000 resamples of the {len(set(rows.source)):,} source tracks the "
                 "pairs hang on (the first track of the row that listed each pair)")
    metrics = {
        "model": str(model_path), "pairs": str(args.pairs), "n_pairs": len(pairs), "n_positive": int(positives.sum()),
        "accuracy": measured["accuracy"], "balanced_accuracy": float(np.nanmean(recall)),
        "roc_auc": point["model"], "roc_auc_ci": interval(draws["model"]), "symmetry_gap": measured["symmetry_gap"],
        "baseline": "TF-IDF cosine (IDF fitted on these songs)", "baseline_auc": point["baseline"],
        "baseline_auc_ci": interval(draws["baseline"]),
        "model_minus_baseline_ci": interval(draws["model"] - draws["baseline"]),
        "interval": resampled,
        "majority_accuracy": float(max(positives.mean(), 1 - positives.mean())), "skipped": dict(report.skips),
    }
    fewest = min(metrics["n_positive"], metrics["n_pairs"] - metrics["n_positive"])
    if fewest < 30:  # the AUC compares every similar pair with every other: its interval rests on so few
        metrics["warning"] = (f"only {fewest} {'similar' if fewest == metrics['n_positive'] else 'not similar'} "
                              f"pair{'s' if fewest != 1 else ''}: the AUC and its interval rest on them")
    write_json(Path(args.out) / "metrics.json", metrics)
    print(json.dumps(metrics, indent=1))
    lo, hi = metrics["roc_auc_ci"]
    print(f"ROC AUC {metrics['roc_auc']:.3f} [{lo:.3f}, {hi:.3f}] on {len(pairs):,} pairs "
          f"({metrics['interval'].split(',')[0]} over source tracks); TF-IDF cosine {metrics['baseline_auc']:.3f}"
          + (f"; warning: {metrics['warning']}" if "warning" in metrics else ""))
    print(report.summary())
    return 0


def cmd_report(args) -> int:
    """Rewrite the README's results section from the saved results (numbers measured, never typed)."""
    return write_report(Path(args.readme), args.size)


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
        print(f"no real-lyrics answer in {cfg.display(cfg.results_dir)}: the real-data section is left as it was; "
              "notebook 06 writes it")
    else:
        text = fill_section(text, "real-results", real, readme)
    missing = missing_results(cfg)
    if missing:  # a partial run (notebook 03 alone, quick mode) must not replace complete tables with n/a
        print(f"{len(missing)} synthetic results missing in {cfg.display(cfg.results_dir)} (e.g. {missing[0]}): "
              "the synthetic Results section is left as it was; notebooks 05 and 07 write them")
    else:
        text = fill_section(text, "results", synthetic_results_section(cfg, readme), readme)
    write_text(readme, text)
    print(f"updated {short_path(readme)}")
    return 0


def synthetic_results_section(cfg, readme: Path) -> str:
    """Tables 2 and 3 beside the paper's: mean ± sd over ``cfg.seeds`` where every seed was run (Table 3 with the
    extra rows of notebook 07), else ``cfg.seed``'s table; training and notebook times, and the figures."""
    from .experiments import AUDIO_BEYOND, grid_of, load_results
    from .tables import ablation_table, spread_table, training_cost_table

    def table(kind: str) -> tuple[str, list[dict]]:
        extra = tuple(AUDIO_BEYOND) if kind == "audio" else ()
        runs = [r for d in ("", *extra) for s in ("pair", "song") for r in load_results(cfg, kind, s, d, cfg.seeds)]
        expected = sum(len(grid_of(kind, d)) for d in ("", *extra)) * 2 * len(cfg.seeds)
        if len(runs) == expected:
            return spread_table(cfg, kind, splits=("pair", "song"), extra=extra), runs
        return (f"Seed {cfg.seed} only (not every seed of {cfg.seeds} was run):\n\n" + ablation_table(cfg, kind),
                [r for s in ("pair", "song") for r in load_results(cfg, kind, s)])

    def took(runs: list[dict]) -> str:
        return (f"Training time of this table: {sum(r['seconds'] for r in runs) / 60:.1f} min for {len(runs)} "
                f"trainings on {os.cpu_count()} CPU cores.")

    figures = sorted(f for f in cfg.figures_dir.glob("*.png") if not f.name.startswith("real_")) \
        if cfg.figures_dir.exists() else []
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
              training_cost_table(cfg), ""]
    timing = cfg.results_dir / "notebook_times.json"
    if timing.exists():
        times = json.loads(timing.read_text())
        parts += [f"### Notebook run times (make reproduce, {os.cpu_count()} CPU cores)", "",
                  "| notebook | seconds |", "|---|---|"]
        parts += [f"| {name} | {sec:.0f} |" for name, sec in sorted(times.items())]
        parts.append("")
    parts += [f"![{fig.stem}]({fig.relative_to(readme.parent) if fig.is_relative_to(readme.parent) else fig})"
              for fig in figures]
    return "\n".join(parts)


def fill_section(text: str, name: str, body: str, where: Path) -> str:
    """Replace what stands between ``<!-- NAME:start -->`` and ``<!-- NAME:end -->``."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    if start not in text or end not in text:
        raise SystemExit(f"{where}: no '{start}' ... '{end}' section to fill")
    head, rest = text.split(start, 1)
    return head + start + "\n" + body + "\n" + end + rest.split(end, 1)[1]


def real_results_section(cfg) -> str | None:
    """Notebook 06's answer on the real lyrics set, written from its saved numbers (None: no run saved here)."""
    from .answer import answer_paragraph, answer_table, heads_table, load_answer

    result = load_answer(cfg)
    if result is None:
        return None
    t = result["trainings"]
    figure = cfg.figures_dir / "real_answer.png"
    return "\n".join([
        f"Notebook 06, size `{cfg.size}`; written by `dplib report` from `results/{cfg.size}/real-lyrics/answer.json` "
        f"({t['trainings']} trainings, {t['seconds'] / 60:.0f} min of training on {os.cpu_count()} CPU cores). "
        "ROC AUC with its 95% interval: a bootstrap over the source tracks the pairs hang on, jointly over the "
        "repeats (or seeds). New songs: repeated K-fold over lyric groups, out-of-fold pairs pooled per repeat.", "",
        answer_table(result), "", answer_paragraph(result), "",
        "The eight heads of the paper's Table 2 on new songs (fewer repeats, so wider intervals), each against TF-IDF "
        "cosine on the same pairs; \"better\" only when the paired interval excludes 0:", "", heads_table(result), "",
        *([f"![real_answer](figures/{figure.name})"] if cfg.size == "default" and figure.exists() else [])])


def cmd_playlist(args) -> int:
    """The k nearest songs to a seed song, by tower embedding (or by the pair model's score)."""
    import numpy as np

    from .config import get_config
    from .datasets.audio import encode_audio
    from .datasets.corpus import load_corpus
    from .datasets.lyrics import Vocabulary, encode_lyrics
    from .datasets.pairs import Pairs
    from .datasets.prepare import clip_blocks
    from .evaluation import predict_pairs
    from .experiments import data_folder
    from .playlists import describe, embed_songs, nearest, tower_of

    from .models import load_pair_model

    cfg = get_config()
    model_path = Path(args.model)
    model = load_pair_model(model_path)
    corpus = load_corpus(args.data or data_folder(cfg))
    tower = tower_of(model)
    if tower.name == "lyrics_tower":
        vocab_file = model_path.parent / "vocabulary.json"
        if not vocab_file.exists():
            raise SystemExit(f"{vocab_file}: a lyrics model needs the vocabulary it was trained with")
        songs = encode_lyrics(corpus.lyrics, Vocabulary.load(vocab_file), cfg.max_len)
    else:
        songs = encode_audio(corpus.paths.audio, corpus.audio_ids, clip_blocks(corpus))
    if args.track not in songs.row:
        raise SystemExit(f"track {args.track}: no lyrics/audio for it in {corpus.paths.root}")
    if args.pair_score:
        others = np.array([t for t in songs.track_ids if t != args.track], dtype=object)
        pairs = Pairs(np.full(len(others), args.track, dtype=object), others,
                      np.zeros(len(others), "float32"), np.zeros(len(others), "int32"))
        p = predict_pairs(model, pairs, songs)
        order = np.argsort(-p, kind="stable")[: args.k]
        ranked = [(others[i], float(p[i])) for i in order]
        label = "p(similar)"
    else:
        ranked = nearest(embed_songs(tower, songs), songs.track_ids, args.track, args.k)
        label = "cosine"
    print(f"seed: {describe(args.track, corpus.tracks)}")
    for rank, (tid, score) in enumerate(ranked, start=1):
        print(f"{rank:>3}. {label} {score:6.3f}  {describe(tid, corpus.tracks)}")
    return 0


def notebooks_in(folder: str | Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def missing_data(notebook: Path, fetch: bool) -> str | None:
    """Why ``notebook`` cannot run here (its metadata ``dplib.needs`` names data that is absent), or None.

    ``fetch``: try to download what is missing first (``make reproduce`` does; the tests never touch the network).
    """
    from .config import get_config

    needs = notebook_meta(notebook).get("needs", [])
    cfg = get_config()
    if "real-lyrics" in needs and cfg.real_lyrics_dir is None:
        if fetch:
            from .datasets.real_lyrics import real_lyrics_folder

            try:
                real_lyrics_folder(cfg)
                return None
            except FileNotFoundError as err:
                return str(err).splitlines()[0]
        return ("no real lyrics set (DPLIB_REAL_LYRICS, data/real-lyrics or ../shared/real-lyrics); "
                "'dplib data fetch real-lyrics' downloads it")
    return None


def cmd_reproduce(args) -> int:
    """Run every notebook in place, at the default size (papermill), ``--jobs`` at a time, timing each."""
    from .config import get_config
    from .datasets.files import write_json
    from .experiments import data_folder

    size = args.size or os.environ.get("DPLIB_SIZE", "default")
    saved = get_config(size=size).results_dir / "notebook_times.json"
    previous = json.loads(saved.read_text()) if saved.exists() else {}
    readme = Path(args.readme).resolve()
    with kernel_environment(DPLIB_SIZE=size, DPLIB_QUICK=None):
        data_folder(get_config())  # generated here once, not by two notebooks at the same time
        times = run_notebooks(notebooks_in(args.folder), previous, args.jobs)
    print("\n".join(f"{name:<40} {sec:7.0f} s" for name, sec in times))
    print(f"{'sum of the notebooks':<40} {sum(s for _, s in times):7.0f} s")
    write_json(saved, {**previous, **dict(times)})
    return write_report(readme, size)


@contextmanager
def kernel_environment(**values: str | None):
    """Environment variables for the notebook kernels papermill starts (they inherit ours), restored afterwards;
    ``None`` unsets one."""
    def put(settings: dict[str, str | None]) -> None:
        for name, value in settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    saved = {name: os.environ.get(name) for name in values}
    put(values)
    try:
        yield
    finally:
        put(saved)


def run_notebooks(notebooks: list[Path], previous: dict[str, float] | None = None,
                  jobs: int = 1) -> list[tuple[str, float]]:
    """Each notebook in place, ``jobs`` at a time (see :func:`side_by_side`), its output streamed live, each line
    led by the notebook's number when several run; a notebook whose data is missing is skipped with the reason.
    ``previous`` (seconds per notebook, from the last run) gives an estimate of what is left. Returns (name, seconds)
    of those that ran, in name order. A notebook that fails stops the run once those running have finished: one
    line names it and its cell."""
    import papermill

    previous, running, notebooks = previous or {}, [], [nb.resolve() for nb in notebooks]
    for i, nb in enumerate(notebooks, start=1):
        reason = missing_data(nb, fetch=True)
        if reason:
            print(f"[{i}/{len(notebooks)}] SKIPPED {nb.name}: {reason}", flush=True)
        else:
            running.append(nb)
    started_all, finished = time.perf_counter(), set()

    def run(nb: Path) -> float:
        started = time.perf_counter()
        left = [previous.get(n.name) for n in running if n.name not in finished]
        estimate = f"; about {sum(left) / 60 / jobs:.0f} min left by the last run's times" if all(left) else ""
        say(f"[{notebooks.index(nb) + 1}/{len(notebooks)}] running {nb.name} "
            f"({(started - started_all) / 60:.1f} min so far{estimate}) ...")
        out = PrefixedLines(f"{nb.name[:2]} | " if jobs > 1 else "", sys.stdout)
        try:
            papermill.execute_notebook(str(nb), str(nb), cwd=str(nb.parent), kernel_name="python3",
                                       progress_bar=False, log_output=True, stdout_file=out,
                                       # the kernel's own log is not the notebook's output: its start-up
                                       # warning about its local transport, and the error it logs when the
                                       # interrupt that every shutdown sends first lands inside a message
                                       # handler (a race, found by CI). A failing cell still arrives as a
                                       # PapermillExecutionError below.
                                       extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
        except papermill.PapermillExecutionError as err:
            raise RuntimeError(f"{nb.name} failed in cell [{err.exec_count}]: {err.ename}: {err.evalue} "
                               "(the notebook, saved in place, shows the traceback)") from None
        finally:
            out.flush()
        finished.add(nb.name)
        say(f"  {nb.name}: {time.perf_counter() - started:.0f} s")
        return time.perf_counter() - started

    home = os.getcwd()
    try:
        done = side_by_side(running, run, jobs)
    finally:  # papermill changes the process's folder for each notebook it runs: two side by side can leave it moved
        os.chdir(home)
    errors = [f.exception() for f in done.values() if f.exception() and not isinstance(f.exception(), NotStarted)]
    if errors:
        raise errors[0]  # one line: the notebook and the cell that failed
    return [(nb.name, done[nb.name].result()) for nb in running]


class NotStarted(RuntimeError):
    """A notebook that :func:`side_by_side` did not start because another had failed."""


def side_by_side(notebooks: list[Path], run, jobs: int) -> dict:
    """``run(notebook)`` for each notebook, ``jobs`` at a time: what ``dplib reproduce`` and ``dplib nbval`` share.
    A notebook waits for those its metadata ``dplib.after`` names (it reads their results); see :func:`start_order`.
    Returns the finished futures by name; after a failure no new notebook starts."""
    from concurrent.futures import ThreadPoolExecutor

    futures, failed = {}, []

    def one(nb: Path):
        for name in notebook_meta(nb).get("after", []):
            if name in futures:
                futures[name].exception()  # waits; a failure there is in ``failed``
        if failed:
            raise NotStarted(f"{nb.name} not started: {failed[0]} failed")
        try:
            return run(nb)
        except BaseException:
            failed.append(nb.name)
            raise

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        for nb in start_order(notebooks):
            futures[nb.name] = pool.submit(one, nb)
    return futures


def start_order(notebooks: list[Path]) -> list[Path]:
    """The order notebooks start in: those whose metadata says ``dplib.first`` (07 and 09, which train the most)
    first, so that the short ones fill the other worker meanwhile instead of leaving the longest for the end; then
    name order; those that wait for others (``dplib.after``) last, so that no worker sits idle waiting while another
    notebook could run."""
    def key(nb: Path) -> tuple[bool, bool, str]:
        meta = notebook_meta(nb)
        return bool(meta.get("after")), not meta.get("first"), nb.name

    return sorted(notebooks, key=key)


def say(line: str) -> None:
    """Print one line whole, whichever notebook's thread prints it."""
    with PrefixedLines.lock:
        print(line, flush=True)


class PrefixedLines:
    """A text stream that writes whole lines to ``stream``, each led by ``prefix``: the outputs of notebooks that
    run side by side stay readable, one line at a time."""

    lock = threading.Lock()  # one for every stream: lines of two notebooks never mix

    def __init__(self, prefix: str, stream):
        self.prefix, self.stream, self.pending = prefix, stream, ""

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        with self.lock:
            for line in lines:
                self.stream.write(f"{self.prefix}{line}\n")
            self.stream.flush()
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.write("\n")


def notebook_meta(notebook: Path) -> dict:
    """The notebook's ``dplib`` metadata: ``needs`` (data it reads), ``after`` (notebooks whose results it reads),
    ``first`` (start it before the others)."""
    return json.loads(notebook.read_text()).get("metadata", {}).get("dplib", {})


def _nbval_one(nb: Path, sanitize: Path) -> tuple[int, str, float]:
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "pytest", "-q", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider", str(nb)]
    if sanitize.exists():
        cmd[5:5] = ["--nbval-sanitize-with", str(sanitize)]
    done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return done.returncode, done.stdout, time.perf_counter() - started


def cmd_nbval(args) -> int:
    """Check every notebook with nbval (lax mode), one pytest run each, ``--jobs`` at a time, and print each one's
    time. A notebook waits for those its metadata ``dplib.after`` names (it reads their results); the data every
    notebook reads is made first, once. A notebook whose data is absent (see :func:`missing_data`) is skipped with
    the reason, never silently; a failed notebook's pytest output is printed (see :func:`side_by_side`)."""
    from .config import get_config
    from .experiments import data_folder

    root = Path(__file__).resolve().parent.parent
    sanitize = root / "tests" / "nbval_sanitize.cfg"
    notebooks, skipped = [], []
    for nb in notebooks_in(args.folder):
        reason = missing_data(nb, fetch=False)
        if reason:
            skipped.append(nb.name)
            print(f"nbval {nb.name}: SKIPPED: {reason}", flush=True)
        else:
            notebooks.append(nb)
    data_folder(get_config())  # generated here once, not by two notebooks at the same time
    started = time.perf_counter()

    def check(nb: Path) -> tuple[int, str, float]:
        code, output, seconds = _nbval_one(nb, sanitize)
        print(f"nbval {nb.name}: {'ok' if code == 0 else 'FAILED'} in {seconds:.0f} s "
              f"({(time.perf_counter() - started) / 60:.1f} min since the start)", flush=True)
        if code != 0:
            print(output, flush=True)
        return code, output, seconds

    done = side_by_side(notebooks, check, args.jobs)  # a failed check returns its code: every notebook runs
    results = {nb.name: done[nb.name].result() for nb in notebooks}
    failed = [name for name, (code, _, _) in results.items() if code != 0]
    print("\n".join(f"{name:<40} {sec:6.0f} s" for name, (_, _, sec) in results.items()))
    print(f"{'total (wall clock, ' + str(args.jobs) + ' at a time)':<40} {time.perf_counter() - started:6.0f} s")
    print(f"notebooks: {len(results) - len(failed)} passed, {len(failed)} failed, {len(skipped)} skipped")
    return 1 if failed or not results else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dplib", description=__doc__,
                                     epilog="Add --debug (or set DPLIB_DEBUG=1) to see a traceback on errors.")
    from . import __version__

    parser.add_argument("--version", action="version", version=f"dplib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="make, fetch or inspect data").add_subparsers(dest="data_command", required=True)
    p = data.add_parser("synth", help="write the synthetic mini-MSD")
    p.add_argument("--size", choices=SIZE_NAMES, default="default")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise", type=float, default=1.0, help="0 easy, 1 the tutorial's, 2 hard")
    p.set_defaults(func=cmd_data_synth)
    p = data.add_parser("summary", help="what a data folder holds, and what was skipped")
    p.add_argument("folder")
    p.add_argument("--strict", action="store_true", help="stop at the first bad record")
    p.set_defaults(func=cmd_data_summary)
    p = data.add_parser("fetch", help="download public data: the real lyrics set, Last.fm and musiXmatch files")
    p.add_argument("files", nargs="+", choices=["real-lyrics", "lyrics-archive", *sorted(PUBLIC_FILES)],
                   metavar="NAME", help="real-lyrics (Last.fm scores + the authors' lyrics, built into pairs.csv and "
                   "lyrics/), lyrics-archive (all the authors' lyrics as lyrics/), or one of "
                   + ", ".join(sorted(PUBLIC_FILES)))
    p.add_argument("--out", help="folder to write (default data/real-lyrics for real-lyrics, else data/real)")
    p.add_argument("--scores", help="real-lyrics: a local copy of similar_songs.csv instead of downloading it")
    p.add_argument("--lyrics-archive", help="a local copy of the deep-playlist archive (.zip) instead of downloading it")
    p.add_argument("--cache", help="where downloads are kept (default data/downloads)")
    p.add_argument("--strict", action="store_true", help="stop at the first bad score row instead of counting it")
    p.set_defaults(func=cmd_data_fetch)

    p = data.add_parser("shards", help="stream a data folder into TFRecord shards (lyrics; corpora of any size)")
    p.add_argument("folder", help="a data folder (Last.fm files or pairs.csv, and lyrics)")
    p.add_argument("--out", required=True)
    p.add_argument("--split", choices=["pair", "song"], default="song")
    p.add_argument("--pairs-per-class", type=positive_int, nargs="+", default=[], metavar="N",
                   help="cap per class for train [val [test]] (default: all a balanced split allows)")
    p.add_argument("--max-len", type=positive_int, default=None, help="words kept per song (default 120)")
    p.add_argument("--shard-size", type=positive_int, default=100_000, help="examples per shard file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strict", action="store_true", help="stop at the first bad record")
    p.set_defaults(func=cmd_data_shards)

    p = sub.add_parser("ablation", help="run Table 2 (lyrics) or Table 3 (audio)")
    p.add_argument("kind", choices=["lyrics", "audio"])
    p.add_argument("--size", choices=SIZE_NAMES)
    p.add_argument("--split", nargs="+", choices=["pair", "song"], default=["pair", "song"])
    p.set_defaults(func=cmd_ablation)

    p = sub.add_parser("train", help="train one model on your own pairs and lyrics or audio")
    p.add_argument("kind", choices=["lyrics", "audio"])
    p.add_argument("--pairs", help="CSV with track_a,track_b,score")
    p.add_argument("--shards", help="lyrics: a folder written by 'dplib data shards' (streamed, any corpus size)")
    p.add_argument("--lyrics", help="JSONL of {track_id, text} or a folder of TRACKID.txt")
    p.add_argument("--audio", help="folder of TRACKID.wav")
    p.add_argument("--combine", default=None, choices=["concat", "diff", "absdiff", "product", "all", "all_sym"],
                   help="how the two songs' states are combined (default: all for lyrics, absdiff for audio)")
    p.add_argument("--fc", type=int, default=None, choices=[1, 2], help="FC layers in the head (default 2 lyrics, 1 audio)")
    p.add_argument("--conv", type=int, default=1, choices=[0, 1, 2], help="audio: Conv1D layers")
    p.add_argument("--blocks", type=positive_int, default=None, help="audio: blocks per clip (default: 60, i.e. 30 s)")
    p.add_argument("--split", choices=["pair", "song"], default="song",
                   help="pair: random over pairs (songs leak across parts); song: song-disjoint (default), with tracks "
                   "whose lyrics are the same text (other releases, covers) kept on one side")
    p.add_argument("--epochs", type=positive_int, help="most epochs (default from dplib.config)")
    p.add_argument("--patience", type=positive_int,
                   help="stop this many epochs after the best validation ROC AUC (default from dplib.config)")
    p.add_argument("--lr", type=positive_float, help="learning rate (default from dplib.config)")
    p.add_argument("--pairs-per-class", type=positive_int, default=None, help="cap on training pairs per class")
    p.add_argument("--seed", type=int, default=0, help="random seed: the split and the initial weights")
    p.add_argument("--strict", action="store_true", help="every skipped record is an error, through training")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("evaluate", help="score labelled pairs with a saved lyrics model, beside TF-IDF cosine: ROC AUC "
                       "with a 95%% interval (a bootstrap over the source tracks the pairs hang on)")
    p.add_argument("--model", required=True, help="a model.keras written by dplib train (vocabulary.json beside it)")
    p.add_argument("--pairs", required=True, help="CSV with track_a,track_b,score")
    p.add_argument("--lyrics", required=True, help="JSONL of {track_id, text} or a folder of TRACKID.txt")
    p.add_argument("--out", required=True, help="folder for metrics.json (not the model's own folder)")
    p.add_argument("--strict", action="store_true", help="every skipped record is an error")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("playlist", help="the k nearest songs to a seed song")
    p.add_argument("--model", required=True, help="a model.keras written by dplib train")
    p.add_argument("--track", required=True, help="the playlist's seed song (a track id)")
    p.add_argument("--k", type=positive_int, default=10, help="songs to list")
    p.add_argument("--data", help="data folder with the songs (default: the synthetic data of this size)")
    p.add_argument("--pair-score", action="store_true", help="rank by the pair model's p(similar) instead of cosine")
    p.set_defaults(func=cmd_playlist)

    p = sub.add_parser("reproduce", help="run the notebooks in place (papermill), two at a time")
    p.add_argument("--folder", default="notebooks")
    p.add_argument("--jobs", type=positive_int, default=min(os.cpu_count() or 1, 2),
                   help="notebooks run at the same time (default: 2, or 1 on one core; make bench measures the gain)")
    p.add_argument("--size", choices=SIZE_NAMES)
    p.add_argument("--readme", default="README.md")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("report", help="fill the README's results section from results/")
    p.add_argument("--readme", default="README.md")
    p.add_argument("--size", choices=SIZE_NAMES)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("nbval", help="check the notebooks with nbval, timing each")
    p.add_argument("folder", nargs="?", default="notebooks")
    p.add_argument("--jobs", type=positive_int, default=min(os.cpu_count() or 1, 4),
                   help="notebooks checked at the same time (default: the CPU cores, at most 4)")
    p.set_defaults(func=cmd_nbval)
    return parser


def positive_int(text: str) -> int:
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number, got {text}")
    return value


def positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Run one command. Bad input is one line naming the file (and line) and exit code 1; ``--debug`` or
    ``DPLIB_DEBUG=1`` shows the traceback instead."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("DPLIB_DEBUG", "") not in ("", "0")
    argv = [a for a in argv if a != "--debug"]
    args = build_parser().parse_args(argv)
    from .config import quiet_tensorflow
    from .datasets.report import DataError

    if args.command != "data" or args.data_command == "shards":  # the other data commands never load TensorFlow
        quiet_tensorflow()
    try:
        return args.func(args)
    except (DataError, FileNotFoundError, RuntimeError) as err:
        if debug:
            raise
        print(f"dplib {args.command}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
