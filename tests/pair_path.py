"""Trace the path of one pair from the Last.fm files to a test metric, the two ways the notebooks take it, in a
fresh process (``_strategy``, the one cached function on these paths, is called by the library path only):

- ``notebook``: notebook 03's own cells, run as they are: ``prepare`` reads, splits and encodes the data, then the model written
  in Keras in the notebook, its ``batches`` pipeline, ``model.fit`` and ``model.evaluate`` on the test part;
- ``library``: the library's path, ``prepare("lyrics", cfg)`` then ``run_config(exp, "all", 2)``, which trains and
  records every table's models (one epoch here: the same path).

``python tests/pair_path.py DATA_FOLDER RESULTS_FOLDER`` prints one JSON object, ``{"notebook": [...], "library":
[...]}``: for each path, every function (and method) of ``dplib`` and of the notebook it called, as ``[file, qualified
name, [the functions of ours it was first called inside, innermost first]]``, in the order of their first calls
(comprehensions, lambdas and class bodies left out; Keras' and TensorFlow's own functions are not counted). Read by
test_layout.py.
"""
import inspect
import json
import os
import sys
from pathlib import Path

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "03_siamese_lstm.ipynb"
NOTEBOOK_FILE = "notebooks/" + NOTEBOOK.name
# the cells of notebook 03 that carry the pair, found by what they do (the setup cell runs first, untraced)
PAIR_CELLS = ('prepare("lyrics"', "def siamese_lyrics_model(", "model.fit(batches(", 'model.evaluate(batches("test")')


def notebook_cells() -> list[str]:
    """The setup cell, then notebook 03's cells that carry the pair, in the notebook's order."""
    cells = ["".join(c["source"]) for c in json.loads(NOTEBOOK.read_text())["cells"] if c["cell_type"] == "code"]
    setup = [c for c in cells if "setup()" in c]
    path = [c for c in cells if any(mark in c for mark in PAIR_CELLS)]
    found = [mark for mark in PAIR_CELLS if any(mark in c for c in path)]
    if len(setup) != 1 or found != list(PAIR_CELLS):
        sys.exit(f"{NOTEBOOK_FILE}: expected one setup cell and cells with {PAIR_CELLS}; found {found}")
    return setup + path


def tracer(entered: dict):
    """A profile function that keeps, for every function of ``dplib`` or the notebook at its first call, the
    functions of ours it was called inside (innermost first)."""
    package = str(Path(__import__("dplib").__file__).parent) + os.sep

    def ours(code) -> tuple[str, str] | None:
        if code.co_name.startswith("<") or not code.co_flags & inspect.CO_OPTIMIZED:
            return None  # a module, a comprehension, a lambda, or a class body run by an import: not a call
        if code.co_filename.startswith(package):
            return "dplib/" + code.co_filename[len(package):].replace(os.sep, "/"), code.co_qualname
        return (NOTEBOOK_FILE, code.co_qualname) if code.co_filename == NOTEBOOK_FILE else None

    def profile(frame, event, _):
        key = ours(frame.f_code) if event == "call" else None
        if key is None or key in entered:
            return
        inside, caller = [], frame.f_back
        while caller is not None:
            if (outer := ours(caller.f_code)) is not None:
                inside.append(outer)
            caller = caller.f_back
        entered[key] = inside

    return profile


def traced(run) -> list:
    """``run()`` under the tracer: ``[file, qualified name, inside]`` for every function of ours it called."""
    entered: dict[tuple[str, str], list] = {}
    sys.setprofile(tracer(entered))
    try:
        run()
    finally:
        sys.setprofile(None)
    return [[*key, inside] for key, inside in entered.items()]


def main(data: str, results: str) -> None:
    os.environ.update(TF_CPP_MIN_LOG_LEVEL="3", MPLBACKEND="Agg", DPLIB_QUICK="1", DPLIB_DATA_FOLDER=data,
                      DPLIB_RESULTS=results)
    setup, *cells = notebook_cells()
    namespace: dict = {}
    exec(compile(setup, NOTEBOOK_FILE, "exec"), namespace)  # settings, data; not part of the path
    paths = {"notebook": traced(lambda: [exec(compile(cell, NOTEBOOK_FILE, "exec"), namespace) for cell in cells])}

    from dplib.experiments import prepare, run_config

    cfg = namespace["cfg"]  # one process for both paths: nothing on them is cached (a fresh trace each)
    paths["library"] = traced(lambda: run_config(prepare("lyrics", cfg), combine="all", fc=2, epochs=1, rerun=True))
    print(json.dumps(paths))


if __name__ == "__main__":
    main(*sys.argv[1:3])
