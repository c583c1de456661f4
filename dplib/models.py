"""Model builders: one tower, shared by both songs, a combiner and a small head.

Paper sizes are the defaults (embedding 20, LSTM 10, dropout 0.1). Choices the
paper leaves open (FC width, optimiser, learning rate) are named arguments.
"""
from __future__ import annotations

import keras
from keras import layers

from .layers import PairCombiner, SplitPair, StackPair, TapConv1D, check_combiner

#: kernel sizes of the paper's time-wise convolutions ("11x1", then "7x1")
AUDIO_KERNELS = (11, 7)


def build_lyrics_tower(
    vocab_size: int, embed_dim: int = 20, hidden: int = 10, dropout: float = 0.1
) -> keras.Model:
    """Embedding -> Dropout -> LSTM -> Dropout.

    Index 0 is padding (``mask_zero``); sequences are right-padded and the LSTM
    keeps its default activations and no recurrent dropout, so on a GPU Keras
    can use the fused cuDNN kernel.
    Taught in notebook 03.
    """
    tokens = keras.Input(shape=(None,), dtype="int32", name="tokens")
    x = layers.Embedding(vocab_size, embed_dim, mask_zero=True, name="embedding")(tokens)
    x = layers.Dropout(dropout, name="word_dropout")(x)
    h = layers.LSTM(hidden, name="lstm")(x)
    h = layers.Dropout(dropout, name="hidden_dropout")(h)
    return keras.Model(tokens, h, name="lyrics_tower")


def build_audio_tower(
    n_bins: int,
    conv_layers: int = 1,
    filters: int = 32,
    hidden: int = 10,
    dropout: float = 0.1,
    step_scale: bool = True,
    pool: int = 1,
    tap_conv: bool = True,
) -> keras.Model:
    """0, 1 or 2 Conv1D layers over time (kernels 11 then 7), then an LSTM.

    The frequency bins of each |FFT| block are the channels, so a "11x1" filter
    looks at 11 consecutive blocks (about 5.5 s). No pooling by default, as in the paper;
    ``padding="same"`` keeps short clips usable.

    ``step_scale`` (our choice, notebook 07): the first layer reads its inputs times c = 1/sqrt(fan-in) and starts
    from Glorot weights divided by c, so the tower computes the same function at the start; but Adam moves every
    weight by about the learning rate whatever its gradient, so a unit summing 11 x 5,513 inputs moves by up to
    ``lr * fan-in * E|x|`` per step, tens after a few steps: dead ReLUs, saturated LSTM gates, a constant tower.
    With the scale its outputs move c times less (a per-layer learning rate of ``lr * c``).

    ``pool`` > 1 (the authors' future work, notebook 07) max-pools over time after the convolutions: the LSTM
    reads ``pool`` times fewer steps, each the loudest of its window per filter. ``tap_conv=False`` uses
    ``keras.layers.Conv1D`` instead of :class:`~dplib.layers.TapConv1D` (the same function; the benchmark's reference).
    """
    if conv_layers not in (0, 1, 2):
        raise ValueError(f"conv_layers must be 0, 1 or 2, got {conv_layers}")
    if not isinstance(pool, int) or pool < 1:
        raise ValueError(f"pool must be a positive int, got {pool!r}")
    blocks = keras.Input(shape=(None, n_bins), dtype="float32", name="blocks")
    x = blocks
    first = "glorot_uniform"
    if step_scale:
        c = (n_bins * (AUDIO_KERNELS[0] if conv_layers else 1)) ** -0.5
        x = layers.Rescaling(c, name="step_scale")(x)
        first = keras.initializers.VarianceScaling(scale=c**-2, mode="fan_avg", distribution="uniform")  # Glorot / c
    for i, kernel in enumerate(AUDIO_KERNELS[:conv_layers]):
        conv = TapConv1D if tap_conv else layers.Conv1D
        x = conv(filters, kernel, padding="same", activation="relu", name=f"conv{i + 1}",
                 kernel_initializer=first if i == 0 else "glorot_uniform")(x)
    if pool > 1:
        x = layers.MaxPooling1D(pool, padding="same", name="time_pool")(x)
    h = layers.LSTM(hidden, name="lstm", kernel_initializer=first if conv_layers == 0 else "glorot_uniform")(x)
    h = layers.Dropout(dropout, name="hidden_dropout")(h)
    return keras.Model(blocks, h, name="audio_tower")


def add_head(features, fc: int = 2, fc_units: int = 16, dropout: float = 0.1):
    """1 FC layer (straight to the 2-way softmax) or 2 (ReLU, dropout, then softmax)."""
    if fc not in (1, 2):
        raise ValueError(f"fc must be 1 or 2, got {fc}")
    x = features
    if fc == 2:
        x = layers.Dense(fc_units, activation="relu", name="fc1")(x)
        x = layers.Dropout(dropout, name="fc1_dropout")(x)
    return layers.Dense(2, activation="softmax", name="softmax")(x)


def build_pair_model(
    tower: keras.Model,
    combine: str = "all",
    fc: int = 2,
    fc_units: int = 16,
    dropout: float = 0.1,
    stacked: bool = True,
    learning_rate: float | None = 3e-3,
    name: str = "pair_model",
) -> keras.Model:
    """Apply ONE tower to both songs, combine, classify.

    ``stacked=True`` runs the tower once on the batch [A; B] (the fast path);
    ``stacked=False`` calls it twice. Both compute the same function with the
    same weights. ``learning_rate=None`` leaves the model uncompiled.
    """
    check_combiner(combine)
    spec = tower.inputs[0]
    song_a = keras.Input(shape=spec.shape[1:], dtype=spec.dtype, name="song_a")
    song_b = keras.Input(shape=spec.shape[1:], dtype=spec.dtype, name="song_b")
    if stacked:
        h1, h2 = SplitPair(name="split_pair")(tower(StackPair(name="stack_pair")(song_a, song_b)))
    else:
        h1, h2 = tower(song_a), tower(song_b)
    features = PairCombiner(combine, name=f"combine_{combine}")(h1, h2)
    probs = add_head(features, fc=fc, fc_units=fc_units, dropout=dropout)
    model = keras.Model([song_a, song_b], probs, name=name)
    if learning_rate is not None:
        compile_pair_model(model, learning_rate)
    return model


@keras.saving.register_keras_serializable(package="dplib")
class PairAUC(keras.metrics.AUC):
    """ROC AUC of p(similar), the softmax's second output: what training monitors to keep its best epoch."""

    def __init__(self, name: str = "auc", **kwargs):
        super().__init__(name=name, **kwargs)

    def update_state(self, y_true, y_pred, sample_weight=None):
        return super().update_state(y_true, y_pred[:, 1], sample_weight)


def compile_pair_model(model: keras.Model, learning_rate: float = 3e-3) -> keras.Model:
    """Adam, sparse categorical cross-entropy on the 2-way softmax; accuracy and ROC AUC.

    The metrics are objects and the optimizer is built here, so that every variable exists before training: a
    first training step that creates variables is traced twice by TensorFlow (about 2 s more per model on a 2-core
    CPU, a quarter of a quick-mode training). The values computed are the same."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy"), PairAUC()],
    )
    model.optimizer.build(model.trainable_variables)
    return model


def build_lyrics_model(
    vocab_size: int,
    combine: str = "all",
    fc: int = 2,
    embed_dim: int = 20,
    hidden: int = 10,
    fc_units: int = 16,
    dropout: float = 0.1,
    stacked: bool = True,
    learning_rate: float | None = 3e-3,
) -> keras.Model:
    """The paper's lyrics model (Table 2): shared embedding+LSTM tower, combiner, head. Taught in notebook 03."""
    tower = build_lyrics_tower(vocab_size, embed_dim, hidden, dropout)
    return build_pair_model(
        tower, combine, fc, fc_units, dropout, stacked, learning_rate, name=f"lyrics_{combine}_fc{fc}"
    )


def build_audio_model(
    n_bins: int,
    conv_layers: int = 1,
    combine: str = "absdiff",
    fc: int = 1,
    filters: int = 32,
    hidden: int = 10,
    fc_units: int = 16,
    dropout: float = 0.1,
    stacked: bool = True,
    learning_rate: float | None = 3e-3,
    step_scale: bool = True,
    pool: int = 1,
    tap_conv: bool = True,
) -> keras.Model:
    """The paper's audio model (Table 3): shared Conv1D+LSTM tower over |FFT| blocks (``step_scale``: see
    :func:`build_audio_tower`; ``False`` is the paper's tower exactly, which collapses on some seeds)."""
    tower = build_audio_tower(n_bins, conv_layers, filters, hidden, dropout, step_scale, pool, tap_conv)
    return build_pair_model(
        tower, combine, fc, fc_units, dropout, stacked, learning_rate,
        name=f"audio_conv{conv_layers}{f'_pool{pool}' if pool > 1 else ''}_{combine}_fc{fc}",
    )


def load_pair_model(path) -> keras.Model:
    """Load a ``.keras`` file written by ``dplib train`` (or any model of this module) in safe mode.

    Importing this module registers the pair layers (``StackPair``, ``SplitPair``, ``PairCombiner``), which is
    what a fresh process needs to rebuild them; a ``Lambda`` layer would be refused here (notebook 03).
    """
    from pathlib import Path

    from .datasets.report import DataError

    path = Path(path)
    if not path.is_file():
        raise DataError("no such model file", path)
    try:
        return keras.models.load_model(path, safe_mode=True)
    except Exception as err:  # noqa: BLE001 -- a zip without config.json is a KeyError, a torn one BadZipFile...
        why = (str(err).splitlines() or [""])[0][:200]
        raise DataError(f"not a loadable .keras pair model ({type(err).__name__}: {why})", path) from None


def build_joint_model(
    vocab_size: int,
    n_bins: int,
    lyrics_combine: str = "all_sym",
    audio_combine: str = "absdiff",
    fc: int = 2,
    conv_layers: int = 1,
    filters: int = 32,
    embed_dim: int = 20,
    hidden: int = 10,
    fc_units: int = 16,
    dropout: float = 0.1,
    learning_rate: float | None = 3e-3,
    step_scale: bool = True,
) -> keras.Model:
    """Lyrics and audio together (the paper's future work): one tower per modality, shared by both songs.

    Each modality is combined on its own (``lyrics_combine``, ``audio_combine``), the two
    features are concatenated and one head classifies. Inputs: ``lyrics_a``, ``audio_a``,
    ``lyrics_b``, ``audio_b``.
    """
    check_combiner(lyrics_combine)
    check_combiner(audio_combine)
    lyrics_tower = build_lyrics_tower(vocab_size, embed_dim, hidden, dropout)
    audio_tower = build_audio_tower(n_bins, conv_layers, filters, hidden, dropout, step_scale)
    la = keras.Input(shape=(None,), dtype="int32", name="lyrics_a")
    lb = keras.Input(shape=(None,), dtype="int32", name="lyrics_b")
    aa = keras.Input(shape=(None, n_bins), dtype="float32", name="audio_a")
    ab = keras.Input(shape=(None, n_bins), dtype="float32", name="audio_b")
    hl1, hl2 = SplitPair(name="split_lyrics")(lyrics_tower(StackPair(name="stack_lyrics")(la, lb)))
    ha1, ha2 = SplitPair(name="split_audio")(audio_tower(StackPair(name="stack_audio")(aa, ab)))
    lyrics_feature = PairCombiner(lyrics_combine, name=f"lyrics_{lyrics_combine}")(hl1, hl2)
    audio_feature = PairCombiner(audio_combine, name=f"audio_{audio_combine}")(ha1, ha2)
    features = layers.Concatenate(name="fuse")([lyrics_feature, audio_feature])
    probs = add_head(features, fc=fc, fc_units=fc_units, dropout=dropout)
    model = keras.Model({"lyrics_a": la, "audio_a": aa, "lyrics_b": lb, "audio_b": ab}, probs,
                        name=f"joint_{lyrics_combine}_{audio_combine}_fc{fc}")
    if learning_rate is not None:
        compile_pair_model(model, learning_rate)
    return model
