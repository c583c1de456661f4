"""Peak memory (RSS) of preparation and training, each measured in a fresh process.

Every probe below is an ordinary function; :func:`probe` runs one in a new Python process (this file, with the
probe's name and arguments) so that its peak resident memory is its own, and reads back the JSON it prints.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def reset_peak() -> None:
    """A child inherits its parent's peak-RSS mark across fork and exec: start from zero (Linux)."""
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def peak_mb(key: str = "VmHWM") -> float:
    """This process's peak (``VmHWM``) or current (``VmRSS``) resident memory, in MiB."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key + ":")) / 1024


def in_memory(size: str) -> dict:
    """Peak RSS after imports, after preparing the lyrics pair split in memory, and after one training epoch."""
    from dplib.config import get_config
    from dplib.experiments import prepare

    cfg = get_config(size=size)
    imports = peak_mb()
    started = time.perf_counter()
    exp = prepare("lyrics", cfg, "pair")
    out = {"rss_imports_mb": imports, "rss_prepared_mb": peak_mb(), "prepare_seconds": time.perf_counter() - started,
           "tracks": len(exp.corpus.tracks), "encoded_mb": exp.data.songs.data.nbytes / 2**20,
           "train_pairs": len(exp.data.parts.train)}
    from dplib.experiments import build_model
    from dplib.training import fit

    history = fit(build_model(exp, "all", 2), exp.data, epochs=1, batch_size=cfg.batch_size)
    return out | {"rss_after_epoch_mb": peak_mb(), "epoch_seconds": history["seconds"]}


def generation(size: str) -> dict:
    """Peak RSS and time of generating the synthetic data of ``size``."""
    import tempfile

    from dplib.datasets.synthetic import generate

    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        generate(os.path.join(tmp, "d"), size, progress=False, check=False)
        return {"rss_mb": peak_mb(), "seconds": time.perf_counter() - started}


def streamed(size: str, times: str = "1") -> dict:
    """Streamed preparation (``dplib data shards``) with the Last.fm files read ``times`` times (the same pairs, more
    listings), then one epoch streamed from its shards."""
    import tempfile

    from dplib.config import get_config
    from dplib.datasets.corpus import find_data
    from dplib.datasets.streaming import prepare_lyrics_shards
    from dplib.datasets.synthetic import SIZES
    from dplib.experiments import input_folder
    from dplib.models import build_lyrics_model
    from dplib.training import fit

    cfg = get_config(size=size)
    paths = find_data(input_folder(cfg))
    paths.lastfm_json = paths.lastfm_json * int(times)
    reset_peak()
    imports = peak_mb()
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        data = prepare_lyrics_shards(paths, tmp, "pair", SIZES[cfg.size].lyrics_pairs_per_class, max_len=cfg.max_len,
                                     min_count=cfg.min_count, max_doc_freq=cfg.max_doc_freq, seed=cfg.seed)
        out = {"rss_imports_mb": imports, "rss_prepared_mb": peak_mb(), "prepare_seconds": time.perf_counter() - started,
               "listed_pairs": data.manifest["listed_pairs"], "train_pairs": data.manifest["counts"]["train"]["rows"],
               "encoded_mb": (Path(tmp) / "songs.npy").stat().st_size / 2**20}
        reset_peak()  # so the peak below is the streamed epoch's own
        out["rss_before_epoch_mb"] = peak_mb("VmRSS")
        history = fit(build_lyrics_model(data.input_dim, "all", 2), data, epochs=1, batch_size=cfg.batch_size)
        return out | {"rss_after_epoch_mb": peak_mb(), "epoch_seconds": history["seconds"]}


def stages(size: str) -> dict:
    """Resident memory after each stage of the in-memory preparation, in MiB."""
    from types import SimpleNamespace

    from dplib.config import get_config
    from dplib.datasets import lastfm, lyrics
    from dplib.datasets.corpus import find_data
    from dplib.datasets.pairs import build_pair_pool, make_parts
    from dplib.datasets.prepare import encode_parts_lyrics
    from dplib.datasets.report import SkipReport
    from dplib.datasets.synthetic import SIZES
    from dplib.experiments import input_folder

    cfg = get_config(size=size)
    paths = find_data(input_folder(cfg))
    out = [("start", peak_mb("VmRSS"))]
    data = lastfm.load_lastfm_json(paths.lastfm_json[0])
    out.append((f"Last.fm JSON: {len(data.tracks)} tracks, {len(data.pairs)} scored pairs", peak_mb("VmRSS")))
    texts = lyrics.load_lyrics_texts(paths.lyrics)
    out.append((f"lyrics texts of {len(texts)} songs", peak_mb("VmRSS")))
    pool = build_pair_pool(data.pairs, texts.keys(), seed=cfg.seed)
    out.append((f"pair pool: {len(pool)} unordered pairs", peak_mb("VmRSS")))
    parts = make_parts(pool, "pair", SIZES[cfg.size].lyrics_pairs_per_class, seed=cfg.seed)
    out.append(("balanced, flipped parts", peak_mb("VmRSS")))
    _, songs = encode_parts_lyrics(SimpleNamespace(lyrics=texts), parts, cfg.max_len, cfg.min_count,
                                   cfg.max_doc_freq, SkipReport())
    out.append((f"vocabulary and encoded songs ({songs.data.nbytes / 2**20:.1f} MB)", peak_mb("VmRSS")))
    return {"stages": out}


PROBES = {f.__name__: f for f in (in_memory, generation, streamed, stages)}


def probe(name: str, *args: str) -> dict:
    """``PROBES[name](*args)`` in a fresh process; ``{"error": ...}`` with the end of its stderr if it failed."""
    proc = subprocess.run([sys.executable, __file__, name, *args], cwd=ROOT, capture_output=True, text=True)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
    return json.loads(line.removeprefix("RESULT ")) if line else {"error": proc.stderr[-500:]}


def now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def preparation_profile(size: str) -> dict:
    """Resident memory after each preparation stage, in one fresh process."""
    got = probe("stages", size)
    return got if "error" in got else {"size": size, "date": now(), "stages": [tuple(s) for s in got["stages"]]}


def memory_results(sizes: list[str]) -> dict:
    """Each size in fresh processes: in memory, generation, streamed (the largest size once more with its Last.fm
    files read twice: twice the listings for the same pairs, so memory that grows with the listings would show)."""
    print("memory ...", flush=True)
    streaming = {size: probe("streamed", size) for size in sizes}
    streaming[f"{sizes[-1]}, Last.fm files read twice"] = probe("streamed", sizes[-1], "2")
    return {"memory": {size: probe("in_memory", size) for size in sizes},
            "generation": {size: probe("generation", size) for size in sizes}, "streaming": streaming,
            "preparation_profile": preparation_profile(sizes[-1]), "memory_date": now()}


if __name__ == "__main__":  # one probe in this fresh process: python benchmarks/memory.py NAME ARGS...
    reset_peak()
    print("RESULT " + json.dumps(PROBES[sys.argv[1]](*sys.argv[2:])), flush=True)
