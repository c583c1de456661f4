"""The training and reporting protocol: best validation epoch, baselines on the same pairs, the spread over
seeds, bootstrap intervals, and the holdouts that separate leakage from data size."""
import json
from dataclasses import replace

import numpy as np
import pytest

from dplib.baselines import song_identity_scores
from dplib.evaluation import bootstrap_ci, roc_auc, roc_auc_rows


def test_song_identity_knows_seen_songs_only():
    a, b = ["S1", "S1", "S2", "S3"], ["X", "Y", "Z", "W"]
    labels = [1, 1, 0, 0]
    scores = song_identity_scores(a, b, labels, ["S1", "S2", "NEW"], ["Q", "Q", "NEWER"])
    assert scores[0] > scores[1]  # S1 was similar twice, S2 never
    prior = 0.5
    assert scores[2] == pytest.approx(2 * prior)  # two unseen songs: the prior, twice
    unseen = song_identity_scores(a, b, labels, ["N1", "N2", "N3", "N4"], ["M1", "M2", "M3", "M4"])
    assert roc_auc([1, 0, 1, 0], unseen) == 0.5  # on new songs it cannot rank


def test_bootstrap_interval_holds_the_estimate_and_narrows_with_more_pairs():
    rng = np.random.default_rng(0)

    def flipped(n):
        labels = np.repeat(rng.integers(0, 2, n), 2)
        p = np.clip(labels * 0.3 + rng.random(2 * n) * 0.7, 0, 1)
        return labels, p

    labels, p = flipped(100)
    acc = ((p >= 0.5) == labels).mean()
    low, high = bootstrap_ci(labels, p, "accuracy")
    assert low <= acc <= high
    big_low, big_high = bootstrap_ci(*flipped(2000), "accuracy")
    assert big_high - big_low < (high - low) / 2
    low, high = bootstrap_ci(labels, p, "roc_auc")
    assert low <= roc_auc(labels, p) <= high
    with pytest.raises(ValueError, match="even number of rows"):
        bootstrap_ci(labels[:-1], p[:-1])
    with pytest.raises(ValueError, match="metric must be"):
        bootstrap_ci(labels, p, "f1")


def test_auc_of_many_rows_at_once_is_sklearns_row_by_row():
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 2, (40, 120))
    scores = np.round(rng.random((40, 120)), 2)  # two decimals: many ties, which count half
    labels[0] = 1  # one class only: no ROC curve
    rows = roc_auc_rows(labels, scores)
    assert np.isnan(rows[0])
    np.testing.assert_allclose(rows[1:], [roc_auc(y, s) for y, s in zip(labels[1:], scores[1:])], rtol=0, atol=1e-12)


def test_bootstrap_interval_is_the_percentiles_of_resampled_pairs():
    """The interval from the vectorised resamples equals one computed resample by resample with scikit-learn."""
    rng = np.random.default_rng(4)
    labels = np.repeat(rng.integers(0, 2, 150), 2)
    p = np.clip(labels * 0.2 + rng.random(300) * 0.8, 0, 1)
    draw, values = np.random.default_rng(7), []
    for _ in range(300):
        k = draw.integers(0, 150, 150)
        i = np.concatenate([2 * k, 2 * k + 1])
        values.append(roc_auc(labels[i], p[i]))
    expected = np.nanquantile(values, [0.025, 0.975])
    np.testing.assert_allclose(bootstrap_ci(labels, p, "roc_auc", n_boot=300, seed=7), expected, rtol=0, atol=1e-12)


def test_the_parts_follow_the_configured_fractions(synth_quick, monkeypatch):
    """prepare deals the song split by ``cfg.fractions`` (one setting, read from the configuration): a larger test
    share gives more test songs, from the same pool."""
    monkeypatch.setenv("DPLIB_DATA_FOLDER", str(synth_quick))
    from dataclasses import replace

    from dplib.config import get_config
    from dplib.experiments import prepare

    cfg = get_config(size="quick")
    songs = {f: prepare("lyrics", replace(cfg, fractions=f), "song").data.parts.counts()
             for f in ((0.8, 0.1, 0.1), (0.5, 0.1, 0.4))}
    usual, wide = songs[(0.8, 0.1, 0.1)], songs[(0.5, 0.1, 0.4)]
    assert cfg.fractions == (0.8, 0.1, 0.1)
    assert wide["test"]["songs"] > usual["test"]["songs"] and wide["train"]["songs"] < usual["train"]["songs"]


def test_training_keeps_the_best_validation_epoch(synth_quick, monkeypatch):
    monkeypatch.setenv("DPLIB_DATA_FOLDER", str(synth_quick))
    from dplib.config import get_config
    from dplib.runtime import seed_everything
    from dplib.datasets.pipeline import pair_dataset
    from dplib.experiments import build_model, prepare
    from dplib.training import fit

    cfg = get_config(size="quick", learning_rate=3e-2)  # a high rate, so that validation turns down early
    exp = prepare("lyrics", cfg, "song")
    seed_everything(0)
    model = build_model(exp, "concat", 2)
    history = fit(model, exp.data, epochs=6, batch_size=64, patience=2)
    best = history["best_epoch"]
    assert 1 <= best <= history["epochs_run"] <= 6
    assert history["val_auc"][best - 1] == max(history["val_auc"])  # best by validation ROC AUC
    val = pair_dataset(exp.data.parts.val, exp.data.songs, 128)
    restored = model.evaluate(val, verbose=0, return_dict=True)
    assert restored["loss"] == pytest.approx(history["val_loss"][best - 1], rel=1e-4)  # the best epoch's weights
    assert restored["auc"] == pytest.approx(history["val_auc"][best - 1], abs=1e-4)


def test_holdouts_on_the_real_set(real_lyrics, monkeypatch):
    monkeypatch.setenv("DPLIB_REAL_LYRICS", str(real_lyrics))
    from dplib.config import get_config
    from dplib.datasets.corpus import load_corpus
    from dplib.experiments import prepare

    cfg = get_config(size="default")
    corpus = load_corpus(real_lyrics)
    exps = {h: prepare("lyrics", cfg, h, corpus, corpus_name="real-lyrics") for h in ("pair", "song", "pair_matched")}
    song, pair, matched = (exps[h].data.parts for h in ("song", "pair", "pair_matched"))
    assert song.leakage == {"val": 0.0, "test": 0.0} and pair.leakage["test"] > 0.5
    assert matched.train.n_positive == song.train.n_positive < pair.train.n_positive
    assert (matched.test.a == pair.test.a).all() and (matched.val.b == pair.val.b).all()
    for parts in (song, pair):  # balanced 50/50, both orders of every pair
        for part in ("train", "val", "test"):
            assert parts[part].n_positive * 2 == len(parts[part])
    assert len(pair.test) > 400  # 15% of the pairs: test parts large enough to read
    other = prepare("lyrics", replace(cfg, seed=1), "song", corpus, corpus_name="real-lyrics")
    assert other.data_key != exps["song"].data_key  # another seed, another split


def test_baselines_on_the_real_set(real_lyrics, tmp_path):
    from dplib.config import get_config
    from dplib.datasets.corpus import load_corpus
    from dplib.experiments import baseline_results, prepare

    cfg = get_config(size="default")
    corpus = load_corpus(real_lyrics)
    rows = {h: baseline_results(prepare("lyrics", cfg, h, corpus, corpus_name="real-lyrics"), tmp_path / f"{h}.json")
            for h in ("pair", "song")}
    assert rows["song"]["song_identity"]["roc_auc"] == 0.5  # no test song was seen in training
    assert rows["pair"]["song_identity"]["roc_auc"] > 0.7  # leakage alone ranks most pair-split test pairs
    for h in rows:
        assert rows[h]["majority"]["test_accuracy"] == 0.5


def test_saved_results_are_reused_only_when_made_the_same_way(synth_quick, monkeypatch, tmp_path):
    monkeypatch.setenv("DPLIB_DATA_FOLDER", str(synth_quick))
    monkeypatch.setenv("DPLIB_RESULTS", str(tmp_path))
    import json

    from dplib.config import get_config
    from dplib.experiments import PROTOCOL, load_results, prepare, run_config

    exp = prepare("lyrics", get_config(size="quick"), "pair")
    first = run_config(exp, "product", 1, epochs=1)
    assert "reused" not in first and first["protocol"] == PROTOCOL["lyrics"]
    assert run_config(exp, "product", 1, epochs=1)["reused"]  # same pairs, same protocol
    path = exp.folder / "product_fc1.json"
    saved = json.loads(path.read_text())
    path.write_text(json.dumps({**saved, "protocol": PROTOCOL["lyrics"] - 1}))  # made by an older protocol
    assert load_results(exp.cfg, "lyrics", "pair") == []  # kept out of the tables until a run replaces it
    again = run_config(exp, "product", 1, epochs=1)
    assert [r["name"] for r in load_results(exp.cfg, "lyrics", "pair")] == ["product_fc1"]
    assert "reused" not in again and json.loads(path.read_text())["protocol"] == PROTOCOL["lyrics"]


def test_the_audio_probe_is_saved_and_reused_only_when_made_the_same_way(synth_quick, monkeypatch, tmp_path):
    """Notebook 07's probe follows the tables' reuse rule: a rerun reloads it (arrays included) instead of training;
    other settings or another input train again."""
    monkeypatch.setenv("DPLIB_DATA_FOLDER", str(synth_quick))
    monkeypatch.setenv("DPLIB_RESULTS", str(tmp_path))
    from dplib import training
    from dplib.config import get_config
    from dplib.diagnose import train_and_inspect
    from dplib.experiments import prepare
    from dplib.record import KEYS

    cfg = get_config(size="quick", audio_epochs=1)
    exp = prepare("audio", cfg, "song", bands="mel64")
    history, health = train_and_inspect(exp, "paper")
    real_train, trained = training.train_model, []
    monkeypatch.setattr(training, "train_model", lambda *a, **k: trained.append(1) or real_train(*a, **k))
    again_history, again = train_and_inspect(exp, "paper")  # a new process would read the same files
    assert trained == [] and again_history["loss"] == history["loss"] and again.pop("reused")
    assert {k: v for k, v in again.items() if k not in ("embeddings", "gate_preactivations")} == \
        json.loads(json.dumps({k: v for k, v in health.items() if k not in ("embeddings", "gate_preactivations")}))
    assert set(KEYS) <= set(again)  # the one record every trained model leaves (dplib.record)
    for name in ("embeddings", "gate_preactivations"):
        np.testing.assert_array_equal(again[name], health[name])
    train_and_inspect(prepare("audio", get_config(size="quick", audio_epochs=2), "song", bands="mel64"),
                      "paper")
    assert trained == [1]  # another epoch budget: trained again
    assert len(list(tmp_path.glob("audio-probe/audio-mel64/song/seed0/paper_conv1_absdiff.*"))) == 2  # .json, .npz


def test_banded_audio_rows_train_on_their_own_input_and_join_table3(synth_quick, monkeypatch, tmp_path):
    """The authors' future work: a mel64 experiment draws the same pairs as the paper's input, feeds 64 bands
    to the tower, saves under its own name and baseline, and appears below the paper's rows in the spread table."""
    monkeypatch.setenv("DPLIB_DATA_FOLDER", str(synth_quick))
    monkeypatch.setenv("DPLIB_RESULTS", str(tmp_path))
    from dplib.config import get_config
    from dplib.experiments import AUDIO_BEYOND, config_name, run_grid, prepare, run_ablation
    from dplib.tables import spread_table

    cfg = get_config(size="quick", audio_epochs=1)
    raw, mel = prepare("audio", cfg, "song"), prepare("audio", cfg, "song", bands="mel64")
    assert raw.data_key == mel.data_key  # the same pairs; only the input differs
    assert raw.data.input_dim == 5513 and mel.data.input_dim == 64
    rows = run_ablation("audio", cfg, "song", exp=mel, grid=run_grid("audio", cfg, "mel64"), progress=False)
    assert [r["name"] for r in rows] == ["mel64_conv1_absdiff_fc1"] and rows[0]["bands"] == "mel64"
    assert (tmp_path / "audio-mel64" / "song" / "seed0" / "mel64_conv1_absdiff_fc1.json").is_file()
    assert run_ablation("audio", cfg, "song", bands="bands128", grid=run_grid("audio", cfg, "bands128")) == []
    table = spread_table(cfg, "audio", holdouts=("song",), seeds=(0,), extra=tuple(AUDIO_BEYOND))
    assert "| mel64_conv1_absdiff_fc1 | - |" in table and "spectral cosine (mel64) (baseline)" in table
    assert config_name("audio", "absdiff", 1, 1, pool=2, bands="mel64") == "mel64_conv1_pool2_absdiff_fc1"
    with pytest.raises(ValueError, match="bands='mel65': an audio input, one of"):
        prepare("audio", cfg, "song", bands="mel65")
    with pytest.raises(ValueError, match="bands='mel64': an audio input"):
        prepare("lyrics", cfg, "song", bands="mel64")


def test_accuracy_curves_draw_chance_and_the_baseline_beside_each_model():
    import matplotlib

    matplotlib.use("Agg")
    from dplib.plots import accuracy_curves

    history = {"accuracy": [0.5, 0.7], "val_accuracy": [0.5, 0.6], "loss": [0.7, 0.5], "val_loss": [0.7, 0.6]}
    fig = accuracy_curves([{"name": "m", "history": history, "best_epoch": 2}], "t", baseline=("TF-IDF cosine", 0.71))
    lines = {line.get_label(): line.get_ydata() for line in fig.axes[0].get_lines()}
    assert list(lines["chance"]) == [50, 50] and list(lines["TF-IDF cosine (val)"]) == [71.0, 71.0]
    assert list(lines["validation"]) == [50.0, 60.0]


def test_holdout_points_draw_every_seed_the_mean_and_an_axis_that_spans_the_data():
    import matplotlib

    matplotlib.use("Agg")
    from dplib.plots import holdout_points

    def run(name, seed, auc):
        return {"name": name, "seed": seed, "roc_auc": auc, "test_accuracy": auc}

    results = {"pair": [run("a", s, 0.60 + 0.02 * s) for s in range(3)] + [run("b", s, 0.52) for s in range(3)],
               "song": [run("a", s, 0.55) for s in range(3)] + [run("b", s, 0.48 + 0.01 * s) for s in range(3)]}
    baselines = {split: [{"content": {"name": "TF-IDF cosine", "roc_auc": 0.76},
                          "song_identity": {"name": "song identity", "roc_auc": 0.5}}] for split in results}
    ax = holdout_points(results, baselines, {}, "t", "roc_auc").axes[0]
    seeds = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert sorted(round(float(v), 2) for line in seeds for v in line.get_ydata()) == sorted(
        round(r["roc_auc"], 2) for rs in results.values() for r in rs)  # every seed of every row, as drawn
    means = [c for c in ax.containers if hasattr(c, "lines")]  # one errorbar per holdout
    assert len(means) == 2
    np.testing.assert_allclose(np.asarray(means[0].lines[0].get_ydata(), dtype=float), [0.62, 0.52])
    low, high = ax.get_ylim()
    assert 0.4 <= low < 0.48 and 0.76 < high <= 0.85  # the data and the baselines, not 0 to 1


def test_new_songs_train_one_fft_row_and_the_tables_say_so(tmp_path, monkeypatch):
    """On the song split the |FFT| bins train only the paper's best row (the README's Choices): the grid says so,
    run_ablation without a grid trains that row alone, a run missing the other four is complete, and a table with
    those cells empty says why they are."""
    import json
    from types import SimpleNamespace

    from dplib import experiments
    from dplib.config import Config
    from dplib.experiments import AUDIO_BEYOND, AUDIO_GRID, FFT_SONG_SPLIT, PROTOCOL, run_grid, full_grid
    from dplib.tables import missing_results, spread_table

    cfg = Config(results_root=tmp_path)
    trained = []  # what run_ablation asks to train, with preparing and training stubbed out
    monkeypatch.setattr(experiments, "prepare", lambda kind, cfg, holdout, bands: SimpleNamespace(bands=bands))
    monkeypatch.setattr(experiments, "run_config", lambda exp, **settings: trained.append(settings) or settings)
    monkeypatch.setattr(experiments, "baseline_results", lambda exp: None)
    experiments.run_ablation("audio", cfg, "song", progress=False)
    assert trained == FFT_SONG_SPLIT
    experiments.run_ablation("audio", cfg, "pair", progress=False)
    assert trained[1:] == AUDIO_GRID
    assert full_grid("audio", None, "song") == FFT_SONG_SPLIT == [dict(conv_layers=1, combine="absdiff", fc=1)]
    assert full_grid("audio", None, "pair") == full_grid("audio") == AUDIO_GRID
    assert run_grid("audio", cfg, "mel64", "song") == AUDIO_BEYOND["mel64"]  # the banded rows: both splits
    assert run_grid("lyrics", cfg, holdout="song") == full_grid("lyrics")
    missing = missing_results(cfg)
    assert [m for m in missing if m.startswith("audio/song/")] == ["audio/song/conv1_absdiff_fc1"]
    assert len([m for m in missing if m.startswith("audio/pair/")]) == 5
    folder = tmp_path / "audio" / "pair" / "seed0"
    folder.mkdir(parents=True)
    row = {"name": "conv0_concat_fc1", "seed": 0, "protocol": PROTOCOL["audio"], "test_accuracy": 0.5, "roc_auc": 0.5}
    (folder / "conv0_concat_fc1.json").write_text(json.dumps(row))
    table = spread_table(cfg, "audio", holdouts=("pair", "song"), seeds=(0,))
    assert "| conv0_concat_fc1 | 65.0% | 50.0 ± 0.0% | 0.500 ± 0.000 | n/a | n/a |" in table
    assert "n/a: no saved run on that split (on new songs the |FFT| bins train only the paper's best row" in table


def test_the_run_recorder_keeps_one_schema_and_reuses_only_whole_records_made_the_same_way(tmp_path):
    """dplib.record: a record without the common keys is refused before anything is written; a truncated JSON, a
    missing array file or other settings are not reused; a record that stopped on patience is reused under a larger
    epoch cap, one that ran to its cap is not."""
    from dplib.record import KEYS, cut_by_cap, recall, record

    settings = {"epochs": 10, "batch_size": 32, "learning_rate": 1e-3, "patience": 3}
    result = {key: 0 for key in KEYS} | {"data_key": "pairs-1", "protocol": 3, "settings": settings,
                                         "best_epoch": 4, "epochs_run": 7, "history": {"val_auc": [0.5] * 7}}
    path = tmp_path / "audio" / "song" / "seed0" / "conv1_absdiff_fc1.json"
    with pytest.raises(ValueError, match="needs history, seconds"):
        record(path, {k: v for k, v in result.items() if k not in ("history", "seconds")})
    assert not path.parent.exists() or not any(path.parent.iterdir())  # refused before writing anything
    record(path, result, arrays={"embeddings": np.arange(6.0).reshape(3, 2)})
    again = recall(path, "pairs-1", settings, 3, arrays=("embeddings",))
    assert again["reused"] and again["roc_auc"] == 0 and again["embeddings"].shape == (3, 2)
    assert recall(path, "pairs-1", {**settings, "epochs": 30}, 3)  # stopped 3 after its best, before its cap of 10
    assert recall(path, "pairs-2", settings, 3) is None and recall(path, "pairs-1", settings, 4) is None
    assert recall(path, "pairs-1", {**settings, "batch_size": 64}, 3) is None
    assert recall(path, "pairs-1", settings, 3, model=True) is None  # no model.keras beside it
    ran_out = tmp_path / "ran_out.json"
    record(ran_out, {**result, "best_epoch": 9, "epochs_run": 10})
    assert recall(ran_out, "pairs-1", settings, 3) and recall(ran_out, "pairs-1", {**settings, "epochs": 30}, 3) is None
    assert not cut_by_cap(result) and cut_by_cap(recall(ran_out, "pairs-1", settings, 3))  # what notebooks 05-08 count
    unpatient = {**result, "settings": {**settings, "patience": None}, "epochs_run": 10}
    record(ran_out, unpatient)  # no early stopping: every run ends at its cap, unconfirmed, and is not reused under another
    assert cut_by_cap(unpatient) and recall(ran_out, "pairs-1", {**settings, "patience": None, "epochs": 30}, 3) is None
    path.with_suffix(".npz").unlink()
    assert recall(path, "pairs-1", settings, 3, arrays=("embeddings",)) is None
    path.write_text(json.dumps(result)[:40])  # cut short
    assert recall(path, "pairs-1", settings, 3) is None


def test_a_rerun_that_measures_what_the_record_holds_keeps_the_record(tmp_path, synth_quick):
    """Notebook 03 retrains Table 2's row (keep_model=True) to show its curves; rewriting the record changed only its
    clock, so the README's training time (summed later) and notebook 05's (summed earlier) disagreed. A rerun that
    measures the same numbers now keeps the record; one that measures otherwise replaces it."""
    from dplib.config import get_config
    from dplib.experiments import prepare, run_config

    cfg = get_config(size="quick", results_root=tmp_path, user_data_folder=synth_quick)
    exp = prepare("lyrics", cfg)
    run_config(exp, "all", 2, epochs=2)
    path = exp.folder / "all_fc2.json"
    kept = path.read_text()
    again = run_config(exp, "all", 2, epochs=2, rerun=True)
    assert path.read_text() == kept, "the same numbers: the record and its clock stay"
    assert again["test_accuracy"] == json.loads(kept)["test_accuracy"]
    path.write_text(json.dumps(json.loads(kept) | {"roc_auc": 0.123}))  # a record another machine measured
    run_config(exp, "all", 2, epochs=2, rerun=True)
    assert json.loads(path.read_text())["roc_auc"] == again["roc_auc"] != 0.123
