"""Bad input is never dropped silently: it raises :class:`DataError` naming the
file (and line), or it is counted in a :class:`SkipReport` that a summary prints."""
from __future__ import annotations

import csv
import os
import re
import stat
from collections import Counter
from pathlib import Path
from typing import Iterator


def short_path(path: str | Path) -> str:
    """``path`` relative to the working directory when it lies inside it, or inside the checkout or beside it
    (messages and notebook outputs then name no machine's absolute paths); any other path as given."""
    path = Path(path)
    if path.is_absolute():
        near = Path(__file__).resolve().parents[3]  # the folder that holds the checkout
        try:
            relative = os.path.relpath(path)
        except ValueError:  # another drive (Windows)
            return str(path)
        if not relative.startswith("..") or path.resolve().is_relative_to(near):
            return relative
    return str(path)


TRACK_ID_MAX = 200
_FORBIDDEN = re.compile(r"[/\\\x00-\x1f\x7f\ud800-\udfff]")  # path separators, control characters, lone surrogates


def valid_track_id(value) -> bool:
    """The track id grammar every loader applies (MSD ids like ``TRAAAAW128F429D538`` and any id of your own): a
    string of 1 to 200 characters without path separators, control characters (newlines, NUL) or lone surrogates
    (JSON's ``"\\ud800"``: no file name or UTF-8 file can hold one), that is not ``.`` or ``..`` and has no blank at
    either end. An id names files (``lyrics/TRACKID.txt``) and CSV cells."""
    return (isinstance(value, str) and 0 < len(value) <= TRACK_ID_MAX and value == value.strip()
            and value not in (".", "..") and _FORBIDDEN.search(value) is None)


def where(path: str | Path | None, line: int | None = None) -> str:
    if path is None:
        return "<input>"
    return f"{short_path(path)}, line {line}" if line is not None else short_path(path)


class DataError(ValueError):
    """Bad input, with the file and line it came from."""

    def __init__(self, message: str, path: str | Path | None = None, line: int | None = None):
        self.path, self.line, self.message = path, line, message
        super().__init__(f"{where(path, line)}: {message}")

    @property
    def reason(self) -> str:
        """The kind of problem, without the details (for skip counts)."""
        return self.message.split(":")[0].split(" (")[0]

    @property
    def detail(self) -> str:
        """What :attr:`reason` leaves out ("" when nothing)."""
        return self.message[len(self.reason):].strip(" :()")


class SkipReport:
    """Counts what a loader skipped (and converted), with a few examples of each.

    With ``strict=True`` the first skip raises :class:`DataError` instead.
    """

    def __init__(self, strict: bool = False, max_examples: int = 3):
        self.strict = strict
        self.max_examples = max_examples
        self.skips: Counter[str] = Counter()
        self.notes: Counter[str] = Counter()
        self.examples: dict[str, list[str]] = {}

    def skip(self, reason: str, path=None, line: int | None = None, detail: str = "", count: int = 1) -> None:
        message = f"{reason}: {detail}" if detail else reason
        if self.strict:
            raise DataError(message, path, line)
        self.skips[reason] += count
        shown = self.examples.setdefault(reason, [])
        if len(shown) < self.max_examples:
            shown.append(f"{where(path, line)}: {detail}" if detail else where(path, line))

    def note(self, what: str, count: int = 1) -> None:
        """A conversion that kept the data (resampled, mixed down, cropped)."""
        self.notes[what] += count

    @property
    def total(self) -> int:
        return sum(self.skips.values())

    def __len__(self) -> int:
        return self.total

    def merge(self, other: "SkipReport") -> "SkipReport":
        self.skips.update(other.skips)
        self.notes.update(other.notes)
        for reason, shown in other.examples.items():
            mine = self.examples.setdefault(reason, [])
            mine.extend(shown[: self.max_examples - len(mine)])
        return self

    def top(self, n: int = 3) -> str:
        """The ``n`` most frequent skip reasons with their counts, for an error that needs its cause ("" if none)."""
        return ", ".join(f"{count:,} {reason}" for reason, count in self.skips.most_common(n))

    def summary(self) -> str:
        if not self.skips and not self.notes:
            return "nothing skipped"
        lines = [f"skipped {self.total}:"] if self.skips else []
        for reason, n in sorted(self.skips.items()):
            lines.append(f"  {n:>7,} {reason}  (e.g. {'; '.join(self.examples.get(reason, []))})")
        for what, n in sorted(self.notes.items()):
            lines.append(f"  {n:>7,} {what} (kept)")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"SkipReport({dict(self.skips)}, notes={dict(self.notes)})"


MAX_LINE_BYTES = 16 << 20  # no line of these formats comes near it; a longer one is skipped, never read whole


def small_file(path: Path, limit: int, usual: str, what: str = "file") -> bytes:
    """A whole small file's bytes: a regular file of at most ``limit`` bytes (``usual``: what such files hold, and
    ``what`` they are, for the message). Looked at before it is opened: a named pipe would block the read
    forever, a device or a huge file would fill memory."""
    if not stat.S_ISREG(Path(path).stat().st_mode):
        raise DataError("not a regular file (a device, a pipe or a folder)", path)
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise DataError(f"{what} too large ({usual}; at most {limit:,} bytes read)", path)
    return data


def utf8_lines(path: Path, report: SkipReport, where: list[int]) -> Iterator[str]:
    """The lines of a text file, decoded one by one: a line that is not UTF-8, or longer than
    :data:`MAX_LINE_BYTES`, is a counted skip naming its line number (a byte-order mark at the start is dropped).
    ``where[0]`` follows the line number. Memory holds one line at most. A device or a pipe (``/dev/zero`` has no end
    and no line break) is refused: only a regular file has an end to read to."""
    with open(path, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise DataError("not a regular file (a device or a pipe): give a file", path)
        line_no = 0
        while raw := f.readline(MAX_LINE_BYTES + 1):
            line_no += 1
            where[0] = line_no
            if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
                while (rest := f.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                    pass  # the rest of the long line, read in bounded pieces and dropped
                report.skip(f"line over {MAX_LINE_BYTES >> 20} MB", path, line_no)
                continue
            try:
                yield raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
            except UnicodeDecodeError as err:
                report.skip("not UTF-8 text", path, line_no, f"byte {err.start}")


def text_hint(path: Path) -> str:
    """Why a text file may not read as its format says, from its first bytes: UTF-16, or lines that end in a bare
    CR (old Mac files, read as one long line); "" when neither."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return ""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\x00" in head:
        return " (it looks like UTF-16 text: save it as UTF-8)"
    return " (its lines end in a bare CR: save it with \\n line ends)" if b"\r" in head and b"\n" not in head else ""


def csv_rows(path: Path, report: SkipReport) -> Iterator[tuple[int, list[str]]]:
    """``(line number, fields)`` of a CSV whose fields never span lines (track ids and scores), blank lines passed
    over. Each line is parsed alone, so a stray quote costs its own line, as a counted skip, instead of swallowing
    the rows after it into one field. Lines come from :func:`utf8_lines` (bounded, decoded one by one)."""
    where = [0]
    for line in utf8_lines(path, report, where):
        text = line.rstrip("\r\n")
        if not text.strip():  # a blank line is no record (trailing ones are common)
            continue
        if text.count('"') % 2:
            report.skip("unbalanced quote", path, where[0], text[:60])
            continue
        try:
            yield where[0], next(csv.reader([text]), [])
        except csv.Error as err:  # a field over the csv module's limit
            report.skip("unreadable CSV row", path, where[0], str(err)[:80])
