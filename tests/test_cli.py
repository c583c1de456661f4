"""The command line, run as a user runs it (a fresh process per command): train on your own files, then
evaluate and list a playlist with the saved model; bad input gives one line and exit code 1."""
import json
import os
from pathlib import Path

import pytest

from conftest import REPO, run_cli


@pytest.fixture(scope="module")
def trained(synth_quick, tmp_path_factory):
    from dplib.datasets.lastfm import load_lastfm_sqlite
    from dplib.datasets.pairs import write_pairs_csv

    tmp = tmp_path_factory.mktemp("cli")
    pairs_csv = write_pairs_csv(load_lastfm_sqlite(synth_quick / "lastfm_similars.db"), tmp / "pairs.csv")
    out = tmp / "run"
    code, stdout, stderr = run_cli("train", "lyrics", "--pairs", pairs_csv, "--lyrics", synth_quick / "lyrics.jsonl",
                                   "--combine", "product", "--fc", "1", "--epochs", "2", "--out", out)
    assert code == 0, stderr
    return pairs_csv, out


def test_train_writes_a_complete_run(trained):
    _, out = trained
    metrics = json.loads((out / "metrics.json").read_text())
    from dplib.record import KEYS

    for key in KEYS + ("val_accuracy", "symmetry_gap", "baseline_auc", "song_identity_auc",
                       "n_train_pairs", "n_test_pairs", "split", "leakage"):  # the recorder's schema, and more
        assert key in metrics, key
    assert metrics["split"] == "song" and metrics["leakage"] == {"val": 0.0, "test": 0.0}
    assert metrics["symmetry_gap"] < 1e-6  # product is symmetric
    assert 1 <= metrics["best_epoch"] <= 2 and metrics["n_train_pairs"] > 0
    assert metrics["skipped"]["empty lyrics"] > 0  # instrumentals were counted, not dropped silently
    assert (out / "model.keras").exists() and (out / "vocabulary.json").exists()
    assert json.loads((out / "baselines.json").read_text())["data_key"] == metrics["data_key"]
    assert not list(out.glob(".*partial*")), "temporary files are renamed when complete"


def test_playlist_loads_the_saved_model_in_a_fresh_process(trained, synth_quick):
    _, out = trained
    track = next(l.split('"')[3] for l in open(synth_quick / "lyrics.jsonl") if '"text": ""' not in l)
    code, stdout, stderr = run_cli("playlist", "--model", out / "model.keras", "--track", track, "--k", "5",
                                   "--data", synth_quick)
    assert code == 0, stderr
    lines = stdout.strip().splitlines()
    assert lines[0].startswith(f"query: {track}") and len(lines) == 6
    assert track not in "".join(lines[1:])
    assert "empty lyrics" in stderr  # the instrumentals left out of the ranking are counted, not dropped silently
    code, stdout, stderr = run_cli("playlist", "--model", out / "model.keras", "--track", track, "--k", "5",
                                   "--data", synth_quick, "--pair-score")
    assert code == 0, stderr
    ranked = stdout.strip().splitlines()[1:]
    assert len(ranked) == 5 and track not in "".join(ranked) and all("p(similar)" in line for line in ranked)
    p = [float(line.split("p(similar)")[1].split()[0]) for line in ranked]
    assert p == sorted(p, reverse=True) and all(0 <= x <= 1 for x in p)


def test_evaluate_scores_new_pairs_in_a_fresh_process(trained, synth_quick, tmp_path):
    pairs_csv, out = trained
    rows = pairs_csv.read_text().splitlines()
    (tmp_path / "new.csv").write_text("\n".join(rows[:400] + ["TRUNKNOWN1,TRUNKNOWN2,0.9"]) + "\n")
    code, stdout, stderr = run_cli("evaluate", "--model", out / "model.keras", "--pairs", tmp_path / "new.csv",
                                   "--lyrics", synth_quick / "lyrics.jsonl", "--out", tmp_path / "eval")
    assert code == 0, stderr
    metrics = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    for key in ("accuracy", "balanced_accuracy", "roc_auc", "symmetry_gap", "baseline_auc", "n_pairs", "skipped"):
        assert key in metrics, key
    assert 0 < metrics["n_pairs"] < 400 and metrics["symmetry_gap"] < 1e-6
    assert metrics["skipped"]["pair names a track without data"] >= 1  # the unknown tracks: counted, no crash
    low, high = metrics["roc_auc_ci"]
    assert 0.0 <= low <= metrics["roc_auc"] <= high <= 1.0 and "source tracks" in metrics["interval"]
    assert f"ROC AUC {metrics['roc_auc']:.3f} [{low:.3f}, {high:.3f}]" in stdout
    ones = [r for r in rows[1:400] if float(r.split(",")[2]) >= 0.5]
    (tmp_path / "one.csv").write_text("\n".join(rows[:1] + ones) + "\n")
    code, _, stderr = run_cli("evaluate", "--model", out / "model.keras", "--pairs", tmp_path / "one.csv",
                              "--lyrics", synth_quick / "lyrics.jsonl", "--out", tmp_path / "eval1")
    assert code == 1 and "one.csv: all" in stderr and "are similar" in stderr and stderr.count("\n") == 1, stderr
    zeros = [r for r in rows[1:400] if float(r.split(",")[2]) < 0.5]
    (tmp_path / "few.csv").write_text("\n".join(rows[:1] + ones[:2] + zeros) + "\n")
    code, stdout, stderr = run_cli("evaluate", "--model", out / "model.keras", "--pairs", tmp_path / "few.csv",
                                   "--lyrics", synth_quick / "lyrics.jsonl", "--out", tmp_path / "eval2")
    few = json.loads((tmp_path / "eval2" / "metrics.json").read_text())
    assert code == 0 and few["warning"].startswith(f"only {few['n_positive']} similar pair") and "warning: only" in stdout
    by_source = {}
    for r in rows[1:]:
        by_source.setdefault(r.split(",")[0], []).append(r)
    lone = next(listed for listed in by_source.values() if len({float(r.split(",")[2]) >= 0.5 for r in listed}) == 2)
    (tmp_path / "lone.csv").write_text("\n".join(rows[:1] + lone) + "\n")  # every pair from one track's list
    code, stdout, stderr = run_cli("evaluate", "--model", out / "model.keras", "--pairs", tmp_path / "lone.csv",
                                   "--lyrics", synth_quick / "lyrics.jsonl", "--out", tmp_path / "eval3")
    lone_metrics = json.loads((tmp_path / "eval3" / "metrics.json").read_text())
    assert code == 0 and lone_metrics["roc_auc_ci"] is None and "(no interval)" in stdout, stderr
    assert "one source track: no interval" in lone_metrics["warning"]
    code, _, stderr = run_cli("evaluate", "--model", out / "model.keras", "--pairs", tmp_path / "new.csv",
                              "--lyrics", synth_quick / "lyrics.jsonl", "--out", out)
    assert code == 1 and "the model's own folder" in stderr and "settings" in (out / "metrics.json").read_text()
    assert not (tmp_path / "eval1").exists()  # a refused evaluation leaves no folder behind
    code, _, stderr = run_cli("evaluate", "--model", out / "model.keras", "--pairs", tmp_path / "new.csv",
                              "--lyrics", synth_quick / "lyrics.jsonl", "--out", tmp_path / "eval", "--force")
    assert code == 0, stderr  # its own earlier output, replaced when asked


def test_a_second_train_into_a_run_folder_is_refused_without_force(trained, synth_quick):
    pairs_csv, out = trained
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    code, _, stderr = run_cli("train", "lyrics", "--pairs", pairs_csv, "--lyrics", synth_quick / "lyrics.jsonl",
                              "--out", out)
    assert code == 1 and "holds an earlier 'dplib train' output: add --force" in stderr, stderr
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    code, _, stderr = run_cli("evaluate", "--model", out / "model.keras", "--pairs", pairs_csv,
                              "--lyrics", synth_quick / "lyrics.jsonl", "--out", out.parent, "--force")
    assert code == 1 and "holds this command's input" in stderr  # never over the folder that holds the run
    code, _, stderr = run_cli("evaluate", "--model", out / "model.keras", "--pairs", pairs_csv,
                              "--lyrics", synth_quick / "lyrics.jsonl", "--out", out / "eval")
    assert code == 0, stderr  # an evaluation kept inside the run's folder...
    code, _, stderr = run_cli("train", "lyrics", "--pairs", pairs_csv, "--lyrics", synth_quick / "lyrics.jsonl",
                              "--out", out, "--force")
    assert code == 1 and "did not write (e.g. eval)" in stderr, stderr  # ...is not deleted by a forced retrain
    assert (out / "eval" / "metrics.json").is_file() and (out / "model.keras").read_bytes() == before["model.keras"]


def test_an_input_that_is_a_symlink_loop_is_named_as_one(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    (tmp_path / "p.csv").write_text("track_a,track_b,score\n")
    code, _, stderr = run_cli("train", "lyrics", "--pairs", tmp_path / "p.csv", "--lyrics", tmp_path / "a",
                              "--out", tmp_path / "out")
    assert code == 1 and "Traceback" not in stderr and stderr.strip().count("\n") == 0, stderr
    assert str(tmp_path / "a") in stderr or "error: a: " in stderr  # the path, named
    assert "loop" in stderr.lower()  # and what is wrong with it, whichever check meets it first
    assert not (tmp_path / "out").exists()


def test_bad_input_is_one_line_and_exit_code_1(tmp_path):
    code, stdout, stderr = run_cli("evaluate", "--model", tmp_path / "missing.keras", "--pairs", tmp_path / "p.csv",
                                   "--lyrics", tmp_path, "--out", tmp_path / "o")
    assert code == 1
    assert stderr.strip().count("\n") == 0 and "missing.keras: no such model file" in stderr
    assert "Traceback" not in stderr
    (tmp_path / "p.csv").write_text("a,b\n")
    code, _, stderr = run_cli("data", "summary", tmp_path)
    assert code == 1 and "Traceback" not in stderr and stderr.strip().count("\n") == 0
    code, _, stderr = run_cli("data", "summary", tmp_path, "--debug")
    assert code == 1 and "Traceback" in stderr  # asked for


@pytest.mark.parametrize("argv, said", [
    (["train", "lyrics", "--epochs", "0"], "--epochs: must be an epoch count (1 to 10,000), got 0"),
    (["train", "lyrics", "--lr", "inf"], "--lr: must be a learning rate (1e-07 to 1), got inf"),
    (["train", "lyrics", "--lr", "1e300"], "--lr: must be a learning rate"),
    (["train", "lyrics", "--lr", "nan"], "--lr: must be a learning rate"),
    (["train", "lyrics", "--seed", "-1"], "--seed: must be a seed (0 to 4,294,967,295), got -1"),
    (["train", "lyrics", "--seed", str(2**70)], "--seed: must be a seed"),
    (["train", "audio", "--blocks", "100000000"], "--blocks: must be blocks per clip"),
    (["data", "shards", "x", "--max-len", "2000000000"], "--max-len: must be words per song (1 to 10,000)"),
    (["playlist", "--model", "m", "--track", "T", "--k", "-3"], "--k: must be a list length"),
    (["train", "lyrics", "--epochs", "two"], "--epochs: must be a number, got 'two'"),
])
def test_numeric_arguments_are_checked_before_any_work(argv, said, tmp_path):
    code, _, stderr = run_cli(*argv, "--out", tmp_path / "o", cwd=tmp_path)
    assert code == 2 and said in stderr and "Traceback" not in stderr, stderr
    assert list(tmp_path.iterdir()) == []  # nothing written, nothing generated


@pytest.mark.parametrize("argv", [["nbval", "/nonexistent"], ["reproduce", "--folder", "wrong"],
                                  ["data", "summary", "/nonexistent"], ["playlist", "--model", "m.keras", "--track", "T"],
                                  ["evaluate", "--model", "m.keras", "--pairs", "p.csv", "--lyrics", "l", "--out", "o"]])
def test_wrong_invocations_answer_at_once_without_making_anything(argv, tmp_path):
    import time

    started = time.perf_counter()
    code, _, stderr = run_cli(*argv, cwd=tmp_path, env={"DPLIB_DATA": str(tmp_path / "data")})
    last = stderr.strip().splitlines()[-1]
    assert code in (1, 2) and last.startswith("dplib ") and ": error: " in last and "Traceback" not in stderr, stderr
    assert "/nonexistent" not in stderr or "../" not in stderr  # an absolute path is echoed as typed
    assert list(tmp_path.iterdir()) == [], "no data generated, no folder made"
    assert time.perf_counter() - started < 30  # generous for a loaded CI machine; without TensorFlow it is ~0.2 s


@pytest.mark.parametrize("case", ["pairs a folder", "scores a folder", "audio a file", "out in /proc",
                                  "DPLIB_SEED", "DPLIB_SIZE"])
def test_a_wrong_kind_of_path_or_setting_is_one_plain_line(case, tmp_path):
    (tmp_path / "p.csv").write_text("track_a,track_b,score\nA,B,0.5\n")
    (tmp_path / "folder").mkdir()
    argv, env, said = {
        "pairs a folder": (["train", "lyrics", "--pairs", "folder", "--lyrics", "folder", "--out", "o"], {},
                           "dplib train: error: folder: a folder, not a file: --pairs takes a track_a,track_b,score CSV"),
        "scores a folder": (["data", "fetch", "real-lyrics", "--scores", "folder", "--lyrics-archive", "p.csv",
                             "--out", "o"], {}, "dplib data fetch: error: folder: a folder, not a file: --scores"),
        "audio a file": (["train", "audio", "--pairs", "p.csv", "--audio", "p.csv", "--out", "o"], {},
                         "dplib train: error: p.csv: a file, not a folder: --audio takes a folder"),
        "out in /proc": (["train", "lyrics", "--pairs", "p.csv", "--lyrics", "folder", "--out", "/proc/dplib-o"], {},
                         "dplib train: error: /proc/dplib-o: --out cannot be written here"),
        "DPLIB_SEED": (["train", "lyrics", "--pairs", "p.csv", "--lyrics", "folder", "--out", "o"],
                       {"DPLIB_SEED": "abc"}, "dplib train: error: DPLIB_SEED='abc': expected a whole number from 0 to "
                                              "4,294,967,295"),
        "DPLIB_SIZE": (["train", "lyrics", "--pairs", "p.csv", "--lyrics", "folder", "--out", "o"],
                       {"DPLIB_SIZE": "huge", "DPLIB_QUICK": ""},  # quick mode would choose the size itself
                       "dplib train: error: DPLIB_SIZE='huge': expected one of quick, default"),
    }[case]
    if case == "out in /proc" and not Path("/proc").is_dir():
        pytest.skip("no /proc here")
    code, _, stderr = run_cli(*argv, cwd=tmp_path, env=env)
    assert code == 1 and stderr.startswith(said) and len(stderr.strip().splitlines()) == 1, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "p.csv"]


@pytest.mark.parametrize("argv, said", [
    (["lyrics", "--shards", "sh", "--lyrics", "l.jsonl", "--split", "pair"], "--lyrics, --split would be ignored here: "
                                                                            "the shards fix"),
    (["lyrics", "--shards", "sh", "--pairs-per-class", "3"], "--pairs-per-class would be ignored here"),
    (["lyrics", "--pairs", "p.csv", "--lyrics", "l.jsonl", "--conv", "2", "--blocks", "5"],
     "--conv, --blocks would be ignored here: a lyrics model does not read them"),
    (["audio", "--pairs", "p.csv", "--audio", "a", "--lyrics", "l.jsonl"], "--lyrics would be ignored here"),
])
def test_train_options_that_would_be_ignored_are_usage_errors(argv, said, tmp_path):
    """``train --shards`` silently ignored --lyrics, --split and the cap; a lyrics model --conv and --blocks."""
    code, _, stderr = run_cli("train", *argv, "--out", "o", cwd=tmp_path)
    assert code == 2 and said in stderr and "usage: dplib train" in stderr, stderr
    assert list(tmp_path.iterdir()) == []


def test_train_needs_its_modality(tmp_path):
    (tmp_path / "p.csv").write_text("track_a,track_b,score\nA,B,0.5\n")
    code, _, stderr = run_cli("train", "lyrics", "--pairs", tmp_path / "p.csv", "--out", tmp_path / "o")
    assert code == 2 and "usage: dplib train" in stderr and "lyrics needs --lyrics" in stderr
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("rows", [[], ["TRA,TRB,0.9", "TRA,TRC,0.8", "TRB,TRC,0.7"]], ids=["header only", "one class"])
def test_data_without_both_classes_is_one_line_not_a_tensorflow_crash(rows, tmp_path):
    (tmp_path / "pairs.csv").write_text("\n".join(["track_a,track_b,score", *rows]) + "\n")
    (tmp_path / "lyrics.jsonl").write_text("".join(f'{{"track_id": "{t}", "text": "la la {t.lower()}"}}\n'
                                                   for t in ("TRA", "TRB", "TRC")))
    code, _, stderr = run_cli("train", "lyrics", "--pairs", tmp_path / "pairs.csv", "--lyrics",
                              tmp_path / "lyrics.jsonl", "--out", tmp_path / "o")
    assert code == 1 and "Traceback" not in stderr and stderr.strip().count("\n") == 0
    assert "pairs.csv: the train part has no balanced pairs" in stderr
    assert not (tmp_path / "o" / "metrics.json").exists()


def test_report_never_replaces_complete_tables_with_a_partial_run(tmp_path):
    readme = tmp_path / "README.md"
    before = ("# x\n<!-- real-results:start -->\nold real\n<!-- real-results:end -->\n"
              "<!-- results:start -->\ncomplete tables of an earlier run\n<!-- results:end -->\n")
    readme.write_text(before)
    one = tmp_path / "results" / "lyrics" / "pair" / "seed0" / "all_fc2.json"  # what notebook 03 alone leaves
    one.parent.mkdir(parents=True)
    from dplib.experiments import PROTOCOL

    one.write_text(json.dumps({"name": "all_fc2", "test_accuracy": 0.6, "roc_auc": 0.7, "seconds": 1.0,
                               "protocol": PROTOCOL["lyrics"]}))
    code, out, err = run_cli("report", "--readme", readme, "--size", "default",
                             env={"DPLIB_RESULTS": str(tmp_path / "results"), "DPLIB_REAL_LYRICS": str(tmp_path)})
    assert code == 0, err
    assert "21 synthetic results missing" in out and "lyrics/pair/concat_fc1" in out  # 15 lyrics, 5 + 1 audio
    text = readme.read_text()
    assert "complete tables of an earlier run" in text  # left as it was
    assert "old real" in text and "real-data section is left as it was" in out  # no answer.json: nothing erased
    assert not list(tmp_path.glob(".README.md*"))  # written under a temporary name, then renamed


def test_reproduce_sets_the_kernels_environment_and_restores_ours(monkeypatch):
    from dplib.scheduler import kernel_environment

    monkeypatch.setenv("DPLIB_QUICK", "1")
    monkeypatch.delenv("DPLIB_SIZE", raising=False)
    with kernel_environment(DPLIB_SIZE="default", DPLIB_QUICK=None):
        assert "DPLIB_QUICK" not in os.environ and os.environ["DPLIB_SIZE"] == "default"
    assert os.environ["DPLIB_QUICK"] == "1" and "DPLIB_SIZE" not in os.environ


def _notebook(path, code: str, after=()):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    if after:
        nb.metadata["dplib"] = {"after": list(after)}
    nbformat.write(nb, path)


def test_nbval_runs_notebooks_side_by_side_but_after_those_they_read(synth_quick, tmp_path):
    """Two jobs at a time: 02 waits for 01, as its metadata says (it reads 01's file), so it starts last and 03 runs
    beside 01 meanwhile; 03 fails and its pytest output is printed, with exit code 1."""
    marker = tmp_path / "written-by-01"
    _notebook(tmp_path / "01_write.ipynb", f"import time, pathlib\ntime.sleep(6)\npathlib.Path(r'{marker}').write_text('x')")
    _notebook(tmp_path / "02_read.ipynb", f"import pathlib\nassert pathlib.Path(r'{marker}').read_text() == 'x'",
              after=["01_write.ipynb"])
    _notebook(tmp_path / "03_fails.ipynb", "raise ValueError('the third notebook fails on purpose')")
    code, out, err = run_cli("nbval", tmp_path, "--jobs", "2", env={"DPLIB_DATA_FOLDER": str(synth_quick)})
    assert code == 1, out + err
    assert "nbval 01_write.ipynb: ok" in out and "nbval 02_read.ipynb: ok" in out
    assert "nbval 03_fails.ipynb: FAILED" in out and "the third notebook fails on purpose" in out
    assert "notebooks: 2 passed, 1 failed, 0 skipped" in out
    assert out.index("nbval 03_fails.ipynb: FAILED") < out.index("nbval 01_write.ipynb: ok")  # 03 did not queue behind 02


def test_notebooks_that_train_most_start_first_and_those_that_wait_last(tmp_path):
    from dplib.scheduler import notebooks_in, start_order

    _notebook(tmp_path / "01_short.ipynb", "")
    _notebook(tmp_path / "02_reads_03.ipynb", "", after=["03_long.ipynb"])
    _notebook(tmp_path / "03_long.ipynb", "")
    _notebook(tmp_path / "04_short.ipynb", "")
    nb = json.loads((tmp_path / "03_long.ipynb").read_text())
    nb["metadata"]["dplib"] = {"first": 1}
    (tmp_path / "03_long.ipynb").write_text(json.dumps(nb))
    order = start_order(notebooks_in(tmp_path))
    assert [p.name for p in order] == ["03_long.ipynb", "01_short.ipynb", "04_short.ipynb", "02_reads_03.ipynb"]
    last_run = {"01_short.ipynb": 5.0, "02_reads_03.ipynb": 900.0, "03_long.ipynb": 60.0, "04_short.ipynb": 70.0}
    assert [p.name for p in start_order(order, last_run)] == [  # the longest first by the last run's clock
        "04_short.ipynb", "03_long.ipynb", "01_short.ipynb", "02_reads_03.ipynb"]  # the one that waits stays last
    assert start_order(order, {"01_short.ipynb": 5.0}) == order  # a clock that misses one: the metadata decides
    repo = [p.name for p in start_order(notebooks_in(REPO / "notebooks"))]  # 06 reads no synthetic data
    assert repo[:4] == ["06_real_lyrics.ipynb", "07_audio_ablation.ipynb", "05_lyrics_ablation.ipynb",
                        "09_joint_model_and_playlists.ipynb"]
    assert repo[-2:] == ["08_accuracy_curves.ipynb", "10_streamed_shards.ipynb"]  # they read others' results


def test_the_synthetic_data_is_made_beside_the_notebooks_that_read_none(monkeypatch):
    """``prepare`` runs first, in the calling thread: a notebook that needs the synthetic data starts only after it,
    one that reads none (06, the real set) runs beside it; when making the data fails, no notebook that needs it
    starts and its error is raised."""
    import threading
    import time

    from dplib import scheduler

    metas = {"a_real.ipynb": {"needs": ["real-lyrics"]}, "b_synth.ipynb": {"needs": ["synthetic"]}}
    log, lock = [], threading.Lock()

    def note(event):
        with lock:
            log.append(event)

    def prepare():
        note("data started")
        time.sleep(0.5)
        note("data made")

    def run(nb):
        note(f"{nb.name} started")
        return nb.name

    monkeypatch.setattr(scheduler, "notebook_meta", lambda nb: metas[nb.name])
    notebooks = [Path(name) for name in metas]
    done = scheduler.side_by_side(notebooks, run, 2, prepare)
    assert [done[nb.name].result() for nb in notebooks] == ["a_real.ipynb", "b_synth.ipynb"]
    assert log.index("a_real.ipynb started") < log.index("data made") < log.index("b_synth.ipynb started")

    def fails():
        raise ValueError("no room for the data")

    log.clear()
    with pytest.raises(ValueError, match="no room for the data"):  # raised once the running ones finished
        scheduler.side_by_side(notebooks, run, 2, fails)
    assert "b_synth.ipynb started" not in log


def test_reproduce_runs_notebooks_side_by_side_in_place(synth_quick, tmp_path):
    """Two at a time, each output line led by its notebook's number; 02 waits for 01 (it reads 01's file), so 03 runs
    beside 01; every notebook is executed (at a size other than default, as a copy beside the run's results: the
    committed notebooks show the default run) and its time saved for the next run's estimate. The paths are
    relative: papermill moves the process into each notebook's folder while it runs it, two of them at once."""
    import shutil

    import nbformat

    folder, marker = tmp_path / "notebooks", tmp_path / "written-by-01"
    folder.mkdir()
    _notebook(folder / "01_write.ipynb",
              f"import time, pathlib\ntime.sleep(6)\npathlib.Path(r'{marker}').write_text('x')\nprint('one wrote')")
    _notebook(folder / "02_read.ipynb", f"import pathlib\nprint('two read', pathlib.Path(r'{marker}').read_text())",
              after=["01_write.ipynb"])
    _notebook(folder / "03_alone.ipynb", "print('three ran')")
    shutil.copy(REPO / "README.md", tmp_path / "README.md")
    env = {"DPLIB_DATA_FOLDER": str(synth_quick), "DPLIB_RESULTS": str(tmp_path / "results")}
    code, out, err = run_cli("reproduce", "--folder", "notebooks", "--jobs", "2", "--size", "quick",
                             "--readme", "README.md", env=env, cwd=tmp_path)
    assert code == 0, out + err
    assert err.strip() == "", err  # nothing but the notebooks' outputs: no kernel start-up warnings
    assert "the README's results (the default run's) are left as they were" in out  # a quick run replaces nothing
    assert (tmp_path / "README.md").read_text() == (REPO / "README.md").read_text()
    assert "01 | one wrote" in out and "02 | two read x" in out and "03 | three ran" in out
    assert out.index("03 | three ran") < out.index("01 | one wrote") < out.index("02 | two read x")
    saved = nbformat.read(tmp_path / "results" / "notebooks" / "02_read.ipynb", as_version=4)
    assert saved.cells[0].outputs[0]["text"] == "two read x\n"  # a quick run's copies sit beside its results
    paths = saved.metadata.papermill  # no path of this machine, no temporary name in what gets committed
    assert paths.input_path == paths.output_path == "02_read.ipynb"
    assert nbformat.read(folder / "02_read.ipynb", as_version=4).cells[0].outputs == []  # the committed ones stay
    times = json.loads((tmp_path / "results" / "notebook_times.json").read_text())
    assert sorted(times) == ["01_write.ipynb", "02_read.ipynb", "03_alone.ipynb"] and times["01_write.ipynb"] >= 6
    run = json.loads((tmp_path / "results" / "reproduce_run.json").read_text())  # the README's time table
    assert run["jobs"] == 2 and run["matmul_gflops"] > 0 and run["lstm_steps_per_second"] > 0 and run["notebooks"] == pytest.approx(times)
    assert run["wall_seconds"] >= times["01_write.ipynb"] + times["02_read.ipynb"] - 1  # 02 waited for 01
    from dplib.readme import run_time_lines

    table = "\n".join(run_time_lines(tmp_path / "results" / "reproduce_run.json"))
    assert f"| 01_write.ipynb | {times['01_write.ipynb'] / 60:.1f} |" in table
    assert f"| **the whole run** | **{run['wall_seconds'] / 60:.1f}** |" in table
    assert f"at {run['matmul_gflops']:,} GFLOP/s (NumPy) and trained a small LSTM at " in table  # that day's speed
    assert run_time_lines(tmp_path / "nothing.json") == []


def test_reproduce_stops_after_a_failed_notebook_with_one_line(synth_quick, tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01_fails.ipynb", "raise ValueError('the first notebook fails on purpose')")
    _notebook(folder / "02_reads_01.ipynb", "print('must not run')", after=["01_fails.ipynb"])
    env = {"DPLIB_DATA_FOLDER": str(synth_quick), "DPLIB_RESULTS": str(tmp_path / "results")}
    code, out, err = run_cli("reproduce", "--folder", folder, "--jobs", "2", "--size", "quick",
                             "--readme", tmp_path / "README.md", env=env)
    assert code == 1
    assert err.strip().splitlines() == ["dplib reproduce: error: 01_fails.ipynb failed in cell [1]: ValueError: the "
                                        "first notebook fails on purpose (its executed copy in "
                                        f"{tmp_path / 'results' / 'notebooks'} shows the traceback)"], err
    assert "must not run" not in out and "Traceback" not in err


def test_training_cost_table_sums_what_the_runs_recorded(tmp_path, monkeypatch):
    from dplib.config import get_config
    from dplib.experiments import PROTOCOL
    from dplib.tables import training_cost_table, training_costs

    monkeypatch.setenv("DPLIB_RESULTS", str(tmp_path))
    cfg = get_config(size="default")
    lyrics, joint = PROTOCOL["lyrics"], PROTOCOL["joint"]
    runs = [("lyrics/pair/seed0/all_fc2.json", 90.0, "2 CPU cores (A), no GPU", lyrics),
            ("lyrics/song/seed1/diff_fc2.json", 30.0, None, lyrics),  # made before results recorded their machine
            ("lyrics/song/seed2/diff_fc1.json", 30.0, None, lyrics - 1),  # an older protocol: trained again
            ("real-lyrics/folds3_fold1/seed7/all_fc2.json", 600.0, "2 CPU cores (A), no GPU", lyrics),  # repeat 7
            ("real-lyrics/folds3_fold2/seed7/all_fc2.json", 600.0, "2 CPU cores (A), no GPU", lyrics - 1),
            ("joint/song/seed0/joint_all_+_absdiff.json", 7200.0, "1 GPU", joint),
            ("joint/song/seed1/joint_all_+_absdiff.json", 7200.0, "1 GPU", joint - 1)]
    for path, seconds, machine, protocol in runs:
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text(json.dumps({"name": Path(path).stem, "seconds": seconds, "protocol": protocol,
                                                 **({"machine": machine} if machine else {})}))
    probe = tmp_path / "audio-probe" / "audio" / "song" / "seed1" / "paper_conv1_absdiff.json"
    probe.parent.mkdir(parents=True)
    probe.write_text(json.dumps({"protocol": PROTOCOL["audio"], "seconds": 300.0,
                                 "machine": "2 CPU cores (A), no GPU"}))  # one record schema (dplib.record)
    lines = training_cost_table(cfg).splitlines()
    assert lines[2] == "| 05 Table 2 (lyrics) | 2 | 2 min | 2 min | 2 CPU cores (A), no GPU; not recorded |"
    assert lines[3] == "| 06 real lyrics | 1 | 10 min | 0 min | 2 CPU cores (A), no GPU |"
    assert lines[4] == "| 07 Table 3 (audio), future-work rows, probe | 1 | 5 min | 0 min | 2 CPU cores (A), no GPU |"
    assert lines[5] == "| 09 joint model and playlist towers | 1 | 120 min | 120 min | 1 GPU |"
    assert lines[6] == "| total | | 2.3 h | 2.0 h | |"
    stages = {(row["notebook"][:2], row["stage"]): row for row in training_costs(cfg, by_stage=True)}
    assert stages[("05", "pair split")]["first_seed_seconds"] == 90.0
    assert stages[("05", "song split")]["seconds"] == 30.0 and stages[("05", "song split")]["first_seed_seconds"] == 0
    assert stages[("06", "real-lyrics, folds3")]["trainings"] == 1
    assert stages[("09", "joint_all_+_absdiff")]["seconds"] == 7200.0


def test_version_is_printed_without_work():
    from dplib import __version__

    code, out, err = run_cli("--version")
    assert code == 0 and out.strip() == f"dplib {__version__}", (out, err)


def test_lyrics_that_yield_nothing_are_named_as_the_cause(tmp_path):
    (tmp_path / "pairs.csv").write_text("track_a,track_b,score\nTRA,TRB,0.9\nTRA,TRC,0.1\n")
    (tmp_path / "lyrics.csv").write_text("track_id,text\nTRA,la la\n")  # the wrong format: not JSONL
    code, _, stderr = run_cli("train", "lyrics", "--pairs", tmp_path / "pairs.csv", "--lyrics", tmp_path / "lyrics.csv",
                              "--out", tmp_path / "o")
    assert code == 1 and "lyrics.csv: no lyrics read from it" in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()


def test_commands_that_run_no_model_never_load_tensorflow(tmp_path):
    """report, data summary and the usage errors answer in about a second: TensorFlow takes ~15 s to load."""
    import subprocess
    import sys

    readme = tmp_path / "README.md"
    readme.write_text("<!-- real-results:start -->\nkept\n<!-- real-results:end -->\n"
                      "<!-- results:start -->\nkept\n<!-- results:end -->\n")
    script = ("import sys\nfrom dplib.cli import main\n"
              f"main(['report', '--readme', {str(readme)!r}, '--size', 'quick'])\n"
              "assert 'tensorflow' not in sys.modules, 'report loaded TensorFlow'\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "DPLIB_RESULTS": str(tmp_path / "none")})
    assert done.returncode == 0, done.stderr
    assert readme.read_text().count("kept") == 2


def test_one_ctrl_c_stops_reproduce_and_its_kernels_and_keeps_the_notebooks_whole(synth_quick, tmp_path):
    import signal
    import subprocess
    import sys
    import time

    folder = tmp_path / "notebooks"
    folder.mkdir()
    pid_file = tmp_path / "kernel.pid"
    for name in ("01_long.ipynb", "02_long.ipynb"):
        _notebook(folder / name, f"import os, time\nopen(r'{pid_file}', 'a').write(f'{{os.getpid()}}\\n')\n"
                                 "time.sleep(120)")
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "DPLIB_DATA_FOLDER": str(synth_quick),
           "DPLIB_RESULTS": str(tmp_path / "results")}
    proc = subprocess.Popen([sys.executable, "-m", "dplib.cli", "reproduce", "--folder", folder, "--jobs", "2",
                             "--size", "quick", "--readme", tmp_path / "README.md"], env=env, cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    while (not pid_file.exists() or len(pid_file.read_text().split()) < 2) and time.time() < deadline:
        time.sleep(0.5)  # both kernels are in their cell
    assert pid_file.exists(), "the notebooks never started"
    proc.send_signal(signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130 and stderr.strip().splitlines() == ["dplib reproduce: interrupted; nothing "
                                                                      "half-written was kept"], stderr
    time.sleep(1)
    for pid in map(int, pid_file.read_text().split()):
        assert not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text().lower(), \
            "a kernel went on running"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # no half-run notebook, no temporary file


def test_the_readme_shows_its_chosen_figures_and_names_the_others(tmp_path):
    from dplib.readme import README_FIGURES, figure_lines

    folder = tmp_path / "figures"
    names = ["curves_lyrics_song", *reversed(README_FIGURES), "loss_audio_song"]
    figures = sorted(folder / f"{n}.png" for n in names)
    lines = figure_lines(figures, tmp_path / "README.md")
    images = [line for line in lines if line.startswith("![")]
    assert images == [f"![{n}](figures/{n}.png)" for n in README_FIGURES]  # in the chosen order, paths relative
    assert lines[-1] == ("More figures in [`figures/`](figures/), each drawn by its notebook: "
                         "`curves_lyrics_song`, `loss_audio_song`.")
    assert figure_lines([], tmp_path / "README.md") == []


def test_nbval_checks_a_notebook_once_more_only_when_its_kernel_never_started(tmp_path, monkeypatch, capsys):
    import subprocess

    from dplib import scheduler

    def fake(outputs):
        calls = []

        def run(cmd, **kwargs):
            calls.append(cmd)
            code, text = outputs[len(calls) - 1]
            return subprocess.CompletedProcess(cmd, code, stdout=text)
        return run, calls

    run, calls = fake([(1, "RuntimeError: Kernel didn't respond in 120 seconds"), (0, "1 passed")])
    monkeypatch.setattr(scheduler.subprocess, "run", run)
    code, out, _ = scheduler.nbval_one(tmp_path / "01_x.ipynb", tmp_path / "none.cfg")
    assert code == 0 and out == "1 passed" and len(calls) == 2
    assert "01_x.ipynb: its kernel did not start; checking it once more" in capsys.readouterr().out
    run, calls = fake([(1, "AssertionError in cell 3"), (0, "never asked")])
    monkeypatch.setattr(scheduler.subprocess, "run", run)
    assert scheduler.nbval_one(tmp_path / "01_x.ipynb", tmp_path / "none.cfg")[0] == 1 and len(calls) == 1
    run, calls = fake([(1, "Kernel didn't respond in 120 seconds")] * 2)
    monkeypatch.setattr(scheduler.subprocess, "run", run)
    assert scheduler.nbval_one(tmp_path / "01_x.ipynb", tmp_path / "none.cfg")[0] == 1 and len(calls) == 2  # twice only


@pytest.mark.parametrize("case", ["vocabulary one word short", "vocabulary one word long", "zip without config.json",
                                  "not a pair model"])
def test_a_run_folder_that_does_not_fit_together_is_named_before_any_scoring(case, trained, synth_quick, tmp_path):
    """A vocabulary of another run (smaller: garbage scores, silently; larger: an error deep in TensorFlow), a
    .keras zip without its config, a Keras model that is not a pair model: one line naming the file, exit 1."""
    import shutil
    import zipfile

    pairs_csv, out = trained
    run = tmp_path / "run"
    shutil.copytree(out, run)
    words = json.loads((run / "vocabulary.json").read_text())
    if case.startswith("vocabulary"):
        (run / "vocabulary.json").write_text(json.dumps(words[:-1] if "short" in case else words + ["zzzextra"]))
        named = "vocabulary.json: this vocabulary has"
    elif case == "zip without config.json":
        with zipfile.ZipFile(run / "model.keras", "w") as z:
            z.writestr("metadata.json", "{}")
        named = "model.keras: not a loadable .keras pair model (KeyError"
    else:
        import keras

        tokens = keras.Input(shape=(3,))
        keras.Model(tokens, keras.layers.Dense(1)(tokens)).save(run / "model.keras")
        named = "model.keras: a Keras model, but not a pair model of dplib"
    code, _, stderr = run_cli("evaluate", "--model", run / "model.keras", "--pairs", pairs_csv,
                              "--lyrics", synth_quick / "lyrics.jsonl", "--out", tmp_path / "eval")
    assert code == 1 and named in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert not (tmp_path / "eval").exists()


def test_an_audio_playlist_on_a_folder_without_audio_says_so(synth_quick, tmp_path):
    from dplib.models import build_audio_model

    build_audio_model(64, combine="absdiff", fc=1).save(tmp_path / "model.keras")  # a mel64 tower, untrained
    lyrics_only = tmp_path / "data"
    lyrics_only.mkdir()
    for name in ("lastfm_similars.db", "lyrics.jsonl"):
        (lyrics_only / name).symlink_to(synth_quick / name)
    code, _, stderr = run_cli("playlist", "--model", tmp_path / "model.keras", "--track", "T", "--data", lyrics_only)
    assert code == 1 and "an audio model needs an audio/ folder" in stderr and "Traceback" not in stderr, stderr
    track = sorted(p.stem for p in (synth_quick / "audio").iterdir())[0]
    code, stdout, stderr = run_cli("playlist", "--model", tmp_path / "model.keras", "--track", track, "--k", "3",
                                   "--data", synth_quick)
    assert code == 0 and stdout.splitlines()[0].startswith(f"query: {track}"), stderr  # clips pooled to the tower's 64 bands
    assert stderr.strip() == "", stderr  # every clip read; the instrumentals' empty lyrics are not this ranking's
    with_bad_clip = tmp_path / "bad"
    (with_bad_clip / "audio").mkdir(parents=True)
    for name in ("lastfm_similars.db", "lyrics.jsonl"):
        (with_bad_clip / name).symlink_to(synth_quick / name)
    for clip in (synth_quick / "audio").iterdir():
        (with_bad_clip / "audio" / clip.name).symlink_to(clip)
    (with_bad_clip / "audio" / "TRBADCLIP000000000.wav").write_bytes(b"RIFF not a wave file")
    code, stdout, stderr = run_cli("playlist", "--model", tmp_path / "model.keras", "--track", track, "--k", "3",
                                   "--data", with_bad_clip)
    assert code == 0 and len(stdout.splitlines()) == 4, stderr  # the ranking, and the clip left out of it said:
    assert "skipped 1:" in stderr and "TRBADCLIP000000000.wav" in stderr, stderr
    code, stdout, stderr = run_cli("playlist", "--model", tmp_path / "model.keras", "--track", track, "--k", "3",
                                   "--data", with_bad_clip, "--strict")
    assert code == 1 and stdout == "" and "TRBADCLIP000000000.wav" in stderr and len(stderr.splitlines()) == 1, stderr
