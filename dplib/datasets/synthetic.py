"""A synthetic mini Million Song Dataset, written in the real files' formats.

The latent model (documented in the data card the generator writes):

* genres have centres in a 12-d latent space; artists sit near their genre's
  centre, tracks near their artist: ``z_track = c_genre + 0.5 n_artist + 0.3 n_track``.
* Last.fm-like similarity: each track lists ``n_similars`` others (same artist,
  same genre, anyone) with score ``exp(-|z_i - z_j|^2 / 3)`` plus noise, so most
  listed scores are low and mostly same-artist pairs reach 0.5.
* lyrics: lines drawn from *themes* (word lists and ordered phrases placed in the
  latent space; a track uses the themes near it), artist phrases, and Zipf-like
  filler words from one shared vocabulary. Word order carries some signal (phrases).
* audio: real music, not noise. Tempo, brightness (harmonic slope), odd/even
  harmonic balance, note decay and drum density are smooth functions of the latent
  position; the key comes from the artist, the scale from the genre; a melody
  walks on the scale over a bass line, plus white noise.

``noise`` (default 1.0) scales the filler share of lyrics, the score noise and the
audio noise together: 0 makes the task easy, 2 hard.

Everything streams to disk one track at a time, from per-track random generators,
so output is deterministic in ``seed`` and memory stays flat as the size grows.
"""
from __future__ import annotations

import json
import shutil
import sqlite3
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from scipy.io import wavfile

from .audio import SAMPLE_RATE
from .files import partial_folder, replace_folder
from .report import DataError

GENRES = [
    "rock", "soul", "electronic", "hip hop", "jazz", "folk", "metal", "pop", "country", "reggae",
    "blues", "punk", "ambient", "funk", "latin", "classical", "disco", "indie", "gospel", "techno",
]
SCALES = [
    (0, 2, 4, 5, 7, 9, 11),  # major
    (0, 2, 3, 5, 7, 8, 10),  # natural minor
    (0, 2, 4, 7, 9),  # major pentatonic
    (0, 3, 5, 7, 10),  # minor pentatonic
    (0, 2, 3, 5, 7, 9, 10),  # dorian
    (0, 3, 5, 6, 7, 10),  # blues
]
LATENT_DIM = 12
SCORE_WIDTH = 3.0  # 2 sigma^2 of the similarity kernel


@dataclass(frozen=True)
class SynthSize:
    n_tracks: int
    n_artists: int
    n_genres: int
    n_audio: int
    clip_seconds: float
    n_similars: int
    n_words: int
    n_themes: int
    #: balanced pairs per class (train, val, test) that the notebooks draw at this size
    lyrics_pairs_per_class: tuple[int, int, int]
    audio_pairs_per_class: tuple[int, int, int]


SIZES = {
    "quick": SynthSize(600, 90, 6, 160, 3.0, 24, 1500, 24, (500, 100, 100), (120, 30, 30)),
    # what make reproduce trains: from trial trainings, about the smallest sets on which the heads that learn in
    # Tables 2 and 3 still learn (README, "Choices"); audio at the paper's scale, about 800 training pairs, with 100
    # test pairs per class for a steadier AUC
    "default": SynthSize(5000, 700, 10, 1000, 8.0, 30, 3000, 40, (4000, 800, 800), (400, 100, 100)),
    # Table 1: 38,000 / 8,000 / 8,000 pairs per class (x2 orders); the audio set: 1,000 pairs
    "paper": SynthSize(60000, 8000, 20, 2000, 30.0, 40, 8000, 200, (38000, 8000, 8000), (400, 50, 50)),
}


def _words(rng: np.random.Generator, n: int) -> list[str]:
    """Pronounceable pseudo-words, unique, shortest first (short words are frequent)."""
    onsets = ["b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "w", "y", "z",
              "br", "ch", "cl", "dr", "fl", "gr", "pl", "sh", "sl", "st", "th", "tr"]
    vowels = ["a", "e", "i", "o", "u", "ay", "ee", "oo", "ou"]
    codas = ["", "", "n", "r", "s", "t", "l", "m", "ck", "nd", "ng"]
    out: list[str] = []
    seen = set()
    syllables = 1
    while len(out) < n:
        for _ in range(4 * n):
            w = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables)) + rng.choice(codas)
            if w not in seen:
                seen.add(w)
                out.append(w)
                if len(out) == n:
                    break
        syllables += 1
    return out


def _track_ids(rng: np.random.Generator, n: int) -> list[str]:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    chars = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
    ids, seen = [], set()
    while len(ids) < n:
        tid = "TR" + "".join(rng.choice(letters, 5)) + "12" + "".join(rng.choice(chars, 9))
        if tid not in seen:
            seen.add(tid)
            ids.append(tid)
    return ids


class World:
    """The latent model: everything about a track is a function of the seed and its index."""

    def __init__(self, size: SynthSize, seed: int = 0, noise: float = 1.0):
        self.size, self.seed, self.noise = size, seed, noise
        rng = np.random.default_rng([seed, 0])
        s = size
        self.words = _words(rng, s.n_words)
        self.zipf = 1.0 / (np.arange(s.n_words) + 2.7)
        self.zipf /= self.zipf.sum()
        self.genre_names = GENRES[: s.n_genres]
        self.genre_centres = rng.normal(size=(s.n_genres, LATENT_DIM))
        self.genre_scale = rng.integers(0, len(SCALES), size=s.n_genres)
        self.artist_genre = rng.integers(0, s.n_genres, size=s.n_artists)
        self.artist_z = self.genre_centres[self.artist_genre] + 0.5 * rng.normal(size=(s.n_artists, LATENT_DIM))
        self.artist_names = [f"The {a.title()} {b.title()}s" for a, b in zip(
            rng.choice(self.words[200:], s.n_artists), rng.choice(self.words[200:], s.n_artists))]
        self.track_artist = np.sort(rng.integers(0, s.n_artists, size=s.n_tracks))
        rng.shuffle(self.track_artist)
        self.track_z = self.artist_z[self.track_artist] + 0.3 * rng.normal(size=(s.n_tracks, LATENT_DIM))
        self.track_ids = _track_ids(rng, s.n_tracks)
        # themes: places in latent space, each with its own words and ordered phrases
        theme_genre = rng.integers(0, s.n_genres, size=s.n_themes)
        self.theme_z = self.genre_centres[theme_genre] + 0.6 * rng.normal(size=(s.n_themes, LATENT_DIM))
        content = np.arange(30, s.n_words)  # the 30 most frequent words are pure filler
        self.theme_words = [rng.choice(content, 40, replace=False) for _ in range(s.n_themes)]
        self.theme_phrases = [[rng.choice(w, rng.integers(3, 7)) for _ in range(12)] for w in self.theme_words]
        self.artist_words = [rng.choice(content, 12, replace=False) for _ in range(s.n_artists)]
        self.artist_phrases = [[rng.choice(w, rng.integers(3, 6)) for _ in range(4)] for w in self.artist_words]
        # audio: smooth functions of the latent position
        self.audio_dirs = rng.normal(size=(6, LATENT_DIM)) / np.sqrt(LATENT_DIM)
        self.artist_key = rng.integers(0, 12, size=s.n_artists)
        # which tracks get audio: whole artists, in a random order, until n_audio
        order = rng.permutation(s.n_artists)
        by_artist = [np.flatnonzero(self.track_artist == a) for a in order]
        chosen: list[int] = []
        for tracks in by_artist:
            if len(chosen) >= s.n_audio:
                break
            chosen.extend(tracks.tolist())
        self.has_audio = np.zeros(s.n_tracks, dtype=bool)
        self.has_audio[chosen[: s.n_audio]] = True
        self.instrumental = rng.random(s.n_tracks) < 0.02
        self.genre_tracks = [np.flatnonzero(self.artist_genre[self.track_artist] == g) for g in range(s.n_genres)]
        self.artist_tracks = [np.flatnonzero(self.track_artist == a) for a in range(s.n_artists)]

    def rng(self, i: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, 1 + stream, i])

    def genre_of(self, i: int) -> int:
        return int(self.artist_genre[self.track_artist[i]])

    # --- similarity ---------------------------------------------------------------
    def similars(self, i: int) -> list[tuple[int, float]]:
        rng = self.rng(i, 1)
        n = self.size.n_similars
        same_artist = self.artist_tracks[self.track_artist[i]]
        same_genre = self.genre_tracks[self.genre_of(i)]
        cands = set(same_artist.tolist()[: n // 3])
        cands.update(rng.choice(same_genre, min(n // 3, len(same_genre)), replace=False).tolist())
        while len(cands) < n + 1:
            cands.add(int(rng.integers(0, self.size.n_tracks)))
        cands.discard(i)
        cands = np.array(sorted(cands))[:n]
        d2 = ((self.track_z[cands] - self.track_z[i]) ** 2).sum(axis=1)
        score = np.exp(-d2 / SCORE_WIDTH) + 0.08 * self.noise * rng.normal(size=len(cands))
        score = np.clip(score, 0.0, 1.0)
        order = np.argsort(-score, kind="stable")
        return [(int(cands[k]), float(round(score[k], 6))) for k in order]

    # --- lyrics -------------------------------------------------------------------
    def lyrics(self, i: int) -> list[str]:
        """Ordered words of a track's lyrics (empty for instrumentals)."""
        if self.instrumental[i]:
            return []
        rng = self.rng(i, 2)
        z = self.track_z[i]
        d2 = ((self.theme_z - z) ** 2).sum(axis=1)
        weights = np.exp(-(d2 - d2.min()) / 3.0)
        weights /= weights.sum()
        artist = self.track_artist[i]
        filler = min(0.9, 0.3 * self.noise)
        words: list[int] = []
        for _ in range(rng.integers(5, 10)):
            draw = rng.random()
            if draw < 0.05:
                line = self.artist_phrases[artist][rng.integers(4)]
            elif draw < 0.6:
                theme = rng.choice(len(weights), p=weights)
                line = self.theme_phrases[theme][rng.integers(12)]
            else:
                n = rng.integers(4, 9)
                theme = rng.choice(len(weights), p=weights, size=n)
                from_theme = np.array([self.theme_words[t][rng.integers(40)] for t in theme])
                line = np.where(rng.random(n) < filler, rng.choice(self.size.n_words, n, p=self.zipf), from_theme)
            words.extend(int(w) for w in line)
        return [self.words[w] for w in words]

    # --- audio --------------------------------------------------------------------
    def audio(self, i: int) -> np.ndarray:
        """A mono float clip in [-1, 1] at 22,050 Hz."""
        rng = self.rng(i, 3)
        sr, z = SAMPLE_RATE, self.track_z[i]
        proj = 1.0 / (1.0 + np.exp(-self.audio_dirs @ z))  # six values in (0, 1)
        n = int(self.size.clip_seconds * sr)
        out = np.zeros(n, dtype="float64")
        beat = 60.0 / (70.0 + 90.0 * proj[0])
        slope = 0.6 + 2.0 * proj[1]
        odd = 0.2 + 0.8 * proj[2]
        decay = 2.0 + 10.0 * proj[3]
        drums = proj[4]
        harmonics = np.arange(1, 11)
        amps = harmonics ** -slope * np.where(harmonics % 2 == 1, 1.0, 1.0 - odd)
        scale = SCALES[self.genre_scale[self.genre_of(i)]]
        root = 45 + self.artist_key[self.track_artist[i]]

        def tone(midi: float, start: int, length: int, gain: float) -> None:
            length = min(length, n - start)
            if length <= 0:
                return
            t = np.arange(length) / sr
            f = 440.0 * 2 ** ((midi - 69) / 12)
            h = harmonics[harmonics * f < sr / 2]
            wave = (amps[: len(h), None] * np.sin(2 * np.pi * f * h[:, None] * t)).sum(axis=0)
            out[start : start + length] += gain * wave * np.exp(-decay * t) * np.minimum(1.0, t * 200)

        step, pos = 0, 0.0
        while pos < self.size.clip_seconds:
            dur = beat * rng.choice([0.5, 1.0, 1.0, 2.0])
            step = int(np.clip(step + rng.integers(-2, 3), -3, 2 * len(scale)))
            midi = root + 12 + 12 * (step // len(scale)) + scale[step % len(scale)]
            tone(midi, int(pos * sr), int(dur * sr), 0.5)
            pos += dur
        for k in range(int(self.size.clip_seconds / (2 * beat)) + 1):  # bass on every other beat
            tone(root - 12 + scale[rng.integers(len(scale)) if rng.random() < 0.3 else 0], int(2 * k * beat * sr), int(2 * beat * sr), 0.4)
        t_kick = np.arange(int(0.15 * sr)) / sr
        kick = np.sin(2 * np.pi * 60 * t_kick) * np.exp(-25 * t_kick)
        hat_len = int(0.04 * sr)
        for k in range(int(self.size.clip_seconds / (beat / 2)) + 1):
            start = int(k * beat / 2 * sr)
            if k % 2 == 0 and rng.random() < drums:
                seg = out[start : start + len(kick)]
                seg += 0.8 * kick[: len(seg)]
            if rng.random() < drums:
                seg = out[start : start + hat_len]
                seg += 0.15 * rng.normal(size=len(seg)) * np.exp(-np.arange(len(seg)) / (0.01 * sr))
        out += 0.02 * self.noise * rng.normal(size=n)
        return (0.9 * out / max(np.abs(out).max(), 1e-9)).astype("float32")


def lastfm_path(root: Path, tid: str) -> Path:
    """The official layout: lastfm_subset/A/B/C/TRABC....json (letters 3 to 5 of the id)."""
    return root / tid[2] / tid[3] / tid[4] / f"{tid}.json"


def generate(out: str | Path, size: str = "default", seed: int = 0, noise: float = 1.0, progress: bool = True,
             check: bool = True) -> Path:
    """Write the synthetic mini-MSD of ``size`` under ``out`` and return ``out``.

    The folder is built under a temporary name and renamed when complete (a previous one is replaced); a folder
    that is not empty and holds no ``card.json`` is refused rather than overwritten."""
    if size not in SIZES:
        raise ValueError(f"size must be one of {sorted(SIZES)}, got {size!r}")
    final = Path(out)
    if final.exists() and any(final.iterdir()) and not (final / "card.json").exists():
        raise DataError("not empty and not a synthetic data folder (no card.json): choose another --out", final)
    partial = partial_folder(final)
    try:
        _write_synthetic(partial, size, seed, noise, progress, check)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return replace_folder(partial, final)


def _write_synthetic(out: Path, size: str, seed: int, noise: float, progress: bool, check: bool) -> None:
    from tqdm import tqdm  # plain text: tqdm.auto warns (with a path of this machine) in notebooks without ipywidgets

    started = time.perf_counter()
    world = World(SIZES[size], seed, noise)
    s = world.size
    json_root = out / "lastfm_subset"
    audio_folder = out / "audio"
    audio_folder.mkdir(exist_ok=True)
    db = _open_similars_db(out / "lastfm_similars.db")
    mxm_index = {w: k + 1 for k, w in enumerate(world.words[:5000])}
    mxm_files = {part: _open_mxm(out, part, list(mxm_index), seed, size) for part in ("train", "test")}
    lyrics_file = open(out / "lyrics.jsonl", "w", encoding="utf-8")
    truth = open(out / "tracks.csv", "w", encoding="utf-8")
    truth.write("track_id,artist,genre,has_audio,has_lyrics\n")
    src_rows, edge_rows = [], []
    for i in tqdm(range(s.n_tracks), desc=f"synth {size}", disable=not progress, mininterval=1.0):
        tid = world.track_ids[i]
        genre = world.genre_names[world.genre_of(i)]
        sims = world.similars(i)
        rng = world.rng(i, 4)
        doc = _track_doc(world, i, genre, sims, rng)
        path = lastfm_path(json_root, tid)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc))
        src_rows.append((tid, ",".join(f"{world.track_ids[j]},{score:g}" for j, score in sims)))
        edge_rows.extend((tid, world.track_ids[j], f"{score:g}") for j, score in sims)
        words = world.lyrics(i)
        lyrics_file.write(json.dumps({"track_id": tid, "text": " ".join(words)}) + "\n")
        if words:
            counts: dict[int, int] = {}
            for w in words:
                if w in mxm_index:
                    counts[mxm_index[w]] = counts.get(mxm_index[w], 0) + 1
            part = "test" if rng.random() < 0.1 else "train"
            mxm_files[part].write(f"{tid},{1000000 + i}," + ",".join(f"{k}:{c}" for k, c in sorted(counts.items())) + "\n")
        if world.has_audio[i]:
            clip = world.audio(i)
            wavfile.write(audio_folder / f"{tid}.wav", SAMPLE_RATE, (clip * 32767).astype("<i2"))
        truth.write(f'{tid},"{doc["artist"]}",{genre},{int(world.has_audio[i])},{int(bool(words))}\n')
        if len(src_rows) >= 2000:
            db.executemany("INSERT INTO similars_src VALUES (?, ?)", src_rows)
            db.executemany("INSERT INTO edges VALUES (?, ?, ?)", edge_rows)
            src_rows, edge_rows = [], []
    _close_similars_db(db, src_rows, edge_rows)
    for f in (*mxm_files.values(), lyrics_file, truth):
        f.close()
    card = {"synthetic": True, "size": size, "seed": seed, "noise": noise, **asdict(s),
            "seconds_to_generate": round(time.perf_counter() - started, 1)}
    from .check import check_synthetic, data_card_markdown

    if check:
        card["check"] = check_synthetic(out)
    (out / "card.json").write_text(json.dumps(card, indent=2))
    (out / "DATA_CARD.md").write_text(data_card_markdown(card))


def _open_similars_db(path: Path) -> sqlite3.Connection:
    """``lastfm_similars.db`` with the official tables, and a temporary table of edges for ``similars_dest``."""
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE similars_src (tid TEXT, target TEXT)")
    db.execute("CREATE TABLE similars_dest (tid TEXT, target TEXT)")
    db.execute("CREATE TEMP TABLE edges (src TEXT, dst TEXT, score TEXT)")
    return db


def _close_similars_db(db: sqlite3.Connection, src_rows: list, edge_rows: list) -> None:
    """The last rows, ``similars_dest`` (each track's incoming edges), the official indexes."""
    db.executemany("INSERT INTO similars_src VALUES (?, ?)", src_rows)
    db.executemany("INSERT INTO edges VALUES (?, ?, ?)", edge_rows)
    db.execute(
        "INSERT INTO similars_dest SELECT dst, group_concat(src || ',' || score, ',') FROM edges GROUP BY dst ORDER BY dst"
    )
    db.execute("CREATE INDEX idx_src_tid ON similars_src(tid)")
    db.execute("CREATE INDEX idx_dest_tid ON similars_dest(tid)")
    db.commit()
    db.close()


def _open_mxm(out: Path, part: str, words: list[str], seed: int, size: str):
    """A musiXmatch file with its header lines and its ``%`` word list written."""
    f = open(out / f"mxm_dataset_{part}.txt", "w", encoding="utf-8")
    f.write(f"# {part.upper()} SET\n# Synthetic mini-MSD written by dplib (seed {seed}, size {size}).\n")
    f.write("# FORMAT: '#' comment, '%' top words, then TRACK_ID,MXM_ID,idx:count,... (idx from 1)\n")
    f.write("%" + ",".join(words) + "\n")
    return f


def _track_doc(world: "World", i: int, genre: str, sims, rng) -> dict:
    """Track ``i``'s Last.fm JSON document (``rng``: the track's own stream, used in this order)."""
    s = world.size
    tags = [[genre, "100"]] + [[world.words[int(w)], str(int(c))] for w, c in zip(
        rng.choice(s.n_words, 4, replace=False), sorted(rng.integers(0, 90, 4), reverse=True))]
    return {
        "artist": world.artist_names[world.track_artist[i]],
        "timestamp": "2011-08-12 00:00:00.000000",
        "similars": [[world.track_ids[j], 1 if score == 1.0 else score] for j, score in sims],
        "tags": tags,
        "track_id": world.track_ids[i],
        "title": " ".join(w.title() for w in rng.choice(world.words[100:], rng.integers(1, 4))),
    }
