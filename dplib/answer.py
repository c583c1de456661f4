"""The answer to the paper's question on real data, as numbers and as words written from them (notebook 06).

Notebook 06 measures; :func:`summarize` turns its out-of-fold scored pairs into AUCs with 95% intervals (a bootstrap
over source tracks, :func:`dplib.evaluation.cluster_bootstrap`) and paired differences; :func:`save_answer`
keeps them in ``results/<size>/real-lyrics/answer.json``; :func:`answer_table` and :func:`answer_paragraph`
write the table and the reading that notebook 06 and ``dplib report`` (README) print. No number here is typed.

The rule for "better", everywhere: a paired difference on the same test pairs whose 95% interval excludes 0.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import numpy as np

#: the negatives of the out-of-fold pairs: the same list's low-score pairs, and random unlisted songs
NEGATIVES = {"listed": "listed negatives (hard)", "random": "random negatives (easy)"}


def describe(scored: list, seed: int = 0) -> dict:
    """AUC with its 95% interval for every scorer of ``scored`` (one ``OutOfFold`` per repeat or seed), the draws kept
    for paired differences under ``"_draws"`` (not saved)."""
    from .evaluation import cluster_bootstrap  # TensorFlow loads with it: dplib report reads saved answers only

    point, draws = cluster_bootstrap(scored, seed=seed)
    out = {name: {"auc": point[name], "ci": interval(draws[name])} for name in point}
    n_pos = [int(r.label.sum()) for r in scored]
    n_neg = [int(len(r.label) - r.label.sum()) for r in scored]
    sources = set().union(*(set(r.source) for r in scored))
    return {"scorers": out, "repeats": len(scored), "positive_pairs": n_pos, "negative_pairs": n_neg,
            "clusters": len(sources), "_draws": draws}


def paired(summary: dict, a: str, b: str) -> dict:
    """``a`` minus ``b`` on the same pairs: the AUC difference and its 95% interval."""
    draws = summary["_draws"]
    diff = summary["scorers"][a]["auc"] - summary["scorers"][b]["auc"]
    return {"a": a, "b": b, "diff": diff, "ci": interval(draws[a] - draws[b])}


def interval(draws: np.ndarray, level: float = 0.95) -> tuple[float, float]:
    """The percentile interval of bootstrap draws."""
    low, high = np.nanquantile(draws, [(1 - level) / 2, (1 + level) / 2])
    return float(low), float(high)


def verdict(ci: tuple[float, float]) -> str:
    """The one rule: ``"better"`` / ``"worse"`` only when the interval of a paired difference excludes 0."""
    return "better" if ci[0] > 0 else "worse" if ci[1] < 0 else "not separable"


def public(summary: dict) -> dict:
    """A summary without its bootstrap draws, as saved."""
    return {k: v for k, v in summary.items() if not k.startswith("_")}


def save_answer(cfg, answer: dict) -> Path:
    """``results/<size>/real-lyrics/answer.json`` (written whole or not at all)."""
    from .datasets.files import write_json

    return write_json(cfg.results_folder / "real-lyrics" / "answer.json", answer)


def load_answer(cfg) -> dict | None:
    path = cfg.results_folder / "real-lyrics" / "answer.json"
    return json.loads(path.read_text()) if path.exists() else None


def fmt(stat: dict) -> str:
    return f"{stat['auc']:.3f} [{stat['ci'][0]:.3f}, {stat['ci'][1]:.3f}]"


def fmt_diff(d: dict) -> str:
    return f"{d['diff']:+.3f} [{d['ci'][0]:+.3f}, {d['ci'][1]:+.3f}]"


def answer_table(answer: dict) -> str:
    """Markdown: every scorer's AUC [95% interval] on the pair split and on new songs (both negatives), and the
    fingerprint controls."""
    new, pair = answer["new_songs"], answer["pair_split"]
    first = [answer["model"], "TF-IDF cosine", "TF-IDF logistic", "song identity"]
    names = [n for n in first if n in new["listed"]["scorers"]]
    names += [n for n in new["listed"]["scorers"] if n not in first]
    lines = ["| scorer | pair split (seen songs) | new songs, listed negatives | new songs, random negatives |",
             "|---|---|---|---|"]
    for name in names:
        cells = [fmt(s["scorers"][name]) if name in s["scorers"] else "-"
                 for s in (pair, new["listed"], new["random"])]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    for unit in ("track", "group"):  # on new songs only per group: a new song's tokens are new either way
        fp_pair = answer["fingerprint"]["pair_split"][unit]["scorers"][answer["model"]]
        fp_new = answer["fingerprint"]["new_songs"].get(unit)
        lines.append(f"| {answer['model']} on per-{unit} fingerprints (control) | {fmt(fp_pair)} | "
                     f"{fmt(fp_new['scorers'][answer['model']]) if fp_new else '-'} | - |")
    return "\n".join(lines)


def heads_table(answer: dict) -> str:
    """Markdown: the eight heads of Table 2 on new songs (fewer repeats), each with its interval, and its paired
    differences against TF-IDF cosine and against the paper's best head, with the verdict of the one rule."""
    heads, m = answer["heads"], answer["model"]
    lines = [f"| head | AUC on new songs [95%] | minus TF-IDF cosine [95%] | verdict | minus {m} [95%] | verdict |",
             "|---|---|---|---|---|---|"]
    for name, stat in heads["scorers"].items():
        d, e = heads["versus_tfidf"][name], heads["versus_model"].get(name)
        versus_model = f"{fmt_diff(e)} | {verdict(e['ci'])}" if e else "- | -"
        lines.append(f"| {name} | {fmt(stat)} | {fmt_diff(d)} | {verdict(d['ci'])} | {versus_model} |")
    return "\n".join(lines)


def identity_reading(answer: dict) -> str:
    """What the pair split's number measures: the network on real lyrics against the same network on fingerprints
    (random tokens that identify each song or lyric group), as paired differences on the same test pairs."""
    m, fp, diffs = answer["model"], answer["fingerprint"]["pair_split"], answer["fingerprint_diffs"]
    seeds = fp["track"]["repeats"]
    same = "the same seed's" if seeds == 1 else f"the same {seeds} seeds'"
    runs = "; ".join(f"per {unit}: {fmt(fp[unit]['scorers'][m])}, real minus fingerprints {fmt_diff(diffs[unit])} "
                     f"({verdict(diffs[unit]['ci'])})" for unit in ("track", "group"))
    text = (f"Trained on lyrics replaced by random tokens that identify each song (fingerprints, {seeds} "
            f"seed{'s' if seeds > 1 else ''}), the same network reaches {runs}; each difference is paired on {same} "
            "test pairs, so it need not equal the real lyrics' AUC over all seeds minus this one.")
    tied = [unit for unit in ("track", "group") if verdict(diffs[unit]["ci"]) == "not separable"]
    ahead = [unit for unit in ("track", "group") if verdict(diffs[unit]["ci"]) == "worse"]
    if tied or ahead:
        said = [f"cannot be told apart from memorised identity alone (per {' and per '.join(tied)})"] if tied else []
        said += [f"do worse than memorised identity alone (per {' and per '.join(ahead)})"] if ahead else []
        return (f"{text} The real lyrics {' and '.join(said)} on the same pairs: a number of this size on a random "
                "pair split, the paper's 84.7% validation accuracy among them, does not show that the lyrics' content "
                "was read.")
    return (f"{text} The real lyrics beat both fingerprints on the same pairs: on songs seen in training the network "
            "reads more than which song it is.")


def below_chance_reading(new: dict) -> str:
    """A sentence on the scorers whose interval on new songs lies below 0.5, if any ("" when none)."""
    below = [f"{name} with {NEGATIVES[key].split(' (')[0]}" for key, summary in new.items()
             for name, stat in summary["scorers"].items() if stat["ci"][1] < 0.5]
    if not below:
        return ""
    who = "these scorers" if len(below) > 1 else "this scorer"
    return (f"Below chance, with an interval that excludes 0.5: {', '.join(below)}: what {who} learned from the "
            "training folds does not carry over to new songs (possible reasons, not separated here, are listed in "
            "section 5 of notebook 06); it is no evidence of a signal to be read backwards.")


def bound_reading(answer: dict) -> str:
    """A sentence on the narrowest interval the data allow TF-IDF cosine: scored on every listed pair at once
    ("" when the answer has no such measurement)."""
    every = answer.get("every_pair")
    if not every:
        return ""
    stat = every["scorers"]["TF-IDF cosine"]
    return (f"TF-IDF cosine fits no labels, so it can be scored on every listed pair at once ("
            f"{sum(every['positive_pairs']) + sum(every['negative_pairs']):,} pairs, {every['clusters']} source "
            f"tracks): {fmt(stat)}, a half-width of {(stat['ci'][1] - stat['ci'][0]) / 2:.3f}; with listed "
            "negatives no fold design gives its interval a much smaller width.")


def answer_paragraph(answer: dict) -> str:
    """The answer in words, every number from ``answer``."""
    m, new, pair = answer["model"], answer["new_songs"], answer["pair_split"]
    lst, rnd = new["listed"], new["random"]
    d = {f"{x['a']}-{x['b']}-{x['negatives']}": x for x in answer["diffs"]}
    tfidf, ident, logit = "TF-IDF cosine", "song identity", "TF-IDF logistic"
    hi = lst["scorers"][m]["ci"][1]
    parts = [
        f"On songs never seen in training (K={answer['k']} folds over {answer['groups']:,} lyric groups, "
        f"{answer['repeats']} repeat{'s' if answer['repeats'] > 1 else ''}, about "
        f"{sum(lst['positive_pairs']) // lst['repeats']:,} similar and {sum(lst['negative_pairs']) // lst['repeats']:,} "
        f"listed dissimilar test pairs per repeat, 95% intervals from a bootstrap over the {lst['clusters']} source "
        f"tracks of these pairs), the paper's best head ({m}) reaches a mean AUC of {fmt(lst['scorers'][m])}: for "
        f"this model, trained this way on these songs, a mean AUC above {math.ceil(100 * hi - 1e-9) / 100:.2f} on new songs is "
        "ruled out by these data.",
        f"Against TF-IDF cosine of the lyrics ({fmt(lst['scorers'][tfidf])}) its paired difference is "
        f"{fmt_diff(d[f'{m}-{tfidf}-listed'])} ({verdict(d[f'{m}-{tfidf}-listed']['ci'])}); against the song-identity "
        f"baseline, which knows nothing of new songs (AUC exactly 0.5), {fmt_diff(d[f'{m}-{ident}-listed'])} "
        f"({verdict(d[f'{m}-{ident}-listed']['ci'])}).",
        f"With random negatives (each similar pair's source beside a random song it never listed; bootstrap over "
        f"{rnd['clusters']} source tracks) the network reaches "
        f"{fmt(rnd['scorers'][m])} and TF-IDF cosine {fmt(rnd['scorers'][tfidf])} (difference "
        f"{fmt_diff(d[f'{m}-{tfidf}-random'])}, {verdict(d[f'{m}-{tfidf}-random']['ci'])}).",
        bound_reading(answer),
        f"Beyond the paper, a logistic regression on the product of the two songs' TF-IDF vectors reaches "
        f"{fmt(lst['scorers'][logit])} with listed negatives (against TF-IDF cosine: "
        f"{fmt_diff(d[f'{logit}-{tfidf}-listed'])}, {verdict(d[f'{logit}-{tfidf}-listed']['ci'])}).",
        f"On a random pair split (songs seen in training) the same network reaches {fmt(pair['scorers'][m])} and "
        f"the song-identity baseline, which reads no lyrics, {fmt(pair['scorers'][ident])} (paired difference "
        f"{fmt_diff(answer['pair_diffs'][0])}, {verdict(answer['pair_diffs'][0]['ci'])}). "
        + identity_reading(answer),
        below_chance_reading(new),
    ]
    return " ".join(p for p in parts if p)


def summarize(model: str, k: int, groups: int, new_songs: list[dict], pair_split: list, fingerprint: dict,
              heads: list[dict], trainings: dict, every_pair: list | None = None) -> dict:
    """Every number of the answer from the out-of-fold scored pairs (:class:`dplib.songfolds.OutOfFold`):
    ``new_songs`` and ``heads`` (per repeat, ``{"listed": ..., "random": ...}``), ``pair_split`` (per seed),
    ``fingerprint`` (``{"pair_split"|"new_songs": {"track"|"group": one per seed or repeat}}``), ``trainings`` (counts and seconds, as recorded);
    ``every_pair``: TF-IDF cosine on every listed pair at once (:func:`dplib.songfolds.every_pair_scores`), the
    narrowest interval these lists allow it."""
    tfidf, ident, logit = "TF-IDF cosine", "song identity", "TF-IDF logistic"
    new = {key: describe([r[key] for r in new_songs]) for key in NEGATIVES}
    diffs = [{**paired(new[key], a, b), "negatives": key} for key in NEGATIVES
             for a, b in ((model, tfidf), (model, ident), (logit, tfidf))]
    head = describe([r["listed"] for r in heads])
    versus = {n: paired(head, n, tfidf) for n in head["scorers"] if n not in (tfidf, ident, logit)}
    versus_model = {n: paired(head, n, model) for n in versus if n != model}
    head["scorers"] = {n: head["scorers"][n] for n in versus}
    pair = describe(pair_split)
    fp_diffs = {unit: paired(describe(on_same_pairs(pair_split, scored, model)), "real", "fingerprints")
                for unit, scored in fingerprint["pair_split"].items()}
    return {
        "model": model, "k": k, "groups": groups, "repeats": len(new_songs),
        "new_songs": {key: public(v) for key, v in new.items()}, "diffs": diffs,
        "pair_split": public(pair), "pair_diffs": [paired(pair, model, ident), paired(pair, model, tfidf)],
        "fingerprint_diffs": fp_diffs,
        "fingerprint": {where: {unit: public(describe(scored)) for unit, scored in units.items()}
                        for where, units in fingerprint.items()},
        "heads": {**public(head), "versus_tfidf": versus, "versus_model": versus_model}, "trainings": trainings,
        "every_pair": public(describe(every_pair)) if every_pair else None,
    }


def on_same_pairs(real: list, fingerprint: list, model: str) -> list:
    """Per seed, the test pairs that both runs scored, with ``model``'s scores as ``"real"`` and ``"fingerprints"``
    (the same seed draws the same split; a pair whose song had no known word is missing from one run)."""
    out = []
    for x, y in zip(real, fingerprint):
        where = {k: i for i, k in enumerate(zip(y.a, y.b))}
        keep = [i for i, k in enumerate(zip(x.a, x.b)) if k in where]
        other = [where[(x.a[i], x.b[i])] for i in keep]
        out.append(SimpleNamespace(label=x.label[keep], source=x.source[keep],
                                   scores={"real": x.scores[model][keep], "fingerprints": y.scores[model][other]}))
    return out
