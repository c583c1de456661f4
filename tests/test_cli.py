"""The command line on the quick synthetic data: train on your own files, then a playlist."""
import json

from dplib.cli import main


def test_train_lyrics_then_playlist(synth_quick, tmp_path, capsys):
    from dplib.datasets.lastfm import load_lastfm_sqlite
    from dplib.datasets.pairs import write_pairs_csv

    pairs_csv = write_pairs_csv(load_lastfm_sqlite(synth_quick / "lastfm_similars.db"), tmp_path / "pairs.csv")
    out = tmp_path / "run"
    code = main(["train", "lyrics", "--pairs", str(pairs_csv), "--lyrics", str(synth_quick / "lyrics.jsonl"),
                 "--combine", "product", "--fc", "1", "--epochs", "2", "--out", str(out)])
    assert code == 0
    metrics = json.loads((out / "metrics.json").read_text())
    for key in ("val_accuracy", "test_accuracy", "roc_auc", "symmetry_gap", "baseline_auc",
                "n_train_pairs", "n_test_pairs", "split", "leakage"):
        assert key in metrics, key
    assert metrics["split"] == "song" and metrics["leakage"] == {"val": 0.0, "test": 0.0}
    assert metrics["symmetry_gap"] < 1e-6  # product is symmetric
    assert metrics["n_train_pairs"] > 0 and (out / "model.keras").exists()
    assert metrics["skipped"]["empty lyrics"] > 0  # instrumentals were counted, not dropped silently
    capsys.readouterr()

    seed = next(l.split('"')[3] for l in open(synth_quick / "lyrics.jsonl") if '"text": ""' not in l)
    assert main(["playlist", "--model", str(out / "model.keras"), "--seed", seed, "--k", "5",
                 "--data", str(synth_quick)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith(f"seed: {seed}") and len(lines) == 6
    assert seed not in "".join(lines[1:])


def test_train_needs_its_modality(synth_quick, tmp_path):
    import pytest

    (tmp_path / "p.csv").write_text("track_a,track_b,score\nA,B,0.5\n")
    with pytest.raises(SystemExit, match="needs --lyrics"):
        main(["train", "lyrics", "--pairs", str(tmp_path / "p.csv"), "--out", str(tmp_path / "o")])
