"""Outputs written completely or not at all: build under a temporary name, then rename.

A killed run then leaves the previous output whole (or nothing), never a new part beside an old one. A rename
within one folder is atomic on POSIX file systems; a folder is swapped with two renames. Each writer has a
temporary name of its own, so two processes writing the same file (two notebooks training the same
configuration side by side) never write into one temporary file: the last complete one wins.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _usual_permissions(path: Path, mode: int) -> None:
    """``mode`` less the umask: mkstemp and mkdtemp make private files and folders, finished outputs are not."""
    path.chmod(mode & ~_umask())


def _umask() -> int:
    """The process's umask, read without changing it where Linux shows it (setting it to read it would briefly
    change it for every thread: two notebooks run side by side from threads)."""
    try:
        with open("/proc/self/status") as f:
            return next(int(line.split()[1], 8) for line in f if line.startswith("Umask:"))
    except (OSError, StopIteration, ValueError, IndexError):
        umask = os.umask(0)
        os.umask(umask)
        return umask


@contextmanager
def written(path: str | Path) -> Iterator[Path]:
    """A temporary name beside ``path``, unique to this writer and ending like ``path`` (``.keras``, ``.png``: the
    writers that read the format from the name); renamed to ``path`` when the block ends, removed if it raises.

    ``with written(out / "model.keras") as partial: model.save(partial)``
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".partial{path.suffix}", dir=path.parent)
    os.close(fd)
    partial = Path(name)
    try:
        yield partial
        _usual_permissions(partial, 0o666)
        partial.replace(path)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise


def write_text(path: str | Path, text: str) -> Path:
    """``path`` holds ``text`` (UTF-8) or its previous content, never half of it."""
    with written(path) as partial:
        partial.write_text(text, encoding="utf-8")
    return Path(path)


def write_json(path: str | Path, value) -> Path:
    return write_text(path, json.dumps(value, indent=1))


def partial_folder(out: str | Path) -> Path:
    """An empty temporary folder beside ``out`` (same file system, so :func:`replace_folder` can rename it)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    _usual_permissions(partial, 0o777)
    return partial


@contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C and SIGTERM wait until the block is done, then act as they would have (in the main thread; Python runs
    signal handlers there only). Any thread may receive a signal, so blocking it in one thread would not do: the
    handlers themselves are swapped for ones that only take note."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    for number in before:
        signal.signal(number, lambda n, frame: caught.append(n))
    try:
        yield
    finally:
        for number, handler in before.items():
            signal.signal(number, handler if handler is not None else signal.SIG_DFL)
        if caught:
            handler = before[caught[0]]
            if callable(handler):
                handler(caught[0], None)  # SIGINT: KeyboardInterrupt, now that the block is done
            elif handler == signal.SIG_DFL or handler is None:
                os.kill(os.getpid(), caught[0])


def replace_folder(partial: Path, out: str | Path) -> Path:
    """Put the complete folder ``partial`` where ``out`` is, removing the old ``out``. Ctrl-C and SIGTERM wait
    until both renames are done (:func:`signals_held`), so an interrupt never leaves ``out`` missing."""
    out = Path(out)
    old = out.with_name(f".{out.name}.old-{partial.name.rsplit('-', 1)[-1]}") if out.exists() else None
    try:
        with signals_held():
            if old is not None:
                out.rename(old)
            partial.rename(out)
    finally:
        if old is not None and out.exists():
            shutil.rmtree(old, ignore_errors=True)
    return out
