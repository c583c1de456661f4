"""The synthetic mini-MSD: deterministic, in the real formats, read by the same loaders."""
import hashlib
import json

import numpy as np
from scipy.io import wavfile

from dplib.cli import main
from dplib.datasets.corpus import load_corpus
from dplib.datasets.lastfm import load_lastfm_sqlite
from dplib.datasets.musixmatch import load_musixmatch
from dplib.datasets.synthetic import SIZES, World, generate


def digest(folder, pattern):
    h = hashlib.sha256()
    for f in sorted(folder.glob(pattern)):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


def test_same_seed_same_files(synth_quick, tmp_path):
    again = generate(tmp_path / "again", "quick", seed=0, progress=False, check=False)
    for pattern in ("lastfm_subset/**/*.json", "audio/*.wav", "mxm_dataset_*.txt", "lyrics.jsonl", "tracks.csv"):
        assert digest(synth_quick, pattern) == digest(again, pattern), pattern
    db = load_lastfm_sqlite(synth_quick / "lastfm_similars.db")
    db_again = load_lastfm_sqlite(again / "lastfm_similars.db")
    assert list(db.a) == list(db_again.a) and np.array_equal(db.score, db_again.score)
    other = World(SIZES["quick"], seed=1)
    assert other.track_ids != World(SIZES["quick"], seed=0).track_ids


def test_loaders_read_the_synthetic_formats(synth_quick):
    size = SIZES["quick"]
    corpus = load_corpus(synth_quick)
    assert corpus.synthetic
    assert len(corpus.tracks) == size.n_tracks
    assert len(corpus.scored) == size.n_tracks * size.n_similars
    assert len(corpus.audio_ids) == size.n_audio
    # instrumentals have empty lyrics: counted, not silently dropped
    assert corpus.report.skips["empty lyrics"] == size.n_tracks - len(corpus.lyrics) > 0
    db = load_lastfm_sqlite(synth_quick / "lastfm_similars.db")
    dest = load_lastfm_sqlite(synth_quick / "lastfm_similars.db", "similars_dest")
    assert len(db) == len(dest) == len(corpus.scored)
    assert sorted(zip(db.a, db.b)) == sorted(zip(dest.a, dest.b))
    bow = load_musixmatch(synth_quick / "mxm_dataset_train.txt")
    assert len(bow) > 0 and bow.report.total == 0
    rate, clip = wavfile.read(next((synth_quick / "audio").glob("*.wav")))
    assert rate == 22_050 and clip.dtype == np.int16 and clip.ndim == 1
    assert len(clip) == int(size.clip_seconds * rate)


def test_scores_are_skewed_low_and_the_card_reports_baselines(synth_quick):
    card = json.loads((synth_quick / "card.json").read_text())
    check = card["check"]
    assert 0.02 < check["positive_share"] < 0.3
    # learnable but not trivial: both baselines above chance, below perfect
    assert 0.6 < check["tfidf_auc"] < 0.97
    assert 0.55 < check["spectral_auc"] < 0.97
    assert "SYNTHETIC" in (synth_quick / "DATA_CARD.md").read_text()


def test_data_summary_cli(synth_quick, capsys):
    assert main(["data", "summary", str(synth_quick)]) == 0
    out = capsys.readouterr().out
    assert "SYNTHETIC" in out and f"tracks with audio: {SIZES['quick'].n_audio}" in out and "empty lyrics" in out
