"""Outputs written completely or not at all: build under a temporary name, then rename.

A killed run then leaves the previous output whole (or nothing), never a new part beside an old one. A rename
within one folder is atomic on POSIX file systems; a folder is swapped with two renames.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path


def write_text(path: str | Path, text: str) -> Path:
    """``path`` holds ``text`` (UTF-8) or its previous content, never half of it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return path


def write_json(path: str | Path, value) -> Path:
    return write_text(path, json.dumps(value, indent=1))


def partial_folder(out: str | Path) -> Path:
    """An empty temporary folder beside ``out`` (same file system, so :func:`replace_folder` can rename it)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    partial.chmod(0o777 & ~umask)  # mkdtemp makes it private; the finished folder gets the usual permissions
    return partial


def replace_folder(partial: Path, out: str | Path) -> Path:
    """Put the complete folder ``partial`` where ``out`` is, removing the old ``out``."""
    out = Path(out)
    old = out.with_name(f".{out.name}.old-{partial.name.rsplit('-', 1)[-1]}") if out.exists() else None
    if old is not None:
        out.rename(old)
    partial.rename(out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return out
