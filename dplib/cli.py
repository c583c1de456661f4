"""The ``dplib`` command line: data, ablations, training on your own files, and running the notebooks."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path


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
    from .datasets.download import fetch

    for name in args.files:
        print(fetch(name, args.out))
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
    from .experiments import ablation_table, run_ablation

    overrides = {"size": args.size} if args.size else {}
    cfg = get_config(**overrides)
    for split in args.split:
        run_ablation(args.kind, cfg, split)
    print(ablation_table(cfg, args.kind))
    print(f"results: {cfg.results_dir / args.kind}")
    return 0


def cmd_train(args) -> int:
    """Train one model on any data: the bring-your-own path."""
    from .config import get_config, seed_everything
    from .datasets.corpus import Corpus, DataPaths
    from .datasets.lyrics import load_lyrics_texts
    from .datasets.pairs import read_pairs_csv
    from .datasets.prepare import prepare_audio, prepare_lyrics
    from .datasets.report import SkipReport
    from .evaluation import evaluate_pairs
    from .experiments import Experiment, baseline_result, build_model
    from .training import fit

    lr_field = "learning_rate" if args.kind == "lyrics" else "audio_learning_rate"  # see Config.learning_rate_for
    cfg = get_config(seed=args.seed, **({lr_field: args.lr} if args.lr else {}))
    if args.shards:
        if args.kind != "lyrics" or args.pairs:
            raise SystemExit("--shards trains lyrics models from 'dplib data shards' output, without --pairs")
        return train_from_shards(args, cfg)
    if not args.pairs:
        raise SystemExit("dplib train needs --pairs (a track_a,track_b,score CSV) or, for lyrics, --shards")
    report = SkipReport(args.strict)
    scored = read_pairs_csv(args.pairs, report)
    paths = DataPaths(Path(args.pairs).parent, pairs_csv=Path(args.pairs))
    lyrics, audio_ids = {}, []
    if args.kind == "lyrics":
        if not args.lyrics:
            raise SystemExit("dplib train lyrics needs --lyrics (a JSONL file or a folder of TRACKID.txt)")
        lyrics = load_lyrics_texts(args.lyrics, report=report)
    else:
        if not args.audio:
            raise SystemExit("dplib train audio needs --audio (a folder of TRACKID.wav)")
        paths.audio = Path(args.audio)
        audio_ids = sorted(p.stem for p in paths.audio.iterdir() if p.is_file())
    corpus = Corpus(paths, {}, scored, lyrics, "ordered text", audio_ids, report)
    n = (args.pairs_per_class, None, None)
    if args.kind == "lyrics":
        data = prepare_lyrics(corpus, args.split, n, max_len=cfg.max_len, seed=cfg.seed)
    else:
        data = prepare_audio(corpus, args.split, n, n_blocks=args.blocks, seed=cfg.seed)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    exp = Experiment(args.kind, args.split, cfg, corpus, data)
    seed_everything(cfg.seed)
    model = build_model(exp, args.combine, args.fc, args.conv)
    history = fit(model, data, epochs=args.epochs or (cfg.lyrics_epochs if args.kind == "lyrics" else cfg.audio_epochs),
                  batch_size=cfg.batch_size_for(args.kind), seed=cfg.seed, verbose=2)
    test = evaluate_pairs(model, data.splits.test, data.songs)
    val = evaluate_pairs(model, data.splits.val, data.songs)
    baseline = baseline_result(exp, out / "baseline.json")
    metrics = {
        "kind": args.kind, "combine": args.combine, "fc": args.fc, "conv_layers": args.conv,
        "val_accuracy": val["accuracy"], "test_accuracy": test["accuracy"], "roc_auc": test["roc_auc"],
        "symmetry_gap": test["symmetry_gap"], "baseline": baseline["name"], "baseline_auc": baseline["roc_auc"],
        "n_train_pairs": len(data.splits.train), "n_val_pairs": len(data.splits.val), "n_test_pairs": len(data.splits.test),
        "split": args.split, "leakage": data.splits.leakage, "history": {k: v for k, v in history.items()},
        "skipped": dict(report.skips) | dict(data.report.skips), "seed": cfg.seed,
    }
    model.save(out / "model.keras")
    if data.vocab is not None:
        data.vocab.save(out / "vocabulary.json")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(json.dumps({k: v for k, v in metrics.items() if k != "history"}, indent=1))
    print(report.summary())
    return 0


def train_from_shards(args, cfg) -> int:
    """The streamed path: shards written by ``dplib data shards``, never loaded whole."""
    from .config import seed_everything
    from .datasets.streaming import StreamedLyrics
    from .evaluation import evaluate_shards
    from .models import build_lyrics_model
    from .training import fit_streamed, make_strategy

    data = StreamedLyrics.load(args.shards)
    seed_everything(cfg.seed)
    combine, fc = args.combine or "all", args.fc or 2
    with make_strategy(cfg.strategy).scope():  # DPLIB_STRATEGY=mirrored / tpu, as everywhere else
        model = build_lyrics_model(data.vocab_size, combine, fc, learning_rate=cfg.learning_rate)
    history = fit_streamed(model, data, epochs=args.epochs or cfg.lyrics_epochs, batch_size=cfg.batch_size,
                           seed=cfg.seed, verbose=2, fixed_shapes=cfg.strategy == "tpu")
    val, test = evaluate_shards(model, data, "val"), evaluate_shards(model, data, "test")
    metrics = {
        "kind": "lyrics", "combine": combine, "fc": fc, "shards": str(args.shards),
        "val_accuracy": val["accuracy"], "test_accuracy": test["accuracy"], "roc_auc": test["roc_auc"],
        "symmetry_gap": test["symmetry_gap"], "n_train_pairs": data.counts()["train"]["pairs"],
        "n_val_pairs": val["n_pairs"], "n_test_pairs": test["n_pairs"], "split": data.manifest["split"],
        "leakage": data.manifest["leakage"], "history": history, "skipped": data.manifest["skipped"], "seed": cfg.seed,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    data.vocabulary().save(out / "vocabulary.json")  # dplib playlist encodes songs with it
    (out / "metrics.json").write_text(json.dumps(metrics, indent=1))
    print(json.dumps({k: v for k, v in metrics.items() if k != "history"}, indent=1))
    return 0


def cmd_report(args) -> int:
    """Rewrite the README's results section from the saved results (numbers measured, never typed)."""
    from .config import get_config
    from .experiments import ablation_table, load_results

    cfg = get_config(**({"size": args.size} if args.size else {}))

    def took(kind: str) -> str:
        spent = {s: sum(r["seconds"] for r in load_results(cfg, kind, s)) for s in ("pair", "song")}
        return (f"Training time of this table: {spent['pair'] / 60:.1f} min (pair split) + "
                f"{spent['song'] / 60:.1f} min (song split) on {os.cpu_count()} CPU cores.")

    readme = Path(args.readme).resolve()
    text = readme.read_text()
    start, end = "<!-- results:start -->", "<!-- results:end -->"
    if start not in text or end not in text:
        raise SystemExit(f"{readme}: no '{start}' ... '{end}' section to fill")
    figures = sorted(cfg.figures_dir.glob("*.png")) if cfg.figures_dir.exists() else []
    parts = [f"Size `{cfg.size}`, seed {cfg.seed}; written by `dplib report`.", "",
             "### Table 2, lyrics", "", ablation_table(cfg, "lyrics"), "", took("lyrics"), "",
             "### Table 3, audio", "", ablation_table(cfg, "audio"), "", took("audio"), ""]
    timing = cfg.results_dir / "notebook_times.json"
    if timing.exists():
        times = json.loads(timing.read_text())
        parts += ["### Notebook run times (make reproduce)", "", "| notebook | seconds |", "|---|---|"]
        parts += [f"| {name} | {sec:.0f} |" for name, sec in times.items()]
        parts.append("")
    for fig in figures:
        rel = fig.relative_to(readme.parent) if fig.is_relative_to(readme.parent) else fig
        parts.append(f"![{fig.stem}]({rel})")
    body = "\n".join(parts)
    head, rest = text.split(start, 1)
    readme.write_text(head + start + "\n" + body + "\n" + end + rest.split(end, 1)[1])
    print(f"updated {readme}")
    return 0


def cmd_playlist(args) -> int:
    """The k nearest songs to a seed song, by tower embedding (or by the pair model's score)."""
    import keras
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

    cfg = get_config()
    model_path = Path(args.model)
    model = keras.models.load_model(model_path)
    corpus = load_corpus(args.data or data_folder(cfg))
    tower = tower_of(model)
    if tower.name == "lyrics_tower":
        vocab_file = model_path.parent / "vocabulary.json"
        if not vocab_file.exists():
            raise SystemExit(f"{vocab_file}: a lyrics model needs the vocabulary it was trained with")
        songs = encode_lyrics(corpus.lyrics, Vocabulary.load(vocab_file), cfg.max_len)
    else:
        songs = encode_audio(corpus.paths.audio, corpus.audio_ids, clip_blocks(corpus))
    if args.seed not in songs.row:
        raise SystemExit(f"seed track {args.seed}: no lyrics/audio for it in {corpus.paths.root}")
    if args.pair_score:
        others = np.array([t for t in songs.track_ids if t != args.seed], dtype=object)
        pairs = Pairs(np.full(len(others), args.seed, dtype=object), others,
                      np.zeros(len(others), "float32"), np.zeros(len(others), "int32"))
        p = predict_pairs(model, pairs, songs)
        order = np.argsort(-p, kind="stable")[: args.k]
        ranked = [(others[i], float(p[i])) for i in order]
        label = "p(similar)"
    else:
        ranked = nearest(embed_songs(tower, songs), songs.track_ids, args.seed, args.k)
        label = "cosine"
    print(f"seed: {describe(args.seed, corpus.tracks)}")
    for rank, (tid, score) in enumerate(ranked, start=1):
        print(f"{rank:>3}. {label} {score:6.3f}  {describe(tid, corpus.tracks)}")
    return 0


def notebooks_in(folder: str | Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def cmd_reproduce(args) -> int:
    """Run every notebook in order, in place, at the default size (papermill), timing each."""
    import papermill

    env_size = os.environ.get("DPLIB_SIZE", "default")
    os.environ["DPLIB_SIZE"] = args.size or env_size
    os.environ.pop("DPLIB_QUICK", None)
    times = []
    for nb in notebooks_in(args.folder):
        started = time.perf_counter()
        print(f"running {nb} ...", flush=True)
        papermill.execute_notebook(str(nb), str(nb), cwd=str(nb.parent), kernel_name="python3", progress_bar=False)
        times.append((nb.name, time.perf_counter() - started))
        print(f"  {nb.name}: {times[-1][1]:.0f} s", flush=True)
    print("\n".join(f"{name:<40} {sec:7.0f} s" for name, sec in times))
    print(f"{'total':<40} {sum(s for _, s in times):7.0f} s")
    from .config import get_config

    cfg = get_config()
    cfg.results_dir.mkdir(parents=True, exist_ok=True)
    (cfg.results_dir / "notebook_times.json").write_text(json.dumps(dict(times), indent=1))
    return cmd_report(argparse.Namespace(readme=args.readme, size=None))


def cmd_nbval(args) -> int:
    """Check every notebook with nbval (lax mode), one pytest run each, and print each one's time."""
    root = Path(__file__).resolve().parent.parent
    sanitize = root / "tests" / "nbval_sanitize.cfg"
    failed, times = [], []
    for nb in notebooks_in(args.folder):
        started = time.perf_counter()
        cmd = [sys.executable, "-m", "pytest", "-q", "--nbval-lax", "--nbval-current-env",
               "-p", "no:cacheprovider", str(nb)]
        if sanitize.exists():
            cmd[5:5] = ["--nbval-sanitize-with", str(sanitize)]
        code = subprocess.call(cmd)
        times.append((nb.name, time.perf_counter() - started))
        print(f"nbval {nb.name}: {'ok' if code == 0 else 'FAILED'} in {times[-1][1]:.0f} s", flush=True)
        if code != 0:
            failed.append(nb.name)
    total = sum(s for _, s in times)
    print("\n".join(f"{name:<40} {sec:6.0f} s" for name, sec in times) + f"\n{'total':<40} {total:6.0f} s")
    print(f"notebooks: {len(times) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed or not times else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="dplib", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    data = sub.add_parser("data", help="make, fetch or inspect data").add_subparsers(dest="data_command", required=True)
    p = data.add_parser("synth", help="write the synthetic mini-MSD")
    p.add_argument("--size", choices=["quick", "default", "paper"], default="default")
    p.add_argument("--out", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--noise", type=float, default=1.0, help="0 easy, 1 the tutorial's, 2 hard")
    p.set_defaults(func=cmd_data_synth)
    p = data.add_parser("summary", help="what a data folder holds, and what was skipped")
    p.add_argument("folder")
    p.add_argument("--strict", action="store_true", help="stop at the first bad record")
    p.set_defaults(func=cmd_data_summary)
    p = data.add_parser("fetch", help="download public Last.fm / musiXmatch files")
    p.add_argument("files", nargs="+", help="lastfm_subset lastfm_train lastfm_test lastfm_similars mxm_train mxm_test")
    p.add_argument("--out", default="data/real")
    p.set_defaults(func=cmd_data_fetch)

    p = data.add_parser("shards", help="stream a data folder into TFRecord shards (lyrics; corpora of any size)")
    p.add_argument("folder", help="a data folder (Last.fm files or pairs.csv, and lyrics)")
    p.add_argument("--out", required=True)
    p.add_argument("--split", choices=["pair", "song"], default="song")
    p.add_argument("--pairs-per-class", type=int, nargs="+", default=[], metavar="N",
                   help="cap per class for train [val [test]] (default: all a balanced split allows)")
    p.add_argument("--max-len", type=int, default=None, help="words kept per song (default 120)")
    p.add_argument("--shard-size", type=int, default=100_000, help="examples per shard file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strict", action="store_true", help="stop at the first bad record")
    p.set_defaults(func=cmd_data_shards)

    p = sub.add_parser("ablation", help="run Table 2 (lyrics) or Table 3 (audio)")
    p.add_argument("kind", choices=["lyrics", "audio"])
    p.add_argument("--size", choices=["quick", "default", "paper"])
    p.add_argument("--split", nargs="+", choices=["pair", "song"], default=["pair", "song"])
    p.set_defaults(func=cmd_ablation)

    p = sub.add_parser("train", help="train one model on your own pairs and lyrics or audio")
    p.add_argument("kind", choices=["lyrics", "audio"])
    p.add_argument("--pairs", help="CSV with track_a,track_b,score")
    p.add_argument("--shards", help="lyrics: a folder written by 'dplib data shards' (streamed, any corpus size)")
    p.add_argument("--lyrics", help="JSONL of {track_id, text} or a folder of TRACKID.txt")
    p.add_argument("--audio", help="folder of TRACKID.wav")
    p.add_argument("--combine", default=None, help="concat, diff, absdiff, product, all, all_sym")
    p.add_argument("--fc", type=int, default=None)
    p.add_argument("--conv", type=int, default=1, help="audio: 0, 1 or 2 Conv1D layers")
    p.add_argument("--blocks", type=int, default=None, help="audio: blocks per clip (default: 60, i.e. 30 s)")
    p.add_argument("--split", choices=["pair", "song"], default="song")
    p.add_argument("--epochs", type=int)
    p.add_argument("--lr", type=float)
    p.add_argument("--pairs-per-class", type=int, default=None, help="cap on training pairs per class")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--strict", action="store_true")
    p.add_argument("--out", required=True)
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("playlist", help="the k nearest songs to a seed song")
    p.add_argument("--model", required=True, help="a model.keras written by dplib train")
    p.add_argument("--seed", required=True, help="the seed track id")
    p.add_argument("--k", type=int, default=10)
    p.add_argument("--data", help="data folder with the songs (default: the synthetic data of this size)")
    p.add_argument("--pair-score", action="store_true", help="rank by the pair model's p(similar) instead of cosine")
    p.set_defaults(func=cmd_playlist)

    p = sub.add_parser("reproduce", help="run the notebooks in order, in place (papermill)")
    p.add_argument("--folder", default="notebooks")
    p.add_argument("--size", choices=["quick", "default", "paper"])
    p.add_argument("--readme", default="README.md")
    p.set_defaults(func=cmd_reproduce)

    p = sub.add_parser("report", help="fill the README's results section from results/")
    p.add_argument("--readme", default="README.md")
    p.add_argument("--size", choices=["quick", "default", "paper"])
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("nbval", help="check the notebooks with nbval, timing each")
    p.add_argument("folder", nargs="?", default="notebooks")
    p.set_defaults(func=cmd_nbval)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if getattr(args, "combine", "x") is None:
        args.combine = "all" if args.kind == "lyrics" else "absdiff"
    if getattr(args, "fc", "x") is None:
        args.fc = 2 if args.kind == "lyrics" else 1
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
