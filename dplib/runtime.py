"""What a run does to its process: seeding, quieting TensorFlow's start-up lines, and naming the machine and device
(the settings themselves are values: :mod:`dplib.config`)."""
from __future__ import annotations

import os
import random

import numpy as np


def seed_everything(seed: int = 0) -> None:
    """Seed Python, NumPy and TensorFlow and make TensorFlow ops deterministic.

    The same seed then gives the same numbers on the same machine (GPU kernels
    included, at some cost in speed).
    Taught in notebook 04.
    """
    import keras
    import tensorflow as tf

    os.environ["PYTHONHASHSEED"] = str(seed)
    random.seed(seed)
    np.random.seed(seed)
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def quiet_tensorflow() -> None:
    """Import TensorFlow without its C++ start-up lines (CUDA probing, oneDNN notices) and
    keep its Python logger to errors, so notebook outputs and the command line show only what we print."""
    import sys

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # read by TensorFlow's C++ logging when it loads: errors only
    if "tensorflow" not in sys.modules:
        stderr = os.dup(2)
        devnull = os.open(os.devnull, os.O_WRONLY)
        try:
            os.dup2(devnull, 2)
            import tensorflow

            tensorflow.config.list_physical_devices()  # the device probe logs too (cuInit without a GPU)
        finally:
            os.dup2(stderr, 2)
            os.close(devnull)
            os.close(stderr)
    import tensorflow as tf

    tf.get_logger().setLevel("ERROR")


def machine_summary() -> str:
    """The machine, as results record it: CPU cores and model, and the GPU TensorFlow sees. A table of training
    times can then say where they were measured, not where the report happened to be written."""
    import tensorflow as tf

    cpu = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), cpu)
    except OSError:
        pass
    gpus = tf.config.list_physical_devices("GPU")
    return f"{os.cpu_count()} CPU cores ({cpu}), " + (f"{len(gpus)} GPU" if gpus else "no GPU")


def device_summary() -> str:
    """One line naming the accelerator TensorFlow will use (or the CPU)."""
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = []
        for gpu in gpus:
            details = tf.config.experimental.get_device_details(gpu)
            names.append(details.get("device_name", gpu.name))
        return f"GPU: {', '.join(names)} (TensorFlow {tf.__version__})"
    return f"CPU only, {os.cpu_count()} cores (TensorFlow {tf.__version__})"


def yardsticks() -> dict:
    """How fast this machine is now, measured two ways in a few seconds, so that run times taken on different days
    can be compared (shared virtual machines differ): ``matmul_gflops``, a 2048 x 2048 float32 matrix product in
    NumPy (arithmetic), and ``lstm_steps_per_second``, training steps of a small LSTM on one batch of 64 songs of 30
    words (the cost of each operation, which bounds the tutorial's small models). Best of a few tries each."""
    import time

    quiet_tensorflow()  # the command line's stderr stays free of TensorFlow's start-up lines
    import keras

    def best(step, repeats: int) -> float:
        step()  # warm up (and, for Keras, trace)
        times = []
        for _ in range(repeats):
            started = time.perf_counter()
            step()
            times.append(time.perf_counter() - started)
        return min(times)

    rng = np.random.default_rng(0)
    x = rng.standard_normal((2048, 2048), dtype=np.float32)
    gflops = 2 * 2048**3 / best(lambda: x @ x, 5) / 1e9
    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((30,), dtype="int32"), keras.layers.Embedding(1000, 20),
                              keras.layers.LSTM(10), keras.layers.Dense(2, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    ids, labels = rng.integers(1, 1000, (64, 30)), rng.integers(0, 2, 64)
    steps = 50
    seconds = best(lambda: [model.train_on_batch(ids, labels) for _ in range(steps)], 3)
    return {"matmul_gflops": round(gflops), "lstm_steps_per_second": round(steps / seconds)}
