"""Notebook 09's runs over seeds: each model is saved with its result and reloaded (safe mode) only when its pairs
and settings are unchanged; tables report mean ± sd over seeds."""
import json
import subprocess
import sys

import numpy as np


def _setup(synth_quick, monkeypatch, tmp_path):
    monkeypatch.setenv("DPLIB_DATA_FOLDER", str(synth_quick))
    monkeypatch.setenv("DPLIB_RESULTS", str(tmp_path))
    from dplib.config import get_config
    from dplib.experiments import prepare

    cfg = get_config(size="quick")
    return cfg, prepare("lyrics", cfg, "song")


def test_trained_model_is_saved_reloaded_in_a_fresh_process_and_retrained_when_settings_change(
        synth_quick, monkeypatch, tmp_path):
    from dplib.evaluation import predict_pairs
    from dplib.joint import trained_model
    from dplib.models import build_lyrics_model
    from dplib.record import KEYS

    cfg, exp = _setup(synth_quick, monkeypatch, tmp_path)
    settings = {"epochs": 1, "batch_size": 64, "patience": 4, "learning_rate": 3e-3}
    make = lambda: build_lyrics_model(exp.data.input_dim, "all_sym", 2)  # noqa: E731
    model, first = trained_model(tmp_path, "lyrics (all_sym)", exp.data, make, settings, seed=0)
    assert "reused" not in first and first["epochs_run"] == 1
    lo, hi = first["auc_ci"]
    assert lo <= first["roc_auc"] <= hi
    again, second = trained_model(tmp_path, "lyrics (all_sym)", exp.data, make, settings, seed=0)
    assert second["reused"] and second["roc_auc"] == first["roc_auc"]
    assert set(KEYS) <= set(second) and second["history"]["val_auc"] == first["history"]["val_auc"]  # dplib.record
    test = exp.data.parts.test
    np.testing.assert_allclose(predict_pairs(again, test, exp.data.songs), predict_pairs(model, test, exp.data.songs),
                               atol=1e-6)
    saved = tmp_path / "lyrics_all_sym.keras"
    code = ("import keras, dplib.models; m = keras.models.load_model(r'%s', safe_mode=True); print(m.count_params())"
            % saved)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout.split()[-1]) == model.count_params()
    _, third = trained_model(tmp_path, "lyrics (all_sym)", exp.data, make, {**settings, "batch_size": 32}, seed=0)
    assert "reused" not in third
    assert json.loads((tmp_path / "lyrics_all_sym.json").read_text())["settings"]["batch_size"] == 32


def test_spread_markdown_gives_mean_and_sample_sd_over_seeds():
    from dplib.joint import spread_markdown

    rows = [{"m": {"acc": 0.5, "auc": 0.6}}, {"m": {"acc": 0.7, "auc": 0.8}}]
    table = spread_markdown(rows, {"acc": "acc", "auc": "AUC"}, percent=("acc",))
    assert "| m | 60.0 ± 14.1% | 0.700 ± 0.141 |" in table
    assert "over 2 seeds" in table


def test_quick_mode_trains_the_symmetric_joint_models_only():
    from dplib.config import get_config
    from dplib.joint import JOINT_MODELS, models_for

    assert models_for(get_config(size="default")) == JOINT_MODELS
    quick = models_for(get_config(size="quick"))
    assert set(quick) == {"lyrics only (all_sym, 2 FC)", "audio only (conv1, absdiff)", "joint (all_sym + absdiff)"}


def test_a_result_is_reused_under_a_larger_epoch_cap_only_if_it_stopped_before_its_own(
        synth_quick, monkeypatch, tmp_path):
    from dplib.experiments import PROTOCOL, making, run_config
    from dplib.record import same_making

    def reusable(saved, exp, epochs):  # what run_config's recall decides for a saved record
        return same_making(saved, exp.data_key, making(exp, epochs), PROTOCOL[exp.kind])

    cfg, exp = _setup(synth_quick, monkeypatch, tmp_path)
    saved = run_config(exp, "product", 1, epochs=2)
    assert saved["settings"]["epochs"] == 2 and saved["epochs_run"] == 2
    val_auc = saved["history"]["val_auc"]  # recorded per epoch: a patience or a cap can be judged from saved runs
    assert len(val_auc) == 2 and max(val_auc) - val_auc[saved["best_epoch"] - 1] < 1e-3  # kept within min_delta
    assert reusable(saved, exp, epochs=2)
    assert not reusable(saved, exp, epochs=3)  # it ran to its cap: a longer budget may train further
    patience = saved["settings"]["patience"]
    stopped = {**saved, "best_epoch": 1, "epochs_run": 1 + patience, "settings": {**saved["settings"], "epochs": 9}}
    assert reusable(stopped, exp, epochs=20)  # it stopped on patience at epoch 1 + patience: a larger cap changes nothing
    assert not reusable(stopped, exp, epochs=patience)  # a smaller cap would have cut it
    assert not reusable({**saved, "settings": {**saved["settings"], "batch_size": 7}}, exp, epochs=2)
    assert not reusable({**saved, "data_key": "other pairs"}, exp, epochs=2)
    assert not reusable({**saved, "settings": {**saved["settings"], "max_len": 7}}, exp, epochs=2)


def test_the_joint_data_reads_the_audio_as_64_mel_bands_and_says_so(synth_quick, monkeypatch, tmp_path):
    from dplib.datasets.corpus import load_corpus
    from dplib.experiments import prepare
    from dplib.joint import JOINT_BANDS, joint_by_kind

    cfg, _ = _setup(synth_quick, monkeypatch, tmp_path)
    by_kind = joint_by_kind(cfg, load_corpus(synth_quick))
    assert JOINT_BANDS == "mel64" and by_kind["audio"].input_dim == 64 and by_kind["joint"].of_kind("audio").input_dim == 64
    table3 = prepare("audio", cfg, "song", bands="mel64")  # notebook 07's mel64 rows: the same features
    shared = sorted(set(by_kind["audio"].songs.track_ids) & set(table3.data.songs.track_ids))[:5]
    assert shared, "the quick set has songs in both"
    np.testing.assert_array_equal(by_kind["audio"].songs[shared], table3.data.songs[shared])


def test_the_reading_says_how_many_test_pairs_each_seed_had_from_the_results():
    from dplib.joint import reading

    def model(auc, n_rows):
        return {"roc_auc": auc, "auc_ci": [auc - 0.05, auc + 0.05], "n_test_rows": n_rows}

    names = ("joint (all_sym + absdiff)", "lyrics only (all_sym, 2 FC)", "audio only (conv1, absdiff)")
    results = [{n: model(0.6 + 0.01 * s, rows) for n in names} for s, rows in enumerate((392, 380, 384))]
    ranking = {k: {"recall@10": v} for k, v in (("lyrics tower (cosine)", 0.05), ("TF-IDF cosine (baseline)", 0.17),
                                               ("audio tower (cosine)", 0.2), ("spectral cosine (baseline)", 0.4),
                                               ("random", 0.01))}
    text = reading(results, [ranking] * 3, [ranking] * 3)
    assert "one seed's test pairs (about 193, unordered)" in text  # (392 + 380 + 384) / 3 rows, both orders
    assert "0.10 wide on average" in text


def test_the_paired_rule_over_seeds_calls_a_difference_only_when_its_t_interval_excludes_0():
    from scipy.stats import t

    from dplib.tables import difference, paired_seeds, versus

    a, b = {0: 0.70, 1: 0.66, 2: 0.62}, {0: 0.60, 1: 0.58, 2: 0.57}  # differences 0.10, 0.08, 0.05
    mean, lo, hi, n = paired_seeds(a, b)
    half = t.ppf(0.975, 2) * np.std([0.10, 0.08, 0.05], ddof=1) / np.sqrt(3)
    assert n == 3 and abs(mean - 0.23 / 3) < 1e-12 and abs((hi - lo) / 2 - half) < 1e-12
    assert versus(a, b) == "above" and versus(b, a) == "below"
    assert difference(a, b) == f"paired difference +0.077 [{lo:+.3f}, {hi:+.3f}], 3 seeds"
    # the same means, but the differences change sign from seed to seed: not distinguishable
    assert versus({0: 0.70, 1: 0.55, 2: 0.73}, b) == "not distinguishable from"
    assert versus({0: 0.9}, {0: 0.1}) == "not distinguishable from"  # one seed: no interval, no verdict
    assert difference({0: 0.9}, {0: 0.1}) == "1 seed, no interval"
    assert paired_seeds({0: 0.7, 5: 0.6}, {0: 0.5, 1: 0.4})[3] == 1  # only seeds both sides have are paired


def test_pair_score_matrix_is_what_the_model_predicts_for_each_pair(synth_quick, monkeypatch, tmp_path):
    from dplib.datasets.pairs import Pairs
    from dplib.evaluation import predict_pairs
    from dplib.models import build_lyrics_model
    from dplib.playlists import embed_songs, pair_score_matrix, tower_of

    _, exp = _setup(synth_quick, monkeypatch, tmp_path)
    songs = exp.data.songs
    ids = songs.track_ids[:7]
    for combine in ("concat", "all_sym"):
        model = build_lyrics_model(exp.data.input_dim, combine, 2)
        emb = embed_songs(tower_of(model), songs.subset(ids))
        matrix = pair_score_matrix(model, emb, emb, rows_per_call=3)
        a, b = np.repeat(ids, len(ids)), np.tile(ids, len(ids))
        pairs = Pairs(np.array(a, dtype=object), np.array(b, dtype=object), np.zeros(len(a), "float32"),
                      np.zeros(len(a), "int32"))
        direct = predict_pairs(model, pairs, songs).reshape(len(ids), len(ids))
        np.testing.assert_allclose(matrix, direct, atol=1e-5)  # probabilities in [0, 1], float32 sums of 20-30 terms
        if combine == "all_sym":
            np.testing.assert_allclose(matrix, matrix.T, atol=1e-6)


def test_audio_evaluation_runs_the_tower_once_per_song_and_scores_what_the_model_predicts(synth_quick, monkeypatch,
                                                                                          tmp_path):
    from dplib.evaluation import evaluate
    from dplib.experiments import prepare
    from dplib.models import build_audio_model

    cfg, _ = _setup(synth_quick, monkeypatch, tmp_path)
    exp = prepare("audio", cfg, "pair")
    test = exp.data.rows("test")
    for conv, combine, pool, step in ((0, "concat", 1, False), (1, "absdiff", 1, True), (2, "product", 2, False)):
        model = build_audio_model(exp.data.input_dim, conv, combine, 1, pool=pool, step_scale=step)
        predicted = model.predict(exp.data.dataset("test", 64, shuffle=False).map(lambda x, y: (x,)), verbose=0)[:, 1]
        monkeypatch.setattr(model, "predict", None)  # evaluate never runs the pair model on rows
        scored = evaluate(model, exp.data, "test", keep_scores=True)
        # a song's tower output may differ in its last bits with the batch it runs in (float32 sums of up to 11 x
        # 5,513 terms, then the LSTM and the head): p moves by ~1e-5 at most; pairing a row with the wrong songs
        # would move it by tenths
        np.testing.assert_allclose(scored["p"], predicted, atol=1e-4)
        assert scored["n_rows"] == len(test) == len(predicted)
        if combine == "absdiff":  # both orders of a pair read the same two embeddings: |x - y| = |y - x| exactly,
            assert scored["symmetry_gap"] < 1e-7  # then the same head (its kernels may round rows by position)


def test_late_fusion_scores_the_mean_of_the_two_models_probabilities_on_the_joint_rows(synth_quick, monkeypatch,
                                                                                      tmp_path):
    from dplib.evaluation import roc_auc
    from dplib.datasets.corpus import load_corpus
    from dplib.evaluation import predict_pairs
    from dplib.joint import FUSED, LATE_FUSION, _builder, joint_by_kind, late_fusion

    cfg, _ = _setup(synth_quick, monkeypatch, tmp_path)
    by_kind = joint_by_kind(cfg, load_corpus(synth_quick))
    args = {"lyrics": dict(combine="all_sym", fc=2), "audio": dict(conv_layers=1, combine="absdiff", fc=1)}
    models = {name: _builder(kind, by_kind[kind], args[kind], 1e-3)() for name, kind in zip(FUSED, ("lyrics", "audio"))}
    got = late_fusion(models, by_kind, seed=0)
    test = by_kind["joint"].rows("test")
    mean = np.mean([predict_pairs(models[n], test, by_kind[v].songs) for n, v in zip(FUSED, ("lyrics", "audio"))], axis=0)
    assert got["name"] == LATE_FUSION and got["n_test_rows"] == len(test)
    assert got["roc_auc"] == roc_auc(test.label, mean)  # the same predictions, the same mean
    assert got["symmetry_gap"] < 1e-5  # both fused models are symmetric, so is their mean
    assert got["auc_ci"][0] <= got["roc_auc"] <= got["auc_ci"][1]
