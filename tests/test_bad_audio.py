"""Bad audio (WAV clips, MSD .h5 files): a note, a counted skip naming the file, or one DataError; --strict
holds through preparation, before any training."""
import numpy as np
import pytest
from scipy.io import wavfile

from conftest import run_cli
from dplib.datasets import audio
from dplib.datasets.audio import SAMPLE_RATE, encode_audio, read_audio
from dplib.datasets.report import DataError, SkipReport


def tone(seconds=1.2, rate=SAMPLE_RATE, freq=440.0):
    t = np.arange(int(seconds * rate)) / rate
    return (np.sin(2 * np.pi * freq * t) * 20000).astype("int16")


def test_a_data_chunk_shorter_than_its_header_is_read_with_a_note(tmp_path):
    wavfile.write(tmp_path / "FULL.wav", SAMPLE_RATE, tone())
    raw = (tmp_path / "FULL.wav").read_bytes()
    (tmp_path / "SHORT.wav").write_bytes(raw[:-10_000])
    report = SkipReport()
    x = read_audio(tmp_path / "SHORT.wav", report=report)
    assert len(x) == len(tone()) - 5_000
    assert report.notes == {"WAV data shorter than its header says (the samples present are used)": 1}
    assert report.total == 0


@pytest.mark.parametrize("metadata", [0, 100_000])
def test_a_header_claiming_gigabytes_over_a_small_file_reads_the_samples_present(tmp_path, metadata):
    """A data chunk size of ~4 GiB over 2 s of samples: scipy would allocate the claim first (a skip, or a
    MemoryError under a cap); the samples present are read, with the note, in a process capped at 2 GiB. Also
    behind 100 KB of metadata (a LIST chunk), where a check of the file's first 64 KiB missed the claim."""
    import struct
    import subprocess
    import sys

    wavfile.write(tmp_path / "BIG.wav", SAMPLE_RATE, tone(seconds=2.0))
    raw = bytearray((tmp_path / "BIG.wav").read_bytes())
    at = raw.find(b"data")
    if metadata:
        raw[at:at] = b"LIST" + struct.pack("<I", metadata) + b"INFO" + bytes(metadata - 4)
        at += 8 + metadata
    raw[at + 4:at + 8] = struct.pack("<I", 0xFFFFFF00)
    (tmp_path / "BIG.wav").write_bytes(bytes(raw))
    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
            "from dplib.datasets.audio import read_audio\nfrom dplib.datasets.report import SkipReport\n"
            f"report = SkipReport(); x = read_audio({str(tmp_path / 'BIG.wav')!r}, report=report)\n"
            "print(len(x), dict(report.notes))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"{2 * SAMPLE_RATE} ") and "shorter than its header says" in done.stdout


@pytest.mark.parametrize("rate", [1, 1_000_000])
def test_a_sample_rate_outside_the_audible_range_is_refused_before_resampling(tmp_path, rate):
    wavfile.write(tmp_path / "ODD.wav", rate, tone(seconds=0.1))  # at 1 Hz, 2,205 samples would resample to 48 M
    with pytest.raises(DataError, match=rf"ODD\.wav: unusable sample rate \({rate:,} Hz"):
        read_audio(tmp_path / "ODD.wav")


def test_a_clip_longer_than_the_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(audio, "MAX_SECONDS", 1)
    wavfile.write(tmp_path / "LONG.wav", SAMPLE_RATE, tone(seconds=1.5))
    report = SkipReport()
    songs = encode_audio(tmp_path, ["LONG"], n_blocks=2, report=report)
    assert songs.track_ids == [] and report.skips == {"clip too long": 1}
    assert "LONG.wav: 2 s; at most 1 s" in report.summary()
    with pytest.raises(DataError, match=r"LONG\.wav: clip too long"):
        encode_audio(tmp_path, ["LONG"], n_blocks=2, report=SkipReport(strict=True))


def write_msd_h5(path, tid, timbre, songs_rows=1):
    import h5py

    with h5py.File(path, "w") as f:
        f.create_dataset("analysis/segments_timbre", data=timbre)
        f.create_dataset("analysis/segments_pitches", data=np.full(timbre.shape, 0.5))
        songs = np.zeros(songs_rows, dtype=[("track_id", "S18"), ("duration", "f8")])
        songs["track_id"] = tid.encode()
        f.create_dataset("analysis/songs", data=songs)


def test_one_nan_in_one_h5_file_does_not_poison_the_others(tmp_path):
    pytest.importorskip("h5py")
    from dplib.datasets.msd_h5 import encode_msd_h5

    rng = np.random.default_rng(0)
    write_msd_h5(tmp_path / "TRA.h5", "TRA", rng.normal(size=(10, 12)) * 50)
    write_msd_h5(tmp_path / "TRB.h5", "TRB", rng.normal(size=(12, 12)) * 50)
    bad = rng.normal(size=(10, 12))
    bad[3, 4] = np.nan
    write_msd_h5(tmp_path / "TRNAN.h5", "TRNAN", bad)
    write_msd_h5(tmp_path / "TREMPTY.h5", "TREMPTY", rng.normal(size=(10, 12)), songs_rows=0)
    report = SkipReport()
    songs = encode_msd_h5(sorted(tmp_path.glob("*.h5")), n_segments=12, report=report)
    assert songs.track_ids == ["TRA", "TRB"] and np.isfinite(songs.data).all()
    assert report.skips == {"NaN or inf in the segment features": 1, "empty /analysis/songs table": 1}
    with pytest.raises(DataError, match=r"TRNAN\.h5: NaN or inf"):
        encode_msd_h5([tmp_path / "TRNAN.h5"], report=SkipReport(strict=True))


def test_strict_stops_audio_training_at_a_bad_clip_before_any_training(tmp_path):
    clips = tmp_path / "audio"
    clips.mkdir()
    for k, tid in enumerate(["TRA", "TRB", "TRC", "TRD"]):
        wavfile.write(clips / f"{tid}.wav", SAMPLE_RATE, tone(freq=220.0 * (k + 1)))
    (clips / "TRBAD.wav").write_bytes(b"RIFF\x00\x00")
    (tmp_path / "pairs.csv").write_text("track_a,track_b,score\nTRA,TRB,0.9\nTRC,TRD,0.8\nTRA,TRC,0.1\n"
                                        "TRB,TRD,0.2\nTRA,TRBAD,0.9\nTRBAD,TRD,0.1\n")
    code, stdout, stderr = run_cli("train", "audio", "--pairs", tmp_path / "pairs.csv", "--audio", clips,
                                   "--split", "pair", "--strict", "--out", tmp_path / "run")
    assert code == 1 and "Traceback" not in stderr and stderr.strip().count("\n") == 0
    assert "TRBAD.wav: unreadable or truncated WAV" in stderr
    assert not (tmp_path / "run").exists()


def test_clips_without_a_data_card_are_blocked_at_their_own_length(tmp_path):
    """No card.json (a user's own clips): the blocks per clip come from the clips, not the 60 of a 30 s preview
    (3 s clips at 60 blocks of 5,513 bins made 20x the array they need)."""
    from dplib.datasets.corpus import corpus_from_files
    from dplib.datasets.prepare import clip_blocks

    (tmp_path / "audio").mkdir()
    (tmp_path / "audio" / "BROKEN.wav").write_bytes(b"RIFF")  # unreadable clips are passed over
    for i, seconds in enumerate([3.0, 3.2, 2.9]):
        wavfile.write(tmp_path / "audio" / f"T{i}.wav", SAMPLE_RATE, tone(seconds))
    (tmp_path / "pairs.csv").write_text("track_a,track_b,score\nT0,T1,0.9\n")
    corpus = corpus_from_files(tmp_path / "pairs.csv", audio=tmp_path / "audio")
    assert clip_blocks(corpus, ["BROKEN", "T0", "T1", "T2"]) == 6  # the longest: 3.2 s = 6 whole blocks
    assert clip_blocks(corpus, ["BROKEN"]) == 60  # nothing readable: the preview length


def test_spectrograms_beyond_memory_are_refused_before_any_clip_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(audio, "memory_headroom", lambda: 2**30)
    with pytest.raises(DataError, match=r"would need 2\.1 GiB \(100 clips x 1,000 blocks x 5,513 bins\).*--blocks"):
        encode_audio(tmp_path, [f"T{i}" for i in range(100)], n_blocks=1_000)  # no file exists: none is opened
    assert encode_audio(tmp_path, ["T0"], n_blocks=10).track_ids == []  # small enough: read (and skipped)


def test_the_memory_check_reads_an_address_space_limit(tmp_path):
    """Under ``ulimit -v`` (as the adversarial runs used) the refusal comes from the limit, in a fresh process."""
    import subprocess
    import sys

    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (3 * 2**30, resource.RLIM_INFINITY))\n"
            "from dplib.datasets.audio import memory_headroom, encode_audio\n"
            "assert memory_headroom() < 3 * 2**30\n"
            f"encode_audio({str(tmp_path)!r}, ['T%d' % i for i in range(100)], n_blocks=1_500)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode != 0 and "DataError" in done.stderr and "would need 3.1 GiB" in done.stderr, done.stderr
    assert "MemoryError" not in done.stderr


def test_train_audio_reads_a_folder_of_msd_h5_track_files(tmp_path):
    """MSD track files instead of clips: ``dplib train audio --audio FOLDER`` trains on their 24 segment features
    per step; a folder that mixes them with clips is one named error."""
    pytest.importorskip("h5py")
    import json

    from conftest import run_cli

    rng = np.random.default_rng(0)
    folder = tmp_path / "h5"
    folder.mkdir()
    ids = [f"TRH{i:03d}" for i in range(40)]
    for i, tid in enumerate(ids):  # two kinds of timbre: songs of a kind are the similar ones
        write_msd_h5(folder / f"{tid}.h5", tid, rng.normal(loc=3.0 * (i % 2), size=(30 + i, 12)))
    pairs = [(a, b) for k, a in enumerate(ids) for b in ids[k + 1:k + 6]]
    (tmp_path / "pairs.csv").write_text("track_a,track_b,score\n" + "".join(
        f"{a},{b},{0.9 if ids.index(a) % 2 == ids.index(b) % 2 else 0.1}\n" for a, b in pairs))
    code, _, stderr = run_cli("train", "audio", "--pairs", tmp_path / "pairs.csv", "--audio", folder, "--split",
                              "pair", "--epochs", "1", "--out", tmp_path / "run")
    assert code == 0, stderr
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert metrics["n_train_pairs"] > 0 and metrics["settings"]["params"] > 0
    import keras

    from dplib.models import load_pair_model
    from dplib.playlists import tower_of

    assert tower_of(load_pair_model(tmp_path / "run" / "model.keras")).input_shape[-1] == 24  # 12 timbre + 12 chroma
    keras.backend.clear_session()
    wavfile.write(folder / "TRH000.wav", SAMPLE_RATE, tone())
    code, _, stderr = run_cli("train", "audio", "--pairs", tmp_path / "pairs.csv", "--audio", folder, "--split",
                              "pair", "--epochs", "1", "--out", tmp_path / "run2")
    assert code == 1 and "h5: MSD .h5 track files are read as they are: one kind of file per audio folder" in stderr


def test_a_clip_is_encoded_once_per_process_until_its_file_changes(tmp_path, monkeypatch):
    stereo = np.stack([tone(), tone(freq=220.0)], axis=1)
    wavfile.write(tmp_path / "TRSTEREO0000000001.wav", SAMPLE_RATE, stereo)
    decoded = []
    monkeypatch.setattr(audio, "read_audio", lambda *a, **k: decoded.append(a[0]) or read_audio(*a, **k))
    reports = [SkipReport(), SkipReport()]
    first, again = (encode_audio(tmp_path, ["TRSTEREO0000000001"], 2, report=r) for r in reports)
    assert len(decoded) == 1 and np.array_equal(first.data, again.data)  # the second encoding decoded nothing
    assert [r.notes for r in reports] == [{"stereo mixed down to mono": 1}] * 2  # notes said on every call
    wavfile.write(tmp_path / "TRSTEREO0000000001.wav", SAMPLE_RATE, stereo[: len(stereo) // 2, ::-1])
    changed = encode_audio(tmp_path, ["TRSTEREO0000000001"], 2)
    assert len(decoded) == 2 and changed.lengths[0] == 1  # a new file (size and time) is read again
