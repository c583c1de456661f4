"""pyproject.toml and environment.yml must name the same dependencies."""
import ast
import re
import sys
import tomllib

import pytest
import yaml

from conftest import REPO


def names(requirements):
    return {re.split(r"[<>=!~\[ ;]", r.strip(), maxsplit=1)[0].lower() for r in requirements}


def test_environment_yml_installs_the_package_and_repeats_no_dependency():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    python = next(str(d) for d in env["dependencies"] if str(d).startswith("python="))
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=" + python.split("=")[1]  # the version the tests run on is the floor
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert pip_section == ["-e .[dev]"]


def test_the_core_holds_what_the_library_imports_and_no_jupyter():
    """jupyterlab and papermill only for notebooks, pytest only for tests: upgrading Jupyter inside Colab restarts it."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    core, extras = names(project["dependencies"]), project["optional-dependencies"]
    assert not core & {"jupyterlab", "papermill", "ipykernel", "pytest", "nbval", "hypothesis"}
    imported = set()
    for path in (REPO / "dplib").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                imported.add(node.module.split(".")[0])
    pypi = {"sklearn": "scikit-learn", "yaml": "pyyaml"}
    optional = {"papermill", "soundfile", "h5py", "nbformat"}  # each behind the command or extra that needs it
    third_party = {pypi.get(m, m) for m in imported} - set(sys.stdlib_module_names) - {"dplib"} - optional
    assert third_party <= core, f"imported but not in the core: {third_party - core}"
    assert names(extras["dev"]) == {"dplib"} and "notebooks" in extras and "test" in extras


def test_console_script_points_at_the_cli():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["scripts"]["dplib"] == "dplib.cli:main"


def test_every_notebook_starts_with_the_install_cell_and_the_one_setup_call():
    import json

    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        code = ["".join(c["source"]) for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
        assert 'importlib.util.find_spec("dplib") is None' in code[0], path.name
        assert "from dplib.notebook import setup" in code[1] and "cfg, folder = setup(" in code[1], path.name
        assert not any("quiet_tensorflow()" in c or "get_config()" in c for c in code), path.name  # no copies


def test_committed_notebook_outputs_name_no_machine_paths_and_no_tensorflow_log_lines():
    import json

    machine = re.compile(r"(/work/|/home/|/root/|/tmp/|/Users/|[A-Z]:\\\\)")
    tf_log = re.compile(r"\b[IWE]0000 00:00:|cudart_stub|cuda_platform|absl::InitializeLog")
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            for out in cell.get("outputs", []):
                text = "".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
                assert not machine.search(text), f"{path.name}: a machine path in an output: {text[:200]}"
                assert not tf_log.search(text), f"{path.name}: a TensorFlow log line in an output: {text[:200]}"


def test_every_notebook_ends_with_exercises_and_keeps_its_outputs_short_and_its_metadata_plain():
    import json

    progress = re.compile(r"best epoch|s of training|^Epoch \d+/\d+|\d+/\d+ \[=*>?\.*\]|it/s")
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        nb = json.loads(path.read_text())
        last = "".join(nb["cells"][-1]["source"])
        assert nb["cells"][-1]["cell_type"] == "markdown" and last.startswith("## Exercises"), path.name
        assert 2 <= len(re.findall(r"^\d\. ", last, flags=re.M)) <= 3, f"{path.name}: two or three exercises"
        paths = nb["metadata"].get("papermill", {})
        assert {paths.get("input_path"), paths.get("output_path")} <= {path.name, None}, path.name
        for cell in nb["cells"]:
            for out in cell.get("outputs", []):
                run = longest = 0
                for line in "".join(out.get("text", "")).splitlines():
                    run = run + 1 if progress.search(line) else 0
                    longest = max(longest, run)
                assert longest <= 12, f"{path.name}: {longest} progress lines in a row in one output"


def test_every_readme_table_renders_with_all_its_cells():
    """A GitHub table needs a delimiter row with as many cells as its header; a row with more cells loses the extra
    ones. markdown-it (the CommonMark parser, tables on) must see every |-line as part of a table, each row with the
    header's number of cells (unescaped pipes split cells, inside code spans too)."""
    from markdown_it import MarkdownIt

    lines = (REPO / "README.md").read_text().splitlines()
    tokens = MarkdownIt("commonmark").enable("table").parse("\n".join(lines))
    in_tables = {i for t in tokens if t.type == "table_open" for i in range(*t.map)}
    piped = {i for i, line in enumerate(lines) if line.lstrip().startswith("|")}
    assert piped <= in_tables, f"README lines {sorted(i + 1 for i in piped - in_tables)[:5]} are not in a table"

    def cells(line: str) -> int:
        return len(re.split(r"(?<!\\)\|", line.strip().strip("|")))

    for t in (t for t in tokens if t.type == "table_open"):
        start, end = t.map
        widths = {i + 1: cells(lines[i]) for i in range(start, end) if lines[i].strip()}
        assert len(set(widths.values())) == 1, f"README table at line {start + 1}: cells per row {widths}"


def test_the_install_cell_prefers_the_checkout_and_pins_the_version_elsewhere(monkeypatch, tmp_path):
    """Inside a clone, the notebook installs that copy; on Colab (or anywhere else) the repository's address at
    this version; a failed install is one error that names DPLIB_REPO. Run offline: pip itself is replaced."""
    import importlib.util
    import json
    import subprocess

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    address, version = project["urls"]["Repository"], project["version"]
    cells = {p.name: next("".join(c["source"]) for c in json.loads(p.read_text())["cells"] if c["cell_type"] == "code")
             for p in sorted((REPO / "notebooks").glob("*.ipynb"))}
    assert len(set(cells.values())) == 1, "every notebook starts with the same install cell"
    cell = next(iter(cells.values()))
    calls = []
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None)
    monkeypatch.setattr(subprocess, "call", lambda args: calls.append(args[-1]) or returncode[0])
    monkeypatch.delenv("DPLIB_REPO", raising=False)
    returncode = [0]
    for where, expected in ((REPO / "notebooks", str(REPO)), (tmp_path, f"git+{address}@v{version}")):
        monkeypatch.chdir(where)
        exec(cell, {})
        assert calls[-1] == expected
    returncode[0] = 1
    with pytest.raises(RuntimeError, match="set DPLIB_REPO"):
        exec(cell, {})
    colab = f"https://colab.research.google.com/github/{address.split('github.com/')[1]}/blob/v{version}/notebooks/"
    readme = (REPO / "README.md").read_text()
    notebooks = sorted(p.name for p in (REPO / "notebooks").glob("*.ipynb"))
    assert sorted(re.findall(re.escape(colab) + r"([\w.]+)\)", readme)) == notebooks  # each at the installed version
    assert "colab.research.google.com" not in readme.replace(colab, "")
    for name in notebooks:  # and each notebook opens with its own link
        title = "".join(json.loads((REPO / "notebooks" / name).read_text())["cells"][0]["source"])
        assert f"[Open in Colab]({colab}{name})" in title


def test_the_library_face_lists_what_it_exports_and_each_name_resolves():
    import subprocess
    import sys

    import dplib

    for name in dplib.__all__:
        assert f"``{name}``" in dplib.__doc__, f"help(dplib) does not list {name}"
        assert getattr(dplib, name).__name__ == name
    cheap = subprocess.run([sys.executable, "-c", "import sys, dplib; from dplib import get_config, prepare; "
                            "assert 'tensorflow' not in sys.modules"], capture_output=True, text=True)
    assert cheap.returncode == 0, cheap.stderr  # importing dplib and preparing data load no TensorFlow


def test_test_markers_are_cell_tags_not_comments_in_teaching_cells():
    """nbval reads the tag; a student reading the cell sees only the code."""
    import json

    tagged = 0
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        for cell in json.loads(path.read_text())["cells"]:
            if cell["cell_type"] == "code":
                assert "NBVAL_" not in "".join(cell["source"]), f"{path.name}: a test marker in a cell's code"
                tagged += "nbval-check-output" in cell["metadata"].get("tags", [])
    assert tagged >= 5  # the checked outputs are still checked


def test_a_library_one_reads_in_an_afternoon():
    """No module over 400 lines, no function over 60, the command line at most 300 (parsing and dispatch only)."""
    for path in sorted((REPO / "dplib").rglob("*.py")):
        text = path.read_text()
        limit = 300 if path.name == "cli.py" else 400
        assert text.count("\n") <= limit, f"{path.relative_to(REPO)}: {text.count(chr(10))} lines, at most {limit}"
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                lines = node.end_lineno - node.lineno + 1
                assert lines <= 60, f"{path.relative_to(REPO)}: {node.name} has {lines} lines, at most 60"


def test_quick_mode_says_its_numbers_are_a_smoke_test_in_every_notebooks_setup(synth_quick, monkeypatch, capsys):
    """Every notebook's setup cell (``dplib.notebook.setup``) says, in quick mode only, that the numbers below are
    a smoke test and that the prose describes the default run (a reader's pass found most notebooks silent)."""
    from dplib.notebook import setup

    monkeypatch.setenv("DPLIB_DATA_FOLDER", str(synth_quick))  # no data generated
    monkeypatch.setenv("DPLIB_QUICK", "1")
    cfg, _ = setup()
    assert cfg.quick and "QUICK MODE (DPLIB_QUICK=1)" in capsys.readouterr().out
    monkeypatch.setenv("DPLIB_QUICK", "")
    cfg, _ = setup()
    assert not cfg.quick and "QUICK MODE" not in capsys.readouterr().out
