"""Peak memory (RSS) of preparation and training, each measured in a fresh process (a probe script)."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


PEAK = r"""
def reset_peak():
    # a child inherits its parent's peak-RSS mark across fork and exec; start from zero
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")

def peak_kb(key="VmHWM"):
    return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key + ":"))

reset_peak()
"""

MEMORY_PROBE = PEAK + r"""
import os, sys, time
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from dplib.config import get_config
from dplib.experiments import prepare
cfg = get_config(size=sys.argv[1])
before = peak_kb()
started = time.perf_counter()
exp = prepare("lyrics", cfg, "pair")
prep = peak_kb()
seconds = time.perf_counter() - started
line = f"{before} {prep} {seconds:.1f} {len(exp.corpus.tracks)} {exp.data.songs.data.nbytes} {len(exp.data.splits.train)}"
if sys.argv[2] == "1":
    from dplib.experiments import build_model
    from dplib.training import fit
    model = build_model(exp, "all", 2)
    h = fit(model, exp.data, epochs=1, batch_size=cfg.batch_size)
    line += f" {peak_kb()} {h['seconds']:.1f}"
print("RESULT", line)
"""


GENERATION_PROBE = PEAK + r"""
import os, sys, tempfile, time
from dplib.datasets.synthetic import generate
with tempfile.TemporaryDirectory() as tmp:
    started = time.perf_counter()
    generate(os.path.join(tmp, "d"), sys.argv[1], progress=False, check=False)
    print("RESULT", peak_kb(), f"{time.perf_counter() - started:.1f}")
"""

STREAM_PROBE = PEAK + r"""
import os, sys, tempfile, time
from pathlib import Path
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
from dplib.config import get_config
from dplib.experiments import data_folder
from dplib.datasets.streaming import prepare_lyrics_shards
from dplib.datasets.synthetic import SIZES
from dplib.models import build_lyrics_model
from dplib.training import fit
from dplib.datasets.corpus import find_data
cfg = get_config(size=sys.argv[1])
paths = find_data(data_folder(cfg))
paths.lastfm_json = paths.lastfm_json * int(sys.argv[2])  # read k times: k x the listed rows, the same pairs
reset_peak()
before = peak_kb()
with tempfile.TemporaryDirectory() as tmp:
    started = time.perf_counter()
    data = prepare_lyrics_shards(paths, tmp, "pair", SIZES[cfg.size].lyrics_pairs, max_len=cfg.max_len,
                                 min_count=cfg.min_count, max_doc_freq=cfg.max_doc_freq, seed=cfg.seed)
    seconds = time.perf_counter() - started
    prepared = peak_kb()
    encoded = (Path(tmp) / "songs.npy").stat().st_size
    reset_peak()  # so the peak below is the streamed epoch's own
    epoch_before = peak_kb("VmRSS")
    model = build_lyrics_model(data.input_dim, "all", 2)
    h = fit(model, data, epochs=1, batch_size=cfg.batch_size)
    m = data.manifest
    print("RESULT", before, prepared, f"{seconds:.1f}", m["listed_pairs"], m["counts"]["train"]["rows"], encoded,
          epoch_before, peak_kb(), f"{h['seconds']:.1f}")
"""


PREP_PROFILE_PROBE = PEAK + r"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
from dplib.config import get_config
from dplib.datasets import lastfm, lyrics as lyr
from dplib.datasets.corpus import find_data
from dplib.datasets.pairs import build_pair_pool, make_splits
from dplib.datasets.prepare import encode_split_lyrics
from dplib.datasets.report import SkipReport
from dplib.datasets.synthetic import SIZES
from dplib.experiments import data_folder
cfg = get_config(size=sys.argv[1])
paths = find_data(data_folder(cfg))
def rss():
    return peak_kb("VmRSS")
stages = [("start", rss())]
data = lastfm.load_lastfm_json(paths.lastfm_json[0])
stages.append((f"Last.fm JSON: {len(data.tracks)} tracks, {len(data.pairs)} scored pairs", rss()))
texts = lyr.load_lyrics_texts(paths.lyrics)
stages.append((f"lyrics texts of {len(texts)} songs", rss()))
pool = build_pair_pool(data.pairs, texts.keys(), seed=cfg.seed)
stages.append((f"pair pool: {len(pool)} unordered pairs", rss()))
class C: pass
corpus = C(); corpus.lyrics = texts
splits = make_splits(pool, "pair", SIZES[cfg.size].lyrics_pairs, seed=cfg.seed)
stages.append(("balanced, flipped splits", rss()))
vocab, songs = encode_split_lyrics(corpus, splits, cfg.max_len, cfg.min_count, cfg.max_doc_freq, SkipReport())
stages.append((f"vocabulary and encoded songs ({songs.data.nbytes / 2**20:.1f} MB)", rss()))
print("RESULT", "|".join(f"{name}={kb}" for name, kb in stages))
"""


def preparation_profile(size: str) -> dict:
    """Resident memory after each preparation stage, in one fresh process."""
    v = probe(PREP_PROFILE_PROBE, size)
    if isinstance(v, str):
        return {"error": v}
    stages = [item.rsplit("=", 1) for item in " ".join(v).split("|")]
    return {"size": size, "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "stages": [(name, int(kb) / 1024) for name, kb in stages]}


def probe(script: str, *args: str) -> list[str] | str:
    proc = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, capture_output=True, text=True)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT")), None)
    return line.split()[1:] if line else proc.stderr[-500:]


def generation_memory(sizes: list[str]) -> dict:
    out = {}
    for size in sizes:
        v = probe(GENERATION_PROBE, size)
        out[size] = {"error": v} if isinstance(v, str) else {"rss_mb": int(v[0]) / 1024, "seconds": float(v[1])}
    return out


def streaming_memory(sizes: list[str]) -> dict:
    """Streamed preparation (dplib data shards) then one epoch streamed from its shards, one fresh process per size.

    The largest size runs once more with its Last.fm files read twice: twice the listed rows for the same
    pairs (a pair listed again keeps its higher score), so memory that grows with the rows would show.
    """
    out = {}
    for size, times in [(s, 1) for s in sizes] + [(sizes[-1], 2)]:
        v = probe(STREAM_PROBE, size, str(times))
        out[size if times == 1 else f"{size}, Last.fm files read twice"] = {"error": v} if isinstance(v, str) else {
            "rss_imports_mb": int(v[0]) / 1024, "rss_prepared_mb": int(v[1]) / 1024, "prepare_seconds": float(v[2]),
            "listed_pairs": int(v[3]), "train_pairs": int(v[4]), "encoded_mb": int(v[5]) / 2**20,
            "rss_before_epoch_mb": int(v[6]) / 1024, "rss_after_epoch_mb": int(v[7]) / 1024,
            "epoch_seconds": float(v[8])}
    return out


def memory(sizes: list[str]) -> dict:
    """Each size in a fresh process: peak RSS after imports, after preparation, after one epoch."""
    out = {}
    for size in sizes:
        proc = subprocess.run([sys.executable, "-c", MEMORY_PROBE, size, "1"], cwd=ROOT,
                              capture_output=True, text=True)
        line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT")), None)
        if line is None:
            out[size] = {"error": proc.stderr[-500:]}
            continue
        v = line.split()[1:]
        out[size] = {"rss_imports_mb": int(v[0]) / 1024, "rss_prepared_mb": int(v[1]) / 1024,
                     "prepare_seconds": float(v[2]), "tracks": int(v[3]), "encoded_mb": int(v[4]) / 2**20,
                     "train_pairs": int(v[5]), "rss_after_epoch_mb": int(v[6]) / 1024, "epoch_seconds": float(v[7])}
    return out


def memory_results(sizes: list[str]) -> dict:
    print("memory ...", flush=True)
    return {"memory": memory(sizes), "generation": generation_memory(sizes), "streaming": streaming_memory(sizes),
            "preparation_profile": preparation_profile(sizes[-1]),
            "memory_date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
