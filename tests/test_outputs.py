"""A user's files are never lost: every command checks its --out before any work, refuses folders it did not
write, replaces its own earlier output only with --force, writes a run whole or not at all, and lets one writer
at a time into a folder."""
import json
import os
import signal
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from conftest import run_cli
from dplib.datasets.files import partial_folder, replace_folder
from dplib.datasets.report import DataError
from dplib.outputs import MARK, check_output, locked, output_folder


def foreign(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "thesis.tex").write_text("years of work")
    return folder


def test_fetch_into_a_folder_of_someone_elses_files_refuses_and_touches_nothing(tmp_path):
    mine = foreign(tmp_path / "mine")
    (tmp_path / "scores.csv").write_text("A,B,0.9\n")
    (tmp_path / "archive.zip").write_bytes(b"not read: the refusal comes first")
    code, _, stderr = run_cli("data", "fetch", "real-lyrics", "--scores", tmp_path / "scores.csv",
                              "--lyrics-archive", tmp_path / "archive.zip", "--out", mine)
    assert code == 1 and "did not write (e.g. thesis.tex)" in stderr and "Traceback" not in stderr
    assert (mine / "thesis.tex").read_text() == "years of work" and sorted(p.name for p in mine.iterdir()) == ["thesis.tex"]
    code, _, stderr = run_cli("data", "fetch", "real-lyrics", "--scores", tmp_path / "scores.csv",
                              "--lyrics-archive", tmp_path / "archive.zip", "--out", mine, "--force")
    assert code == 1 and "did not write" in stderr  # --force replaces the command's own output, never foreign files
    assert (mine / "thesis.tex").exists()


@pytest.mark.parametrize("case", ["a file", "under a file", "unwritable", "holds an input", "foreign"])
def test_synth_refuses_a_bad_out_before_any_work(case, tmp_path):
    out = {"a file": tmp_path / "f", "under a file": tmp_path / "f" / "sub", "unwritable": tmp_path / "ro" / "new",
           "holds an input": tmp_path, "foreign": tmp_path / "mine"}[case]
    (tmp_path / "f").write_text("a file")
    (tmp_path / "ro").mkdir(mode=0o555)
    foreign(tmp_path / "mine")
    if case == "unwritable" and os.access(tmp_path / "ro", os.W_OK):
        pytest.skip("running as a user who can write anywhere (root): permissions cannot refuse")
    argv = ["data", "shards", tmp_path / "mine"] if case == "holds an input" else ["data", "synth", "--size", "quick"]
    code, _, stderr = run_cli(*argv, "--out", out)
    said = {"a file": "--out is a file", "under a file": "lies under a file (f)", "unwritable": "cannot be written",
            "holds an input": "holds this command's input", "foreign": "did not write (e.g. thesis.tex)"}[case]
    assert code == 1 and said in stderr and len(stderr.strip().splitlines()) == 1, stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f", "mine", "ro"]  # nothing generated beside them


def test_a_commands_own_output_is_replaced_only_with_force(tmp_path):
    out = tmp_path / "run"
    with output_folder(out, "evaluate") as partial:
        (partial / "metrics.json").write_text("{}")
    assert json.loads((out / MARK).read_text()) == {"command": "evaluate", "files": ["metrics.json"]}
    with pytest.raises(DataError, match="add --force"):
        check_output(out, "evaluate")
    with pytest.raises(DataError, match="'dplib train' did not write"):
        check_output(out, "train", force=True)  # another command's output is as foreign as anyone's
    with output_folder(out, "evaluate", force=True) as partial:
        (partial / "metrics.json").write_text('{"second": 1}')
    assert json.loads((out / "metrics.json").read_text()) == {"second": 1}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]  # no partial, old or lock file left


@pytest.mark.parametrize("added", ["notes.txt", "eval/metrics.json", "plots/"])
def test_force_never_replaces_a_file_the_user_added_inside_an_earlier_output(added, tmp_path):
    """``evaluate --out run/eval`` then ``train --out run --force`` must not delete the evaluation: --force replaces
    only the files its own mark lists, at any depth."""
    out = tmp_path / "run"
    with output_folder(out, "train") as partial:
        (partial / "model.keras").write_text("model")
        (partial / "assets").mkdir()
        (partial / "assets" / "vocabulary.json").write_text("[]")
    check_output(out, "train", force=True)  # nothing added yet: --force may replace it
    target = out / added
    target.parent.mkdir(parents=True, exist_ok=True)
    if added.endswith("/"):
        target.mkdir()
    else:
        target.write_text("the user's own")
    before = sorted(p.relative_to(out).as_posix() for p in out.rglob("*"))
    with pytest.raises(DataError, match=f"did not write \\(e.g. {added.rstrip('/').split('/')[0]}"):
        with output_folder(out, "train", force=True) as partial:
            pytest.fail("the refusal comes before the block runs")
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*")) == before
    if not added.endswith("/"):
        assert target.read_text() == "the user's own"


def test_force_refuses_an_output_whose_mark_lists_no_files(tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "metrics.json").write_text("{}")
    (out / MARK).write_text(json.dumps({"command": "evaluate"}))  # as an older dplib wrote it
    with pytest.raises(DataError, match="did not list the files it wrote"):
        check_output(out, "evaluate", force=True)
    assert (out / "metrics.json").read_text() == "{}"


@pytest.mark.parametrize("stage", ["before any file", "after the model", "after every file"])
def test_an_interrupt_while_saving_leaves_the_previous_run_whole(stage, tmp_path):
    out = tmp_path / "run"
    with output_folder(out, "train") as partial:
        for name in ("model.keras", "vocabulary.json", "metrics.json"):
            (partial / name).write_text(f"old {name}")
    before = {p.name: p.read_text() for p in out.iterdir()}
    with pytest.raises(KeyboardInterrupt):
        with output_folder(out, "train", force=True) as partial:
            written = {"before any file": [], "after the model": ["model.keras"],
                       "after every file": ["model.keras", "vocabulary.json", "metrics.json"]}[stage]
            for name in written:
                (partial / name).write_text(f"new {name}")
            raise KeyboardInterrupt
    assert {p.name: p.read_text() for p in out.iterdir()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def signal_after_the_first_rename(monkeypatch) -> list:
    """Ctrl-C delivered between the two renames of a swap (``--out`` aside, the new folder in); returns the
    renames' targets as they happen."""
    real_rename, calls = Path.rename, []

    def rename_then_signal(self, target):
        result = real_rename(self, target)
        calls.append(target)
        if len(calls) == 1:
            os.kill(os.getpid(), signal.SIGINT)
        return result

    monkeypatch.setattr(Path, "rename", rename_then_signal)
    return calls


def test_a_signal_between_the_two_renames_waits_until_both_are_done(tmp_path, monkeypatch):
    """The swap renames --out aside, then the new folder in: Ctrl-C arriving in between is held until both are done."""
    out, partial = tmp_path / "run", None
    out.mkdir()
    (out / "old").write_text("old")
    partial = partial_folder(out)
    (partial / "new").write_text("new")
    calls = signal_after_the_first_rename(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        replace_folder(partial, out)
        for _ in range(1000):  # the held signal is delivered as soon as the swap ends
            pass
    assert (out / "new").read_text() == "new" and len(calls) == 2


def test_ctrl_c_during_the_swap_says_the_new_output_was_kept(tmp_path, monkeypatch):
    """The signal waits until the new folder is in place; the command then says that the output is complete,
    not that nothing was kept."""
    from dplib.outputs import InterruptedAfterSave

    out = tmp_path / "run"
    with output_folder(out, "train") as partial:
        (partial / "metrics.json").write_text("old")
    signal_after_the_first_rename(monkeypatch)
    with pytest.raises(InterruptedAfterSave, match="it is complete"):
        with output_folder(out, "train", force=True) as partial:
            (partial / "metrics.json").write_text("new")
    assert (out / "metrics.json").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_second_writer_is_refused_while_the_first_one_runs(tmp_path):
    out = tmp_path / "data"
    with locked(out.resolve(), out):
        code, _, stderr = run_cli("data", "synth", "--size", "quick", "--out", out)
    assert code == 1 and "another dplib command is writing this folder now" in stderr
    assert not out.exists()


def test_a_lock_file_removed_by_the_writer_before_is_not_held_alone(tmp_path, monkeypatch):
    """The race of a released lock: a writer opened the lock file just before the one before it removed it. It must
    not run holding a file nobody else can see; it locks the file on disk instead."""
    import fcntl

    out = tmp_path / "data"
    lock_file = tmp_path / ".data.lock"
    real_flock, calls = fcntl.flock, []

    def flock(handle, how):
        real_flock(handle, how)
        calls.append(os.fstat(handle.fileno()).st_ino)
        if len(calls) == 1:
            lock_file.unlink()  # the writer before us finishes now: it removes the file we just locked

    monkeypatch.setattr(fcntl, "flock", flock)
    with locked(out, out):
        assert len(calls) == 2 and calls[1] == lock_file.stat().st_ino  # the file on disk is the one held
        monkeypatch.setattr(fcntl, "flock", real_flock)
        with pytest.raises(DataError, match="another dplib command is writing"):
            with locked(out, out):
                pass
    assert not lock_file.exists()


@pytest.mark.parametrize("out", [".", ".."])
def test_the_working_folder_is_never_an_output(out, tmp_path, monkeypatch):
    """An empty working folder as --out would be swapped away under the user's shell."""
    (tmp_path / "here").mkdir()
    monkeypatch.chdir(tmp_path / "here")
    with pytest.raises(DataError, match="the folder you are in"):
        check_output(out, "evaluate")


@pytest.mark.parametrize("text", ["../x", "a/b", "/etc", "~", "x" * 300])
def test_out_paths_that_are_names_of_nothing_yet_are_accepted(text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    if text in ("/etc", "~"):  # existing folders of someone else's files
        if not any(Path(text).expanduser().iterdir()):
            pytest.skip(f"{text} is empty here")
        with pytest.raises(DataError):
            check_output(text, "train")
        return
    if len(text) > 255:
        with pytest.raises(DataError):  # a name the file system cannot hold is refused up front, in one line
            check_output(text, "train")
        return
    assert check_output(text, "train") == (Path.cwd() / text).resolve()


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.integers(min_value=-2**80, max_value=2**80).map(str), st.floats(allow_nan=True).map(repr),
                 st.text(max_size=8)))
def test_option_validators_accept_exactly_their_ranges(text):
    import argparse
    import math

    from dplib.cli import bounded, seed_int

    for parse, kind, low, high in ((seed_int, int, 0, 2**32 - 1), (bounded(float, 1e-7, 1.0, "a rate"), float, 1e-7, 1.0)):
        try:
            expected = kind(text)
            ok = math.isfinite(expected) and low <= expected <= high
        except (ValueError, OverflowError):
            ok = False
        if ok:
            assert parse(text) == expected
        else:
            with pytest.raises(argparse.ArgumentTypeError):
                parse(text)


def test_sigterm_stops_a_command_as_ctrl_c_does_leaving_nothing_half_written(tmp_path):
    """SIGTERM (a job scheduler, ``kill``) killed the process before its clean-up: ``.out.partial-*`` and the lock
    stayed beside --out for ever. Now it runs the same clean-up as Ctrl-C, says so in one line, exit 143."""
    import subprocess
    import sys
    import time

    proc = subprocess.Popen([sys.executable, "-m", "dplib.cli", "data", "synth", "--size", "default", "--out", "new"],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    deadline = time.time() + 120
    while not list(tmp_path.glob(".new.partial-*")) and time.time() < deadline and proc.poll() is None:
        time.sleep(0.05)  # the generation has begun writing (the default size takes a minute: the signal lands mid-way)
    assert proc.poll() is None, "the generation ended before it could be interrupted"
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=10)  # one signal is enough (see the next test)
    assert proc.returncode == 143 and "Traceback" not in stderr, stderr  # (progress lines may come before it)
    assert stderr.strip().splitlines()[-1] == "dplib data synth: terminated; nothing half-written was kept", stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no partial folder, no lock, no output


def test_a_sigterm_that_c_code_swallowed_is_sent_again_until_the_command_stops():
    """numpy's coercion of a list swallowed the exception SIGTERM's handler raised in about 1 run of 4 of
    ``data synth``, which then ran on to the end. The signal is now sent again until it is acted on; repeats that
    arrive while the interrupt is being handled (the clean-up in ``finally``) are ignored."""
    import time

    from dplib.outputs import Terminated, sigterm_as_interrupt

    before = signal.getsignal(signal.SIGTERM)
    ended = sigterm_as_interrupt(every=0.05)
    cleaned = []
    try:
        with pytest.raises(Terminated):
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.01)  # the handler runs here; the exception it raises is then swallowed, as C code did
            except Terminated:
                pass
            try:
                deadline = time.time() + 5
                while time.time() < deadline:  # the command goes on, until the signal comes again
                    time.sleep(0.001)
            finally:
                time.sleep(0.3)  # clean-up that spans several repeats is not cut short
                cleaned.append(True)
        assert cleaned == [True] and time.time() < deadline
    finally:
        ended()
    assert signal.getsignal(signal.SIGTERM) is before  # the command has ended: SIGTERM is the caller's again


def test_a_full_disk_is_one_line_naming_out_and_leaves_the_previous_output(tmp_path):
    import errno

    out = tmp_path / "run"
    with output_folder(out, "train") as partial:
        (partial / "metrics.json").write_text("old")
    with pytest.raises(DataError, match=r"run: the disk of --out is full \(No space left on device\)"):
        with output_folder(out, "train", force=True) as partial:
            (partial / "model.keras").write_text("half")
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    assert (out / "metrics.json").read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["run"]
