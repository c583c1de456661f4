"""Outputs are written completely or not at all, also when two processes write the same file at once."""
import multiprocessing
import os
import stat

import pytest

from dplib.datasets.files import write_text, written

SIZE = 4_000_000  # large enough that a write takes a while and two writers overlap


def _write_many(path: str, letter: str, times: int) -> None:
    for _ in range(times):
        write_text(path, letter * SIZE)


def test_two_processes_writing_one_file_never_leave_it_half_written(tmp_path):
    # two notebooks side by side may train the same configuration and save the same result file
    path = tmp_path / "result.json"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_write_many, args=(str(path), letter, 15)) for letter in "ab"]
    for writer in writers:
        writer.start()
    seen = set()
    while any(writer.is_alive() for writer in writers):
        if path.exists():
            text = path.read_text()
            assert text in ("a" * SIZE, "b" * SIZE), f"a reader saw {len(text)} characters, {set(text)}"
            seen.add(text[0])
    assert all(writer.exitcode == 0 for writer in writers)
    assert path.read_text() in ("a" * SIZE, "b" * SIZE)
    assert seen, "the reader saw the file at least once while they wrote"
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"], "no temporary file is left behind"


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "model.keras"
    path.write_text("old")
    with pytest.raises(RuntimeError):
        with written(path) as partial:
            assert partial.name.endswith(".keras") and partial.parent == tmp_path  # writers read the format from it
            partial.write_text("half")
            raise RuntimeError("the writer failed")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["model.keras"]


def test_finished_outputs_get_the_usual_permissions(tmp_path):
    umask = os.umask(0o022)
    try:
        path = write_text(tmp_path / "table.md", "x")
    finally:
        os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644  # not the private 0600 of a temporary file
