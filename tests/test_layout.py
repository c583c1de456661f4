"""The README's map of the code stays true: the path of one pair, the notebook's way and the library's, the step each
listed function runs inside, and how many functions and files each path enters."""
import json
import re
import subprocess
import sys

from conftest import REPO


def check_table(readme: str, name: str, traced: list) -> None:
    """The README's table ``name`` lists functions of the ``traced`` path, in the order of their first calls, each with
    the listed step it runs inside; its count line says how many steps, functions and files."""
    entered = [(file, function) for file, function, _ in traced]
    table = readme.split(f"<!-- {name}:start -->", 1)[1].split(f"<!-- {name}:end -->", 1)[0]
    steps = re.findall(r"^\| (\d+) \| `([\w.]+)` \| `([\w/]+\.(?:py|ipynb))` \| (\d+|-) \|", table, flags=re.M)
    assert [int(n) for n, *_ in steps] == list(range(1, len(steps) + 1)) and len(steps) >= 15
    listed = [(file, function) for _, function, file, _ in steps]
    missing = [step for step in listed if step not in entered]
    assert not missing, f"the README's {name} lists functions the path does not enter: {missing}"
    order = [entered.index(step) for step in listed]
    assert order == sorted(order), f"the README's {name} lists functions out of the order they are first called"
    inside = {(file, function): [tuple(outer) for outer in within] for file, function, within in traced}
    for n, function, file, said in steps:  # the listed step it runs inside: its innermost caller the table lists
        callers = [listed.index(outer) + 1 for outer in inside[(file, function)] if outer in listed]
        assert said == (str(callers[0]) if callers else "-"), (
            f"{name} step {n} ({function}) runs inside step {callers[0] if callers else '-'}, the README says {said}")
    count = re.search(rf"<!-- {name}-count -->(.*?)<!-- /{name}-count -->", readme).group(1)
    measured = (f"{len(listed)} steps in {len({file for file, _ in listed})} files; with every helper they call, "
                f"{len(entered)} functions in {len({file for file, _ in entered})} files")
    assert count == measured, f"the README's count of the {name} is {count!r}; measured: {measured!r}"


def test_the_readme_map_is_the_path_a_pair_takes(synth_quick, tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "tests" / "pair_path.py"), str(synth_quick), str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    paths = json.loads(done.stdout.strip().splitlines()[-1])
    readme = (REPO / "README.md").read_text()
    check_table(readme, "open-path", paths["notebook"])
    check_table(readme, "library-path", paths["library"])
