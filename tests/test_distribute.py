"""MirroredStrategy over two logical CPU devices trains the same model as one device."""
import json
import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(r"""
    import json, os, sys
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    import numpy as np, tensorflow as tf
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
    from dplib import seed_everything
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
    import pytest
    from dplib.training import make_strategy

    with pytest.raises(ValueError, match="strategy must be"):
        make_strategy("horovod")


def test_tpu_strategy_without_a_tpu_says_so():
    import pytest

    from dplib.training import make_strategy

    with pytest.raises(RuntimeError, match="no TPU found"):
        make_strategy("tpu")
