"""The siamese building blocks: weight sharing, symmetry, saving, parameter counts, learning."""
import numpy as np
import keras
import pytest
import tensorflow as tf

from dplib.runtime import seed_everything
from dplib.layers import COMBINERS, SYMMETRY, PairCombiner
from dplib.models import build_audio_model, build_audio_tower, build_lyrics_model

VOCAB = 300


def random_tokens(rng, n=16, length=25):
    x = rng.integers(1, VOCAB, size=(n, length))
    lengths = rng.integers(3, length + 1, size=n)
    x[np.arange(length)[None, :] >= lengths[:, None]] = 0  # right padding
    return x.astype("int32")


@pytest.fixture(scope="module")
def pair_inputs():
    rng = np.random.default_rng(7)
    return random_tokens(rng), random_tokens(rng)


def test_both_songs_share_one_tower():
    model = build_lyrics_model(VOCAB, "concat", 1, stacked=False)
    towers = [layer for layer in model.layers if layer.name == "lyrics_tower"]
    assert len(towers) == 1
    # embedding + LSTM kernel, recurrent kernel, bias, + softmax kernel, bias: one set only
    assert len(model.trainable_weights) == 1 + 3 + 2
    tower_ids = {id(w) for w in towers[0].trainable_weights}
    assert len(tower_ids) == 4


@pytest.mark.parametrize("stacked", [True, False])
@pytest.mark.parametrize("combine", ["absdiff", "product", "all_sym"])
def test_symmetric_combiners_give_symmetric_models(combine, stacked, pair_inputs):
    a, b = pair_inputs
    model = build_lyrics_model(VOCAB, combine, fc=2, stacked=stacked)
    p_ab = model.predict([a, b], verbose=0)
    p_ba = model.predict([b, a], verbose=0)
    np.testing.assert_allclose(p_ab, p_ba, atol=1e-6)


def test_diff_feature_is_exactly_antisymmetric():
    rng = np.random.default_rng(0)
    h1, h2 = rng.normal(size=(2, 8, 10)).astype("float32")
    layer = PairCombiner("diff")
    np.testing.assert_array_equal(np.asarray(layer(h1, h2)), -np.asarray(layer(h2, h1)))


@pytest.mark.parametrize("combine", ["concat", "all"])
def test_concat_and_all_are_not_symmetric(combine, pair_inputs):
    a, b = pair_inputs
    keras.utils.set_random_seed(3)
    model = build_lyrics_model(VOCAB, combine, fc=1)
    gap = np.abs(model.predict([a, b], verbose=0) - model.predict([b, a], verbose=0)).max()
    assert gap > 1e-4, f"{combine}: expected a counter-example to symmetry, max gap {gap}"


def test_symmetry_table_matches_the_math():
    rng = np.random.default_rng(1)
    h1, h2 = rng.normal(size=(2, 4, 5)).astype("float32")
    for name, fn in COMBINERS.items():
        ab, ba = np.asarray(fn(h1, h2)), np.asarray(fn(h2, h1))
        kind = SYMMETRY[name]
        assert np.allclose(ab, ba) == (kind == "symmetric"), name
        assert np.allclose(ab, -ba) == (kind == "anti-symmetric"), name


def test_stacked_and_two_call_models_compute_the_same_function(pair_inputs):
    a, b = pair_inputs
    fast = build_lyrics_model(VOCAB, "all", 2, stacked=True)
    plain = build_lyrics_model(VOCAB, "all", 2, stacked=False)
    plain.set_weights(fast.get_weights())
    # The two differ only in how batches are laid out, so only in float32 rounding. Each path errs by at most about
    # 2**-24 per term summed on the way to the output: 25 steps of LSTM gates over embedding (20) + state (10)
    # inputs, then the head's fan-ins; every term is at most ~1 (states pass tanh/sigmoid, Glorot weights < 1).
    terms = a.shape[1] * (20 + 10) + 4 * 10 + 16 + 16
    np.testing.assert_allclose(fast.predict([a, b], verbose=0), plain.predict([a, b], verbose=0), rtol=0,
                               atol=2 * terms * 2.0 ** -24)


@pytest.mark.parametrize("combine", sorted(COMBINERS))
def test_save_and_load_in_safe_mode(combine, pair_inputs, tmp_path):
    a, b = pair_inputs
    model = build_lyrics_model(VOCAB, combine, fc=2)
    path = tmp_path / f"{combine}.keras"
    model.save(path)
    loaded = keras.models.load_model(path, safe_mode=True)
    np.testing.assert_array_equal(model.predict([a, b], verbose=0), loaded.predict([a, b], verbose=0))


def test_audio_model_saves_and_is_symmetric(tmp_path):
    x = np.random.default_rng(2).normal(size=(2, 5, 12, 33)).astype("float32")
    model = build_audio_model(33, conv_layers=2, combine="absdiff", fc=1, filters=8)
    np.testing.assert_allclose(model.predict([x[0], x[1]], verbose=0), model.predict([x[1], x[0]], verbose=0), atol=1e-6)
    model.save(tmp_path / "audio.keras")
    loaded = keras.models.load_model(tmp_path / "audio.keras")
    np.testing.assert_array_equal(model.predict([x[0], x[1]], verbose=0), loaded.predict([x[0], x[1]], verbose=0))


def lyrics_params_by_hand(vocab, combine, fc, embed=20, hidden=10, fc_units=16):
    embedding = vocab * embed
    # LSTM: 4 gates, each with input weights (embed x hidden), recurrent (hidden x hidden), bias (hidden)
    lstm = 4 * (embed * hidden + hidden * hidden + hidden)
    width = {"concat": 2, "diff": 1, "absdiff": 1, "product": 1, "all": 4, "all_sym": 3}[combine] * hidden
    if fc == 1:
        head = width * 2 + 2
    else:
        head = (width * fc_units + fc_units) + (fc_units * 2 + 2)
    return embedding + lstm + head


@pytest.mark.parametrize("fc", [1, 2])
@pytest.mark.parametrize("combine", ["concat", "diff", "product", "all"])
def test_parameter_counts_of_table2_models(combine, fc):
    model = build_lyrics_model(5000, combine, fc)
    assert model.count_params() == lyrics_params_by_hand(5000, combine, fc)
    # a concrete one, written out: all + 2 FC on a 5,000-word vocabulary
    # 100,000 (embedding) + 1,240 (LSTM) + 656 (40->16) + 34 (16->2) = 101,930
    if (combine, fc) == ("all", 2):
        assert model.count_params() == 101_930


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unknown combiner 'sum'"):
        build_lyrics_model(VOCAB, "sum")
    with pytest.raises(ValueError, match="fc must be 1 or 2"):
        build_lyrics_model(VOCAB, "all", fc=3)
    with pytest.raises(ValueError, match="conv_layers"):
        build_audio_model(16, conv_layers=3)


def toy_pairs(rng, n):
    """Identical sequences (label 1) versus unrelated ones (label 0)."""
    a = random_tokens(rng, n, 12)
    other = random_tokens(rng, n, 12)
    y = rng.integers(0, 2, size=n)
    b = np.where(y[:, None] == 1, a, other)
    return a, b, y


def test_lyrics_model_learns_a_toy_pair_task():
    seed_everything(0)
    rng = np.random.default_rng(0)
    a, b, y = toy_pairs(rng, 2048)
    ta, tb, ty = toy_pairs(rng, 512)
    model = build_lyrics_model(VOCAB, "absdiff", fc=1, learning_rate=1e-2)
    model.fit([a, b], y, epochs=4, batch_size=64, verbose=0)
    accuracy = model.evaluate([ta, tb], ty, verbose=0)[1]
    assert accuracy > 0.8, accuracy


@pytest.mark.parametrize("kind", ["lyrics", "audio"])
def test_training_creates_no_variables_so_its_step_is_traced_once(kind):
    """A variable made while the train step is traced (Adam's slots, a metric's counters) makes TensorFlow trace the
    step twice: about 2 s more per model on a 2-core CPU, a quarter of a quick-mode training."""
    seed_everything(0)
    rng = np.random.default_rng(0)
    if kind == "lyrics":
        a, b, y = toy_pairs(rng, 64)
        model = build_lyrics_model(VOCAB, "all", 2)
    else:
        a, b = (rng.normal(size=(64, 4, 16)).astype("float32") for _ in range(2))
        y = rng.integers(0, 2, 64)
        model = build_audio_model(16, conv_layers=1, combine="absdiff", fc=1)
    made = []

    def record(next_creator, **kwargs):
        made.append(kwargs.get("name"))
        return next_creator(**kwargs)

    with tf.variable_creator_scope(record):
        model.fit([a, b], y, epochs=1, batch_size=32, verbose=0)
    assert made == []


def test_seed_everything_repeats_training_losses():
    def losses():
        seed_everything(123)
        rng = np.random.default_rng(5)
        a, b, y = toy_pairs(rng, 256)
        model = build_lyrics_model(VOCAB, "all", 2)
        return model.fit([a, b], y, epochs=2, batch_size=32, shuffle=True, verbose=0).history["loss"]

    first, second = losses(), losses()
    assert first == second


def test_step_scale_keeps_the_function_and_shrinks_adams_steps_on_the_wide_first_layer():
    """Adam moves every weight by about the learning rate, so a unit summing 11 x n_bins inputs moves by up to
    lr * fan-in per step; the step-scaled tower computes the same function but its first layer moves c times less."""
    from dplib.models import build_audio_tower

    n_bins = 400
    c = (11 * n_bins) ** -0.5
    x = np.abs(np.random.default_rng(3).normal(size=(8, 6, n_bins))).astype("float32")  # |FFT|-like: all positive
    towers = {}
    for scaled in (False, True):
        keras.utils.set_random_seed(0)
        towers[scaled] = build_audio_tower(n_bins, conv_layers=1, filters=8, step_scale=scaled)
    plain, scaled = towers[False], towers[True]
    scaled.set_weights([w / c if w.shape == plain.get_layer("conv1").kernel.shape else w for w in plain.get_weights()])
    np.testing.assert_allclose(scaled.predict(x, verbose=0), plain.predict(x, verbose=0), rtol=1e-4, atol=1e-5)

    def conv_change_after_one_step(tower):
        conv = keras.Model(tower.inputs, tower.get_layer("conv1").output)
        before = conv.predict(x, verbose=0)
        optimizer = keras.optimizers.Adam(1e-3)
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tower(x, training=False) - 1.0))
        optimizer.apply_gradients(zip(tape.gradient(loss, tower.trainable_variables), tower.trainable_variables))
        return np.abs(conv.predict(x, verbose=0) - before).max()

    plain_step, scaled_step = conv_change_after_one_step(plain), conv_change_after_one_step(scaled)
    assert plain_step > 1.0  # one step moves a 4,400-input unit by more than its own scale at the start
    assert scaled_step < 2 * c * plain_step  # c times the plain step (measured: 1.03 c)


@pytest.mark.parametrize("taps, channels, filters, steps", [(11, 300, 8, 16), (7, 32, 32, 16), (4, 3, 2, 5),
                                                            (11, 7, 3, 3), (1, 5, 2, 4)])
def test_tap_convolution_computes_what_conv1d_computes(taps, channels, filters, steps):
    """The audio towers' convolution as one matrix product over all taps: same weights, same outputs (float
    rounding), even and odd kernels, sequences shorter than the kernel."""
    from dplib.layers import TapConv1D

    x = np.random.default_rng(taps).normal(size=(3, steps, channels)).astype("float32")
    reference = keras.layers.Conv1D(filters, taps, padding="same", activation="relu")
    tap = TapConv1D(filters, taps, activation="relu")
    reference(x), tap(x)
    tap.set_weights([w + 0.1 for w in reference.get_weights()])  # a non-zero bias too
    reference.set_weights(tap.get_weights())
    kernel, bias = (w.astype("float64") for w in tap.get_weights())
    left = (taps - 1) // 2  # "same" padding, as Keras pads an even kernel
    padded = np.pad(x.astype("float64"), ((0, 0), (left, taps - 1 - left), (0, 0)))
    windows = np.stack([padded[:, k:k + steps] for k in range(taps)], axis=2)  # (batch, steps, taps, channels)
    exact = np.maximum(np.einsum("btkc,kcf->btf", windows, kernel) + bias, 0)
    # float32 sums of n terms err by at most about n * 2**-24 times the sum of the terms' magnitudes
    scale = np.einsum("btkc,kcf->btf", np.abs(windows), np.abs(kernel)) + np.abs(bias)
    bound = (taps * channels + 1) * 2.0 ** -24 * scale
    for layer in (tap, reference):
        assert np.all(np.abs(np.asarray(layer(x), dtype="float64") - exact) <= bound), layer.name
    assert tap.get_config()["padding"] == "same"


@pytest.mark.parametrize("bad", [dict(padding="valid"), dict(strides=2), dict(dilation_rate=2)])
def test_tap_convolution_refuses_what_it_does_not_compute(bad):
    from dplib.layers import TapConv1D

    with pytest.raises(ValueError, match="TapConv1D supports"):
        TapConv1D(4, 3, **bad)


def test_time_pooling_shortens_the_sequence_the_lstm_reads():
    tower = build_audio_tower(n_bins=8, conv_layers=1, filters=4, pool=2)
    pooled = tower.get_layer("time_pool")
    assert pooled.compute_output_shape((None, 15, 4))[1] == 8  # "same": an odd length keeps its last step
    with pytest.raises(ValueError, match="pool must be a positive int"):
        build_audio_tower(n_bins=8, pool=0)
