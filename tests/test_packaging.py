"""pyproject.toml and environment.yml must name the same dependencies."""
import re
import tomllib

import yaml

from conftest import REPO


def names(requirements):
    return {re.split(r"[<>=!~\[ ;]", r.strip(), maxsplit=1)[0].lower() for r in requirements}


def test_environment_yml_matches_pyproject():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    assert "conda-forge" in env["channels"]
    assert any(str(d).startswith("python=3.11") for d in env["dependencies"])
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert "-e .[dev]" in pip_section
    listed = names(r for r in pip_section if not r.startswith("-e"))
    wanted = names(project["dependencies"]) | names(project["optional-dependencies"]["dev"])
    assert listed == wanted, f"only in environment.yml: {listed - wanted}; only in pyproject: {wanted - listed}"


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
