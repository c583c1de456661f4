"""What each ``dplib`` command does, once :mod:`dplib.cli` has parsed and checked its arguments and claimed its
``--out`` (a command that writes a folder gets the folder to write into): each calls the library function that
does the job and prints its summary."""
from __future__ import annotations

import json
import sys
from pathlib import Path


def cmd_data_synth(args, out: Path) -> None:
    from .datasets.synthetic import generate

    generate(out, args.size, seed=args.seed, noise=args.noise)
    print((out / "DATA_CARD.md").read_text())


def cmd_data_summary(args) -> None:
    from .datasets.corpus import load_corpus

    print(load_corpus(args.folder, strict=args.strict).summary())


def cmd_data_fetch(args) -> None:
    """Each name in turn; real-lyrics and lyrics-archive are folders this command owns (:mod:`dplib.outputs`), the
    public files land side by side in one folder."""
    from .config import get_config
    from .datasets.download import fetch
    from .datasets.real_lyrics import build_lyrics_folder, download, fetch_real_lyrics, LYRICS_ARCHIVE
    from .datasets.report import SkipReport
    from .outputs import check_output, owned_folder

    cfg = get_config()  # the defaults are the checkout's data folder, wherever the command runs
    cache = Path(args.cache) if args.cache else cfg.data_folder / "downloads"
    local = [args.scores, args.lyrics_archive]
    for name in args.files:
        if name == "real-lyrics":
            target = Path(args.out) if args.out else cfg.data_folder / "real-lyrics"
            shown = args.out or cfg.display(target)
            report = SkipReport(args.strict)
            with owned_folder(target, "data fetch", local + [cache], args.force) as out:
                counts = fetch_real_lyrics(out, cache, args.scores, args.lyrics_archive, report, rebuild=args.force)
            print(f"{shown}: {counts['listings']:,} scored listings ({counts['similar_listings']:,} >= 0.5) over "
                  f"{counts['tracks']:,} tracks with lyrics; check it with: dplib data summary {shown}")
            if report.total:
                print(f"{args.scores or 'the scores'}: {report.summary()}", file=sys.stderr)
            if not counts.get("verified", True):
                print(f"warning: built from files that are not the pinned sources (their sha256 and counts differ): "
                      f"{shown}/build.json records what they were")
        elif name == "lyrics-archive":
            target = (Path(args.out) if args.out else cfg.data_folder / "real") / "lyrics"
            shown = Path(args.out) / "lyrics" if args.out else cfg.display(target)
            with owned_folder(target, "data fetch", local, args.force) as out:
                archive = Path(args.lyrics_archive) if args.lyrics_archive else download(LYRICS_ARCHIVE, cache)
                n = build_lyrics_folder(archive, out.parent)
            print(f"{shown}: {n:,} tracks with lyrics (join them with lastfm_train/ or lastfm_similars.db beside it)")
        else:
            print(fetch(name, check_output(args.out or cfg.data_folder / "real", "data fetch", shared=True)))


def cmd_data_shards(args, out: Path) -> None:
    from .config import get_config
    from .datasets.streaming import prepare_lyrics_shards

    cfg = get_config(**seed_of(args))
    pairs_per_class = (args.pairs_per_class + [None, None, None])[:3]
    m = prepare_lyrics_shards(args.folder, out, args.split, pairs_per_class, max_len=args.max_len or cfg.max_len,
                              min_count=cfg.min_count, max_doc_freq=cfg.max_doc_freq, seed=cfg.seed,
                              shard_size=args.shard_size, strict=args.strict).manifest
    print(f"{m['listed_pairs']:,} listings -> {m['unique_pairs']:,} unique -> split '{m['split']}', balanced, "
          f"both orders; vocabulary {m['vocab_size']:,} (training songs only)")
    for part, c in m["counts"].items():
        print(f"  {part:>5}: {c['pairs']:>9,} pairs ({c['similar']:,} similar), {c['songs']:,} songs, "
              f"{len(m['shards'][part])} shard(s)")
    print(f"  leakage (val/test pairs touching a training song): {m['leakage']}\n{m['report']}")
    print(f"written to {args.out}; train with: dplib train lyrics --shards {args.out} --out runs/NAME")


def cmd_ablation(args) -> None:
    from .config import get_config
    from .experiments import run_ablation
    from .tables import ablation_table

    cfg = get_config(**({"size": args.size} if args.size else {}))
    for split in args.split:
        run_ablation(args.kind, cfg, split)
    print(ablation_table(cfg, args.kind))
    print(f"results: {cfg.display(cfg.results_folder / args.kind)}")


def cmd_train(args, out: Path) -> None:
    from .config import get_config
    from .datasets.corpus import corpus_from_files
    from .experiments import prepare, shards_experiment
    from .runs import train_run

    lr_field = "learning_rate" if args.kind == "lyrics" else "audio_learning_rate"  # see Config.learning_rate_for
    overrides = {lr_field: args.lr} if args.lr is not None else {}
    if args.patience is not None:
        overrides["patience"] = args.patience
    cfg = get_config(**seed_of(args), **overrides)
    if args.shards:
        exp = shards_experiment(args.shards, cfg)
    else:
        corpus = corpus_from_files(args.pairs, args.lyrics if args.kind == "lyrics" else None,
                                   args.audio if args.kind == "audio" else None, strict=args.strict)
        exp = prepare(args.kind, cfg, args.split or "song", corpus, pairs_per_class=(args.pairs_per_class, None, None),
                      n_blocks=args.blocks)
    metrics = train_run(exp, out, args.combine, args.fc, 1 if args.conv is None else args.conv, args.epochs)
    print(json.dumps({k: v for k, v in metrics.items() if k not in ("history", "counts", "report")}, indent=1))
    print(metrics["report"])


def cmd_evaluate(args, out: Path) -> None:
    from .config import get_config
    from .datasets.files import write_json
    from .evaluation import score_saved
    from .runs import load_run

    metrics = score_saved(load_run(args.model), args.pairs, args.lyrics, args.strict, get_config().max_len)
    write_json(out / "metrics.json", metrics)
    print(json.dumps({k: v for k, v in metrics.items() if k != "report"}, indent=1))
    ci = metrics["roc_auc_ci"]
    shown = f" [{ci[0]:.3f}, {ci[1]:.3f}]" if ci else " (no interval)"
    print(f"ROC AUC {metrics['roc_auc']:.3f}{shown} on {metrics['n_pairs']:,} pairs "
          f"(95% bootstrap over source tracks); TF-IDF cosine {metrics['baseline_auc']:.3f}"
          + (f"; warning: {metrics['warning']}" if "warning" in metrics else ""))
    print(metrics["report"])


def cmd_playlist(args) -> None:
    from .config import get_config
    from .datasets.corpus import load_corpus
    from .datasets.report import SkipReport
    from .experiments import input_folder
    from .playlists import playlist
    from .runs import load_run

    run = load_run(args.model)  # before the data: a wrong --model costs no data generation
    cfg = get_config()
    # --strict holds for the songs the ranking reads: an audio playlist is not stopped by a missing lyric
    corpus = load_corpus(args.data or input_folder(cfg), strict=args.strict and run.kind == "lyrics")
    skipped = corpus.report if run.kind == "lyrics" else SkipReport(args.strict)
    print("\n".join(playlist(run, corpus, args.track, args.k, args.pair_score, cfg.max_len, skipped)))
    if skipped.total:  # songs left out of the ranking are said, never dropped silently
        print(f"{cfg.display(corpus.paths.root)}: {skipped.summary()}", file=sys.stderr)


def cmd_reproduce(args) -> int:
    from .config import get_config
    from .scheduler import reproduce

    return reproduce(args.folder, args.jobs, args.size or get_config().size, args.readme)


def cmd_report(args) -> int:
    from .readme import write_report

    return write_report(Path(args.readme), args.size)


def cmd_nbval(args) -> int:
    from .scheduler import nbval

    return nbval(args.folder, args.jobs)


def seed_of(args) -> dict:
    """``--seed`` when given; unset, the configuration's (``DPLIB_SEED``, else 0)."""
    return {"seed": args.seed} if args.seed is not None else {}
