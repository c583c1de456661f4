"""Readings written by code say what the tables under them say: the same results, the same numbers."""
import re

import numpy as np


def save_audio_results(cfg, rng):
    """Saved Table 3 results (and their baselines) for 3 seeds on both splits, as a run writes them."""
    from dplib.datasets.files import write_json
    from dplib.experiments import AUDIO_BEYOND, PROTOCOL, config_name, full_grid

    for split in ("pair", "song"):
        for seed in cfg.seeds:
            for bands in (None, *AUDIO_BEYOND):
                folder = cfg.results_folder / (f"audio-{bands}" if bands else "audio") / split / f"seed{seed}"
                for settings in full_grid("audio", bands, split):
                    name = config_name("audio", **settings, bands=bands)
                    write_json(folder / f"{name}.json", {
                        "name": name, "seed": seed, "protocol": PROTOCOL["audio"],
                        "roc_auc": float(rng.uniform(0.45, 0.8)), "test_accuracy": float(rng.uniform(0.45, 0.75)),
                        "train_accuracy": float(rng.uniform(0.5, 0.9)),
                        "counts": {p: {"rows": 2 * n, "pairs": n, "similar": n // 2, "songs": n}
                                   for p, n in (("train", 800), ("val", 200), ("test", 200))}})
                rows = {key: {"name": name + (f" ({bands})" if bands else ""), "seed": seed,
                              "roc_auc": float(rng.uniform(0.5, 0.8)),
                              "test_accuracy": float(rng.uniform(0.5, 0.7))}
                        for key, name in (("content", "spectral cosine"), ("song_identity", "song identity"),
                                          ("majority", "majority"))}
                write_json(folder / "baselines.json", {"rows": rows})


def test_the_table3_reading_quotes_the_numbers_of_the_table_it_reads(tmp_path):
    from dplib.config import get_config
    from dplib.experiments import AUDIO_BEYOND
    from dplib.tables import spread_table, table3_paragraph

    cfg = get_config(size="default", results_root=tmp_path)
    save_audio_results(cfg, np.random.default_rng(7))
    table = spread_table(cfg, "audio", holdouts=("pair", "song"), extra=tuple(AUDIO_BEYOND))
    reading = table3_paragraph(cfg)
    rows = {line.split(" | ")[0].strip("| "): line for line in table.splitlines() if line.startswith("| ")}
    for split, column in (("pair", 0), ("song", 1)):
        label = "On the pair split" if split == "pair" else "On songs never seen in training"
        said = re.search(label + r".*? is (\S+): ([\d.]+) ± ([\d.]+)% test accuracy.*?AUC ([\d.]+) ± ([\d.]+);"
                         r".*?has AUC ([\d.]+) ± ([\d.]+);", reading)
        assert said, reading
        best, acc, acc_sd, auc, auc_sd, *cosine = said.groups()
        cells = re.findall(r"([\d.]+) ± ([\d.]+)%? \| ([\d.]+) ± ([\d.]+) \|", rows[best])[column]
        assert (acc, acc_sd) == cells[:2], (split, rows[best])  # the same numbers, rounded the same way
        assert (auc, auc_sd) == cells[2:]
        auc_cells = {name: line.strip("| ").split(" | ")[3 + 2 * column] for name, line in rows.items()
                     if "(baseline)" not in name and name != "model"}  # model, paper, then accuracy and AUC per split
        aucs = {name: float(cell.split(" ± ")[0]) for name, cell in auc_cells.items() if cell != "n/a"}  # trained
        assert float(cells[2]) == max(aucs.values()), "the reading's best is the table's highest mean AUC"
        base = re.findall(r"([\d.]+) ± ([\d.]+) \|", rows["spectral cosine (baseline)"])[column]  # its AUC cells
        assert tuple(cosine) == base, "the reading's spectral cosine is the table's baseline row"


def test_the_paired_table_is_the_per_seed_difference_of_the_saved_aucs_and_its_verdict_follows_the_interval(tmp_path):
    import json

    from dplib.config import get_config
    from dplib.tables import paired_table

    cfg = get_config(size="default", results_root=tmp_path)
    save_audio_results(cfg, np.random.default_rng(3))
    table = paired_table(cfg, "audio")
    line = next(row for row in table.splitlines() if row.startswith("| conv1_absdiff_fc1 |"))
    cells = line.split(" | ")[1:]  # per split: the AUC against chance, then the difference from the cosine
    for split, against_chance, cell in zip(("pair", "song"), cells[0::2], cells[1::2]):
        folder = cfg.results_folder / "audio" / split
        aucs = [json.loads((folder / f"seed{s}" / "conv1_absdiff_fc1.json").read_text())["roc_auc"] for s in cfg.seeds]
        diffs = [auc - json.loads((folder / f"seed{s}" / "baselines.json").read_text())["rows"]["content"]["roc_auc"]
                 for auc, s in zip(aucs, cfg.seeds)]
        shown, low, high = (float(x) for x in re.findall(r"[\d.]+", against_chance)[:3])
        assert abs(shown - np.mean(aucs)) <= 5e-4 and low <= shown <= high, against_chance
        assert against_chance.endswith("above chance" if low > 0.5 else "below chance" if high < 0.5
                                       else "not distinguishable from chance"), against_chance
        mean, lo, hi = (float(x) for x in re.findall(r"[+-][\d.]+", cell)[:3])
        assert abs(mean - np.mean(diffs)) <= 5e-4, (cell, diffs)  # printed with 3 decimals
        assert lo <= mean <= hi
        word = "above" if lo > 0 else "below" if hi < 0 else "not distinguishable"
        assert cell.split("] ")[1].startswith(word), cell


def test_the_table3_reading_counts_the_verdicts_of_the_paired_table_beside_it(tmp_path):
    from dplib.config import get_config
    from dplib.experiments import AUDIO_BEYOND
    from dplib.tables import paired_table, table3_paragraph

    cfg = get_config(size="default", results_root=tmp_path)
    save_audio_results(cfg, np.random.default_rng(11))
    rows = [line.split(" | ")[1:] for line in paired_table(cfg, "audio", extra=tuple(AUDIO_BEYOND)).splitlines()
            if line.startswith("| ") and "[" in line and "model" not in line]
    said = re.findall(r"(\d+) networks are above, (\d+) below, and (\d+) cannot be told", table3_paragraph(cfg))
    assert len(said) == 2 and len(rows) == 9
    for column, (above, below, neither) in enumerate(said):
        words = [row[2 * column + 1].split("] ")[1].strip(" |") for row in rows  # the difference columns
                 if row[2 * column + 1].strip(" |") != "n/a"]  # of the rows trained on that split
        assert (int(above), int(below), int(neither)) == (words.count("above"), words.count("below"),
                                                          words.count("not distinguishable")), (column, words)


def test_a_result_saved_before_counts_said_rows_is_read_the_new_way(tmp_path):
    """Older results named the rows "pairs" and the similar rows "positive"; tables read unordered pairs."""
    from dplib.datasets.files import write_json
    from dplib.experiments import read_result

    old = {"name": "all_fc2", "counts": {"train": {"pairs": 1600, "positive": 800, "songs": 900}}}
    result = read_result(write_json(tmp_path / "all_fc2.json", old))
    assert result["counts"]["train"] == {"rows": 1600, "pairs": 800, "similar": 400, "songs": 900}
    assert read_result(write_json(tmp_path / "new.json", result))["counts"] == result["counts"]  # new: as saved


def test_the_paper_size_estimate_scales_each_tables_recorded_training_by_its_data(tmp_path):
    """Table 2 by the lyrics pairs, the audio tables by the clip length, the real set as it is: 720 s of Table 2
    training at the default size is 720 x 38,000 / 4,000 s = 1.9 h at the paper's."""
    from dplib.config import get_config
    from dplib.datasets.files import write_json
    from dplib.experiments import PROTOCOL
    from dplib.readme import paper_size_estimate

    cfg = get_config(size="default", results_root=tmp_path)
    write_json(tmp_path / "lyrics" / "pair" / "seed0" / "all_fc2.json",
               {"name": "all_fc2", "seed": 0, "protocol": PROTOCOL["lyrics"], "seconds": 720.0})
    said = paper_size_estimate(cfg)
    assert "9.5x these lyrics pairs" in said and "3.75x as long" in said and "about 1.9 h" in said, said


def test_the_notebook_table_takes_its_minutes_from_the_runs_clock():
    """The README's notebook table: the fourth column is the last run's wall clock per notebook, in minutes; a
    notebook the run did not time keeps its cell, and nothing outside the markers moves."""
    from dplib.readme import notebook_minutes

    text = ("intro | 01 | x\n<!-- notebook-minutes:start -->\n| | notebook | what | minutes | Colab |\n|---|---|---|---|---|\n"
            "| 01 | [one](a.ipynb) | a \\| b | - | [open](u) |\n| 02 | [two](b.ipynb) | c | 9.9 | [open](v) |\n"
            "<!-- notebook-minutes:end -->\nafter")
    out = notebook_minutes(text, {"01_one.ipynb": 93.0, "11_other.ipynb": 5.0})
    assert "| 01 | [one](a.ipynb) | a \\| b | 1.6 | [open](u) |" in out  # 93 s
    assert "| 02 | [two](b.ipynb) | c | 9.9 | [open](v) |" in out and out.startswith("intro | 01 | x\n")
    assert out.endswith("<!-- notebook-minutes:end -->\nafter") and notebook_minutes(out, {}) == out


def test_the_probe_table_and_its_reading_quote_the_rows_they_are_written_from():
    """Notebook 07's probe over seeds: each cell is the rows' mean ± sd with every seed's value, the last column the
    per-seed paired difference with the paired rule's verdict, and the paragraph names what the rows say."""
    from dplib.diagnose import median_seed, probe_markdown, probe_reading

    def row(seed, variant, dead, auc, sd=0.3):
        return {"seed": seed, "variant": variant, "dead_filters": dead, "filters": 32, "saturated_gates": 0.5,
                "embedding_sd": sd, "epochs_run": 5, "roc_auc": auc}

    rows = [row(0, "paper", 8, 0.50, 0.04), row(1, "paper", 16, 0.52, 0.10), row(2, "paper", 6, 0.44, 0.0),
            row(0, "step_scale", 0, 0.60), row(1, "step_scale", 0, 0.63), row(2, "step_scale", 0, 0.55),
            row(0, "lr_1e-4", 3, 0.51), row(1, "lr_1e-4", 5, 0.60), row(2, "lr_1e-4", 3, 0.40)]
    table = probe_markdown(rows)
    assert "| the paper's tower | 10 ± 5 (8 / 16 / 6) |" in table
    from scipy.stats import t

    half = t.ppf(0.975, 2) * np.std([0.10, 0.11, 0.11], ddof=1) / np.sqrt(3)  # the per-seed differences' interval
    assert "| step-scaled (ours) | 0 ± 0 (0 / 0 / 0) |" in table
    assert f"{0.32 / 3:+.3f} [{0.32 / 3 - half:+.3f}, {0.32 / 3 + half:+.3f}]: above |" in table
    assert "learning rate 1e-4" in table and ": not distinguishable |" in table and "per bin" not in table
    reading = probe_reading(rows)
    assert "lost 6 to 16 of its 32 first-layer filters on the 3 seeds, and on seed 2 it collapsed outright" in reading
    assert "No filter died on any seed with: step-scaled (ours)." in reading
    assert "above the paper's tower's with: step-scaled (ours)." in reading
    assert "1 of the 2 fixes (learning rate 1e-4) cannot be told" in reading
    assert median_seed(rows) == 0  # dead filters 6, 8, 16: the middle one is seed 0's


def test_with_two_seeds_intervals_stay_within_what_an_auc_can_be_and_the_chance_count_reads_as_the_table(tmp_path):
    """Quick mode trains 2 seeds: Student's t then spans 12.7 standard errors and printed AUC intervals ran past 0
    and 1. They are cut to the possible values, which never moves 0.5 or 0 across an end; the reading counts the
    rows above chance in words that also fit 0 and 1 of them."""
    from dplib.config import get_config
    from dplib.experiments import AUDIO_BEYOND
    from dplib.tables import paired_table, table3_paragraph

    cfg = get_config(size="default", results_root=tmp_path, seeds=(0, 1))
    save_audio_results(cfg, np.random.default_rng(5))
    rows = [line.split(" | ")[1:] for line in paired_table(cfg, "audio", extra=tuple(AUDIO_BEYOND)).splitlines()
            if line.startswith("| ") and "[" in line and "model" not in line]
    chance_cells = [row[2 * column].strip(" |") for row in rows for column in (0, 1) if "[" in row[2 * column]]
    for cell in chance_cells:
        low, high = (float(x) for x in re.findall(r"\[([\d.]+), ([\d.]+)\]", cell)[0])
        assert 0 <= low <= high <= 1, cell
    assert any("[0.000," in c or ", 1.000]" in c for c in chance_cells), "uncut, some would pass an end"
    said = re.findall(r"(?:none of the (\d+) is|(\d+) of (\d+) (?:is|are)) above chance", table3_paragraph(cfg))
    assert len(said) == 2
    for column, (none_of, above, of) in enumerate(said):
        words = [row[2 * column].strip(" |") for row in rows if row[2 * column].strip(" |") != "n/a"]
        assert int(of or none_of) == len(words)
        assert int(above or 0) == sum(w.endswith("above chance") for w in words), (column, words)


def test_runs_at_exactly_half_accuracy_are_said_to_be_one_sided_only_when_their_saved_scores_are(tmp_path):
    """The reading said every run at exactly 50.0% put all its test scores on one side of 0.5; quick mode had three
    such runs and none did. It now reads the saved scores."""
    import json

    from dplib.config import get_config
    from dplib.tables import table3_paragraph

    cfg = get_config(size="default", results_root=tmp_path)
    save_audio_results(cfg, np.random.default_rng(2))
    folder = cfg.results_folder / "audio" / "pair"
    for seed, p in ((0, [0.61, 0.7, 0.93]), (1, [0.2, 0.61, 0.7]), (2, [0.4, 0.61, 0.7])):
        path = folder / f"seed{seed}" / "conv1_absdiff_fc1.json"
        result = json.loads(path.read_text())
        path.write_text(json.dumps(result | {"test_accuracy": 0.5, "test_p": p}))
    said = re.search(r"(\d+) of (\d+) runs end at exactly 50.0% test accuracy \(AUC [\d., ]+\); (.*?)\. An AUC",
                     table3_paragraph(cfg))
    assert said and said.group(1) == "3", said
    assert said.group(3).startswith("1 of them puts every test pair on one side of 0.5")
