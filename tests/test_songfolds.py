"""Song-disjoint K-fold over lyric groups, the bootstrap over source tracks, and the controls (notebook 06)."""
import re
from dataclasses import replace

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from dplib import answer, songfolds
from dplib.config import get_config
from dplib.datasets.corpus import load_corpus
from dplib.datasets.lyrics import lyric_groups, tokenize
from dplib.datasets.report import SkipReport
from dplib.evaluation import cluster_bootstrap, weighted_auc

OPENING = "we were young and the night was long under city lights"  # 11 distinct words


def test_lyric_groups_join_texts_with_the_same_words_or_the_same_opening():
    text = f"{OPENING} {OPENING} and then it ended"
    lyrics = {
        "T1": text, "T2": text.upper().replace(" ", "  ,"),  # case, punctuation, spacing: the same words
        "T3": f"{OPENING} {OPENING} but the end is told otherwise here",  # same first 20 words, other ending
        "T4": "la " * 30, "T5": "la " * 25 + "da da",  # openings with too few different words: whole texts decide
        "T6": "something else entirely",
    }
    groups = lyric_groups(lyrics)
    assert groups["T1"] == groups["T2"] == groups["T3"]
    assert len({groups["T1"], groups["T4"], groups["T5"], groups["T6"]}) == 4


def chain_groups(n_groups: int, size: int) -> dict[str, int]:
    return {f"T{g}_{i}": g for g in range(n_groups) for i in range(size)}


def test_folds_keep_every_lyric_group_whole_and_balanced():
    groups = {**chain_groups(30, 2), **{f"S{i}": 100 + i for i in range(40)}}
    folds = songfolds.deal_folds(groups, 3, seed=1)
    by_group = {}
    for t, g in groups.items():
        by_group.setdefault(g, set()).add(folds[t])
    assert all(len(f) == 1 for f in by_group.values()), "a lyric group is split between folds"
    sizes = np.bincount(list(folds.values()), minlength=3)
    assert sizes.max() - sizes.min() <= 2, sizes  # greedy filling: within the largest group's size
    assert folds == songfolds.deal_folds(groups, 3, seed=1) and folds != songfolds.deal_folds(groups, 3, seed=2)


def test_fold_errors_and_counted_oversized_groups():
    with pytest.raises(ValueError, match="only 2 lyric groups"):
        songfolds.deal_folds(chain_groups(2, 3), 3, seed=0)
    with pytest.raises(ValueError, match="K >= 2"):
        songfolds.deal_folds(chain_groups(5, 1), 1, seed=0)
    report = SkipReport()
    songfolds.deal_folds({**chain_groups(1, 10), **{f"S{i}": 10 + i for i in range(5)}}, 3, seed=0, report=report)
    assert sum(report.notes.values()) == 1 and "larger than a fold" in next(iter(report.notes))


def star_corpus(tmp_path, n_sources=24, listed=10, n_songs=120, seed=0):
    """A small star-shaped data folder: each source lists ``listed`` songs, a few of them similar; some songs are
    lyric twins (the same text under two ids)."""
    rng = np.random.default_rng(seed)
    songs = [f"TR{i:04d}" for i in range(n_songs)]
    words = [f"w{i}" for i in range(60)]
    (tmp_path / "lyrics").mkdir(parents=True)
    for i, t in enumerate(songs):
        base = i - 1 if i % 10 == 1 else i  # every tenth song has a twin
        text = " ".join(np.random.default_rng(base).choice(words, 40))
        (tmp_path / "lyrics" / f"{t}.txt").write_text(text)
    rows = ["track_a,track_b,score"]
    for s in songs[:n_sources]:
        for t in rng.choice([x for x in songs if x != s], listed, replace=False):
            rows.append(f"{s},{t},{rng.choice([0.9, 0.1, 0.2])}")
    (tmp_path / "pairs.csv").write_text("\n".join(rows) + "\n")
    return load_corpus(tmp_path)


def test_fold_parts_are_song_disjoint_and_test_pairs_lie_inside_their_fold(tmp_path):
    corpus = star_corpus(tmp_path)
    groups = lyric_groups(corpus.lyrics)
    pool, sources = songfolds.listed_pool(corpus)
    folds = songfolds.deal_folds(groups, 3, seed=0)
    parts = songfolds.fold_parts(pool, folds, groups, fold=1, val_share=0.3, seed=0)
    songs = [pool.take(parts == i).songs() for i in range(3)]
    assert not (songs[0] & songs[1]) and not (songs[0] & songs[2]) and not (songs[1] & songs[2])
    assert all(folds[t] == 1 for t in songs[2]) and all(folds[t] != 1 for t in songs[0] | songs[1])
    train_groups = {groups[t] for t in songs[0]}
    assert not any(groups[t] in train_groups for t in songs[1] | songs[2]), "a twin of a training song"
    dropped = pool.take(parts == -1)
    assert all(not {a, b} <= part for a, b in zip(dropped.a, dropped.b) for part in songs)
    assert set(sources) <= set(corpus.scored.a), "a source is a track whose list holds the pair"
    listed = set(zip(corpus.scored.a, corpus.scored.b))
    assert all((s, b if s == a else a) in listed for a, b, s in zip(pool.a, pool.b, sources))


def test_random_negatives_are_unlisted_songs_of_other_groups():
    groups = {"A": 0, "B": 1, "C": 2, "D": 2, "E": 3}
    listed = {("A", "B"), ("C", "A")}
    for seed in range(20):
        neg = songfolds.random_negatives(["A", "A"], list(groups), listed, groups, seed)
        assert list(neg.a) == ["A", "A"] and list(neg.b) == ["E", "E"] and neg.label.sum() == 0  # D: C's twin
    with pytest.raises(ValueError, match="no unlisted partner"):
        songfolds.random_negatives(["A"], ["A", "B", "C"], listed, groups, 0)


def test_weighted_auc_is_the_auc_of_the_rows_repeated():
    rng = np.random.default_rng(0)
    labels = np.repeat([0, 1], 40)
    scores = np.round(rng.normal(size=80) + 0.5 * labels, 1)  # rounded: ties
    assert weighted_auc(labels, scores, np.ones((1, 80)))[0] == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)
    weights = rng.integers(0, 4, size=(3, 80))
    for w in weights:
        rows = np.repeat(np.arange(80), w)
        expected = roc_auc_score(labels[rows], scores[rows])
        assert weighted_auc(labels, scores, w[None, :].astype(float))[0] == pytest.approx(expected, abs=1e-12)


class Rows:
    def __init__(self, label, source, scores):
        self.label, self.source, self.scores = np.asarray(label), np.asarray(source, dtype=object), scores
        self.a = np.array([f"A{i}" for i in range(len(label))], dtype=object)
        self.b = np.array([f"B{i}" for i in range(len(label))], dtype=object)


def test_cluster_bootstrap_pairs_differences_and_counts_clusters():
    rng = np.random.default_rng(1)
    label = np.tile([0, 1], 100)
    source = np.repeat([f"S{i}" for i in range(20)], 10)
    good = label + rng.normal(size=200)
    repeats = [Rows(label, source, {"good": good, "same": good.copy(), "const": np.zeros(200)}) for _ in range(2)]
    point, draws = cluster_bootstrap(repeats, n_boot=500, seed=0)
    assert point["good"] == pytest.approx(roc_auc_score(label, good), abs=1e-12)
    assert np.all(draws["good"] - draws["same"] == 0), "a scorer against itself: a paired difference of 0"
    assert np.all(draws["const"] == 0.5), "a constant score ranks nothing"
    low, high = np.quantile(draws["good"], [0.025, 0.975])
    assert low < point["good"] < high
    summary = answer.describe(repeats)
    assert summary["clusters"] == 20 and summary["positive_pairs"] == [100, 100]
    assert answer.verdict(answer.paired(summary, "good", "const")["ci"]) == "better"
    assert answer.verdict((-0.1, 0.2)) == "not separable" and answer.verdict((-0.3, -0.01)) == "worse"


def test_fingerprints_keep_lengths_and_share_one_text_per_group():
    lyrics = {"A": "one two three four", "B": "one two three four", "C": "five six"}
    groups = {"A": 0, "B": 0, "C": 1}
    per_track = songfolds.fingerprint_lyrics(lyrics, seed=0)
    per_group = songfolds.fingerprint_lyrics(lyrics, groups, seed=0)
    assert [len(tokenize(per_track[t])) for t in "ABC"] == [4, 4, 2]
    assert per_group["A"] == per_group["B"] != per_group["C"]
    assert not set(tokenize(per_track["A"])) & set(tokenize(lyrics["A"])), "no real word is left"


def test_song_folds_train_on_songs_the_test_never_sees_and_reuse_saved_runs(tmp_path, monkeypatch):
    corpus = star_corpus(tmp_path / "data", n_sources=60, listed=30, n_songs=60)
    monkeypatch.setenv("DPLIB_RESULTS", str(tmp_path / "results"))
    cfg = replace(get_config(size="quick"), real_epochs=1, real_pairs_per_class=(None, None, None))
    model = [dict(combine="all", fc=2)]
    (first,) = songfolds.run_song_folds(cfg, corpus, model, 2, [0])
    rows, random = first["listed"], first["random"]
    assert set(rows.scores) == {"all_fc2", songfolds.TFIDF, songfolds.TFIDF_LOGISTIC, songfolds.IDENTITY}
    assert 0 < rows.label.mean() < 1 and all(len(s) == len(rows.label) for s in rows.scores.values())
    similar = random.label == 1
    assert random.label.mean() == 0.5 and set(random.a[~similar]) <= set(random.a[similar]) | set(random.b[similar])
    assert sorted(random.source[~similar]) == sorted(random.source[similar]), "a negative per similar pair, same source"
    pool, _ = songfolds.listed_pool(corpus)
    within = set(zip(pool.a, pool.b))
    assert all(k in within for k in zip(rows.a, rows.b)), "a test pair is a listed pair"
    assert len(set(zip(rows.a, rows.b))) == len(rows.a), "every pair is tested at most once per repeat"
    assert np.allclose(rows.scores[songfolds.IDENTITY], rows.scores[songfolds.IDENTITY][0]), \
        "song identity knows nothing of a new song: one score for every test pair"
    saved = sorted((tmp_path / "results").rglob("all_fc2.json"))
    assert len(saved) == 2
    stamps = [p.stat().st_mtime_ns for p in saved]
    (again,) = songfolds.run_song_folds(cfg, corpus, model, 2, [0])
    assert [p.stat().st_mtime_ns for p in saved] == stamps, "a saved run was trained again"
    assert np.array_equal(again["random"].scores["all_fc2"], first["random"].scores["all_fc2"])


def test_real_lyrics_groups_and_sources(real_lyrics):
    corpus = load_corpus(real_lyrics)
    groups = lyric_groups(corpus.lyrics)
    texts = {tuple(tokenize(t)) for t in corpus.lyrics.values()}
    assert len(texts) == 928  # 929 byte-distinct files, one of them empty (a counted skip)
    assert len(set(groups.values())) <= len(texts)
    pool, sources = songfolds.listed_pool(corpus)
    assert len(pool) == 20_177 and pool.n_positive == 955
    assert len(set(sources)) <= 431
    every = songfolds.every_pair_scores(corpus)  # the data's own limit for a scorer that fits no labels
    assert len(every.label) == 20_177 and every.label.sum() == 955 and set(every.scores) == {songfolds.TFIDF}
    assert np.all((every.scores[songfolds.TFIDF] >= -1e-6) & (every.scores[songfolds.TFIDF] <= 1 + 1e-6))


def fake_answer(tmp_path):
    """A summary from made-up out-of-fold rows (no training): what notebook 06 saves."""
    rng = np.random.default_rng(3)
    label = np.tile([0, 1], 60)
    source = np.repeat([f"S{i}" for i in range(12)], 10)

    def rows(strength):
        scores = {name: label * strength * k + rng.normal(size=120) for k, name in
                  enumerate(("all_fc2", "diff_fc1", songfolds.TFIDF, songfolds.TFIDF_LOGISTIC))}
        return Rows(label, source, {**scores, songfolds.IDENTITY: np.zeros(120)})

    new = [{"listed": rows(0.1), "random": rows(0.2)} for _ in range(3)]
    fingerprint = {"pair_split": {"track": [rows(1.0)], "group": [rows(1.0)]},
                   "new_songs": {"track": [rows(0.0)], "group": [rows(0.0)]}}
    return answer.summarize("all_fc2", 3, 900, new, [rows(1.0), rows(1.0)], fingerprint, new[:1],
                            {"trainings": 5, "seconds": 60.0}, every_pair=[rows(0.1)])


def test_the_written_answer_quotes_the_saved_numbers(tmp_path, monkeypatch):
    import json

    result = json.loads(json.dumps(fake_answer(tmp_path)))  # what a new process reads back
    stat = result["new_songs"]["listed"]["scorers"]["all_fc2"]
    text = answer.answer_paragraph(result)
    assert f"mean AUC of {stat['auc']:.3f} [{stat['ci'][0]:.3f}, {stat['ci'][1]:.3f}]" in text
    above = float(re.search(r"a mean AUC above ([\d.]+) on new songs is ruled out", text).group(1))
    assert stat["ci"][1] <= above < stat["ci"][1] + 0.01  # the interval's upper end, rounded up: it is ruled out
    for unit in ("track", "group"):
        assert answer.fmt_diff(result["fingerprint_diffs"][unit]) in text
    bound = result["every_pair"]["scorers"][songfolds.TFIDF]
    assert f"(120 pairs, 12 source tracks): {answer.fmt(bound)}, a half-width of " \
           f"{(bound['ci'][1] - bound['ci'][0]) / 2:.3f}" in text
    table = answer.answer_table(result).splitlines()
    assert len(table) == 2 + 5 + 2 and all(line.count("|") == 5 for line in table)
    heads = answer.heads_table(result).splitlines()
    assert [h.split(" | ")[0] for h in heads[2:]] == ["| all_fc2", "| diff_fc1"]

    from conftest import run_cli

    monkeypatch.setenv("DPLIB_RESULTS", str(tmp_path / "results"))
    answer.save_answer(get_config(size="default"), result)
    readme = tmp_path / "README.md"
    readme.write_text("<!-- real-results:start -->\nan earlier answer\n<!-- real-results:end -->\n"
                      "<!-- results:start -->\nkept\n<!-- results:end -->\n")
    code, out, err = run_cli("report", "--readme", readme, "--size", "default",
                             env={"DPLIB_RESULTS": str(tmp_path / "results")})
    assert code == 0, err
    written = readme.read_text()
    assert "an earlier answer" not in written and text in written and "5 trainings, 1 min of training" in written


def test_a_song_split_of_real_data_keeps_lyric_twins_on_one_side(tmp_path):
    from dplib.datasets.pairs import leakage, split_pairs
    from dplib.experiments import prepare

    corpus = star_corpus(tmp_path, n_sources=60, listed=30, n_songs=60)
    groups = lyric_groups(corpus.lyrics)
    assert len(set(groups.values())) < len(groups), "the corpus has twins"
    pool, _ = songfolds.listed_pool(corpus)
    by_track = [songfolds.twin_leakage(split_pairs(pool, "song", seed=s), groups)["test"] for s in range(5)]
    assert max(by_track) > 0, "a split by track id leaks twins"
    for seed in range(5):
        parts = split_pairs(pool, "song", seed=seed, groups=groups)
        assert songfolds.twin_leakage(parts, groups) == {"val": 0.0, "test": 0.0} == leakage(parts)
    cfg = replace(get_config(size="quick"), real_pairs_per_class=(None, None, None))
    exp = prepare("lyrics", cfg, "song", corpus, corpus_name="real-lyrics")
    assert songfolds.twin_leakage(exp.data.parts, groups) == {"val": 0.0, "test": 0.0}


def test_a_fold_without_both_classes_names_the_fold(tmp_path):
    from dplib.datasets.report import DataError

    corpus = star_corpus(tmp_path, n_sources=8, listed=3, n_songs=200)
    with pytest.raises(DataError, match=r"pairs.csv: fold \d of 3 \(seed \d+\): the (train|val|test) part has no"):
        songfolds.run_song_folds(get_config(size="quick"), corpus, [dict(combine="all", fc=2)], 3, [0])
