"""benchmarks/RESULTS.md from the measurements in results.json: one function per section."""
from __future__ import annotations

from pathlib import Path

from dplib.datasets.files import write_text


def write_results(results: dict, path: Path) -> None:
    """Every section, in order; written under a temporary name and renamed."""
    lines = (header(results) + lyrics_section(results) + audio_section(results) + notebooks_section(results)
             + memory_section(results))
    write_text(path, "\n".join(lines) + "\n")


def header(results: dict) -> list[str]:
    return ["# Benchmarks", "", f"Written by `make bench` (`benchmarks/run.py`) on {results['date']}.",
            f"Machine: {results['machine']}.", ""]


def elsewhere(section: dict | None, results: dict, machine: str | None = None) -> str:
    """", on MACHINE" for a section measured on another machine than the header's run; ", machine not recorded" for
    one measured on another day that did not record where; "" otherwise."""
    section = section or {}
    machine = machine or section.get("machine")
    if machine:
        return f", on {machine} (not the machine above)" if machine != results["machine"] else ""
    return ", machine not recorded" if section.get("date", results["date"])[:10] != results["date"][:10] else ""


def lyrics_section(results: dict) -> list[str]:
    ly = results["lyrics"]
    return [
        "## 1. Lyrics training throughput (same data, same seed, same epochs, one run)",
        "",
        f"Synthetic `{ly.get('size', results['size'])}` lyrics pairs: {ly['baseline']['train_pairs']:,} training pairs (both orders), "
        f"{ly['baseline']['epochs']} epochs, model `all` + 2 FC; mean song length {ly['mean_length']:.0f} words.",
        "",
        f"Measured {ly.get('date', results['date'])}{elsewhere(ly, results)}. Steady state: epochs 2 to {ly['baseline']['epochs']} "
        "(the first epoch also traces the graph, more often for the fast path's varied batch shapes).",
        "",
        "| path | tower calls | batches | batch size | pairs/s, steady | pairs/s, all epochs | val accuracy |",
        "|---|---|---|---|---|---|---|",
        f"| straightforward | 2 | padded to 200 | 128 | {ly['baseline']['steady_pairs_per_second']:,.0f} | "
        f"{ly['baseline']['pairs_per_second']:,.0f} | {ly['baseline']['val_accuracy']:.3f} |",
        f"| fast path | 1 on [A; B] | shuffled, trimmed | 256 | {ly['fast']['steady_pairs_per_second']:,.0f} | "
        f"{ly['fast']['pairs_per_second']:,.0f} | {ly['fast']['val_accuracy']:.3f} |",
        "",
        f"**Speed-up: {ly['ratio']:.2f}x** steady, {ly['ratio_all_epochs']:.2f}x over all epochs "
        f"(target >= 4x: {'met' if ly['ratio'] >= 4 else 'NOT met, by ' + format(4 - ly['ratio'], '.2f') + 'x'}). "
        f"Validation accuracy difference: {ly['val_difference_points']:+.1f} points (target within 1 point: "
        f"{'met' if abs(ly['val_difference_points']) <= 1 else 'not met'}; single seeds on small validation sets move by about a point).",
    ]


def audio_section(results: dict) -> list[str]:
    bl, au = results["blocking"], results.get("audio")
    lines = [
        "",
        "## 2. Audio",
        "",
        *([f"Measured {bl['date']}{elsewhere(bl, results)}.", ""] if "date" in bl else []),
        "| |FFT| blocking of 600 s of audio | seconds of audio per second |",
        "|---|---|",
        f"| bare `numpy.fft.rfft` over the same frames | {bl['bare_rfft']:,.0f} |",
        f"| `block_spectrogram(log=False, normalize=False)` | {bl['library']:,.0f} ({bl['ratio']:.2f}x) |",
        f"| `block_spectrogram()` (log-compressed, normalised) | {bl['library_log_normalised']:,.0f} ({bl['ratio_log_normalised']:.2f}x) |",
        "",
        f"Target >= 0.8x for the blocking itself: {'met' if bl['ratio'] >= 0.8 else 'not met'}.",
    ]
    if au:
        lines += ["", f"Audio model training (conv1 + absdiff, {au['blocks']} blocks x {au['bins']} bins, "
                  f"{au['train_pairs']:,} training pairs): {au['pairs_per_second']:,.0f} pairs/s."]
    towers = results.get("audio_towers")
    if towers:
        rows = towers["rows"]
        reference = rows["paper tower, keras Conv1D"]["seconds_per_step"]
        lines += ["", f"Audio training steps (convolutions + absdiff + 1 FC, one batch of {next(iter(rows.values()))['batch']} "
                  f"real `{towers['size']}` pairs, both songs through the tower; measured {towers['date']}). "
                  "GFLOP/s counts the first convolution's forward pass and weight gradient only, the bulk of the "
                  f"work on |FFT| bins; a 2048 x 2048 float32 matmul ran at {towers['matmul_gflops']:.0f} GFLOP/s "
                  "in the same run.", "",
                  "| tower | input | ms per step | pairs/s | speed-up | first-layer GFLOP/s | of the matmul's |",
                  "|---|---|---|---|---|---|---|"]
        for label, r in rows.items():
            lines.append(f"| {label} | {r['blocks']} x {r['channels']:,} | {1000 * r['seconds_per_step']:.0f} | "
                         f"{r['pairs_per_second']:,.0f} | {reference / r['seconds_per_step']:.1f}x | "
                         + (f"{r['gflops']:.0f} | {100 * r['gflops'] / towers['matmul_gflops']:.0f}% |"
                            if r["gflops"] else "- | - |"))
        lines += audio_floor(towers)
    lines += autotune_lines(results.get("audio_autotune")) + evaluation_lines(results.get("audio_evaluation"))
    return lines


def evaluation_lines(ev: dict | None) -> list[str]:
    if not ev:
        return []
    (old, before), (new, now) = ev["rows"].items()
    cold, warm = ev["spectra"].values()
    return ["", f"Notebook 07's two cheaper steps (measured {ev['date']}), each beside the path it replaced, one run. "
            f"Evaluating the paper's audio row (trained 2 epochs) on its train, val and test parts ({ev['rows_scored']:,} "
            f"rows, each pair in both orders), each path on a fresh copy of the same weights, the mean of two runs "
            f"(in the order A, B, B, A): {old} "
            f"{before['seconds']:.2f} s, {new} {now['seconds']:.2f} s (**{before['seconds'] / now['seconds']:.2f}x**); "
            f"the largest difference in p(similar) {ev['max_abs_difference']:.1e}, accuracy and ROC AUC of every part "
            f"{'the same' if ev['same_metrics'] else 'NOT the same'}. The spectrograms of its {ev['clips']:,} clips: "
            f"{cold['seconds']:.2f} s with nothing cached, {warm['seconds']:.2f} s again "
            f"(**{cold['seconds'] / warm['seconds']:.0f}x**; the same arrays: "
            f"{'yes' if cold['same'] and warm['same'] else 'NO'})."]


def autotune_lines(tuned: dict | None) -> list[str]:
    if not tuned:
        return []
    rows = tuned["rows"]
    lines = ["", f"tf.data's autotuner (measured {tuned['date']}): the paper's audio row (conv1 + absdiff + 1 FC, seed 0, "
             f"{tuned['train_pairs']:,} training pairs, validation each epoch) trained with the autotuner on and off, "
             "same batches, one after the other in one process. An epoch runs to the next one's start, where `fit` drops "
             "its iterator.", "", "| pipeline | seconds per epoch | total | same history |", "|---|---|---|---|"]
    for label, r in rows.items():
        lines.append(f"| {label} | {', '.join(f'{x:.1f}' for x in r['epoch_seconds'])} | "
                     f"{sum(r['epoch_seconds']):.0f} s | {'yes' if tuned['same_history'] else 'no'} |")
    on, off = (sum(r["epoch_seconds"]) for r in rows.values())
    lines += ["", f"Autotuner off: **{on / off:.2f}x** on this row, the same numbers. Every pipeline in `dplib` "
              "turns it off (`dplib.datasets.pipeline.prefetched`)."]
    return lines


def audio_floor(towers: dict) -> list[str]:
    """What Table 3's saved |FFT| rows need at the measured step rates, and at the matmul's rate for their first
    convolutions: lower bounds on `make reproduce` on this machine."""
    saved, rows = towers.get("table3_fft_epochs"), towers["rows"]
    rate = {r["conv_layers"]: r for r in rows.values()
            if r.get("conv_layers") is not None and not r["bands"] and r["tap_conv"]}
    if not saved or any(int(k) not in rate for k in saved):
        return []
    floor, to_best = (sum(v[key] / rate[int(k)]["pairs_per_second"] for k, v in saved.items())
                      for key in ("rows", "rows_to_best"))
    gflop = sum(v["rows"] * rate[int(k)]["conv_gflop_per_step"] / rate[int(k)]["batch"]
                for k, v in saved.items() if int(k) > 0)
    arithmetic = gflop / towers["matmul_gflops"]
    return ["", f"The floor under `make reproduce`: Table 3's saved |FFT| rows ({sum(v['trainings'] for v in saved.values())} "
            f"trainings: every seed, both splits) went through {sum(v['rows'] for v in saved.values()):,} training rows "
            "(epochs run x training pairs). At the step rates above (TapConv1D), their training steps alone take "
            f"**{floor / 60:.0f} min** ({to_best / 60:.0f} min had each stopped at its best epoch); validation, evaluation, "
            "the other inputs, the lyrics tables and the joint model come on top. Their first convolutions alone are "
            f"{gflop:,.0f} GFLOP: {arithmetic / 60:.0f} min at the matmul's rate, a floor no faster code goes under on "
            f"this machine. " + (f"So this table alone leaves {(1800 - floor) / 60:.0f} of the 30 minutes `make reproduce` "
            "aims for to everything else at today's rates." if floor <= 1800 else "So the 30-minute target is out of "
            f"reach at today's rates for this table alone, and even at the matmul's rate it would leave "
            f"{max(0, 1800 - arithmetic) / 60:.0f} min for everything else: meeting it means training less (fewer audio "
            "pairs, blocks, rows or seeds) or a GPU.")]


def notebooks_section(results: dict) -> list[str]:
    nb = results.get("notebooks")
    if not nb:
        return []
    lines = ["", "## 3. Notebook suite and `make reproduce`", "",
             f"Measured {nb.get('date', results['date'])}{elsewhere(nb, results)}.", "",
             f"Quick mode (`DPLIB_QUICK=1`, nbval, what `make test` runs after the unit tests), from scratch, "
             f"{nb.get('jobs', 2)} notebooks at a time: **{nb['quick_seconds']:.0f} s** wall "
             f"({'all passed' if nb['quick_ok'] else 'FAILED'}; target 180 s: "
             f"{'met' if nb['quick_seconds'] <= 180 else 'not met'}).", ""]
    if nb.get("quick_each"):
        lines += ["| notebook | seconds (two at a time) |", "|---|---|"]
        lines += [f"| {name} | {sec:.0f} |" for name, sec in nb["quick_each"].items()]
    stages = nb.get("reproduce_stages")
    if stages:
        total, first = (sum(row[k] for row in stages) for k in ("seconds", "first_seed_seconds"))
        machines = sorted({m for row in stages for m in row["machines"]})
        lines += ["", "`make reproduce` at the default size trains every model of every table over seeds 0, 1, 2 "
                  "(a rerun trains only what is not saved). This table sums the training time each saved result "
                  "recorded (training only, two notebooks at a time; data preparation, evaluation and plots come on "
                  f"top). Machines: {'; '.join(machines)}.", "",
                  "| notebook | stage | trainings | training time, 3 seeds | seed 0 alone |", "|---|---|---|---|---|"]
        lines += [f"| {row['notebook']} | {row['stage'].replace('|', chr(92) + '|')} | {row['trainings']} | "
                  f"{row['seconds'] / 60:.1f} min | "
                  f"{row['first_seed_seconds'] / 60:.1f} min |" for row in stages]
        lines += [f"| total | | {sum(row['trainings'] for row in stages)} | {total / 60:.0f} min | {first / 60:.0f} min |",
                  "", f"Three seeds cost {total / max(first, 1e-9):.1f}x one seed."]
    run = nb.get("reproduce_run")
    if run:
        wall = run["wall_seconds"]
        lines += ["", f"The last `make reproduce` from nothing saved (its own clock, the README's time table): "
                  f"**{wall:,.0f} s** wall ({wall / 60:.1f} min), {run['jobs']} notebooks at a time on {run['cpus']} "
                  f"CPU cores that multiplied matrices at {run['matmul_gflops']} GFLOP/s. Target, every table over 3 seeds "
                  f"within 30 min: {'met' if wall <= 1800 else f'not met, by {wall / 1800:.2f}x'}."]
    if nb.get("retrained"):
        lines += ["", "Recorded times are those of the code and machine load of their day. Saved configurations trained "
                  "again in this run with today's code (seed 0, nothing written: every row of Table 2's song split, and the "
                  "paper's audio row on the pair split), beside what their saved run recorded:", "",
                  "| configuration | recorded | now | ratio | epochs | same per-epoch history |", "|---|---|---|---|---|---|"]
        lines += [f"| {r['name']} | {r['recorded_seconds']:.0f} s | {r['seconds']:.0f} s | "
                  f"{r['recorded_seconds'] / r['seconds']:.2f}x | {r['epochs_run']} | {'yes' if r['same_history'] else 'no'} |"
                  for r in nb["retrained"]]
        recorded, now = (sum(r[k] for r in nb["retrained"]) for k in ("recorded_seconds", "seconds"))
        lines.append(f"| all of the above | {recorded / 60:.1f} min | {now / 60:.1f} min | {recorded / now:.2f}x | | "
                     f"{sum(r['same_history'] for r in nb['retrained'])} of {len(nb['retrained'])} |")
    pair = nb.get("side_by_side")
    if pair:
        seq, both = pair["one_after_other_seconds"], pair["side_by_side_seconds"]
        lines += ["", f"Two notebooks at a time (`dplib reproduce --jobs 2`, the default; measured in this run): two "
                  f"workers, each a fresh process training saved configurations again (seed 0: "
                  f"{', '.join(pair['trainings'])}), took {seq:.0f} s one after the other and {both:.0f} s side by side: "
                  f"**{seq / both:.2f}x**. {pair['same_history']} of {pair['runs']} trainings gave their saved per-epoch "
                  "history, so what runs beside a training does not change its numbers."]
    return lines


def memory_section(results: dict) -> list[str]:
    mem = results.get("memory")
    if not mem:
        return []
    lines = ["", "## 4. Peak memory (RSS), lyrics preparation and one training epoch, one fresh process per size", "",
             f"Measured {results.get('memory_date', results['date'])}"
             f"{elsewhere({'date': results.get('memory_date', results['date'])}, results, results.get('memory_machine'))}.",
             "",
             "In memory (`dplib.datasets.prepare`, what the notebooks use): peak RSS (VmHWM) after importing "
             "dplib and TensorFlow, after loading the corpus and preparing the pairs, and after one training "
             "epoch (cumulative peaks).", "",
             "| size | tracks | training pairs | RSS after imports | after preparation | encoded songs | after 1 epoch | epoch |",
             "|---|---|---|---|---|---|---|---|"]
    for size, m in mem.items():
        if "error" in m:
            lines.append(f"| {size} | failed: {m['error'][-120:]!r} | | | | | | |")
            continue
        lines.append(f"| {size} | {m['tracks']:,} | {m['train_pairs']:,} | {m['rss_imports_mb']:.0f} MB | "
                     f"{m['rss_prepared_mb']:.0f} MB | {m['encoded_mb']:.1f} MB | {m['rss_after_epoch_mb']:.0f} MB | "
                     f"{m['epoch_seconds']:.1f} s |")
    gen = results.get("generation")
    if gen:
        lines += ["", "Synthetic data generation (streams to disk), peak RSS of a fresh process:", "",
                  "| size | peak RSS | seconds |", "|---|---|---|"]
        lines += [f"| {k} | {v['rss_mb']:.0f} MB | {v['seconds']:.0f} |" if "error" not in v
                  else f"| {k} | failed | |" for k, v in gen.items()]
    stream = results.get("streaming")
    if stream:
        lines += ["", "Streamed preparation (`dplib data shards`, `dplib.datasets.streaming`): the same pairs drawn "
                  "(`pair` split, the same caps), written to TFRecord shards without loading the corpus; then, "
                  "with the peak-RSS mark reset, one epoch of the same model streamed from those shards:", "",
                  "| size | listings | training pairs | RSS after imports | peak during preparation | "
                  "encoded songs (songs.npy) | seconds | peak during the streamed epoch | epoch |",
                  "|---|---|---|---|---|---|---|---|---|"]
        for size, v in stream.items():
            if "error" in v:
                lines.append(f"| {size} | failed: {v['error'][-120:]!r} | | | | | | | |")
                continue
            lines.append(f"| {size} | {v['listed_pairs']:,} | {v['train_pairs']:,} | {v['rss_imports_mb']:.0f} MB | "
                         f"{v['rss_prepared_mb']:.0f} MB ({v['rss_prepared_mb'] - v['rss_imports_mb']:+.0f}) | "
                         f"{v['encoded_mb']:.1f} MB | {v['prepare_seconds']:.1f} | {v['rss_after_epoch_mb']:.0f} MB | "
                         f"{v['epoch_seconds']:.1f} s |")
    lines += memory_verdict(results)
    prof = results.get("preparation_profile")
    if prof and "error" not in prof:
        lines += ["", f"Where preparation memory goes (`{prof['size']}` size, resident memory after each stage, "
                  f"one fresh process, measured {prof['date']}):", "", "| stage | RSS | added |", "|---|---|---|"]
        previous = None
        for name, mb in prof["stages"]:
            added = "" if previous is None else f"{mb - previous:+.0f} MB"
            lines.append(f"| {name} | {mb:.0f} MB | {added} |")
            previous = mb
    if "paper" in mem and "error" not in mem["paper"]:
        per_epoch = mem["paper"]["epoch_seconds"]
        lines += ["", f"Paper-size Table 2 estimate: 8 configurations x 10 epochs x {per_epoch:.1f} s "
                  f"= {8 * 10 * per_epoch / 60:.0f} min of training (target: within 60 min)."]
    return lines


def memory_verdict(results: dict) -> list[str]:
    """Does preparation memory grow beyond the arrays the model needs? In memory, streamed, and streamed with the
    Last.fm files read twice."""
    mem, stream = results["memory"], results.get("streaming")
    sizes = [m for m in mem.values() if "error" not in m]
    if len(sizes) >= 2:
        small, large = sizes[0], sizes[-1]
        grew = large["rss_prepared_mb"] - large["rss_imports_mb"]
        needed = large["encoded_mb"]
        verdict = (f"the in-memory path raised the peak by {grew:.0f} MB above the imports for {large['tracks']:,} "
                   f"tracks, for {needed:.0f} MB of encoded songs ({small['tracks']:,} tracks: "
                   f"{small['rss_prepared_mb'] - small['rss_imports_mb']:.0f} MB): "
                   + ("met." if grew <= 2 * needed + 50 else f"**not met**, by about {grew - needed:.0f} MB "
                      "(the stage profile below shows where)."))
        twice = [v for k, v in (stream or {}).items() if "read twice" in k and "error" not in v]
        streamed = [v for k, v in (stream or {}).items() if "read twice" not in k and "error" not in v]
        if len(streamed) >= 2:
            s_small, s_large = streamed[0], streamed[-1]
            s_grew = s_large["rss_prepared_mb"] - s_large["rss_imports_mb"]
            verdict += (f" The streamed path raised it by {s_grew:.0f} MB for {s_large['listed_pairs']:,} listed "
                        f"pairs, of which {s_large['encoded_mb']:.0f} MB are the encoded songs (memory-mapped, "
                        f"so counted in RSS); {s_small['rss_prepared_mb'] - s_small['rss_imports_mb']:.0f} MB for "
                        f"{s_small['listed_pairs']:,}: "
                        + ("**met**." if s_grew <= 2 * s_large["encoded_mb"] + 50 else "**not met**."))
            if twice:
                t_grew = twice[0]["rss_prepared_mb"] - twice[0]["rss_imports_mb"]
                verdict += (f" With the Last.fm files read twice ({twice[0]['listed_pairs']:,} listings, the "
                            f"same pairs) it rose by {t_grew:.0f} MB: what is not the songs does not grow with "
                            "the listings.") if t_grew <= s_grew + 5 else (
                            f" With the Last.fm files read twice ({twice[0]['listed_pairs']:,} listings) it "
                            f"rose by {t_grew:.0f} MB: memory still grows with the listings.")
        return ["", "Preparation memory target (no growth beyond the arrays the model needs): " + verdict]
    return []
