"""The README's map of the code stays true: the path of one pair, and how many functions and files it enters."""
import json
import re
import subprocess
import sys

from conftest import REPO


def test_the_readme_map_is_the_path_a_pair_takes(synth_quick, tmp_path):
    done = subprocess.run([sys.executable, str(REPO / "tests" / "pair_path.py"), str(synth_quick), str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    entered = [tuple(call) for call in json.loads(done.stdout.strip().splitlines()[-1])]
    readme = (REPO / "README.md").read_text()
    table = readme.split("<!-- pair-path:start -->", 1)[1].split("<!-- pair-path:end -->", 1)[0]
    steps = re.findall(r"^\| (\d+) \| `(\w+)` \| `([\w/]+\.py)` \|", table, flags=re.M)
    assert [int(n) for n, _, _ in steps] == list(range(1, len(steps) + 1)) and len(steps) >= 15
    listed = [(file, name) for _, name, file in steps]
    missing = [step for step in listed if step not in entered]
    assert not missing, f"the README lists functions the path does not enter: {missing}"
    order = [entered.index(step) for step in listed]
    assert order == sorted(order), "the README lists the path's functions out of the order they are first called"
    files = {file for file, _ in entered}
    count = re.search(r"<!-- pair-path-count -->(.*?)<!-- /pair-path-count -->", readme).group(1)
    assert count == f"{len(entered)} functions in {len(files)} files", (
        f"the README's count is {count!r}; the path now enters {len(entered)} functions in {len(files)} files")
