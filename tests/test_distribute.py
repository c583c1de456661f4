"""MirroredStrategy over two logical CPU devices trains the same model as one device."""
import json
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(r"""
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from dplib.runtime import seed_everything
    from dplib.models import build_lyrics_model
    from dplib.training import make_strategy

    rng = np.random.default_rng(0)
    a = rng.integers(1, 100, size=(512, 12)).astype("int32")
    y = rng.integers(0, 2, size=512)
    b = np.where(y[:, None] == 1, a, rng.integers(1, 100, size=(512, 12))).astype("int32")
    test = [a[:64], b[:64]]

    def train(strategy):
        seed_everything(0)
        with strategy.scope():
            model = build_lyrics_model(100, "absdiff", 1, dropout=0.0, learning_rate=1e-2)
        ds = tf.data.Dataset.from_tensor_slices(((a, b), y)).batch(64)
        loss = model.fit(ds, epochs=2, verbose=0).history["loss"]
        return loss, model.predict(test, verbose=0)

    mirrored = make_strategy("mirrored", ["/cpu:0", "/cpu:1"])
    one_loss, one_pred = train(make_strategy("default"))
    two_loss, two_pred = train(mirrored)
    print(json.dumps({"replicas": mirrored.num_replicas_in_sync, "one": one_loss, "two": two_loss,
                      "max_pred_diff": float(np.abs(one_pred - two_pred).max())}))
""")


def test_mirrored_strategy_matches_one_device():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert abs(result["one"][-1] - result["two"][-1]) < 1e-3, result
    assert result["max_pred_diff"] < 1e-3, result


def test_unknown_strategy():
    from dplib.training import make_strategy

    with pytest.raises(ValueError, match="strategy must be"):
        make_strategy("horovod")


def test_tpu_strategy_without_a_tpu_says_so():

    from dplib.training import make_strategy

    with pytest.raises(RuntimeError, match="no TPU found"):
        make_strategy("tpu")


BUILT_UNDER = textwrap.dedent(r"""
    import json, os, sys
    from dataclasses import replace
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    import keras
    import dplib.training as training
    from dplib.config import get_config
    from dplib.datasets.corpus import load_corpus

    two = training.make_strategy("mirrored", ["/cpu:0", "/cpu:1"])
    training.make_strategy = lambda name="default", devices=None: two if name == "mirrored" else tf.distribute.get_strategy()
    seen, real_fit = [], training.fit

    def recording_fit(model, data, **kw):  # every model any entry point trains passes here
        seen.append({"replicas": model.distribute_strategy.num_replicas_in_sync,
                     "lr": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate))})
        return real_fit(model, data, **{**kw, "epochs": 1})

    training.fit = recording_fit
    cfg = replace(get_config(size="quick"), strategy="mirrored")
    corpus = load_corpus(sys.argv[1])
    import dplib.joint as joint
    everything = joint.models_for  # the lyrics-only model (3e-3) and the joint one (1e-3) are enough: one per rate
    joint.models_for = lambda cfg: {n: m for n, m in everything(cfg).items() if not n.startswith("audio")}
    models, results = joint.run_joint(cfg, corpus)
    recorded = [r["settings"]["learning_rate"] for r in results.values()]
    compiled = [float(keras.ops.convert_to_numpy(m.optimizer.learning_rate)) for m in models.values()]
    from dplib.diagnose import train_and_inspect
    from dplib.experiments import prepare
    _, health = train_and_inspect(prepare("audio", cfg, "song", corpus, bands="mel64"), "paper")  # 64 bands
    print(json.dumps({"seen": seen, "recorded": recorded, "compiled": compiled,
                      "probe_lr": health["settings"]["learning_rate"]}))
""")


def test_notebook_09s_and_07s_models_are_built_under_the_strategy_and_record_the_rate_they_train_at(
        synth_quick, tmp_path):
    """DPLIB_STRATEGY reaches every model (notebook 09's joint runs and notebook 07's probe included): each trains
    across both logical CPUs, and each result records the learning rate the model was compiled with."""
    import os

    env = {**os.environ, "DPLIB_RESULTS": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", BUILT_UNDER, str(synth_quick)], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert len(result["seen"]) == 3 and all(s["replicas"] == 2 for s in result["seen"]), result["seen"]
    # the lyrics-only models at 3e-3, those with audio at 1e-3 (the optimizer holds them as float32)
    assert result["recorded"] == pytest.approx(result["compiled"], rel=2**-23)
    assert sorted(set(result["recorded"])) == [1e-3, 3e-3]
    assert result["probe_lr"] == pytest.approx(result["seen"][-1]["lr"], rel=2**-23)
