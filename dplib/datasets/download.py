"""Download helpers for the public MSD companion files (cached under ``data/``, via pooch).

Offline, or when a host is down, they fail with a message that says what to
download by hand and where to put it. Hashes are not pinned: the files predate
checksums on their pages, so pooch only checks that a download completed.
"""
from __future__ import annotations

from pathlib import Path

BASE = "http://millionsongdataset.com/sites/default/files"
PUBLIC_FILES = {
    "lastfm_subset": (f"{BASE}/lastfm/lastfm_subset.zip", "lastfm_subset.zip"),
    "lastfm_train": (f"{BASE}/lastfm/lastfm_train.zip", "lastfm_train.zip"),
    "lastfm_test": (f"{BASE}/lastfm/lastfm_test.zip", "lastfm_test.zip"),
    "lastfm_similars": (f"{BASE}/lastfm/lastfm_similars.db", "lastfm_similars.db"),
    "mxm_train": (f"{BASE}/AdditionalFiles/mxm_dataset_train.txt.zip", "mxm_dataset_train.txt"),
    "mxm_test": (f"{BASE}/AdditionalFiles/mxm_dataset_test.txt.zip", "mxm_dataset_test.txt"),
}


def fetch(name: str, folder: str | Path) -> Path:
    """Download one public file into ``folder`` (unzipping the musiXmatch files) and return its path."""
    if name not in PUBLIC_FILES:
        raise ValueError(f"unknown file {name!r}; choose one of {sorted(PUBLIC_FILES)}")
    import pooch

    url, target = PUBLIC_FILES[name]
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if (folder / target).exists():
        return folder / target
    try:
        if url.endswith(".txt.zip"):
            pooch.retrieve(url, None, fname=target + ".zip", path=folder, processor=pooch.Unzip(extract_dir="."))
        else:
            pooch.retrieve(url, None, fname=target, path=folder)
    except Exception as err:  # network errors come in many types
        raise RuntimeError(
            f"could not download {url} ({type(err).__name__}: {err}).\n"
            f"Download it by hand and put it at {folder / target}"
            + (" (unzipped)" if url.endswith(".txt.zip") else "")
            + "; the loaders look for that exact name."
        ) from None
    return folder / target
