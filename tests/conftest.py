import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_FORMATS = REPO.parent / "shared" / "real-formats"
SHARED_LYRICS = REPO.parent / "shared" / "real-lyrics"


@pytest.fixture
def real_formats() -> Path:
    """The real MSD excerpts in ../shared; absent in a user's clone, so skip."""
    if not SHARED_FORMATS.is_dir():
        pytest.skip(f"real-format excerpts not found at {SHARED_FORMATS} (only the project's machines have ../shared)")
    return SHARED_FORMATS


@pytest.fixture(scope="session")
def synth_quick(tmp_path_factory) -> Path:
    """The quick synthetic mini-MSD, written once per test session and shared by its xdist workers: the first to
    take the lock writes it (whole, under a temporary name), the others wait and read it."""
    import fcntl

    from dplib.datasets.synthetic import generate

    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the session's folder, above each worker's own
    folder = root / "synth-quick"
    with open(root / "synth-quick.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "card.json").exists():
            generate(folder, "quick", seed=0, progress=False)
    return folder


@pytest.fixture
def real_lyrics() -> Path:
    """The real lyrics set in ../shared (not ours to commit); absent in a user's clone, so skip."""
    if not (SHARED_LYRICS / "pairs.csv").is_file():
        pytest.skip(f"real lyrics set not found at {SHARED_LYRICS} (only the project's machines have ../shared; "
                    "'dplib data fetch real-lyrics' builds it elsewhere)")
    return SHARED_LYRICS


def run_cli(*args: str, env: dict | None = None, cwd: Path | None = None):
    """``dplib ARGS`` in a fresh process, as a user runs it (in ``cwd``, default the checkout): (exit code, stdout,
    stderr)."""
    import subprocess
    import sys

    full_env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})}
    done = subprocess.run([sys.executable, "-m", "dplib.cli", *map(str, args)], capture_output=True, text=True,
                          env=full_env, cwd=cwd or REPO, timeout=600)
    return done.returncode, done.stdout, done.stderr
