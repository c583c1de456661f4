import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_FORMATS = REPO.parent / "shared" / "real-formats"


@pytest.fixture
def real_formats() -> Path:
    """The real MSD excerpts in ../shared; absent in a user's clone, so skip."""
    if not SHARED_FORMATS.is_dir():
        pytest.skip(f"real-format excerpts not found at {SHARED_FORMATS} (only the project's machines have ../shared)")
    return SHARED_FORMATS


@pytest.fixture(scope="session")
def synth_quick(tmp_path_factory) -> Path:
    """The quick synthetic mini-MSD, written once per test session."""
    from dplib.datasets.synthetic import generate

    return generate(tmp_path_factory.mktemp("synth") / "quick", "quick", seed=0, progress=False)
