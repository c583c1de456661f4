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
from speed import (  # noqa: E402
    ROOT, audio_evaluation, audio_towers_throughput, audio_training_throughput, autotune_epochs, blocking_throughput,
    lyrics_throughput, machine, notebook_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="default", choices=["quick", "default", "paper"])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--memory-sizes", nargs="*", default=["quick", "default", "paper"])
    parser.add_argument("--skip-notebooks", action="store_true")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "RESULTS.md"))
    parser.add_argument("--from-json", action="store_true",
                        help="rewrite RESULTS.md from the last run's results.json without measuring again")
    parser.add_argument("--lyrics-only", action="store_true",
                        help="only measure section 1 again (dated), keep the rest of results.json, rewrite RESULTS.md")
    parser.add_argument("--audio-only", action="store_true",
                        help="only measure section 2's training, evaluation and spectrograms again, rewrite RESULTS.md")
    parser.add_argument("--notebooks-only", action="store_true",
                        help="only measure section 3 again (dated), keep the rest of results.json, rewrite RESULTS.md")
    parser.add_argument("--memory-only", action="store_true",
                        help="only measure section 4 again (dated), keep the rest of results.json, rewrite RESULTS.md")
    parser.add_argument("--profile-preparation", action="store_true",
                        help="only measure where preparation memory goes, add it to results.json, rewrite RESULTS.md")
    args = parser.parse_args()
    out = Path(args.out)
    if args.lyrics_only:
        saved = json.loads((out.parent / "results.json").read_text())
        saved["lyrics"] = lyrics_throughput(args.size, args.epochs)
        saved["lyrics"]["date"] = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        (out.parent / "results.json").write_text(json.dumps(saved, indent=1, default=str))
        args.from_json = True
    if args.audio_only:
        saved = json.loads((out.parent / "results.json").read_text())
        saved["audio"] = audio_training_throughput("default" if args.size == "paper" else args.size, 2)
        saved["audio_towers"] = audio_towers_throughput("default" if args.size == "paper" else args.size)
        saved["audio_autotune"] = autotune_epochs("default" if args.size == "paper" else args.size)
        saved["audio_evaluation"] = audio_evaluation("default" if args.size == "paper" else args.size)
        (out.parent / "results.json").write_text(json.dumps(saved, indent=1, default=str))
        args.from_json = True
    if args.notebooks_only:
        saved = json.loads((out.parent / "results.json").read_text())
        saved["notebooks"] = notebook_times()
        (out.parent / "results.json").write_text(json.dumps(saved, indent=1, default=str))
        args.from_json = True
    if args.memory_only:
        saved = json.loads((out.parent / "results.json").read_text())
        saved.update(memory_results(args.memory_sizes))
        (out.parent / "results.json").write_text(json.dumps(saved, indent=1, default=str))
        args.from_json = True
    if args.profile_preparation:
        saved = json.loads((out.parent / "results.json").read_text())
        saved["preparation_profile"] = preparation_profile(args.size)
        (out.parent / "results.json").write_text(json.dumps(saved, indent=1, default=str))
        args.from_json = True
    if args.from_json:
        write_results(json.loads((out.parent / "results.json").read_text()), out)
        print(out.read_text())
        return
    results = {"date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"), "machine": machine(), "size": args.size}
    print("lyrics throughput ...", flush=True)
    results["lyrics"] = lyrics_throughput(args.size, args.epochs)
    print(json.dumps(results["lyrics"], indent=1), flush=True)
    print("blocking ...", flush=True)
    results["blocking"] = blocking_throughput()
    print(results["blocking"], flush=True)
    print("audio training ...", flush=True)
    results["audio"] = audio_training_throughput("default" if args.size == "paper" else args.size, 2)
    results["audio_towers"] = audio_towers_throughput("default" if args.size == "paper" else args.size)
    results["audio_autotune"] = autotune_epochs("default" if args.size == "paper" else args.size)
    results["audio_evaluation"] = audio_evaluation("default" if args.size == "paper" else args.size)
    if not args.skip_notebooks:
        print("notebooks (quick) ...", flush=True)
        results["notebooks"] = notebook_times()
    if args.memory_sizes:
        results.update(memory_results(args.memory_sizes))
    (out.parent / "results.json").write_text(json.dumps(results, indent=1, default=str))
    write_results(results, out)
    print(out.read_text())


if __name__ == "__main__":
    main()
