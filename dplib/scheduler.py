"""Running the notebooks: ``dplib reproduce`` executes them in place (papermill), ``dplib nbval`` checks them
(nbval), both ``jobs`` at a time in the order their metadata asks for (:func:`side_by_side`)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path

from .datasets.report import short_path


def needs_extra(modules: tuple[str, ...], extra: str, why: str) -> None:
    """One line naming the extra to install when a module the command needs is missing (before any work)."""
    import importlib.util

    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        raise RuntimeError(f"{why}, which needs {', '.join(missing)}: pip install 'dplib[{extra}]'")


def notebooks_in(folder: str | Path) -> list[Path]:
    return sorted(p for p in Path(folder).glob("[0-9][0-9]_*.ipynb"))


def missing_data(notebook: Path, fetch: bool) -> str | None:
    """Why ``notebook`` cannot run here (its metadata ``dplib.needs`` names data that is absent), or None.

    ``fetch``: try to download what is missing first (``make reproduce`` does; the tests never touch the network).
    """
    from .config import get_config

    needs = notebook_meta(notebook).get("needs", [])
    cfg = get_config()
    if "real-lyrics" in needs and cfg.real_lyrics_folder is None:
        if fetch:
            from .datasets.real_lyrics import ensure_real_lyrics

            try:
                ensure_real_lyrics(cfg)
                return None
            except FileNotFoundError as err:
                return str(err).splitlines()[0]
        return ("no real lyrics set (DPLIB_REAL_LYRICS or data/real-lyrics); "
                "'dplib data fetch real-lyrics' downloads it")
    return None


def reproduce(folder: str | Path, jobs: int, size: str, readme: str | Path) -> int:
    """Run every notebook in ``folder`` in place at ``size``, ``jobs`` at a time, timing each; then the README's
    results sections (:func:`dplib.readme.write_report`)."""
    from .config import get_config
    from .datasets.files import write_json
    from .experiments import input_folder
    from .readme import write_report
    from .runtime import yardsticks

    needs_extra(("papermill", "ipykernel"), "notebooks", "dplib reproduce runs the notebooks with papermill")
    results = get_config(size=size).results_folder
    saved = results / "notebook_times.json"
    previous = json.loads(saved.read_text()) if saved.exists() else {}
    readme = Path(readme).resolve()
    # the committed notebooks show the default run: another size writes its executed copies beside its results
    copies = None if size == "default" else results / "notebooks"
    fresh = not any(f.name not in (saved.name, "reproduce_run.json") for f in results.rglob("*.json")) \
        if results.exists() else True  # nothing saved: every training happens in this run
    speed = yardsticks()  # before any notebook runs: the machine's speed today, beside the run's clock
    started, notebooks = time.perf_counter(), notebooks_in(folder)
    with kernel_environment(DPLIB_SIZE=size, DPLIB_QUICK=None):
        # generated once, not by two notebooks at the same time, while those that read none of it run (06)
        times = run_notebooks(notebooks, previous, jobs, copies, prepare=lambda: input_folder(get_config()))
    wall = time.perf_counter() - started
    if copies is not None:
        print(f"size {size}: the executed notebooks are in {short_path(copies)}; those in {folder} are as committed")
    print("\n".join(f"{name:<40} {sec:7.0f} s" for name, sec in times))
    print(f"{'sum of the notebooks':<40} {sum(s for _, s in times):7.0f} s")
    print(f"{'the whole run (wall clock)':<40} {wall:7.0f} s")
    write_json(saved, {**previous, **dict(times)})
    if fresh and len(times) == len(notebooks):  # the README's time table: a run that trained everything itself
        write_json(saved.with_name("reproduce_run.json"), {
            "jobs": jobs, "cpus": os.cpu_count(), "wall_seconds": round(wall), "notebooks": dict(times),
            **speed})
    if size != "default":  # the README shows the default run; a quick or paper-size run must not replace it
        print(f"size {size}: the README's results (the default run's) are left as they were; "
              f"'dplib report --size {size} --readme FILE' writes this run's tables into FILE")
        return 0
    return write_report(readme, size)


@contextmanager
def kernel_environment(**values: str | None):
    """Environment variables for the notebook kernels papermill starts (they inherit ours), restored afterwards;
    ``None`` unsets one."""
    def put(settings: dict[str, str | None]) -> None:
        for name, value in settings.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

    saved = {name: os.environ.get(name) for name in values}
    put(values)
    try:
        yield
    finally:
        put(saved)


#: the kernel's own log is not the notebook's output: its start-up warning about its local transport, and the error
#: it logs when the interrupt that every shutdown sends first lands inside a message handler (a race, found by CI).
#: A failing cell still arrives as a PapermillExecutionError.
KERNEL_ARGUMENTS = ["--IPKernelApp.log_level=CRITICAL"]


def run_notebooks(notebooks: list[Path], previous: dict[str, float] | None = None,
                  jobs: int = 1, out_folder: Path | None = None, prepare=None) -> list[tuple[str, float]]:
    """Each notebook in place (or, with ``out_folder``, its executed copy there), ``jobs`` at a time (see
    :func:`side_by_side`), its output streamed live, each line led by the notebook's number when several run; a
    notebook whose data is missing is skipped with the reason.
    ``previous`` (seconds per notebook, from the last run) gives an estimate of what is left. Returns (name, seconds)
    of those that ran, in name order. A notebook that fails stops the run once those running have finished: one
    line names it and its cell. ``prepare``: makes the synthetic data (see :func:`side_by_side`)."""
    import papermill

    previous, running, notebooks = previous or {}, [], [nb.resolve() for nb in notebooks]
    for i, nb in enumerate(notebooks, start=1):
        reason = missing_data(nb, fetch=True)
        if reason:
            print(f"[{i}/{len(notebooks)}] SKIPPED {nb.name}: {reason}", flush=True)
        else:
            running.append(nb)
    started_all, finished = time.perf_counter(), set()

    def run(nb: Path) -> float:
        started = time.perf_counter()
        left = [previous.get(n.name) for n in running if n.name not in finished]
        estimate = f"; about {sum(left) / 60 / jobs:.0f} min left by the last run's times" if all(left) else ""
        say(f"[{notebooks.index(nb) + 1}/{len(notebooks)}] running {nb.name} "
            f"({(started - started_all) / 60:.1f} min so far{estimate}) ...")
        out = PrefixedLines(f"{nb.name[:2]} | " if jobs > 1 else "", sys.stdout)
        target = (out_folder / nb.name) if out_folder else nb
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{nb.stem}.running.ipynb")  # the notebook stays whole until this run is
        try:
            papermill.execute_notebook(str(nb), str(partial), cwd=str(nb.parent), kernel_name="python3",
                                       progress_bar=False, log_output=True, stdout_file=out,
                                       extra_arguments=KERNEL_ARGUMENTS)
            plain_paths(partial, target.name)
            partial.replace(target)
        except papermill.PapermillExecutionError as err:
            plain_paths(partial, target.name)
            partial.replace(target)  # complete up to the failing cell, which shows its traceback
            where = "the notebook, saved in place," if target == nb else f"its executed copy in {short_path(target.parent)}"
            raise RuntimeError(f"{nb.name} failed in cell [{err.exec_count}]: {err.ename}: {err.evalue} "
                               f"({where} shows the traceback)") from None
        finally:  # interrupted, or the kernel died: the notebook as it was
            partial.unlink(missing_ok=True)
            out.flush()
        finished.add(nb.name)
        say(f"  {nb.name}: {time.perf_counter() - started:.0f} s")
        return time.perf_counter() - started

    home = os.getcwd()
    try:
        done = side_by_side(running, run, jobs, prepare, previous)
    finally:  # papermill changes the process's folder for each notebook it runs: two side by side can leave it moved
        os.chdir(home)
    errors = [f.exception() for f in done.values() if f.exception() and not isinstance(f.exception(), NotStarted)]
    if errors:
        raise errors[0]  # one line: the notebook and the cell that failed
    return [(nb.name, done[nb.name].result()) for nb in running]


def plain_paths(notebook: Path, name: str) -> None:
    """papermill records the paths it was given (this machine's, and the temporary name): keep the file's name."""
    import nbformat

    nb = nbformat.read(notebook, as_version=4)
    nb.metadata.setdefault("papermill", {}).update(input_path=name, output_path=name)
    nbformat.write(nb, notebook)


class NotStarted(RuntimeError):
    """A notebook that :func:`side_by_side` did not start because another had failed."""


#: what a notebook's metadata ``dplib.needs`` names when it reads the synthetic data (:func:`side_by_side`)
SYNTHETIC = "synthetic"


def side_by_side(notebooks: list[Path], run, jobs: int, prepare=None,
                 previous: dict[str, float] | None = None) -> dict:
    """``run(notebook)`` for each notebook, ``jobs`` at a time: what ``dplib reproduce`` and ``dplib nbval`` share.
    A notebook waits for those its metadata ``dplib.after`` names (it reads their results); see :func:`start_order`
    (``previous``: the last run's seconds per notebook).
    ``prepare()`` (making the synthetic data) runs in this thread, so that Ctrl-C stops it at once: a notebook whose
    ``dplib.needs`` names ``"synthetic"`` waits for it, the others run beside it; if it fails, those running finish
    and its error is raised. Returns the finished futures by name; after a failure no new notebook starts."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    futures, failed, made = {}, [], threading.Event()

    def one(nb: Path):
        meta = notebook_meta(nb)
        if prepare is not None and SYNTHETIC in meta.get("needs", []):
            made.wait()
        for name in meta.get("after", []):
            if name in futures:
                futures[name].exception()  # waits; a failure there is in ``failed``
        if failed:
            raise NotStarted(f"{nb.name} not started: {failed[0]} failed")
        try:
            return run(nb)
        except BaseException:
            failed.append(nb.name)
            raise

    pool, error = ThreadPoolExecutor(max_workers=jobs), None
    try:
        for nb in start_order(notebooks, previous):
            futures[nb.name] = pool.submit(one, nb)
        if prepare is not None:
            try:
                prepare()
            except BaseException as err:
                failed.append("Ctrl-C" if isinstance(err, KeyboardInterrupt) else "making the synthetic data")
                if isinstance(err, KeyboardInterrupt):
                    raise
                error = err
            finally:
                made.set()
        for future in list(futures.values()):
            future.exception()  # waits; Ctrl-C lands here, in the main thread
    except KeyboardInterrupt:
        import logging

        failed.append("Ctrl-C")  # no new notebook starts
        logging.disable(logging.CRITICAL)  # the runners' "kernel died" lines: we stop them on purpose
        stop_children()  # kernels ignore Ctrl-C: they would train on for minutes
        raise
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    if error is not None:
        raise error
    return futures


def stop_children() -> None:
    """SIGTERM to this process's child processes (the notebook kernels and test runs), found in /proc (Linux; a
    no-op elsewhere)."""
    import signal

    me = str(os.getpid())
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[1] == me:
            try:
                os.kill(int(stat.parent.name), signal.SIGTERM)
            except OSError:
                pass


def start_order(notebooks: list[Path], previous: dict[str, float] | None = None) -> list[Path]:
    """The order notebooks start in: those that need no synthetic data first (06 runs while the data is made);
    then the longest first, so that the short ones fill the other worker at the end instead of one long notebook
    running alone: by ``previous`` (seconds per notebook, from the last run) when it times every notebook, else by
    the rank their metadata ``dplib.first`` gives (1 starts first: 07, 05, 09, the three that train the most in a
    fresh clone); then name order; those that wait for others (``dplib.after``) last, so that no worker sits idle
    waiting while another notebook could run."""
    timed = previous is not None and all(nb.name in previous for nb in notebooks)

    def key(nb: Path) -> tuple:
        meta = notebook_meta(nb)
        rank = -previous[nb.name] if timed else int(meta.get("first", 0)) or float("inf")
        return bool(meta.get("after")), SYNTHETIC in meta.get("needs", []), rank, nb.name

    return sorted(notebooks, key=key)


def say(line: str) -> None:
    """Print one line whole, whichever notebook's thread prints it."""
    with PrefixedLines.lock:
        print(line, flush=True)


class PrefixedLines:
    """A text stream that writes whole lines to ``stream``, each led by ``prefix``: the outputs of notebooks that
    run side by side stay readable, one line at a time."""

    lock = threading.Lock()  # one for every stream: lines of two notebooks never mix

    def __init__(self, prefix: str, stream):
        self.prefix, self.stream, self.pending = prefix, stream, ""

    def write(self, text: str) -> int:
        *lines, self.pending = (self.pending + text).split("\n")
        with self.lock:
            for line in lines:
                self.stream.write(f"{self.prefix}{line}\n")
            self.stream.flush()
        return len(text)

    def flush(self) -> None:
        if self.pending:
            self.write("\n")


def notebook_meta(notebook: Path) -> dict:
    """The notebook's ``dplib`` metadata: ``needs`` (data it reads), ``after`` (notebooks whose results it reads),
    ``first`` (start it before the others)."""
    return json.loads(notebook.read_text()).get("metadata", {}).get("dplib", {})


#: what nbval says when a notebook's kernel never answered at start-up (before any cell ran): a kernel started beside
#: another can lose that race (seen once in CI), so such a check is run once more, never a notebook that failed a cell
KERNEL_NOT_STARTED = "Kernel didn't respond in"


def nbval_one(nb: Path, sanitize: Path) -> tuple[int, str, float]:
    started = time.perf_counter()
    cmd = [sys.executable, "-m", "pytest", "-q", "--nbval-lax", "--nbval-current-env", "-p", "no:cacheprovider",
           "--nbval-kernel-startup-timeout", "120", str(nb)]
    if sanitize.exists():
        cmd[5:5] = ["--nbval-sanitize-with", str(sanitize)]
    for attempt in (1, 2):
        done = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if done.returncode == 0 or KERNEL_NOT_STARTED not in done.stdout or attempt == 2:
            return done.returncode, done.stdout, time.perf_counter() - started
        print(f"nbval {nb.name}: its kernel did not start; checking it once more", flush=True)


def nbval(folder: str | Path, jobs: int) -> int:
    """Check every notebook with nbval (lax mode), one pytest run each, ``--jobs`` at a time, and print each one's
    time. A notebook waits for those its metadata ``dplib.after`` names (it reads their results); the data every
    notebook reads is made first, once. A notebook whose data is absent (see :func:`missing_data`) is skipped with
    the reason, never silently; a failed notebook's pytest output is printed (see :func:`side_by_side`)."""
    from .config import get_config
    from .experiments import input_folder

    needs_extra(("pytest", "nbval", "ipykernel"), "test", "dplib nbval checks the notebooks with pytest and nbval")
    root = Path(__file__).resolve().parent.parent
    sanitize = root / "tests" / "nbval_sanitize.cfg"
    notebooks, skipped = [], []
    for nb in notebooks_in(folder):
        reason = missing_data(nb, fetch=False)
        if reason:
            skipped.append(nb.name)
            print(f"nbval {nb.name}: SKIPPED: {reason}", flush=True)
        else:
            notebooks.append(nb)
    input_folder(get_config())  # generated here once, not by two notebooks at the same time
    started = time.perf_counter()

    def check(nb: Path) -> tuple[int, str, float]:
        code, output, seconds = nbval_one(nb, sanitize)
        print(f"nbval {nb.name}: {'ok' if code == 0 else 'FAILED'} in {seconds:.0f} s "
              f"({(time.perf_counter() - started) / 60:.1f} min since the start)", flush=True)
        if code != 0:
            print(output, flush=True)
        return code, output, seconds

    done = side_by_side(notebooks, check, jobs)  # a failed check returns its code: every notebook runs
    results = {nb.name: done[nb.name].result() for nb in notebooks}
    failed = [name for name, (code, _, _) in results.items() if code != 0]
    print("\n".join(f"{name:<40} {sec:6.0f} s" for name, (_, _, sec) in results.items()))
    print(f"{'total (wall clock, ' + str(jobs) + ' at a time)':<40} {time.perf_counter() - started:6.0f} s")
    print(f"notebooks: {len(results) - len(failed)} passed, {len(failed)} failed, {len(skipped)} skipped")
    return 1 if failed or not results else 0
