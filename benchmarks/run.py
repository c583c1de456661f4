"""Side-by-side benchmarks; writes benchmarks/RESULTS.md (never edited by hand).

`speed.py` and `memory.py` measure, `report.py` writes RESULTS.md one section at a time, this file runs them and
keeps every measurement in results.json (so `--from-json` rewrites RESULTS.md without measuring again).

    python benchmarks/run.py [--size default|paper] [--epochs 3] [--memory-sizes ...] [--skip-notebooks]
    python benchmarks/run.py --memory-only | --lyrics-only | --audio-only | --notebooks-only | --profile-preparation
    python benchmarks/run.py --from-json

1. lyrics training throughput: the straightforward Keras siamese model (two tower calls,
   every sequence padded to 200, batch 128) against the fast path (one tower call on
   [A; B], shuffled batches trimmed to their longest song, batch 256), same data, same epochs;
2. audio: |FFT| blocking against a bare numpy rfft over the same frames, audio training throughput, and training
   steps of the paper's tower (Keras Conv1D against TapConv1D; 0, 1 and 2 convolutions) and of the compressed
   mel64 input beside a matmul; the floor that Table 3's saved rows set under `make reproduce` at those rates;
   the paper's audio row trained with tf.data's autotuner on and off; and its evaluation and spectrograms, each
   beside the path it replaced (the tower once per song; a clip encoded once per process);
3. the notebook suite's wall time in quick mode (measured here, per notebook), and what `make reproduce` trains at
   the default size per stage, over 3 seeds and one, as the saved results recorded it;
4. peak memory (RSS) of data preparation at each synthetic size, in memory and streamed to
   TFRecord shards, and of one training epoch (in memory, and streamed from the shards).
"""
from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))  # speed, memory, report beside this file
from memory import memory_results, preparation_profile  # noqa: E402
from report import write_results  # noqa: E402
from dplib.datasets.files import write_text  # noqa: E402
from speed import (  # noqa: E402
    ROOT, audio_evaluation, audio_towers_throughput, audio_training_throughput, autotune_epochs, blocking_throughput,
    lyrics_throughput, machine, notebook_times)


#: the results.json entries that carry their own date and machine (memory's are keyed by size, and dated apart)
STAMPED = ("lyrics", "blocking", "audio", "audio_towers", "audio_autotune", "audio_evaluation", "notebooks")


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def sections(args) -> dict:
    """Each section of RESULTS.md: what measures it, as the results.json entries it writes."""
    audio_size = "default" if args.size == "paper" else args.size
    return {
        "lyrics": lambda: {"lyrics": lyrics_throughput(args.size, args.epochs)},
        "audio": lambda: {"blocking": blocking_throughput(), "audio": audio_training_throughput(audio_size, 2),
                          "audio_towers": audio_towers_throughput(audio_size), "audio_autotune": autotune_epochs(audio_size),
                          "audio_evaluation": audio_evaluation(audio_size)},
        "notebooks": lambda: {} if args.skip_notebooks else {"notebooks": notebook_times()},
        "memory": lambda: memory_results(args.memory_sizes) if args.memory_sizes else {},
        "preparation": lambda: {"preparation_profile": preparation_profile(args.size)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="default", choices=["quick", "default", "paper"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--memory-sizes", nargs="*", default=["quick", "default", "paper"])
    parser.add_argument("--skip-notebooks", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--from-json", action="store_true",
                        help="rewrite RESULTS.md from the last run's results.json without measuring again")
    for name, what in (("lyrics", "section 1"), ("audio", "section 2"), ("notebooks", "section 3"),
                       ("memory", "section 4")):
        parser.add_argument(f"--{name}-only", dest="only", action="append_const", const=name,
                            help=f"only measure {what} again (dated, with its machine), keep the rest of results.json")
    parser.add_argument("--profile-preparation", dest="only", action="append_const", const="preparation",
                        help="only measure where preparation memory goes, add it to results.json")
    args = parser.parse_args()
    out = Path(args.out)
    if not args.from_json:
        here = machine()
        results = json.loads((out.parent / "results.json").read_text()) if args.only else \
            {"date": now(), "machine": here, "size": args.size}
        for name, measure in sections(args).items():
            if (name in args.only) if args.only else name != "preparation":  # a full run profiles within memory
                print(f"{name} ...", flush=True)
                # each section says when it finished and where it ran (RESULTS.md prints both when they differ)
                results.update({key: {"date": now(), **value, "machine": here} if key in STAMPED else value
                                for key, value in measure().items()})
                if name == "memory":  # memory's entries are keyed by size: its machine is kept beside them
                    results["memory_machine"] = here
        write_text(out.parent / "results.json", json.dumps(results, indent=1, default=str))  # whole, or the old one
    write_results(json.loads((out.parent / "results.json").read_text()), out)
    print(out.read_text())


if __name__ == "__main__":
    main()
