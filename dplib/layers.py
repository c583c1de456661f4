"""Small registered Keras layers for siamese pair models.

The combiner math is written as plain functions (a notebook can print and test
them); :class:`PairCombiner` wraps them in a serializable layer, so saved
``.keras`` files reload in safe mode (``keras.layers.Lambda`` would not).
"""
from __future__ import annotations

from typing import Callable

import keras
from keras import ops


# --- the combiners, as plain math -------------------------------------------------
def combine_concat(h1, h2):
    """[h1, h2]: keeps everything, but is not symmetric."""
    return ops.concatenate([h1, h2], axis=-1)


def combine_diff(h1, h2):
    """h1 - h2: anti-symmetric, so swapping the songs flips its sign."""
    return h1 - h2


def combine_absdiff(h1, h2):
    """|h1 - h2|: symmetric by construction (the paper's audio "subtraction")."""
    return ops.abs(h1 - h2)


def combine_product(h1, h2):
    """h1 * h2 element-wise: symmetric by construction."""
    return h1 * h2


def combine_all(h1, h2):
    """[h1, h2, h1 - h2, h1 * h2]: the paper's best lyrics feature; neither symmetric nor anti-symmetric."""
    return ops.concatenate([h1, h2, h1 - h2, h1 * h2], axis=-1)


def combine_all_sym(h1, h2):
    """[h1 + h2, |h1 - h2|, h1 * h2]: as rich as ``all`` but symmetric (our addition)."""
    return ops.concatenate([h1 + h2, ops.abs(h1 - h2), h1 * h2], axis=-1)


COMBINERS: dict[str, Callable] = {
    "concat": combine_concat,
    "diff": combine_diff,
    "absdiff": combine_absdiff,
    "product": combine_product,
    "all": combine_all,
    "all_sym": combine_all_sym,
}

#: width of the combined feature, in multiples of the tower's hidden size
COMBINED_WIDTH = {"concat": 2, "diff": 1, "absdiff": 1, "product": 1, "all": 4, "all_sym": 3}

#: how each combiner behaves when the two songs are swapped
SYMMETRY = {
    "concat": "none",
    "diff": "anti-symmetric",
    "absdiff": "symmetric",
    "product": "symmetric",
    "all": "none",
    "all_sym": "symmetric",
}


def check_combiner(name: str) -> str:
    if name not in COMBINERS:
        raise ValueError(f"unknown combiner {name!r}; choose one of {sorted(COMBINERS)}")
    return name


@keras.saving.register_keras_serializable(package="dplib")
class PairCombiner(keras.layers.Layer):
    """Combine the two tower outputs with one of :data:`COMBINERS`. Taught in notebook 03."""

    def __init__(self, mode: str = "all", **kwargs):
        super().__init__(**kwargs)
        self.mode = check_combiner(mode)

    def call(self, h1, h2):
        return COMBINERS[self.mode](h1, h2)

    def compute_output_shape(self, h1_shape, h2_shape):
        width = None if h1_shape[-1] is None else h1_shape[-1] * COMBINED_WIDTH[self.mode]
        return tuple(h1_shape[:-1]) + (width,)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="dplib")
class StackPair(keras.layers.Layer):
    """Put song A and song B in one batch, [A; B], so the tower runs once instead of twice."""

    def call(self, song_a, song_b):
        return ops.concatenate([song_a, song_b], axis=0)

    def compute_output_shape(self, song_a_shape, song_b_shape):
        return (None,) + tuple(song_a_shape[1:])


@keras.saving.register_keras_serializable(package="dplib")
class SplitPair(keras.layers.Layer):
    """Undo :class:`StackPair` on the tower's output: the first half is A, the second B."""

    def call(self, stacked):
        half = ops.shape(stacked)[0] // 2
        return stacked[:half], stacked[half:]

    def compute_output_shape(self, shape):
        out = (None,) + tuple(shape[1:])
        return out, out


@keras.saving.register_keras_serializable(package="dplib")
class TapConv1D(keras.layers.Conv1D):
    """``Conv1D`` with ``padding="same"`` (stride 1), computed as one matrix product over all kernel taps.

    Same weights, same function (to float rounding) as ``keras.layers.Conv1D``; only the arithmetic's layout
    differs: ``x @ W`` for all ``k`` taps at once, a (steps x channels) by (channels x k*filters) product, then
    each tap's output shifted into place and summed. The paper's audio tower convolves 5,513 input channels over
    16 blocks, where the audio tables spend their time (notebook 07); how much the layout saves depends on the CPU's
    own convolution kernels for that shape (``make bench``, section 2, times both).
    """

    def __init__(self, filters, kernel_size, **kwargs):
        for key, wanted in (("padding", "same"), ("strides", 1), ("dilation_rate", 1), ("data_format", "channels_last")):
            value = kwargs.get(key, wanted)
            if (value[0] if isinstance(value, (tuple, list)) else value) != wanted:
                raise ValueError(f"TapConv1D supports {key}={wanted!r} only, got {value!r}")
        kwargs["padding"] = "same"
        super().__init__(filters, kernel_size, **kwargs)
        if self.groups != 1:
            raise ValueError("TapConv1D supports groups=1 only")

    def call(self, inputs):
        outputs = self.convolution_op(inputs, self.kernel)
        if self.use_bias:
            outputs = outputs + self.bias
        return self.activation(outputs) if self.activation is not None else outputs

    def convolution_op(self, inputs, kernel):
        taps, channels, filters = kernel.shape
        steps = ops.shape(inputs)[1]
        per_tap = ops.matmul(inputs, ops.reshape(ops.transpose(kernel, (1, 0, 2)), (channels, taps * filters)))
        per_tap = ops.reshape(per_tap, (ops.shape(inputs)[0], steps, taps, filters))
        left = (taps - 1) // 2  # "same" padding: Keras pads (taps - 1) // 2 before, the rest after
        per_tap = ops.pad(per_tap, [[0, 0], [left, taps - 1 - left], [0, 0], [0, 0]])
        # output step t sums tap j applied to input step t + j - left, i.e. row t + j of the padded product
        return sum(per_tap[:, j:j + steps, j] for j in range(taps))
