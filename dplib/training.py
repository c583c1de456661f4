"""Training: one function for every model in the tutorial, with the fast path on by default.

The fast path changes how batches are shaped, not what the model computes:
padding is trimmed to each batch's longest song (``dplib.datasets.pipeline``;
the rows stay shuffled), and the model runs its tower once on [A; B]
(``stacked=True`` in ``dplib.models``). ``fast=False`` gives the straightforward
version (every sequence padded to ``max_len``), which the benchmark compares against.
"""
from __future__ import annotations

import time
import warnings
from functools import lru_cache

import keras

from .datasets.prepare import PairData


def make_strategy(name: str = "default", devices: list[str] | None = None):
    """A ``tf.distribute`` strategy (one per name and device list): build and compile the
    model inside ``strategy.scope()``, then ``fit`` as usual.

    ``default``: one device (the GPU if there is one). ``mirrored``: data-parallel over all
    local GPUs (or ``devices``), gradients averaged every step. ``tpu``: a Colab/Cloud TPU.
    """
    return _strategy(name, tuple(devices) if devices else None)


@lru_cache(maxsize=None)
def _strategy(name: str, devices: tuple[str, ...] | None):
    import tensorflow as tf

    if name == "default":
        return tf.distribute.get_strategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy(list(devices) if devices else None)
    if name == "tpu":
        try:
            resolver = tf.distribute.cluster_resolver.TPUClusterResolver()
        except ValueError as err:  # TensorFlow's own words: "Please provide a TPU Name to connect to."
            raise RuntimeError(f"strategy 'tpu': no TPU found ({err}). On Colab pick a TPU runtime "
                               "(Runtime > Change runtime type); elsewhere leave DPLIB_STRATEGY unset.") from None
        tf.config.experimental_connect_to_cluster(resolver)
        tf.tpu.experimental.initialize_tpu_system(resolver)
        return tf.distribute.TPUStrategy(resolver)
    raise ValueError(f"strategy must be 'default', 'mirrored' or 'tpu', got {name!r}")


def fit(
    model: keras.Model,
    data: PairData,
    epochs: int = 10,
    batch_size: int = 256,
    seed: int = 0,
    fast: bool = True,
    fixed_shapes: bool = False,
    verbose: int = 0,
    callbacks: list | None = None,
    patience: int | None = None,
) -> dict:
    """Train on the ``train`` part of ``data`` (in memory or streamed shards), validate on ``val``; return the
    per-epoch history and timing. Taught in notebook 03.

    The model ends with the weights of its best validation epoch (highest validation ROC AUC when compiled with
    :class:`dplib.models.PairAUC`, else lowest validation loss), and training stops ``patience`` epochs after the
    last gain of at least 0.001 (``None``: runs all ``epochs``); ``best_epoch`` (from 1) says which epoch.
    ``fixed_shapes`` pads every batch to ``max_len`` (TPUs compile for static shapes).
    """
    train = data.dataset("train", batch_size, seed=seed, fast=fast, fixed_shapes=fixed_shapes)
    val = data.dataset("val", 2 * batch_size, fast=fast, fixed_shapes=fixed_shapes)
    return _fit_datasets(model, train, val, data.counts()["train"]["rows"], epochs, verbose, callbacks, patience)


def _compiled_with_auc(model) -> bool:
    config = model.get_compile_config() or {}
    return any("AUC" in str(m) for m in config.get("metrics") or [])


def _fit_datasets(model, train, val, n_train: int, epochs: int, verbose: int, callbacks, patience) -> dict:
    # keep the best validation epoch's weights: the last epoch is often past it (notebook 08 shows the curves).
    # Best by ROC AUC, not loss: on new songs the loss is lowest while the model still answers ~0.5 for everything.
    monitor = "val_auc" if _compiled_with_auc(model) else "val_loss"
    best = keras.callbacks.EarlyStopping(monitor=monitor, mode="max" if monitor == "val_auc" else "min",
                                         patience=patience or epochs, min_delta=1e-3, restore_best_weights=True)
    started = time.perf_counter()
    with warnings.catch_warnings():
        # a finite dataset ends each epoch on purpose; Keras warns about that
        warnings.filterwarnings("ignore", message="Your input ran out of data")
        # the dataset reshuffles itself each epoch, so Keras need not
        history = model.fit(train, validation_data=val, epochs=epochs, verbose=verbose,
                            callbacks=[*(callbacks or []), best], shuffle=False)
    seconds = time.perf_counter() - started
    out = {k: [float(v) for v in vals] for k, vals in history.history.items()}
    out["seconds"] = seconds
    out["best_epoch"] = best.best_epoch + 1
    out["epochs_run"] = len(out["loss"])
    out["pairs_per_second"] = n_train * out["epochs_run"] / seconds
    return out


def train_model(data: PairData, build, settings: dict, seed: int = 0, strategy: str = "default", verbose: int = 0,
                **fit_options) -> tuple[keras.Model, dict]:
    """The one way every model of the tutorial is trained (tables, real data, notebook 09, the diagnostics, the
    command line, the benchmarks): seed, ``build()`` inside the ``strategy``'s scope, :func:`fit` with ``settings``
    (``epochs``, ``batch_size``, ``learning_rate``, ``patience``). Returns ``(model, history)``.

    The learning rate a result records is the one the model trains with: a model compiled with another rate than
    ``settings["learning_rate"]`` is refused before training. ``fit_options``: ``fast``, ``callbacks``."""
    from .runtime import seed_everything

    seed_everything(seed)
    with make_strategy(strategy).scope():
        model = build()
    compiled = float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))
    if abs(compiled - settings["learning_rate"]) > 2**-23 * settings["learning_rate"]:  # the optimizer holds float32
        raise ValueError(f"the model compiles with learning rate {compiled:g} but the settings record "
                         f"{settings['learning_rate']:g}")
    history = fit(model, data, epochs=settings["epochs"], batch_size=settings["batch_size"], seed=seed,
                  patience=settings["patience"], verbose=verbose, fixed_shapes=strategy == "tpu", **fit_options)
    return model, history
