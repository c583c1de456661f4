"""The benchmark report's arithmetic: the floor that Table 3's saved audio rows set under `make reproduce`, and the
ratios of the levers notebook 07 uses."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
from report import audio_floor, evaluation_lines, notebooks_section  # noqa: E402


def _tower(convs: int, pairs_per_second: float, gflop_per_step: float | None) -> dict:
    return {"conv_layers": convs, "bands": None, "tap_conv": True, "pairs_per_second": pairs_per_second,
            "conv_gflop_per_step": gflop_per_step, "gflops": gflop_per_step and 50.0, "batch": 32}


def test_audio_floor_divides_the_saved_rows_by_each_towers_rate():
    towers = {"matmul_gflops": 100.0, "rows": {
        "paper tower, keras Conv1D": {**_tower(1, 10.0, 3.2), "tap_conv": False},  # not what training uses
        "paper tower, TapConv1D": _tower(1, 100.0, 3.2),  # 0.1 GFLOP per pair
        "paper tower, no convolution (conv0)": _tower(0, 600.0, None),
        "mel64 input, TapConv1D": {**_tower(1, 1000.0, 0.1), "bands": "mel64"}},
        "table3_fft_epochs": {"1": {"trainings": 4, "rows": 60_000, "rows_to_best": 30_000},
                              "0": {"trainings": 2, "rows": 36_000, "rows_to_best": 18_000}}}
    text = "\n".join(audio_floor(towers))
    # 60,000 / 100 + 36,000 / 600 = 660 s = 11 min; to the best epochs 330 s = 6 min (rounded)
    assert "6 trainings" in text and "96,000 training rows" in text
    assert "**11 min** (6 min had each stopped" in text
    # the first convolutions only: 60,000 rows x 0.1 GFLOP = 6,000 GFLOP at 100 GFLOP/s = 60 s = 1 min
    assert "6,000 GFLOP: 1 min at the matmul's rate" in text
    assert "this table alone leaves 19 of the 30 minutes" in text  # 1,800 - 660 s
    slow = {**towers, "table3_fft_epochs": {"1": {"trainings": 4, "rows": 600_000, "rows_to_best": 300_000}}}
    text = "\n".join(audio_floor(slow))  # 6,000 s of steps; 60,000 GFLOP at 100 GFLOP/s = 600 s
    assert "**100 min**" in text and "out of reach" in text and "leave 20 min for everything else" in text


def test_the_evaluation_lever_is_reported_as_the_ratio_of_the_two_paths_with_their_agreement():
    row = {"train_accuracy": 0.75, "test_roc_auc": 0.6}
    ev = {"date": "today", "rows_scored": 2400, "clips": 906, "max_abs_difference": 5e-6, "same_metrics": True,
          "rows": {"model.predict on the rows": {"seconds": 3.0, **row},
                   "tower once per song (dplib)": {"seconds": 1.2, **row}},
          "spectra": {"nothing cached": {"seconds": 3.2, "same": True}, "again": {"seconds": 0.8, "same": True}}}
    text = "\n".join(evaluation_lines(ev))
    assert "(**2.50x**)" in text and "5.0e-06" in text and "every part the same" in text
    assert "(**4x**; the same arrays: yes)" in text
    assert "NOT the same" in "\n".join(evaluation_lines({**ev, "same_metrics": False}))
    assert evaluation_lines(None) == []


def test_audio_floor_is_left_out_without_a_rate_for_every_saved_tower():
    towers = {"matmul_gflops": 100.0, "rows": {"paper tower, TapConv1D": _tower(1, 100.0, 3.2)},
              "table3_fft_epochs": {"2": {"trainings": 1, "rows": 10, "rows_to_best": 5}}}
    assert audio_floor(towers) == []
    assert audio_floor({**towers, "table3_fft_epochs": {}}) == []


def test_the_thirty_minute_verdict_reads_the_last_reproduce_clock_not_the_summed_training():
    stage = {"notebook": "05", "stage": "pair split", "trainings": 24, "seconds": 2400.0, "first_seed_seconds": 800.0,
             "machines": ["m"]}  # 40 min of recorded training, more than 30: the sum is not the wall clock
    nb = {"quick_seconds": 120.0, "quick_ok": True, "reproduce_stages": [stage],
          "reproduce_run": {"wall_seconds": 1682, "jobs": 2, "cpus": 2, "matmul_gflops": 334}}
    text = "\n".join(notebooks_section({"date": "d", "machine": "m", "notebooks": nb}))
    assert "**1,682 s** wall (28.0 min)" in text and "within 30 min: met" in text
    nb["reproduce_run"]["wall_seconds"] = 1890
    assert "not met, by 1.05x" in "\n".join(notebooks_section({"date": "d", "machine": "m", "notebooks": nb}))


def test_a_section_measured_apart_says_where_or_that_nobody_recorded_it():
    from report import elsewhere

    results = {"date": "2026-11-25 10:17 UTC", "machine": "AMD"}
    assert elsewhere({"date": "2026-12-03 12:26 UTC", "machine": "Intel"}, results) == \
        ", on Intel (not the machine above)"
    assert elsewhere({"date": "2026-12-03 12:26 UTC", "machine": "AMD"}, results) == ""
    assert elsewhere({"date": "2026-12-02 15:58 UTC"}, results) == ", machine not recorded"
    assert elsewhere({"date": "2026-11-25 11:00 UTC"}, results) == ""  # the header's own run
