"""Every kind of model this project saves (each lyrics head of the ablations, the audio towers, the joint model)
loads in a fresh process, in Keras safe mode, through the one loader the command line uses, and predicts what it
predicted before saving."""
import os
import subprocess
import sys

import numpy as np

from conftest import REPO
from dplib.models import build_audio_model, build_joint_model, build_lyrics_model
from dplib.layers import COMBINERS

VOCAB, BINS = 30, 17

LOAD_AND_PREDICT = """
import sys
import numpy as np
from dplib.models import load_pair_model
folder = sys.argv[1]
data = np.load(folder + "/inputs.npz")
for name in sys.argv[2:]:
    model = load_pair_model(f"{folder}/{name}.keras")
    kind = name.split("_")[0]
    if kind == "joint":
        x = {k: data[k] for k in ("lyrics_a", "audio_a", "lyrics_b", "audio_b")}
    else:
        x = [data[f"{kind}_a"], data[f"{kind}_b"]]
    np.save(f"{folder}/{name}.loaded.npy", model.predict(x, verbose=0))
"""


def test_every_saved_model_kind_reloads_in_a_fresh_process(tmp_path):
    rng = np.random.default_rng(0)
    inputs = {"lyrics_a": rng.integers(1, VOCAB, (4, 7)).astype("int32"),
              "lyrics_b": rng.integers(1, VOCAB, (4, 7)).astype("int32"),
              "audio_a": rng.normal(size=(4, 3, BINS)).astype("float32"),
              "audio_b": rng.normal(size=(4, 3, BINS)).astype("float32")}
    np.savez(tmp_path / "inputs.npz", **inputs)
    models = {f"lyrics_{c}_fc{fc}": build_lyrics_model(VOCAB, c, fc) for c in sorted(COMBINERS) for fc in (1, 2)}
    models |= {f"audio_conv{k}": build_audio_model(BINS, conv_layers=k, filters=4) for k in (0, 1, 2)}
    models["audio_conv1_pool2"] = build_audio_model(BINS, conv_layers=1, filters=4, pool=2)
    models["joint"] = build_joint_model(VOCAB, BINS, filters=4)
    expected = {}
    for name, model in models.items():
        model.save(tmp_path / f"{name}.keras")
        kind = name.split("_")[0]
        x = inputs if kind == "joint" else [inputs[f"{kind}_a"], inputs[f"{kind}_b"]]
        expected[name] = model.predict(x, verbose=0)
    done = subprocess.run([sys.executable, "-c", LOAD_AND_PREDICT, str(tmp_path), *models], capture_output=True,
                          text=True, cwd=REPO, timeout=600, env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-2000:]
    for name, probs in expected.items():
        np.testing.assert_allclose(np.load(tmp_path / f"{name}.loaded.npy"), probs, atol=1e-6, err_msg=name)
