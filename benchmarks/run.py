"""Side-by-side benchmarks; writes benchmarks/RESULTS.md (never edited by hand).

    python benchmarks/run.py [--size default|paper] [--epochs 3] [--memory-sizes ...] [--skip-notebooks]
    python benchmarks/run.py --memory-only | --lyrics-only | --audio-only | --profile-preparation | --from-json

1. lyrics training throughput: the straightforward Keras siamese model (two tower calls,
   every sequence padded to 200, batch 128) against the fast path (one tower call on
   [A; B], length buckets with per-batch trimming, batch 256), same data, same epochs;
2. audio: |FFT| blocking against a bare numpy rfft over the same frames, audio training throughput, and training
   steps of the paper's tower (Keras Conv1D against TapConv1D) and of the compressed mel64 input beside a matmul;
3. the notebook suite's wall time in quick mode (measured here) and at the default size
   (measured by the last `make reproduce`, read from results/default/notebook_times.json);
4. peak memory (RSS) of data preparation at each synthetic size, in memory and streamed to
   TFRecord shards, and of one training epoch (in memory, and streamed from the shards).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from dplib.config import get_config, seed_everything  # noqa: E402


def machine() -> str:
    import tensorflow as tf

    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus = tf.config.list_physical_devices("GPU")
    return (f"{platform.node() or 'host'}: {os.cpu_count()} cores ({cpu}), "
            f"{'GPU ' + str(len(gpus)) if gpus else 'no GPU'}; Python {platform.python_version()}, "
            f"TensorFlow {tf.__version__}")


def lyrics_throughput(size: str, epochs: int) -> dict:
    """Baseline and fast path on the same prepared pairs, same seed, same epochs."""
    from dplib.experiments import prepare
    from dplib.models import build_lyrics_model
    from dplib.training import fit
    from dplib.evaluation import evaluate_pairs

    cfg = get_config(size=size)
    out = {}
    settings = {
        "baseline": dict(stacked=False, fast=False, batch=128, max_len=200),
        "fast": dict(stacked=True, fast=True, batch=256, max_len=200),
    }
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.started = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.started)

    exp = prepare("lyrics", replace(cfg, max_len=200), "pair")
    n_train = len(exp.data.splits.train)
    for name, s in settings.items():
        seed_everything(0)
        model = build_lyrics_model(exp.data.input_dim, "all", 2, stacked=s["stacked"], learning_rate=cfg.learning_rate)
        timer = EpochTimer()
        timer.seconds = []
        history = fit(model, exp.data, epochs=epochs, batch_size=s["batch"], seed=0, fast=s["fast"], callbacks=[timer])
        val = evaluate_pairs(model, exp.data.splits.val, exp.data.songs)
        # the first epoch includes tracing (more of it for the fast path's varied batch shapes): the
        # steady-state rate over the later epochs is the headline, the all-epoch rate is kept beside it
        out[name] = {
            "steady_pairs_per_second": n_train * (epochs - 1) / sum(timer.seconds[1:]),
            "epoch_seconds": timer.seconds,
            "pairs_per_second": history["pairs_per_second"],
            "seconds": history["seconds"],
            "val_accuracy": val["accuracy"],
            "train_pairs": len(exp.data.splits.train),
            "epochs": epochs,
            **s,
        }
    out["ratio"] = out["fast"]["steady_pairs_per_second"] / out["baseline"]["steady_pairs_per_second"]
    out["ratio_all_epochs"] = out["fast"]["pairs_per_second"] / out["baseline"]["pairs_per_second"]
    out["val_difference_points"] = 100 * (out["fast"]["val_accuracy"] - out["baseline"]["val_accuracy"])
    out["mean_length"] = float(exp.data.songs.lengths.mean())
    return out


def blocking_throughput(seconds_of_audio: float = 600.0, repeats: int = 5) -> dict:
    from dplib.datasets.audio import BLOCK, SAMPLE_RATE, block_spectrogram

    x = np.random.default_rng(0).normal(size=int(seconds_of_audio * SAMPLE_RATE)).astype("float32")
    n = len(x) // BLOCK

    def bare():
        return np.abs(np.fft.rfft(x[: n * BLOCK].reshape(n, BLOCK), axis=1))

    def timed(fn):
        best = float("inf")
        for _ in range(repeats):
            started = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - started)
        return seconds_of_audio / best

    # interleave the measurements so that both see the same machine state
    bare_rate = timed(bare)
    lib_rate = timed(lambda: block_spectrogram(x, log=False, normalize=False))
    full_rate = timed(lambda: block_spectrogram(x))
    bare_rate = max(bare_rate, timed(bare))
    return {"bare_rfft": bare_rate, "library": lib_rate, "library_log_normalised": full_rate,
            "ratio": lib_rate / bare_rate, "ratio_log_normalised": full_rate / bare_rate}


def audio_training_throughput(size: str, epochs: int) -> dict:
    from dplib.experiments import build_model, prepare
    from dplib.training import fit

    cfg = get_config(size=size)
    exp = prepare("audio", cfg, "pair")
    seed_everything(0)
    model = build_model(exp, "absdiff", 1, conv_layers=1)
    history = fit(model, exp.data, epochs=epochs, batch_size=cfg.batch_size_for("audio"), seed=0)
    return {"pairs_per_second": history["pairs_per_second"], "train_pairs": len(exp.data.splits.train),
            "blocks": int(exp.data.songs.data.shape[1]), "bins": int(exp.data.songs.data.shape[2])}


def audio_towers_throughput(size: str = "default", steps: int = 20) -> dict:
    """Training steps of conv1 + absdiff + 1 FC on one real batch of the synthetic clips: the paper's tower on
    5,513 |FFT| bins with Keras' Conv1D and with TapConv1D (same weights, same function), and the compressed
    mel64 input; the first convolution's arithmetic per second beside a 2048 x 2048 float32 matmul, same run."""
    import tensorflow as tf

    from dplib.datasets.pipeline import pair_dataset
    from dplib.experiments import prepare
    from dplib.models import build_audio_model

    cfg = get_config(size=size)
    rows = {}
    for label, dataset, tap in (("paper tower, keras Conv1D", "", False), ("paper tower, TapConv1D", "", True),
                                ("mel64 input, TapConv1D", "audio-mel64", True)):
        exp = prepare("audio", cfg, "pair", dataset=dataset)
        (a, b), y = next(iter(pair_dataset(exp.data.splits.train, exp.data.songs, cfg.audio_batch_size)))
        seed_everything(0)
        model = build_audio_model(exp.data.input_dim, 1, "absdiff", 1, learning_rate=cfg.audio_learning_rate,
                                  tap_conv=tap)
        for _ in range(3):
            model.train_on_batch((a, b), y)  # trace and warm up
        started = time.perf_counter()
        for _ in range(steps):
            model.train_on_batch((a, b), y)
        seconds = (time.perf_counter() - started) / steps
        songs, blocks, channels = 2 * int(a.shape[0]), int(a.shape[1]), int(a.shape[2])
        flops = 2 * 2 * songs * blocks * 11 * channels * 32  # forward and weight gradient of the first layer
        rows[label] = {"seconds_per_step": seconds, "pairs_per_second": int(a.shape[0]) / seconds,
                       "conv_gflop_per_step": flops / 1e9, "gflops": flops / seconds / 1e9, "channels": channels,
                       "blocks": blocks, "batch": int(a.shape[0])}
    x = tf.random.normal((2048, 2048))
    tf.matmul(x, x).numpy()
    started = time.perf_counter()
    for _ in range(10):
        tf.matmul(x, x).numpy()
    matmul = 10 * 2 * 2048**3 / (time.perf_counter() - started) / 1e9
    return {"rows": rows, "matmul_gflops": matmul, "size": size,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def notebook_times() -> dict:
    import tempfile

    with tempfile.TemporaryDirectory() as results:  # from scratch: no saved ablation results to reuse
        started = time.perf_counter()
        env = {**os.environ, "DPLIB_QUICK": "1", "DPLIB_RESULTS": results}
        proc = subprocess.run([sys.executable, "-m", "dplib.cli", "nbval", str(ROOT / "notebooks")],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        quick = time.perf_counter() - started
    default_file = ROOT / "results" / "default" / "notebook_times.json"
    default = json.loads(default_file.read_text()) if default_file.exists() else None
    return {"quick_seconds": quick, "quick_ok": proc.returncode == 0,
            "default_seconds": sum(default.values()) if default else None, "default_each": default}


PEAK = r"""
def reset_peak():
    # a child inherits its parent's peak-RSS mark across fork and exec; start from zero
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")

def peak_kb(key="VmHWM"):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key + ":"))

reset_peak()
"""

MEMORY_PROBE = PEAK + r"""
import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from dplib.config import get_config
from dplib.experiments import prepare
cfg = get_config(size=sys.argv[1])
before = peak_kb()
started = time.perf_counter()
exp = prepare("lyrics", cfg, "pair")
prep = peak_kb()
seconds = time.perf_counter() - started
line = f"{before} {prep} {seconds:.1f} {len(exp.corpus.tracks)} {exp.data.songs.data.nbytes} {len(exp.data.splits.train)}"
if sys.argv[2] == "1":
    from dplib.experiments import build_model
    from dplib.training import fit
    model = build_model(exp, "all", 2)
    h = fit(model, exp.data, epochs=1, batch_size=cfg.batch_size)
    line += f" {peak_kb()} {h['seconds']:.1f}"
print("RESULT", line)
"""


GENERATION_PROBE = PEAK + r"""
import os, sys, tempfile, time
from dplib.datasets.synthetic import generate
with tempfile.TemporaryDirectory() as tmp:
    started = time.perf_counter()
    generate(os.path.join(tmp, "d"), sys.argv[1], progress=False, check=False)
    print("RESULT", peak_kb(), f"{time.perf_counter() - started:.1f}")
"""

STREAM_PROBE = PEAK + r"""
import os, sys, tempfile, time
from pathlib import Path
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
from dplib.config import get_config
from dplib.experiments import data_folder
from dplib.datasets.streaming import prepare_lyrics_shards
from dplib.datasets.synthetic import SIZES
from dplib.models import build_lyrics_model
from dplib.training import fit_streamed
from dplib.datasets.corpus import find_data
cfg = get_config(size=sys.argv[1])
paths = find_data(data_folder(cfg))
paths.lastfm_json = paths.lastfm_json * int(sys.argv[2])  # read k times: k x the listed rows, the same pairs
reset_peak()
before = peak_kb()
with tempfile.TemporaryDirectory() as tmp:
    started = time.perf_counter()
    data = prepare_lyrics_shards(paths, tmp, "pair", SIZES[cfg.size].lyrics_pairs, max_len=cfg.max_len,
                                 min_count=cfg.min_count, max_doc_freq=cfg.max_doc_freq, seed=cfg.seed)
    seconds = time.perf_counter() - started
    prepared = peak_kb()
    encoded = (Path(tmp) / "songs.npy").stat().st_size
    reset_peak()  # so the peak below is the streamed epoch's own
    epoch_before = peak_kb("VmRSS")
    model = build_lyrics_model(data.vocab_size, "all", 2)
    h = fit_streamed(model, data, epochs=1, batch_size=cfg.batch_size)
    m = data.manifest
    print("RESULT", before, prepared, f"{seconds:.1f}", m["listed_pairs"], m["counts"]["train"]["pairs"], encoded,
          epoch_before, peak_kb(), f"{h['seconds']:.1f}")
"""


PREP_PROFILE_PROBE = PEAK + r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from dplib.config import get_config
from dplib.datasets import lastfm, lyrics as lyr
from dplib.datasets.corpus import find_data
from dplib.datasets.pairs import build_pair_pool, make_splits
from dplib.datasets.prepare import encode_split_lyrics
from dplib.datasets.report import SkipReport
from dplib.datasets.synthetic import SIZES
from dplib.experiments import data_folder
cfg = get_config(size=sys.argv[1])
paths = find_data(data_folder(cfg))
def rss():
    return peak_kb("VmRSS")
stages = [("start", rss())]
data = lastfm.load_lastfm_json(paths.lastfm_json[0])
stages.append((f"Last.fm JSON: {len(data.tracks)} tracks, {len(data.pairs)} scored pairs", rss()))
texts = lyr.load_lyrics_texts(paths.lyrics)
stages.append((f"lyrics texts of {len(texts)} songs", rss()))
pool = build_pair_pool(data.pairs, texts.keys(), seed=cfg.seed)
stages.append((f"pair pool: {len(pool)} unordered pairs", rss()))
class C: pass
corpus = C(); corpus.lyrics = texts
splits = make_splits(pool, "pair", SIZES[cfg.size].lyrics_pairs, seed=cfg.seed)
stages.append(("balanced, flipped splits", rss()))
vocab, songs = encode_split_lyrics(corpus, splits, cfg.max_len, cfg.min_count, cfg.max_doc_freq, SkipReport())
stages.append((f"vocabulary and encoded songs ({songs.data.nbytes / 2**20:.1f} MB)", rss()))
print("RESULT", "|".join(f"{name}={kb}" for name, kb in stages))
"""


def preparation_profile(size: str) -> dict:
    """Resident memory after each preparation stage, in one fresh process."""
    v = probe(PREP_PROFILE_PROBE, size)
    if isinstance(v, str):
        return {"error": v}
    stages = [item.rsplit("=", 1) for item in " ".join(v).split("|")]
    return {"size": size, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "stages": [(name, int(kb) / 1024) for name, kb in stages]}


def probe(script: str, *args: str) -> list[str] | str:
    proc = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT")), None)
    return line.split()[1:] if line else proc.stderr[-500:]


def generation_memory(sizes: list[str]) -> dict:
    out = {}
    for size in sizes:
        v = probe(GENERATION_PROBE, size)
        out[size] = {"error": v} if isinstance(v, str) else {"rss_mb": int(v[0]) / 1024, "seconds": float(v[1])}
    return out


def streaming_memory(sizes: list[str]) -> dict:
    """Streamed preparation (dplib data shards) then one epoch streamed from its shards, one fresh process per size.

    The largest size runs once more with its Last.fm files read twice: twice the listed rows for the same
    pairs (a pair listed again keeps its higher score), so memory that grows with the rows would show.
    """
    out = {}
    for size, times in [(s, 1) for s in sizes] + [(sizes[-1], 2)]:
        v = probe(STREAM_PROBE, size, str(times))
        out[size if times == 1 else f"{size}, Last.fm files read twice"] = {"error": v} if isinstance(v, str) else {
            "rss_imports_mb": int(v[0]) / 1024, "rss_prepared_mb": int(v[1]) / 1024, "prepare_seconds": float(v[2]),
            "listed_pairs": int(v[3]), "train_pairs": int(v[4]), "encoded_mb": int(v[5]) / 2**20,
            "rss_before_epoch_mb": int(v[6]) / 1024, "rss_after_epoch_mb": int(v[7]) / 1024,
            "epoch_seconds": float(v[8])}
    return out


def memory(sizes: list[str]) -> dict:
    """Each size in a fresh process: peak RSS after imports, after preparation, after one epoch."""
    out = {}
    for size in sizes:
        proc = subprocess.run([sys.executable, "-c", MEMORY_PROBE, size, "1"], cwd=ROOT,
                              capture_output=True, text=True)
        line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT")), None)
        if line is None:
            out[size] = {"error": proc.stderr[-500:]}
            continue
        v = line.split()[1:]
        out[size] = {"rss_imports_mb": int(v[0]) / 1024, "rss_prepared_mb": int(v[1]) / 1024,
                     "prepare_seconds": float(v[2]), "tracks": int(v[3]), "encoded_mb": int(v[4]) / 2**20,
                     "train_pairs": int(v[5]), "rss_after_epoch_mb": int(v[6]) / 1024, "epoch_seconds": float(v[7])}
    return out


def memory_results(sizes: list[str]) -> dict:
    print("memory ...", flush=True)
    return {"memory": memory(sizes), "generation": generation_memory(sizes), "streaming": streaming_memory(sizes),
            "preparation_profile": preparation_profile(sizes[-1]),
            "memory_date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def write_results(results: dict, path: Path) -> None:
    ly, bl, au = results["lyrics"], results["blocking"], results.get("audio")
    lines = [
        "# Benchmarks",
        "",
        f"Written by `make bench` (`benchmarks/run.py`) on {results['date']}.",
        f"Machine: {results['machine']}.",
        "",
        "## 1. Lyrics training throughput (same data, same seed, same epochs, one run)",
        "",
        f"Synthetic `{results['size']}` lyrics pairs: {ly['baseline']['train_pairs']:,} training pairs (both orders), "
        f"{ly['baseline']['epochs']} epochs, model `all` + 2 FC; mean song length {ly['mean_length']:.0f} words.",
        "",
        f"Measured {ly.get('date', results['date'])}. Steady state: epochs 2 to {ly['baseline']['epochs']} "
        "(the first epoch also traces the graph, more often for the fast path's varied batch shapes).",
        "",
        "| path | tower calls | batches | batch size | pairs/s, steady | pairs/s, all epochs | val accuracy |",
        "|---|---|---|---|---|---|---|",
        f"| straightforward | 2 | padded to 200 | 128 | {ly['baseline']['steady_pairs_per_second']:,.0f} | "
        f"{ly['baseline']['pairs_per_second']:,.0f} | {ly['baseline']['val_accuracy']:.3f} |",
        f"| fast path | 1 on [A; B] | length buckets, trimmed | 256 | {ly['fast']['steady_pairs_per_second']:,.0f} | "
        f"{ly['fast']['pairs_per_second']:,.0f} | {ly['fast']['val_accuracy']:.3f} |",
        "",
        f"**Speed-up: {ly['ratio']:.2f}x** steady, {ly['ratio_all_epochs']:.2f}x over all epochs "
        f"(target >= 3x: {'met' if ly['ratio'] >= 3 else 'NOT met, by ' + format(3 - ly['ratio'], '.2f') + 'x'}). "
        f"Validation accuracy difference: {ly['val_difference_points']:+.1f} points (target within 1 point: "
        f"{'met' if abs(ly['val_difference_points']) <= 1 else 'not met'}; single seeds on small validation sets move by about a point).",
        "",
        "## 2. Audio",
        "",
        "| |FFT| blocking of 600 s of audio | seconds of audio per second |",
        "|---|---|",
        f"| bare `numpy.fft.rfft` over the same frames | {bl['bare_rfft']:,.0f} |",
        f"| `block_spectrogram(log=False, normalize=False)` | {bl['library']:,.0f} ({bl['ratio']:.2f}x) |",
        f"| `block_spectrogram()` (log-compressed, normalised) | {bl['library_log_normalised']:,.0f} ({bl['ratio_log_normalised']:.2f}x) |",
        "",
        f"Target >= 0.8x for the blocking itself: {'met' if bl['ratio'] >= 0.8 else 'not met'}.",
    ]
    if au:
        lines += ["", f"Audio model training (conv1 + absdiff, {au['blocks']} blocks x {au['bins']} bins, "
                  f"{au['train_pairs']:,} training pairs): {au['pairs_per_second']:,.0f} pairs/s."]
    towers = results.get("audio_towers")
    if towers:
        rows = towers["rows"]
        reference = rows["paper tower, keras Conv1D"]["seconds_per_step"]
        lines += ["", f"Audio training steps (conv1 + absdiff + 1 FC, one batch of {next(iter(rows.values()))['batch']} "
                  f"real `{towers['size']}` pairs, both songs through the tower; measured {towers['date']}). "
                  "GFLOP/s counts the first convolution's forward pass and weight gradient only, the bulk of the "
                  f"work on |FFT| bins; a 2048 x 2048 float32 matmul ran at {towers['matmul_gflops']:.0f} GFLOP/s "
                  "in the same run.", "",
                  "| tower | input | ms per step | pairs/s | speed-up | first-layer GFLOP/s | of the matmul's |",
                  "|---|---|---|---|---|---|---|"]
        for label, r in rows.items():
            lines.append(f"| {label} | {r['blocks']} x {r['channels']:,} | {1000 * r['seconds_per_step']:.0f} | "
                         f"{r['pairs_per_second']:,.0f} | {reference / r['seconds_per_step']:.1f}x | "
                         f"{r['gflops']:.0f} | {100 * r['gflops'] / towers['matmul_gflops']:.0f}% |")
    nb = results.get("notebooks")
    if nb:
        lines += ["", "## 3. Notebook suite wall time", "",
                  f"- quick mode (`DPLIB_QUICK=1`, nbval, measured in this run): {nb['quick_seconds']:.0f} s "
                  f"({'all passed' if nb['quick_ok'] else 'FAILED'})"]
        if nb["default_seconds"]:
            lines.append(f"- default size (each notebook's last run at that size, as `make reproduce` records it): {nb['default_seconds']:.0f} s: "
                         + ", ".join(f"{k} {v:.0f} s" for k, v in nb["default_each"].items()))
        else:
            lines.append("- default size: run `make reproduce` first; it records each notebook's time.")
    mem = results.get("memory")
    if mem:
        lines += ["", "## 4. Peak memory (RSS), lyrics preparation and one training epoch, one fresh process per size", "",
                  f"Measured {results.get('memory_date', results['date'])}.", "",
                  "In memory (`dplib.datasets.prepare`, what the notebooks use): peak RSS (VmHWM) after importing "
                  "dplib and TensorFlow, after loading the corpus and preparing the pairs, and after one training "
                  "epoch (cumulative peaks).", "",
                  "| size | tracks | training pairs | RSS after imports | after preparation | encoded songs | after 1 epoch | epoch |",
                  "|---|---|---|---|---|---|---|---|"]
        for size, m in mem.items():
            if "error" in m:
                lines.append(f"| {size} | failed: {m['error'][-120:]!r} | | | | | | |")
                continue
            lines.append(f"| {size} | {m['tracks']:,} | {m['train_pairs']:,} | {m['rss_imports_mb']:.0f} MB | "
                         f"{m['rss_prepared_mb']:.0f} MB | {m['encoded_mb']:.1f} MB | {m['rss_after_epoch_mb']:.0f} MB | "
                         f"{m['epoch_seconds']:.1f} s |")
        gen = results.get("generation")
        if gen:
            lines += ["", "Synthetic data generation (streams to disk), peak RSS of a fresh process:", "",
                      "| size | peak RSS | seconds |", "|---|---|---|"]
            lines += [f"| {k} | {v['rss_mb']:.0f} MB | {v['seconds']:.0f} |" if "error" not in v
                      else f"| {k} | failed | |" for k, v in gen.items()]
        stream = results.get("streaming")
        if stream:
            lines += ["", "Streamed preparation (`dplib data shards`, `dplib.datasets.streaming`): the same pairs drawn "
                      "(`pair` split, the same caps), written to TFRecord shards without loading the corpus; then, "
                      "with the peak-RSS mark reset, one epoch of the same model streamed from those shards:", "",
                      "| size | listed pairs | training pairs | RSS after imports | peak during preparation | "
                      "encoded songs (songs.npy) | seconds | peak during the streamed epoch | epoch |",
                      "|---|---|---|---|---|---|---|---|---|"]
            for size, v in stream.items():
                if "error" in v:
                    lines.append(f"| {size} | failed: {v['error'][-120:]!r} | | | | | | | |")
                    continue
                lines.append(f"| {size} | {v['listed_pairs']:,} | {v['train_pairs']:,} | {v['rss_imports_mb']:.0f} MB | "
                             f"{v['rss_prepared_mb']:.0f} MB ({v['rss_prepared_mb'] - v['rss_imports_mb']:+.0f}) | "
                             f"{v['encoded_mb']:.1f} MB | {v['prepare_seconds']:.1f} | {v['rss_after_epoch_mb']:.0f} MB | "
                             f"{v['epoch_seconds']:.1f} s |")
        sizes = [m for m in mem.values() if "error" not in m]
        if len(sizes) >= 2:
            small, large = sizes[0], sizes[-1]
            grew = large["rss_prepared_mb"] - large["rss_imports_mb"]
            needed = large["encoded_mb"]
            verdict = (f"the in-memory path raised the peak by {grew:.0f} MB above the imports for {large['tracks']:,} "
                       f"tracks, for {needed:.0f} MB of encoded songs ({small['tracks']:,} tracks: "
                       f"{small['rss_prepared_mb'] - small['rss_imports_mb']:.0f} MB): "
                       + ("met." if grew <= 2 * needed + 50 else f"**not met**, by about {grew - needed:.0f} MB "
                          "(the stage profile below shows where)."))
            twice = [v for k, v in (stream or {}).items() if "read twice" in k and "error" not in v]
            streamed = [v for k, v in (stream or {}).items() if "read twice" not in k and "error" not in v]
            if len(streamed) >= 2:
                s_small, s_large = streamed[0], streamed[-1]
                s_grew = s_large["rss_prepared_mb"] - s_large["rss_imports_mb"]
                verdict += (f" The streamed path raised it by {s_grew:.0f} MB for {s_large['listed_pairs']:,} listed "
                            f"pairs, of which {s_large['encoded_mb']:.0f} MB are the encoded songs (memory-mapped, "
                            f"so counted in RSS); {s_small['rss_prepared_mb'] - s_small['rss_imports_mb']:.0f} MB for "
                            f"{s_small['listed_pairs']:,}: "
                            + ("**met**." if s_grew <= 2 * s_large["encoded_mb"] + 50 else "**not met**."))
                if twice:
                    t_grew = twice[0]["rss_prepared_mb"] - twice[0]["rss_imports_mb"]
                    verdict += (f" With the Last.fm files read twice ({twice[0]['listed_pairs']:,} listed rows, the "
                                f"same pairs) it rose by {t_grew:.0f} MB: what is not the songs does not grow with "
                                "the listed rows.") if t_grew <= s_grew + 5 else (
                                f" With the Last.fm files read twice ({twice[0]['listed_pairs']:,} listed rows) it "
                                f"rose by {t_grew:.0f} MB: memory still grows with the listed rows.")
            lines += ["", "Preparation memory target (no growth beyond the arrays the model needs): " + verdict]
        prof = results.get("preparation_profile")
        if prof and "error" not in prof:
            lines += ["", f"Where preparation memory goes (`{prof['size']}` size, resident memory after each stage, "
                      f"one fresh process, measured {prof['date']}):", "", "| stage | RSS | added |", "|---|---|---|"]
            previous = None
            for name, mb in prof["stages"]:
                added = "" if previous is None else f"{mb - previous:+.0f} MB"
                lines.append(f"| {name} | {mb:.0f} MB | {added} |")
                previous = mb
        if "paper" in mem and "error" not in mem["paper"]:
            per_epoch = mem["paper"]["epoch_seconds"]
            lines += ["", f"Paper-size Table 2 estimate: 8 configurations x 10 epochs x {per_epoch:.1f} s "
                      f"= {8 * 10 * per_epoch / 60:.0f} min of training (target: within 60 min)."]
    path.write_text("\n".join(lines) + "\n")


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
                        help="only measure the audio towers' training steps again (dated), rewrite RESULTS.md")
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
        saved["audio_towers"] = audio_towers_throughput("default" if args.size == "paper" else args.size)
        (out.parent / "results.json").write_text(json.dumps(saved, indent=1, default=str))
        args.from_json = True
    if args.memory_only:
        saved = json.loads((out.parent / "results.json").read_text())
        saved.update(memory_results(args.memory_sizes))
        default_file = ROOT / "results" / "default" / "notebook_times.json"
        if saved.get("notebooks") and default_file.exists():  # a notebook rerun since: its time, as recorded
            each = json.loads(default_file.read_text())
            saved["notebooks"].update(default_seconds=sum(each.values()), default_each=each)
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
