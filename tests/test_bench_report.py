"""The benchmark report's arithmetic: the floor that Table 3's saved audio rows set under `make reproduce`."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from report import audio_floor  # noqa: E402


def _tower(convs: int, pairs_per_second: float, gflop_per_step: float | None) -> dict:
    return {"conv_layers": convs, "dataset": "", "tap_conv": True, "pairs_per_second": pairs_per_second,
            "conv_gflop_per_step": gflop_per_step, "gflops": gflop_per_step and 50.0, "batch": 32}


def test_audio_floor_divides_the_saved_rows_by_each_towers_rate():
    towers = {"matmul_gflops": 100.0, "rows": {
        "paper tower, keras Conv1D": {**_tower(1, 10.0, 3.2), "tap_conv": False},  # not what training uses
        "paper tower, TapConv1D": _tower(1, 100.0, 3.2),  # 0.1 GFLOP per pair
        "paper tower, no convolution (conv0)": _tower(0, 600.0, None),
        "mel64 input, TapConv1D": {**_tower(1, 1000.0, 0.1), "dataset": "audio-mel64"}},
        "table3_fft_epochs": {"1": {"trainings": 4, "rows": 60_000, "rows_to_best": 30_000},
                              "0": {"trainings": 2, "rows": 36_000, "rows_to_best": 18_000}}}
    text = "\n".join(audio_floor(towers))
    # 60,000 / 100 + 36,000 / 600 = 660 s = 11 min; to the best epochs 330 s = 6 min (rounded)
    assert "6 trainings" in text and "96,000 training rows" in text
    assert "**11 min** (6 min had each stopped" in text
    # the first convolutions only: 60,000 rows x 0.1 GFLOP = 6,000 GFLOP at 100 GFLOP/s = 60 s = 1 min
    assert "6,000 GFLOP: 1 min at the matmul's rate" in text
    assert "within reach" in text and "leave 29 min" in text


def test_audio_floor_is_left_out_without_a_rate_for_every_saved_tower():
    towers = {"matmul_gflops": 100.0, "rows": {"paper tower, TapConv1D": _tower(1, 100.0, 3.2)},
              "table3_fft_epochs": {"2": {"trainings": 1, "rows": 10, "rows_to_best": 5}}}
    assert audio_floor(towers) == []
    assert audio_floor({**towers, "table3_fft_epochs": {}}) == []
