"""Output folders a command owns: checked before any work, written whole or not at all, one writer at a time.

Every ``dplib`` command that writes a folder (``data synth``, ``data fetch``, ``data shards``, ``train``,
``evaluate``) goes through :func:`output_folder`:

1. before any work, :func:`check_output` refuses an ``--out`` that is a file, lies under a file, cannot be
   written, holds the command's own inputs, or is a folder holding files that this command did not write; a folder
   that the same command wrote before is replaced only when the user says ``--force``;
2. a lock beside ``--out`` answers a second writer with a one-line refusal while the first one runs;
3. the files are written into a temporary folder beside ``--out`` that replaces it when everything is written
   (:func:`dplib.datasets.files.replace_folder`), so an interrupt leaves the previous complete output or the new one.

Each output carries a small ``.dplib-output.json`` naming the command that wrote it and every file and folder it
wrote, so that ``--force`` replaces nothing else: a file a user added inside an earlier output (an evaluation's
folder inside a training run, notes beside the data) makes even ``--force`` refuse, naming it.
"""
from __future__ import annotations

import errno
import json
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from .datasets.files import partial_folder, replace_folder
from .datasets.report import DataError

MARK = ".dplib-output.json"
# outputs written before the mark existed, recognised by their files (in this order: a run folder also holds the
# metrics.json an evaluation writes)
SIGNATURES = {"train": ("model.keras", "metrics.json"), "evaluate": ("metrics.json",),
              "data shards": ("manifest.json",), "data synth": ("DATA_CARD.md",), "data fetch": ("build.json",)}


def writer_of(folder: Path) -> str | None:
    """The ``dplib`` command that wrote ``folder`` (from its mark, else from its files), or None."""
    mark = folder / MARK
    if mark.is_file():
        try:
            return str(json.loads(mark.read_text())["command"])
        except (ValueError, KeyError, TypeError, OSError):
            return None
    names = {p.name for p in folder.iterdir()}
    return next((command for command, files in SIGNATURES.items() if set(files) <= names), None)


def contents(folder: Path) -> list[str]:
    """Every file and folder under ``folder`` (links not followed), as sorted relative paths, the mark left out."""
    found = []
    for top, dirs, files in os.walk(folder):
        here = Path(top).relative_to(folder)
        found += [(here / name).as_posix() for name in dirs + files]
    return sorted(name for name in found if name != MARK)


def added_since(folder: Path) -> list[str] | None:
    """What lies in ``folder`` that its writer did not write; None when its mark lists no files (an output of an
    older dplib, or one known only by its signature files), so nobody can tell."""
    try:
        written = set(json.loads((folder / MARK).read_text())["files"])
    except (ValueError, KeyError, TypeError, OSError):
        return None
    return [name for name in contents(folder) if name not in written]


def mark(folder: Path, command: str) -> None:
    """Write ``folder``'s mark: the command and everything it wrote there."""
    (folder / MARK).write_text(json.dumps({"command": command, "files": contents(folder)}))


def resolved(path: str | Path, what: str) -> Path:
    """``path`` made absolute, following links; a symlink loop or an unreadable place is one named error."""
    try:
        return Path(path).expanduser().resolve()
    except (RuntimeError, OSError) as err:  # RuntimeError: a symlink loop before Python 3.13
        raise DataError(f"{what} cannot be followed ({getattr(err, 'strerror', None) or err})", path) from None


def check_output(out: str | Path, command: str, inputs: Sequence[str | Path | None] = (), force: bool = False,
                 shared: bool = False) -> Path:
    """``out`` as an absolute path when ``command`` may write it, else a :class:`DataError` saying what to change.
    ``shared``: a folder that files are added to, one by one (``data fetch`` of the public files), not replaced."""
    try:
        return _check_output(out, command, inputs, force, shared)
    except OSError as err:  # a name too long for the file system, a folder that cannot be listed...
        raise DataError(f"--out cannot be used ({err.strerror or err})", out) from None


def _check_output(out, command: str, inputs, force: bool, shared: bool) -> Path:
    path = resolved(out, "--out")
    if path.exists() and not path.is_dir():
        raise DataError("--out is a file, not a folder: choose a folder name", out)
    above = next(p for p in (path, *path.parents) if p.exists())
    if not above.is_dir():
        raise DataError(f"--out lies under a file ({above.name}): choose a folder elsewhere", out)
    if not os.access(above, os.W_OK | os.X_OK):
        raise DataError("--out cannot be written here (no permission): choose another folder", out)
    here = Path.cwd().resolve()
    if not shared and (path == here or path in here.parents):
        raise DataError("--out is the folder you are in (or holds it), and the output replaces the folder it names: "
                        "name a new folder, e.g. --out run", out)
    for given in (i for i in inputs if i):
        source = resolved(given, "an input")
        if source == path or path in source.parents:
            raise DataError(f"--out holds this command's input {given}: write the output to another folder", out)
    if path.is_dir() and not shared and any(path.iterdir()):
        writer = writer_of(path)
        if writer != command:
            example = sorted(p.name for p in path.iterdir())[0]
            raise DataError(f"--out holds files that 'dplib {command}' did not write (e.g. {example}); they are left "
                            "alone: choose a new or empty folder", out)
        if not force:
            raise DataError(f"--out holds an earlier 'dplib {command}' output: add --force to replace it, or choose "
                            "a new folder", out)
        added = added_since(path)
        if added is None:
            raise DataError(f"--out holds a 'dplib {command}' output from a dplib that did not list the files it "
                            "wrote, so --force cannot tell them from yours: move the folder aside, or choose a new "
                            "one", out)
        if added:
            raise DataError(f"--out holds an earlier 'dplib {command}' output and {len(added):,} file(s) it did not "
                            f"write (e.g. {added[0]}); --force replaces only what dplib wrote: move them out of it, or "
                            "choose a new folder", out)
    return path


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised as Ctrl-C is (:func:`sigterm_as_interrupt`), so that every ``finally`` runs: temporary
    folders are removed, locks released, notebook kernels stopped."""


def sigterm_as_interrupt(every: float = 1.0) -> Callable[[], None]:
    """From now on SIGTERM raises :class:`Terminated` in the main thread (the command line's first step). Returns
    the function to call when the command has ended: it puts the previous handler back.

    C code may swallow an exception that a signal handler raises: numpy's coercion of a Python list did during
    ``data synth`` (now and then, when the signal landed there), and the command went on. So after the first
    SIGTERM the signal is sent again every ``every`` seconds until the command ends; a repeat that finds the main
    thread already handling an interrupt (inside an ``except`` or ``finally`` on the way out) is ignored, so the
    clean-up is never cut short."""
    import signal

    ended, insisting = threading.Event(), []

    def insist():
        while not ended.wait(every):
            os.kill(os.getpid(), signal.SIGTERM)

    def terminated(number, frame):
        if ended.is_set() or isinstance(sys.exc_info()[1], KeyboardInterrupt):
            return
        if not insisting:
            insisting.append(threading.Thread(target=insist, name="sigterm-again", daemon=True))
            insisting[0].start()
        raise Terminated()

    def end():
        ended.set()
        for thread in insisting:
            thread.join()  # a signal it sent meanwhile is still handled (ignored) by `terminated`
        signal.signal(signal.SIGTERM, before if before is not None else signal.SIG_DFL)

    before = signal.signal(signal.SIGTERM, terminated)
    return end


class InterruptedAfterSave(KeyboardInterrupt):
    """Ctrl-C that arrived while the finished output was being put in place: it waited, and the output is whole."""

    def __init__(self, out):
        super().__init__(f"interrupted as the output was put in place; it is complete: {out}")


@contextmanager
def locked(path: Path, shown: str | Path) -> Iterator[None]:
    """One writer at a time for ``path``: a second one gets a one-line refusal (the lock ends with the process).

    The lock file is removed when released. A writer that opened it just before that removal would lock a file
    nobody else can see any more, so after locking it checks that the file it holds is still the one on disk, and
    otherwise locks the new one."""
    import fcntl

    path.parent.mkdir(parents=True, exist_ok=True)
    lock_file = path.with_name(f".{path.name}.lock")
    for _ in range(100):
        try:
            handle = open(lock_file, "a")
        except OSError as err:  # a place where no file can be made (/proc, a read-only mount)
            raise DataError(f"--out cannot be written here ({err.strerror or err}): choose another folder",
                            shown) from None
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            handle.close()
            if err.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            raise DataError("another dplib command is writing this folder now: wait for it or choose another "
                            "--out", shown) from None
        try:
            if os.stat(lock_file).st_ino == os.fstat(handle.fileno()).st_ino:
                break
        except FileNotFoundError:
            pass
        handle.close()  # the file was removed by a writer that just finished: lock the one on disk now
    else:
        raise DataError("could not hold the lock beside this folder: other dplib commands keep replacing it", shown)
    try:
        yield
    finally:
        lock_file.unlink(missing_ok=True)  # while still held: a writer that opens it now sees it is gone
        handle.close()


@contextmanager
def disk_full_named(out) -> Iterator[None]:
    """A full disk (or quota) while writing is said as one line naming ``--out``, not as a bare errno."""
    try:
        yield
    except OSError as err:
        if err.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DataError(f"the disk of --out is full ({err.strerror}): free some space or choose another folder; "
                            "the previous output, if any, is untouched", out) from None
        raise


@contextmanager
def output_folder(out: str | Path, command: str, inputs: Sequence[str | Path | None] = (),
                  force: bool = False) -> Iterator[Path]:
    """A temporary folder to write ``command``'s output into; it replaces ``out`` when the block ends, and is
    removed (``out`` untouched) when the block raises or is interrupted. ``out`` is checked before the block runs
    (:func:`check_output`) and locked while it runs (:func:`locked`)."""
    path = check_output(out, command, inputs, force)
    with locked(path, out):
        check_output(out, command, inputs, force)  # again under the lock: another writer may have just finished
        partial = partial_folder(path)
        try:
            with disk_full_named(out):
                yield partial
                mark(partial, command)
            try:
                replace_folder(partial, path)
            except KeyboardInterrupt:  # held until the swap was done: the new output is in place, say so
                if not partial.exists():
                    raise InterruptedAfterSave(out) from None
                raise
        finally:
            shutil.rmtree(partial, ignore_errors=True)


@contextmanager
def owned_folder(out: str | Path, command: str, inputs: Sequence[str | Path | None] = (),
                 force: bool = False) -> Iterator[Path]:
    """For library calls that already build their folder whole (synthetic data, shards, the real lyrics set):
    ``out`` checked and locked around the call, and marked as ``command``'s afterwards."""
    path = check_output(out, command, inputs, force)
    with locked(path, out), disk_full_named(out):
        check_output(out, command, inputs, force)
        yield path
        if path.is_dir():
            mark(path, command)
