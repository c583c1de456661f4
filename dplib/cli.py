"""The dplib command line: data, ablations, training on your own files, and running the notebooks.

Parsing and dispatch only: each command checks its arguments and its --out before any work (usage errors exit 2
with the usage; bad input is one line and exit 1; a traceback only with --debug or DPLIB_DEBUG=1), then calls the
library function that does the job.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

from . import commands as do
from .config import SIZE_NAMES
from .datasets.download import PUBLIC_FILES

WRITERS = {"synth": "data synth", "shards": "data shards"}  # data commands that own an --out (fetch: one per name)


def outputs_of(args) -> tuple[str | None, list]:
    """The command that owns ``args.out`` and the inputs it must not hold (None: the command writes no folder)."""
    if args.command == "data":
        return WRITERS.get(args.data_command), [getattr(args, "folder", None)]
    if args.command in ("train", "evaluate"):
        inputs = [getattr(args, k, None) for k in ("pairs", "lyrics", "audio", "shards", "model")]
        return args.command, inputs + ([Path(args.model).parent] if args.command == "evaluate" else [])
    return None, []


def check_usage(args, parser: argparse.ArgumentParser) -> None:
    """What argparse cannot say alone, said the way it says it (exit 2, with the usage), before any work."""
    if args.command == "train":
        if args.shards and (args.kind != "lyrics" or args.pairs):
            parser.error("--shards trains lyrics models from 'dplib data shards' output, without --pairs")
        if not args.shards and not args.pairs:
            parser.error("needs --pairs (a track_a,track_b,score CSV) or, for lyrics, --shards")
        if not args.shards and args.kind == "lyrics" and not args.lyrics:
            parser.error("lyrics needs --lyrics (a JSONL file or a folder of TRACKID.txt)")
        if not args.shards and args.kind == "audio" and not args.audio:
            parser.error("audio needs --audio (a folder of TRACKID.wav)")
        unused = [f"--{key.replace('_', '-')}" for key in ignored_by_train(args) if getattr(args, key) is not None]
        if unused:
            why = ("the shards fix their lyrics, split and caps ('dplib data shards' sets them)" if args.shards
                   else f"a {args.kind} model does not read {'it' if len(unused) == 1 else 'them'}")
            parser.error(f"{', '.join(unused)} would be ignored here: {why}")
    if args.command == "data" and args.data_command == "shards" and len(args.pairs_per_class) > 3:
        parser.error("--pairs-per-class takes at most three caps: train [val [test]]")
    if args.command == "data" and args.data_command == "fetch" and args.scores and "real-lyrics" not in args.files:
        parser.error("--scores belongs to real-lyrics")
    if args.command in ("reproduce", "nbval") and not any(Path(args.folder).glob("[0-9][0-9]_*.ipynb")):
        parser.error(f"{args.folder}: no numbered notebooks (NN_name.ipynb) in this folder")


def ignored_by_train(args) -> tuple[str, ...]:
    """The ``dplib train`` options that this kind of run would not use (a usage error when given)."""
    audio_only = ("audio", "conv", "blocks")
    if args.shards:
        return ("lyrics", "split", "pairs_per_class", *audio_only)
    return audio_only if args.kind == "lyrics" else ("lyrics",)


#: the inputs that are one file, and what that file is
FILE_INPUTS = {"model": "a model.keras file", "pairs": "a track_a,track_b,score CSV file",
               "scores": "the scores CSV file", "lyrics_archive": "the lyrics zip archive"}


def check_inputs(args) -> None:
    """Every input path the user named exists, before anything heavy loads (one line naming it when not)."""
    from .datasets.report import DataError
    from .outputs import resolved

    for key in ("model", "pairs", "lyrics", "audio", "shards", "scores", "lyrics_archive", "data"):
        given = getattr(args, key, None)
        if given and not resolved(given, f"--{key.replace('_', '-')}").exists():  # a loop: one named error
            if Path(given).is_symlink():  # a link whose target is missing (or a loop, where resolve lets it pass)
                raise DataError("a symbolic link that leads nowhere (a loop, or its target is missing)", given)
            raise DataError(f"no such {'model file' if key == 'model' else 'file or folder'}", given)
        if given and not (Path(given).is_file() or Path(given).is_dir()):  # /dev/zero never ends, a pipe reads once
            raise DataError("not a regular file or folder (a device or a pipe): give a file", given)
        if given and key in FILE_INPUTS and Path(given).is_dir():
            raise DataError(f"a folder, not a file: --{key.replace('_', '-')} takes {FILE_INPUTS[key]}", given)
        if given and key in ("audio", "shards", "data") and Path(given).is_file():
            raise DataError(f"a file, not a folder: --{key} takes a folder", given)
    if args.command == "evaluate" and Path(args.out).resolve() == Path(args.model).resolve().parent:
        raise DataError("--out is the model's own folder (its metrics.json is the training run's)", args.out)
    if args.command == "data" and args.data_command == "summary" and not Path(args.folder).is_dir():
        raise DataError("no such folder", args.folder)


def bounded(number, low, high, what: str):
    """An argparse type: a ``number`` (``int`` or ``float``) within [low, high] (finite), else a usage error that says the range."""
    def parse(text: str):
        try:
            value = number(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not (math.isfinite(value) and low <= value <= high):
            lo, hi = (f"{low:,}", f"{high:,}") if number is int else (f"{low:g}", f"{high:g}")
            raise argparse.ArgumentTypeError(f"must be {what} ({lo} to {hi}), got {text}")
        return value
    return parse


positive_int = bounded(int, 1, 10**9, "a positive whole number")
seed_int = bounded(int, 0, 2**32 - 1, "a seed")


class ShowDefaults(argparse.HelpFormatter):
    """Each option's default in its help, when it has one worth saying (not None, not False)."""

    def _get_help_string(self, action):
        shown = action.default not in (None, False, argparse.SUPPRESS) and "(default" not in (action.help or "")
        return (action.help or "") + (" (default: %(default)s)" if shown and action.option_strings else "")


def command(sub, name: str, func, help: str, description: str | None = None) -> argparse.ArgumentParser:
    p = sub.add_parser(name, help=help, description=sentence(description or help),
                       formatter_class=ShowDefaults)
    p.set_defaults(func=func, parser=p)
    return p


def sentence(text: str) -> str:
    text = text.replace("%%", "%")
    return text[0].upper() + text[1:] + ("" if text.endswith(".") else ".")


def add_out(p, what: str, required: bool = True, default=None) -> None:
    p.add_argument("--out", required=required, default=default, help=f"{what}; a new or empty folder, or one this "
                   "command wrote before (with --force)")
    p.add_argument("--force", action="store_true", help="replace what this command wrote into --out before")


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(prog="dplib", description=__doc__.split("\n\n")[0],
                                     epilog="Add --debug (or set DPLIB_DEBUG=1) to see a traceback on errors.")
    parser.add_argument("--version", action="version", version=f"dplib {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_data_commands(sub.add_parser("data", help="make, fetch or inspect data", description="Make, fetch or "
                                     "inspect data.").add_subparsers(dest="data_command", required=True, metavar="DATA"))
    add_model_commands(sub)
    p = command(sub, "reproduce", do.cmd_reproduce, "run every notebook in place (papermill), two at a time, then "
                "fill the README's results sections", "Run every notebook in place at one size (default: DPLIB_SIZE, "
                "or quick under DPLIB_QUICK=1), timing each; what is saved under results/ is reused, not retrained.")
    p.add_argument("--folder", default="notebooks", help="the folder of numbered notebooks")
    p.add_argument("--jobs", type=positive_int, default=min(os.cpu_count() or 1, 2), help="notebooks at a time")
    p.add_argument("--size", choices=SIZE_NAMES, help="data and training size (default: from the environment)")
    p.add_argument("--readme", default="README.md", help="the README whose results sections are rewritten")
    p = command(sub, "report", do.cmd_report, "fill the README's results sections from results/ (a section "
                "without results stays as it was)")
    p.add_argument("--readme", default="README.md", help="the README to rewrite")
    p.add_argument("--size", choices=SIZE_NAMES, help="whose results (default: from the environment)")
    p = command(sub, "nbval", do.cmd_nbval, "check the notebooks with nbval in quick mode, timing each "
                "(needs the test extra: pip install dplib[test])")
    p.add_argument("folder", nargs="?", default="notebooks", help="the folder of numbered notebooks")
    p.add_argument("--jobs", type=positive_int, default=min(os.cpu_count() or 1, 4), help="notebooks at a time")
    return parser


def add_data_commands(data) -> None:
    p = command(data, "synth", do.cmd_data_synth, "write the synthetic mini-MSD (the paper's file formats)")
    p.add_argument("--size", choices=SIZE_NAMES, default="default", help="how many songs and pairs")
    add_out(p, "the folder to write")
    p.add_argument("--seed", type=seed_int, default=0, help="random seed of the generator")
    p.add_argument("--noise", type=bounded(float, 0, 10, "a noise level"), default=1.0,
                   help="0 easy, 1 the tutorial's, 2 hard")
    p = command(data, "summary", do.cmd_data_summary, "what a data folder holds, and what was skipped")
    p.add_argument("folder", help="a data folder (Last.fm files or pairs.csv, with lyrics and/or audio)")
    p.add_argument("--strict", action="store_true", help="stop at the first bad record")
    p = command(data, "fetch", do.cmd_data_fetch, "download public data: the real lyrics set, Last.fm and "
                "musiXmatch files")
    p.add_argument("files", nargs="+", choices=["real-lyrics", "lyrics-archive", *sorted(PUBLIC_FILES)],
                   metavar="NAME", help="real-lyrics (Last.fm scores + the authors' lyrics, built into pairs.csv and "
                   "lyrics/), lyrics-archive (all the authors' lyrics as lyrics/), or one of "
                   + ", ".join(sorted(PUBLIC_FILES)))
    add_out(p, "the folder to write (data/real-lyrics for real-lyrics, else data/real, in the checkout)", required=False)
    p.add_argument("--scores", help="real-lyrics: a local copy of similar_songs.csv instead of downloading it")
    p.add_argument("--lyrics-archive", help="a local copy of the deep-playlist archive (.zip) instead of downloading it")
    p.add_argument("--cache", help="where downloads are kept (default: data/downloads in the checkout)")
    p.add_argument("--strict", action="store_true", help="stop at the first bad line of the scores instead of counting it")
    p = command(data, "shards", do.cmd_data_shards, "stream a data folder into TFRecord shards (lyrics; corpora of "
                "any size)")
    p.add_argument("folder", help="a data folder (Last.fm files or pairs.csv, and lyrics)")
    add_out(p, "the folder to write the shards into")
    p.add_argument("--split", choices=["pair", "song"], default="song", help="random over pairs, or song-disjoint")
    p.add_argument("--pairs-per-class", type=positive_int, nargs="+", default=[], metavar="N",
                   help="cap per class for train [val [test]] (default: all a balanced part allows)")
    p.add_argument("--max-len", type=bounded(int, 1, 10_000, "words per song"), help="words kept per song "
                   "(default: the configuration's, 120)")
    p.add_argument("--shard-size", type=positive_int, default=100_000, help="examples per shard file")
    p.add_argument("--seed", type=seed_int, help="random seed of the split (default: DPLIB_SEED, else 0)")
    p.add_argument("--strict", action="store_true", help="stop at the first bad record")


def add_model_commands(sub) -> None:
    p = command(sub, "ablation", do.cmd_ablation, "run Table 2 (lyrics) or Table 3 (audio) on the synthetic data")
    p.add_argument("kind", choices=["lyrics", "audio"], help="which table")
    p.add_argument("--size", choices=SIZE_NAMES, help="data and training size (default: from the environment)")
    p.add_argument("--split", nargs="+", choices=["pair", "song"], default=["pair", "song"], help="which splits")
    p = command(sub, "train", do.cmd_train, "train one model on your own pairs and lyrics or audio")
    p.add_argument("kind", choices=["lyrics", "audio"], help="the model's input")
    p.add_argument("--pairs", help="CSV with track_a,track_b,score")
    p.add_argument("--shards", help="lyrics: a folder written by 'dplib data shards' (streamed, any corpus size)")
    p.add_argument("--lyrics", help="JSONL of {track_id, text} or a folder of TRACKID.txt")
    p.add_argument("--audio", help="folder of TRACKID.wav clips (or of MSD TRACKID.h5 track files)")
    p.add_argument("--combine", choices=["concat", "diff", "absdiff", "product", "all", "all_sym"],
                   help="how the two songs' states are combined (default: all for lyrics, absdiff for audio)")
    p.add_argument("--fc", type=int, choices=[1, 2], help="FC layers in the head (default: 2 lyrics, 1 audio)")
    p.add_argument("--conv", type=int, choices=[0, 1, 2], help="audio: Conv1D layers (default: 1)")
    p.add_argument("--blocks", type=bounded(int, 1, 7_200, "blocks per clip (up to an hour)"),
                   help="audio: blocks per clip (default: the clips' length; 60 blocks are 30 s); .h5: segments (400)")
    p.add_argument("--split", choices=["pair", "song"],
                   help="pair: random over pairs (songs leak across parts); song: song-disjoint, with tracks whose "
                   "lyrics are the same text (other releases, covers) kept on one side (default: song)")
    p.add_argument("--epochs", type=bounded(int, 1, 10_000, "an epoch count"), help="most epochs (default: the "
                   "configuration's)")
    p.add_argument("--patience", type=positive_int, help="stop this many epochs after the best validation ROC AUC "
                   "(default: the configuration's)")
    p.add_argument("--lr", type=bounded(float, 1e-7, 1.0, "a learning rate"), help="learning rate (default: the "
                   "configuration's)")
    p.add_argument("--pairs-per-class", type=positive_int, help="cap on training pairs per class (default: none)")
    p.add_argument("--seed", type=seed_int, help="random seed: the split and the initial weights (default: "
                   "DPLIB_SEED, else 0)")
    p.add_argument("--strict", action="store_true", help="every skipped record is an error, through training")
    add_out(p, "the run folder: model.keras, vocabulary.json, metrics.json, baselines.json")
    p = command(sub, "evaluate", do.cmd_evaluate, "score labelled pairs with a saved lyrics model, beside TF-IDF "
                "cosine: ROC AUC with a 95%% interval (a bootstrap over the source tracks the pairs hang on)")
    p.add_argument("--model", required=True, help="a model.keras written by dplib train (vocabulary.json beside it)")
    p.add_argument("--pairs", required=True, help="CSV with track_a,track_b,score")
    p.add_argument("--lyrics", required=True, help="JSONL of {track_id, text} or a folder of TRACKID.txt")
    p.add_argument("--strict", action="store_true", help="every skipped record is an error")
    add_out(p, "the folder for metrics.json (never the model's own run folder)")
    p = command(sub, "playlist", do.cmd_playlist, "the k songs nearest to a query song, by a saved model")
    p.add_argument("--model", required=True, help="a model.keras written by dplib train")
    p.add_argument("--track", required=True, help="the query song (a track id)")
    p.add_argument("--k", type=bounded(int, 1, 10_000, "a list length"), default=10, help="songs to list")
    p.add_argument("--data", help="data folder with the songs (default: the synthetic data of this size)")
    p.add_argument("--pair-score", action="store_true", help="rank by the pair model's p(similar) instead of cosine")
    p.add_argument("--strict", action="store_true", help="every skipped record or song is an error")


def main(argv: list[str] | None = None) -> int:
    """Run one command: one line and exit 1 for bad input, exit 2 for a usage error, 130 for Ctrl-C."""
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv or os.environ.get("DPLIB_DEBUG", "") not in ("", "0")
    args = build_parser().parse_args([a for a in argv if a != "--debug"])
    name = args.command + (f" {args.data_command}" if args.command == "data" else "")
    from .outputs import InterruptedAfterSave, Terminated, sigterm_as_interrupt

    ended = sigterm_as_interrupt()
    try:
        check_usage(args, args.parser)
        return run(args) or 0
    except KeyboardInterrupt as err:
        if debug:
            raise
        how = "terminated" if isinstance(err, Terminated) else "interrupted"
        said = str(err) if isinstance(err, InterruptedAfterSave) else f"{how}; nothing half-written was kept"
        print(f"dplib {name}: {said}", file=sys.stderr)
        return 143 if isinstance(err, Terminated) else 130
    except Exception as err:  # every error is one line; the traceback is there when asked for
        if debug:
            raise
        from .config import SettingError
        from .datasets.report import DataError
        said = str(err) if isinstance(err, (DataError, OSError, RuntimeError, SettingError)) else \
            f"{type(err).__name__}: {err}"
        print(f"dplib {name}: error: {said.splitlines()[0] if said else type(err).__name__}", file=sys.stderr)
        return 1
    finally:
        ended()


def run(args) -> int | None:
    """Inputs checked, --out claimed (:mod:`dplib.outputs`), then the command: heavy imports come after the checks."""
    from .outputs import check_output, output_folder, owned_folder

    check_inputs(args)
    writer, inputs = outputs_of(args)
    if writer is not None:
        check_output(args.out, writer, inputs, args.force)  # before TensorFlow loads: a refusal costs nothing
    if args.command in ("train", "evaluate", "playlist", "ablation") or getattr(args, "data_command", "") == "shards":
        from .runtime import quiet_tensorflow  # the commands that run models; the others never load TensorFlow

        quiet_tensorflow()
    if writer is None:
        return args.func(args)
    if writer in ("train", "evaluate"):  # written into a temporary folder that replaces --out whole
        with output_folder(args.out, writer, inputs, args.force) as partial:
            return args.func(args, partial)
    with owned_folder(args.out, writer, inputs, args.force) as out:  # the library builds these folders whole
        return args.func(args, out)


if __name__ == "__main__":
    sys.exit(main())
