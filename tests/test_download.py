"""Download helpers: offline, they say what to fetch by hand and where to put it (no network needed)."""
import pytest

from dplib.datasets import download


def test_offline_message_names_the_file_and_place(tmp_path, monkeypatch):
    import pooch

    def offline(*args, **kwargs):
        raise ConnectionError("network is unreachable")

    monkeypatch.setattr(pooch, "retrieve", offline)
    with pytest.raises(RuntimeError) as err:
        download.fetch("mxm_train", tmp_path)
    message = str(err.value)
    assert "mxm_dataset_train.txt.zip" in message
    assert str(tmp_path / "mxm_dataset_train.txt") in message and "(unzipped)" in message


def test_existing_file_is_not_downloaded_again(tmp_path, monkeypatch):
    import pooch

    (tmp_path / "lastfm_similars.db").write_bytes(b"x")
    monkeypatch.setattr(pooch, "retrieve", lambda *a, **k: pytest.fail("should not download"))
    assert download.fetch("lastfm_similars", tmp_path) == tmp_path / "lastfm_similars.db"


def test_unknown_name():
    with pytest.raises(ValueError, match="unknown file 'lyrics'"):
        download.fetch("lyrics", "/tmp")
