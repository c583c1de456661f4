"""Song-disjoint evaluation that can rule things out (notebook 06): repeated K-fold over lyric groups.

One song split per seed leaves a few dozen test pairs per class, too few to tell AUC 0.5 from 0.6. Here:

1. :func:`lyric_groups`: tracks whose lyrics are the same text (other releases, remasters, covers) form one
   *group*, and a group is never split: otherwise the lyrics of a "new" test song were seen in training.
2. :func:`deal_folds`: each repeat deals the groups into K folds of about equal numbers of tracks. A pair is a
   test pair of fold f when both songs are in f (pairs across folds are dropped); a song-disjoint share of the
   other folds' groups validates, the rest trains. Every pair is tested at most once per repeat.
3. Each fold's model scores its test pairs; the K folds of a repeat pool into one set of *out-of-fold* pairs
   (:class:`OutOfFold`), scored by every scorer (networks, baselines) on the same pairs.
4. Pairs of one source track (the song whose Last.fm list holds them) are not independent, so the interval
   resamples source tracks, jointly over all repeats: :func:`dplib.evaluation.cluster_bootstrap`.

Beside the listed negatives (low-score pairs of the same list, hard) each fold also draws *random* negatives
(a positive's partner replaced by a random song of the fold that its source never listed, easy).
:func:`fingerprint_lyrics` replaces each song's (or group's) lyrics by random tokens of its own: a model that
scores well on fingerprints has learned song identity, not content.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Mapping

import numpy as np

from .datasets.corpus import Corpus
from .datasets.lyrics import Vocabulary, encode_lyrics, lyric_groups, tokenize
from .datasets.pairs import PARTS, Pairs, PairParts, ScoredPairs, balance, build_pair_pool, leakage
from .datasets.prepare import Prepared, finish_prepared
from .datasets.report import DataError, SkipReport


def twin_leakage(parts: Mapping[str, Pairs], groups: Mapping[str, int]) -> dict[str, float]:
    """For val and test: the share of pairs that touch a song whose lyric group has a song in training (a track
    seen in training, or a twin of one): what a song split by track id alone leaks."""
    seen = {groups[t] for t in parts["train"].songs() if t in groups}
    out = {}
    for name in ("val", "test"):
        p = parts[name]
        touched = [groups.get(x) in seen or groups.get(y) in seen for x, y in zip(p.a, p.b)]
        out[name] = float(np.mean(touched)) if len(p) else 0.0
    return out


def pair_sources(scored: ScoredPairs, pool: Pairs) -> np.ndarray:
    """The source track of each pool pair: the track whose Last.fm list holds it (the listing that gave the pair its
    score, as :func:`build_pair_pool` keeps the higher one)."""
    best: dict[tuple[str, str], tuple[float, str]] = {}
    for a, b, s in zip(scored.a, scored.b, scored.score):
        key = (a, b) if a < b else (b, a)
        if key not in best or s > best[key][0]:
            best[key] = (float(s), a)
    return np.array([best[(a, b)][1] for a, b in zip(pool.a, pool.b)], dtype=object)


def deal_folds(groups: Mapping[str, int], k: int, seed: int, report: SkipReport | None = None) -> dict[str, int]:
    """``{track: fold}``: the lyric groups in a random order, each to the fold with the fewest tracks so far.
    A group larger than a fold's fair share is kept whole and counted in ``report``."""
    sizes = Counter(groups.values())
    if k < 2:
        raise ValueError(f"K-fold needs K >= 2 folds, got {k}")
    if k > len(sizes):
        raise ValueError(f"K={k} folds but only {len(sizes)} lyric groups: every fold needs a group")
    share = len(groups) / k
    big = [g for g, n in sizes.items() if n > share]
    if big and report is not None:
        report.note(f"lyric group larger than a fold ({len(groups) / k:.0f} tracks), kept whole", len(big))
    order = np.random.default_rng(seed).permutation(sorted(sizes))
    filled = np.zeros(k)
    fold_of: dict[int, int] = {}
    for g in order:
        fold_of[int(g)] = int(np.argmin(filled))
        filled[fold_of[int(g)]] += sizes[int(g)]
    return {t: fold_of[g] for t, g in groups.items()}


def fold_parts(pool: Pairs, song_fold: Mapping[str, int], groups: Mapping[str, int], fold: int, val_share: float,
               seed: int) -> np.ndarray:
    """Part 0, 1, 2 (train, val, test) or -1 (dropped) for each pool pair: test is the pairs inside ``fold``;
    of the other folds' groups a random ``val_share`` of the tracks validates (whole groups), the rest trains."""
    rest = sorted({g for t, g in groups.items() if song_fold[t] != fold})
    sizes = Counter(g for t, g in groups.items() if song_fold[t] != fold)
    order = np.random.default_rng(seed).permutation(rest)
    val, n, wanted = set(), 0, val_share * sum(sizes.values())
    for g in order:
        if n >= wanted:
            break
        val.add(int(g))
        n += sizes[int(g)]

    def part(t: str) -> int:
        return 2 if song_fold[t] == fold else 1 if groups[t] in val else 0

    pa = np.array([part(t) for t in pool.a])
    pb = np.array([part(t) for t in pool.b])
    return np.where(pa == pb, pa, -1)


def random_negatives(sources, candidates: list[str], listed: set[tuple[str, str]], groups: Mapping[str, int],
                     seed: int) -> Pairs:
    """For each source song (of a positive pair), the source beside a random ``candidate`` that it never listed
    (in either direction, nor a lyric twin of a song it listed) and not of its own lyric group: easy negatives,
    in the order of ``sources``."""
    rng = np.random.default_rng(seed)
    near: dict[str, set[int]] = {}
    for x, y in listed:
        if x in groups and y in groups:
            near.setdefault(x, {groups[x]}).add(groups[y])
            near.setdefault(y, {groups[y]}).add(groups[x])
    pool = np.array(sorted(candidates), dtype=object)
    a, b = [], []
    for s in sources:
        taken = near.get(s, {groups[s]})
        for _ in range(1000):
            t = pool[rng.integers(len(pool))]
            if groups[t] not in taken:
                break
        else:
            raise ValueError(f"no unlisted partner for {s} among {len(pool)} songs of its fold")
        a.append(s)
        b.append(t)
    n = len(a)
    return Pairs(np.array(a, dtype=object), np.array(b, dtype=object), np.zeros(n, "float32"), np.zeros(n, "int32"))


@dataclass
class Fold:
    """One fold of one repeat: prepared data (test = the fold's pairs) and the random-negative pairs."""

    data: Prepared
    sources: dict[tuple[str, str], str]  # (a, b) of every test and random pair -> its source track
    random: Pairs  # the test positives with their random negatives (unflipped)


def prepare_fold(corpus: Corpus, pool: Pairs, sources: np.ndarray, groups: Mapping[str, int],
                 song_fold: Mapping[str, int], fold: int, cfg, seed: int, val_share: float = 0.3) -> Fold:
    """Fold ``fold`` as prepared data: train and val balanced 50/50, test every pair inside the fold (balanced
    too when ``cfg.real_pairs_per_class`` caps it), all flipped; a training-song vocabulary; every song of the parts
    and of the random negatives encoded."""
    which = fold_parts(pool, song_fold, groups, fold, val_share, seed)
    raw = {name: pool.take(which == i) for i, name in enumerate(PARTS)}
    src = dict(zip(zip(pool.a, pool.b), sources))
    pairs_per_class = cfg.real_pairs_per_class
    kept = {name: balance(raw[name], pairs_per_class[i], seed + i) for i, name in enumerate(PARTS)}
    if pairs_per_class[2] is None:  # every test pair of the fold: an AUC needs no balance, and more negatives narrow it
        kept["test"] = raw["test"]
    parts = PairParts(*(kept[n].with_flips() for n in PARTS), "song_folds", leakage(kept))
    positives = kept["test"].take(kept["test"].label == 1)
    listed = set(zip(corpus.scored.a, corpus.scored.b))
    in_fold = [t for t, f in song_fold.items() if f == fold]
    negatives = random_negatives([src[k] for k in zip(positives.a, positives.b)], in_fold, listed, groups, seed)
    report = SkipReport(corpus.report.strict)
    vocab = Vocabulary.fit((tokenize(corpus.lyrics[t]) for t in sorted(parts.train.songs())), cfg.min_count,
                           cfg.max_doc_freq)
    used = sorted(set().union(*(parts[n].songs() for n in PARTS)) | set(negatives.b))
    songs = encode_lyrics({t: corpus.lyrics[t] for t in used}, vocab, cfg.max_len, report)
    try:
        data = finish_prepared("lyrics", corpus, pool, parts, songs, vocab, report)
    except DataError as err:  # name the fold: the same data may split well in another
        raise DataError(f"fold {fold + 1} of {max(song_fold.values()) + 1} (seed {seed}): {err.message}",
                        err.path) from None
    known = set(songs.track_ids)  # a song with no known word is left out, with its matched pair
    keep = np.array([{a, b, c} <= known for a, b, c in zip(positives.a, positives.b, negatives.b)], dtype=bool)
    if not keep.all():
        report.skip("random-negative pair dropped: a song could not be encoded", count=int((~keep).sum()))
    src |= {(a, b): a for a, b in zip(negatives.a, negatives.b)}
    return Fold(data, src, Pairs.concat([positives.take(keep), negatives.take(keep)]))


@dataclass
class OutOfFold:
    """One repeat's pooled out-of-fold pairs (unordered, one row each) and every scorer's score for them."""

    a: np.ndarray
    b: np.ndarray
    label: np.ndarray
    source: np.ndarray
    scores: dict[str, np.ndarray] = field(default_factory=dict)

    @staticmethod
    def concat(parts: list["OutOfFold"]) -> "OutOfFold":
        names = set.intersection(*(set(p.scores) for p in parts))
        out = OutOfFold(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("a", "b", "label", "source")))
        out.scores = {n: np.concatenate([p.scores[n] for p in parts]) for n in sorted(names)}
        return out


def pair_scores(p_rows) -> np.ndarray:
    """One score per unordered pair from the predictions of both orders (rows 2k and 2k+1): their mean, so an
    asymmetric head is scored on the pair, not on one order."""
    p = np.asarray(p_rows, dtype="float64")
    return (p[0::2] + p[1::2]) / 2


def fingerprint_lyrics(lyrics: Mapping[str, str], groups: Mapping[str, int] | None = None, seed: int = 0,
                       words: int = 8, pool: int = 1000) -> dict[str, str]:
    """Each song's lyrics replaced by as many random tokens, drawn from ``words`` tokens of its own picked from a
    shared ``pool`` (``groups``: one fingerprint per lyric group): a text that tells a model which song this is
    and nothing about it. The pool is shared, so a new song's tokens are still known words: on new songs the
    control measures what a model reaches from text that carries no information."""
    rng = np.random.default_rng(seed)
    unit = groups if groups is not None else {t: i for i, t in enumerate(sorted(lyrics))}
    made: dict[int, str] = {}
    out = {}
    for t in sorted(lyrics):
        u = unit[t]
        if u not in made:
            own = rng.choice(pool, words, replace=False)
            made[u] = " ".join(f"w{j}" for j in rng.choice(own, max(1, len(tokenize(lyrics[t])))))
        out[t] = made[u]
    return out


def with_lyrics(corpus: Corpus, lyrics: dict[str, str]) -> Corpus:
    """The same corpus (pairs, report) with other lyrics: the fingerprint control."""
    return replace(corpus, lyrics=lyrics)


def listed_pool(corpus: Corpus) -> tuple[Pairs, np.ndarray]:
    """The labelled pool of unordered pairs with lyrics for both songs, and each pair's source track."""
    pool = build_pair_pool(corpus.scored, corpus.lyrics.keys(), report=SkipReport())
    return pool, pair_sources(corpus.scored, pool)


#: the scorers every fold scores besides the networks (names as tables print them)
TFIDF, TFIDF_LOGISTIC, IDENTITY = "TF-IDF cosine", "TF-IDF logistic", "song identity"


def baseline_scores(corpus: Corpus, train: Pairs, a, b) -> dict[str, np.ndarray]:
    """The model-free and linear scorers for pairs (a, b), fitted on the (unflipped) training pairs."""
    from .baselines import song_identity_scores, tfidf_cosine, tfidf_logistic

    return {TFIDF: tfidf_cosine(corpus.lyrics, a, b, fit_on=sorted(train.songs())),
            TFIDF_LOGISTIC: tfidf_logistic(corpus.lyrics, train.a, train.b, train.label, a, b),
            IDENTITY: song_identity_scores(train.a, train.b, train.label, a, b)}


def every_pair_scores(corpus: Corpus) -> OutOfFold:
    """Every listed pair of ``corpus`` at once, scored by TF-IDF cosine with word weights from all the lyrics (no
    label is fitted): the most pairs any design can test, so its interval is the narrowest these lists allow."""
    from .baselines import tfidf_cosine

    pool, sources = listed_pool(corpus)
    scored = OutOfFold(pool.a, pool.b, pool.label, np.asarray(sources, dtype=object))
    scored.scores = {TFIDF: tfidf_cosine(corpus.lyrics, pool.a, pool.b, fit_on=sorted(corpus.lyrics))}
    return scored


def fold_scores(fold: Fold, results: list[dict], corpus: Corpus, baselines: bool) -> dict[str, OutOfFold]:
    """The fold's test pairs and random-negative pairs, each pair once, scored by each result and the baselines."""
    train = fold.data.parts.train.take(slice(0, None, 2))
    out = {}
    for key, pairs, p_key in (("listed", fold.data.parts.test.take(slice(0, None, 2)), "test_p"),
                              ("random", fold.random, "random_p")):
        scored = OutOfFold(pairs.a, pairs.b, pairs.label,
                           np.array([fold.sources[k] for k in zip(pairs.a, pairs.b)], dtype=object))
        scored.scores = {r["name"]: pair_scores(r[p_key]) for r in results}
        if baselines:
            scored.scores |= baseline_scores(corpus, train, pairs.a, pairs.b)
        out[key] = scored
    return out


def run_song_folds(cfg, corpus: Corpus, grid: list[dict], k: int, repeats, corpus_name: str = "real-lyrics",
                   groups: Mapping[str, int] | None = None, baselines: bool = True,
                   report: SkipReport | None = None) -> list[dict[str, OutOfFold]]:
    """Every configuration of ``grid`` on every fold of each repeat in ``repeats`` (repeat r deals its folds and
    draws its initial weights with seed r); saved results are reused (:func:`dplib.experiments.run_config`).
    Returns per repeat the pooled out-of-fold scored pairs, ``{"listed": ..., "random": ...}``. ``groups``: the lyric
    groups (default: of ``corpus``; the fingerprint control passes the real lyrics' groups); ``corpus_name``: the
    results folder (the fingerprint controls record under ``real-lyrics-fp-track`` and ``-group``)."""
    from .experiments import Experiment, run_config

    groups = groups if groups is not None else lyric_groups(corpus.lyrics)
    pool, sources = listed_pool(corpus)
    out = []
    for r in repeats:
        song_fold = deal_folds(groups, k, seed=r, report=report)
        folds = []
        for f in range(k):
            fold = prepare_fold(corpus, pool, sources, groups, song_fold, f, cfg, seed=1000 * r + f)
            exp = Experiment("lyrics", f"folds{k}_fold{f}", replace(cfg, seed=r), corpus, fold.data, corpus_name)
            extra = {"random": fold.random.with_flips()}
            results = [run_config(exp, **settings, extra=extra) for settings in grid]
            folds.append(fold_scores(fold, results, corpus, baselines))
        out.append({key: OutOfFold.concat([f[key] for f in folds]) for key in ("listed", "random")})
    return out


def run_pair_split(cfg, corpus: Corpus, settings: dict, seeds, corpus_name: str = "real-lyrics",
                   baselines: bool = True) -> list[OutOfFold]:
    """The paper's random pair split, once per seed: one configuration trained (or its saved result reused),
    its test pairs scored, with the baselines when asked. Songs of the test pairs were seen in training."""
    from .experiments import prepare, run_config

    pool, sources = listed_pool(corpus)
    src = dict(zip(zip(pool.a, pool.b), sources))
    out = []
    for seed in seeds:
        exp = prepare("lyrics", replace(cfg, seed=seed), "pair", corpus, corpus_name=corpus_name)
        result = run_config(exp, **settings)
        test, train = (exp.data.parts[p].take(slice(0, None, 2)) for p in ("test", "train"))
        scored = OutOfFold(test.a, test.b, test.label, np.array([src[k] for k in zip(test.a, test.b)], dtype=object))
        scored.scores = {result["name"]: pair_scores(result["test_p"])}
        if baselines:
            scored.scores |= baseline_scores(corpus, train, test.a, test.b)
        out.append(scored)
    return out
