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
