"""Bad musiXmatch bag-of-words files: a counted skip naming the line, or one DataError."""
import pytest

from dplib.datasets import musixmatch
from dplib.datasets.musixmatch import load_musixmatch
from dplib.datasets.report import DataError

HEADER = "# comment\n%i,the,you\n"


def write(tmp_path, text: str | bytes):
    path = tmp_path / "mxm_dataset_train.txt"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_track_listed_twice_keeps_its_first_line(tmp_path):
    path = write(tmp_path, HEADER + "TRA,1,1:2\nTRB,2,2:1\nTRA,3,3:5\n")
    bow = load_musixmatch(path)
    assert bow.track_ids == ["TRA", "TRB"] and bow.tokens(0) == ["i", "i"]
    assert bow.report.skips == {"duplicate track id (the first line is kept)": 1}
    with pytest.raises(DataError, match=r"mxm_dataset_train\.txt, line 5: duplicate track id"):
        load_musixmatch(path, strict=True)


def test_a_second_word_list_is_an_error_naming_its_line(tmp_path):
    path = write(tmp_path, HEADER + "TRA,1,1:2\n%love,me,do\nTRB,2,1:1\n")
    with pytest.raises(DataError, match=r"line 4: a second '%' word list"):
        load_musixmatch(path)


def test_a_byte_order_mark_and_windows_line_ends_are_read(tmp_path):
    path = write(tmp_path, b"\xef\xbb\xbf" + (HEADER + "TRA,1,1:2,3:1\n").replace("\n", "\r\n").encode())
    bow = load_musixmatch(path)
    assert bow.words == ["i", "the", "you"] and bow.tokens(0) == ["i", "i", "you"] and not bow.report.skips


def test_a_line_that_is_not_utf8_is_a_counted_skip(tmp_path):
    path = write(tmp_path, HEADER.encode() + b"TRA,1,1:2\nTR\xff\xfe,2,1:1\nTRC,3,2:1\n")
    bow = load_musixmatch(path)
    assert bow.track_ids == ["TRA", "TRC"] and bow.report.skips == {"not UTF-8 text": 1}
    with pytest.raises(DataError, match="line 4: not UTF-8 text"):
        load_musixmatch(path, strict=True)


@pytest.mark.parametrize("counts", ["1:2000000000", "1:99999999999999999999", "1:60000,2:60000"])
def test_a_word_count_that_would_cost_gigabytes_is_refused(tmp_path, counts):
    path = write(tmp_path, HEADER + f"TRBOMB,1,{counts}\nTRA,2,1:1\n")
    bow = load_musixmatch(path)
    assert bow.track_ids == ["TRA"] and bow.report.skips == {"word count too large": 1}
    assert f"at most {musixmatch.MAX_WORDS:,}" in bow.report.summary()
    assert bow.as_texts() == {"TRA": "i"}
    with pytest.raises(DataError, match=r"line 3: word count too large: TRBOMB"):
        load_musixmatch(path, strict=True)
