"""Trace the path of one pair through ``dplib``, as notebook 03 calls it: ``prepare("lyrics", cfg)`` then
``run_config(exp, "all", 2)``, in a fresh process (a function cached by an earlier call would not show).

``python tests/pair_path.py DATA_FOLDER RESULTS_FOLDER`` (one epoch of training) prints one JSON list: every
``dplib`` function entered, as ``[file, name]`` in the order of its first call (comprehensions and lambdas left
out). Read by test_layout.py.
"""
import json
import os
import sys
from pathlib import Path


def main(data: str, results: str) -> None:
    os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
    from dplib.config import get_config
    from dplib.experiments import prepare, run_config
    from dplib.runtime import quiet_tensorflow

    quiet_tensorflow()
    cfg = get_config(size="quick", user_data_folder=Path(data), results_root=Path(results))
    package = str(Path(__import__("dplib").__file__).parent) + os.sep
    entered: dict[tuple[str, str], None] = {}

    def profile(frame, event, _):
        code = frame.f_code
        if event == "call" and code.co_filename.startswith(package) and not code.co_name.startswith("<"):
            entered.setdefault((code.co_filename[len(package):].replace(os.sep, "/"), code.co_name))

    sys.setprofile(profile)
    try:
        run_config(prepare("lyrics", cfg), combine="all", fc=2, epochs=1, rerun=True)  # one epoch: the same path
    finally:
        sys.setprofile(None)
    print(json.dumps([list(key) for key in entered]))


if __name__ == "__main__":
    main(*sys.argv[1:3])
