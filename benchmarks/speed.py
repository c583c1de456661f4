"""Speed, measured side by side in one run: lyrics training paths, |FFT| blocking, audio towers, the notebook suite."""
from __future__ import annotations

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

from dplib.config import get_config  # noqa: E402
from dplib.runtime import seed_everything  # noqa: E402


def machine() -> str:
    import tensorflow as tf

    from dplib.runtime import machine_summary

    return f"{platform.node() or 'host'}: {machine_summary()}; Python {platform.python_version()}, TensorFlow {tf.__version__}"


def lyrics_throughput(size: str, epochs: int) -> dict:
    """Baseline and fast path on the same prepared pairs, same seed, same epochs."""
    from dplib.experiments import prepare
    from dplib.models import build_lyrics_model
    from dplib.training import train_model
    from dplib.evaluation import evaluate

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
    n_train = len(exp.data.parts.train)
    for name, s in settings.items():
        timer = EpochTimer()
        timer.seconds = []
        fixed = {"epochs": epochs, "batch_size": s["batch"], "learning_rate": cfg.learning_rate, "patience": None}
        model, history = train_model(exp.data, lambda: build_lyrics_model(exp.data.input_dim, "all", 2,
                                                                          stacked=s["stacked"],
                                                                          learning_rate=cfg.learning_rate),
                                     fixed, seed=0, fast=s["fast"], callbacks=[timer])
        val = evaluate(model, exp.data, "val")
        # the first epoch includes tracing (more of it for the fast path's varied batch shapes): the
        # steady-state rate over the later epochs is the headline, the all-epoch rate is kept beside it
        out[name] = {
            "steady_pairs_per_second": n_train * (epochs - 1) / sum(timer.seconds[1:]),
            "epoch_seconds": timer.seconds,
            "pairs_per_second": history["pairs_per_second"],
            "seconds": history["seconds"],
            "val_accuracy": val["accuracy"],
            "train_pairs": len(exp.data.parts.train),
            "epochs": epochs,
            **s,
        }
    out["ratio"] = out["fast"]["steady_pairs_per_second"] / out["baseline"]["steady_pairs_per_second"]
    out["ratio_all_epochs"] = out["fast"]["pairs_per_second"] / out["baseline"]["pairs_per_second"]
    out["val_difference_points"] = 100 * (out["fast"]["val_accuracy"] - out["baseline"]["val_accuracy"])
    out["mean_length"] = float(exp.data.songs.lengths.mean())
    out["size"] = size  # --lyrics-only may measure at another size than the rest of results.json
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
    from dplib.training import train_model

    cfg = get_config(size=size)
    exp = prepare("audio", cfg, "pair")
    fixed = {"epochs": epochs, "batch_size": cfg.batch_size_for("audio"), "learning_rate": cfg.learning_rate_for("audio"),
             "patience": None}
    _, history = train_model(exp.data, lambda: build_model(exp, "absdiff", 1, conv_layers=1), fixed, seed=0)
    return {"pairs_per_second": history["pairs_per_second"], "train_pairs": len(exp.data.parts.train),
            "blocks": int(exp.data.songs.data.shape[1]), "bins": int(exp.data.songs.data.shape[2])}


def best_seconds(step, steps: int, repeats: int = 3) -> float:
    """Seconds per call of ``step``: the best of ``repeats`` runs of ``steps // repeats`` calls each. Runs on this
    kind of machine vary by a third from one minute to the next; the best run is the rate the code can reach."""
    n = max(1, steps // repeats)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(n):
            step()
        best = min(best, (time.perf_counter() - started) / n)
    return best


#: the towers timed: label, input (bands; None: the |FFT| bins), convolutions, TapConv1D
TOWERS = (("paper tower, keras Conv1D", None, 1, False), ("paper tower, TapConv1D", None, 1, True),
          ("paper tower, no convolution (conv0)", None, 0, True), ("paper tower, 2 convolutions (conv2)", None, 2, True),
          ("mel64 input, TapConv1D", "mel64", 1, True))


def audio_towers_throughput(size: str = "default", steps: int = 30) -> dict:
    """Training steps of conv + absdiff + 1 FC on one real batch of the synthetic clips: the paper's tower on
    5,513 |FFT| bins with Keras' Conv1D and with TapConv1D (same weights, same function), with 0 and 2
    convolutions, and the compressed mel64 input; the first convolution's arithmetic per second beside a
    2048 x 2048 float32 matmul, same run; and what Table 3's saved |FFT| rows need at these rates (the floor)."""
    import tensorflow as tf

    from dplib.datasets.pipeline import pair_dataset
    from dplib.experiments import prepare
    from dplib.models import build_audio_model

    cfg = get_config(size=size)
    rows = {}
    for label, bands, convs, tap in TOWERS:
        exp = prepare("audio", cfg, "pair", bands=bands)
        (a, b), y = next(iter(pair_dataset(exp.data.parts.train, exp.data.songs, cfg.audio_batch_size)))
        seed_everything(0)
        model = build_audio_model(exp.data.input_dim, convs, "absdiff", 1, learning_rate=cfg.audio_learning_rate,
                                  tap_conv=tap)
        for _ in range(3):
            model.train_on_batch((a, b), y)  # trace and warm up
        seconds = best_seconds(lambda: model.train_on_batch((a, b), y), steps)
        songs, blocks, channels = 2 * int(a.shape[0]), int(a.shape[1]), int(a.shape[2])
        flops = 2 * 2 * songs * blocks * 11 * channels * 32 if convs else None  # forward and weight gradient
        rows[label] = {"seconds_per_step": seconds, "pairs_per_second": int(a.shape[0]) / seconds,  # of conv 1
                       "conv_gflop_per_step": flops and flops / 1e9, "gflops": flops and flops / seconds / 1e9,
                       "channels": channels, "blocks": blocks, "batch": int(a.shape[0]), "conv_layers": convs,
                       "bands": bands, "tap_conv": tap}
    x = tf.random.normal((2048, 2048))
    tf.matmul(x, x).numpy()
    matmul = 2 * 2048**3 / best_seconds(lambda: tf.matmul(x, x).numpy(), steps) / 1e9
    return {"rows": rows, "matmul_gflops": matmul, "size": size, "table3_fft_epochs": table3_fft_epochs(cfg),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def autotune_epochs(size: str = "default", epochs: int = 4) -> dict:
    """The paper's audio row (conv1 + absdiff + 1 FC, seed 0) trained for ``epochs`` with validation, once with
    tf.data's autotuner on (TensorFlow's default) and once off (what ``dplib.datasets.pipeline.prefetched``
    sets), same batches, one run: each epoch's wall time (to the next epoch's start: an epoch's iterator is
    dropped there), and whether the two per-epoch histories are the same."""
    import keras
    import tensorflow as tf

    from dplib.experiments import build_model, prepare

    cfg = get_config(size=size)
    exp = prepare("audio", cfg, "pair")
    batch = cfg.batch_size_for("audio")

    class EpochStarts(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.starts.append(time.perf_counter())

    out = {}
    for label, enabled in (("autotuner on (TensorFlow's default)", True), ("autotuner off (dplib)", False)):
        options = tf.data.Options()
        options.autotune.enabled = enabled
        train = exp.data.dataset("train", batch, seed=0).with_options(options)
        val = exp.data.dataset("val", 2 * batch).with_options(options)
        seed_everything(0)
        model = build_model(exp, "absdiff", 1, 1)
        starts = EpochStarts()
        starts.starts = []
        history = model.fit(train, validation_data=val, epochs=epochs, verbose=0, shuffle=False, callbacks=[starts])
        ends = [*starts.starts[1:], time.perf_counter()]
        out[label] = {"epoch_seconds": [e - b for b, e in zip(starts.starts, ends)],
                      "loss": [float(x) for x in history.history["loss"]]}
    on, off = out.values()
    return {"rows": out, "same_history": on["loss"] == off["loss"], "train_pairs": len(exp.data.parts.train),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def audio_evaluation(size: str = "default") -> dict:
    """What two levers notebook 07 uses save, each beside the path it replaced, one run: evaluating the paper's audio
    row (seed 0, trained 2 epochs) on its train, val and test parts with ``model.predict`` on the rows (every song
    through the tower in each row it is in) and as ``dplib.evaluation.evaluate`` does (the tower once per song, the
    head on the rows), each on a fresh copy of the same weights, twice in the order A, B, B, A (the mean of each
    path's two); and the clips' spectrograms encoded with nothing cached, then again (``encode_audio``: a clip is
    computed once per process)."""
    from dplib.datasets import audio
    from dplib.evaluation import evaluate, predict_pairs, scores_metrics
    from dplib.experiments import build_model, prepare, training_settings
    from dplib.training import train_model

    cfg = get_config(size=size)
    exp = prepare("audio", cfg, "pair")
    songs, spectra = exp.data.songs, {}
    audio.forget_spectra()
    for label in ("nothing cached", "again"):
        started = time.perf_counter()
        encoded = audio.encode_audio(exp.corpus.paths.audio, songs.track_ids, songs.data.shape[1])
        spectra[label] = {"seconds": time.perf_counter() - started, "same": np.array_equal(encoded.data, songs.data)}
    settings = {**training_settings(exp), "epochs": 2, "patience": None}
    weights = train_model(exp.data, lambda: build_model(exp, "absdiff", 1, 1), settings, 0)[0].get_weights()
    rows, scores, paths = {}, {}, ("model.predict on the rows", "tower once per song (dplib)")
    for label in (*paths, *paths[::-1]):  # each path first once: neither gains from the other's warm-up
        model = build_model(exp, "absdiff", 1, 1)
        model.set_weights(weights)
        started = time.perf_counter()
        if label == paths[0]:
            p = {part: predict_pairs(model, exp.data.rows(part), songs) for part in ("train", "val", "test")}
            metrics = {part: scores_metrics(exp.data.rows(part).label, p[part]) for part in p}
        else:
            metrics = {part: evaluate(model, exp.data, part, keep_scores=True) for part in ("train", "val", "test")}
            p = {part: np.asarray(m.pop("p")) for part, m in metrics.items()}
        seconds = time.perf_counter() - started + rows.get(label, {}).get("seconds", 0.0)
        rows[label] = {"seconds": seconds / (1 + (label in scores)),  # the mean of its two runs
                       **{f"{part}_{k}": m[k] for part, m in metrics.items() for k in ("accuracy", "roc_auc")}}
        scores[label] = np.concatenate(list(p.values()))
    before, now = rows.values()
    return {"rows": rows, "spectra": spectra, "clips": len(songs), "rows_scored": len(scores[label]),
            "same_metrics": all(before[k] == now[k] for k in before if k != "seconds"),
            "max_abs_difference": float(np.abs(np.subtract(*scores.values())).max()),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


def table3_fft_epochs(cfg) -> dict:
    """Per number of convolutions: the saved Table 3 |FFT| rows at this size over ``cfg.seeds`` (both splits), how
    many, the training rows they went through (epochs run x training pairs) and the rows up to their best epochs."""
    from dplib.experiments import load_results

    out: dict[str, dict] = {}
    for split in ("pair", "song"):
        for r in load_results(cfg, "audio", split, None, cfg.seeds):
            row = out.setdefault(str(r["conv_layers"]), {"trainings": 0, "rows": 0, "rows_to_best": 0})
            rows = r["counts"]["train"].get("rows", r["counts"]["train"]["pairs"])  # older results: "pairs"
            row["trainings"] += 1
            row["rows"] += r["epochs_run"] * rows
            row["rows_to_best"] += r["best_epoch"] * rows
    return out


def notebook_times() -> dict:
    """The quick-mode notebook suite under nbval (what `make test` runs), from scratch, measured here: each
    notebook's time and the wall time; what `make reproduce` trains at the default size, per stage, as the saved
    runs recorded it; and the last complete `make reproduce`'s own clock (read, not rerun: half an hour)."""
    import re
    import tempfile

    from dplib.tables import training_costs

    with tempfile.TemporaryDirectory() as results:  # from scratch: no saved ablation results to reuse
        started = time.perf_counter()
        env = {**os.environ, "DPLIB_QUICK": "1", "DPLIB_RESULTS": results}
        proc = subprocess.run([sys.executable, "-m", "dplib.cli", "nbval", str(ROOT / "notebooks")],
                              cwd=ROOT, env=env, capture_output=True, text=True)
        quick = time.perf_counter() - started
    each = {m[1]: float(m[3]) for m in re.finditer(r"^nbval (\S+): (ok|FAILED) in (\d+) s", proc.stdout, re.M)}
    cfg = get_config(size="default")
    stages = training_costs(cfg, by_stage=True)
    last = cfg.results_folder / "reproduce_run.json"
    return {"reproduce_run": json.loads(last.read_text()) if last.exists() else None, "quick_seconds": quick, "quick_ok": proc.returncode == 0, "quick_each": dict(sorted(each.items())),
            "jobs": min(os.cpu_count() or 1, 4), "reproduce_stages": stages, "retrained": retrain_saved(),
            "side_by_side": side_by_side(),
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}


#: what section 3 trains again: one whole stage of Table 2 (every row, seed 0) and the paper's audio row
RETRAIN = (("lyrics", "song", None, None), ("audio", "pair", None, [dict(conv_layers=1, combine="absdiff", fc=1)]))
#: what two workers train, one after the other and then side by side: Table 2's 2-FC rows on the song split, and
#: Table 3's concat rows on the pair split (seed 0; about the same time each; the song split trains one |FFT| row)
SIDE_BY_SIDE = ((("lyrics", "song", None, [dict(combine=c, fc=2) for c in ("concat", "diff", "all")]),),
                (("audio", "pair", None, [dict(conv_layers=k, combine="concat", fc=1) for k in (0, 1)]),))


def retrain_saved(stages=RETRAIN) -> list[dict]:
    """Train saved default-size configurations (seed 0; rows ``None``: the stage's whole grid) again with today's
    code, nothing written: the time now beside the time the saved run recorded, and whether it gives the same
    per-epoch history (what lets a rerun reuse it)."""
    from dplib.experiments import config_name, full_grid, prepare, train_and_evaluate
    from dplib.record import run_folder

    cfg = get_config(size="default")
    out = []
    for kind, split, bands, rows in stages:
        exp = prepare(kind, cfg, split, bands=bands)
        for row in rows or full_grid(kind, bands):
            name = config_name(kind, **row, bands=bands)
            path = run_folder(cfg, exp.results_name, split, 0) / f"{name}.json"
            if not path.exists():
                continue
            saved = json.loads(path.read_text())
            _, now = train_and_evaluate(exp, row["combine"], row["fc"], row.get("conv_layers"))
            out.append({"name": f"{exp.results_name}/{split}/seed0 {name}", "recorded_seconds": saved["seconds"],
                        "seconds": now["seconds"], "epochs_run": now["epochs_run"],
                        "same_history": now["history"] == saved["history"]})
    return out


def side_by_side(workers=SIDE_BY_SIDE) -> dict:
    """What ``dplib reproduce --jobs 2`` gains: each worker's saved trainings in a fresh process (as a notebook's
    kernel is), the processes one after the other and then side by side; wall times, and whether every training gave
    its saved per-epoch history both ways (the numbers do not depend on what runs beside them)."""
    def start(stages):
        return subprocess.Popen([sys.executable, __file__, "retrain", json.dumps(stages)], cwd=ROOT,
                                stdout=subprocess.PIPE, text=True, env={**os.environ, "DPLIB_QUICK": ""})

    def finish(proc) -> list[dict]:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise RuntimeError(f"a side-by-side worker failed (exit {proc.returncode})")
        return json.loads(out.strip().splitlines()[-1])

    started, alone = time.perf_counter(), []
    for stages in workers:
        alone.append(finish(start(stages)))
    one_after_other = time.perf_counter() - started
    started = time.perf_counter()
    together = [finish(proc) for proc in [start(stages) for stages in workers]]
    both = time.perf_counter() - started
    runs = [r for worker in alone + together for r in worker]
    return {"one_after_other_seconds": one_after_other, "side_by_side_seconds": both,
            "trainings": [r["name"] for worker in alone for r in worker],
            "same_history": sum(r["same_history"] for r in runs), "runs": len(runs)}


if __name__ == "__main__" and sys.argv[1:2] == ["retrain"]:  # one worker of side_by_side, in its own process
    print(json.dumps(retrain_saved(json.loads(sys.argv[2]))))
