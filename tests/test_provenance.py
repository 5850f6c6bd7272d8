"""Which code made a result: a method folder's fingerprint follows its code, and the commit is marked -dirty exactly
when code or presets differ from it (each step's fingerprint: tests/test_stepcode.py)."""
import shutil
import subprocess

import pytest

from benchmark import provenance


def _tree(root):
    for rel, text in {"benchmark/train.py": "LR = 1\n", "benchmark/leaderboard/cells.py": "WIDTH = 80\n",
                      "benchmark/reference/t1.csv": "a,b\n", "workflow/Snakefile": "rule all:\n",
                      "workflow/profiles/slurm/config.yaml": "jobs: 50\n",
                      "methods/m/method.py": "X = 1\n", "methods/m/config.yaml": "lr: 1\n",
                      "methods/m/README.md": "# m\n", "README.md": "# project\n"}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)


def test_a_method_fingerprint_follows_its_code_not_its_readme_comments_or_leftovers(tmp_path):
    _tree(tmp_path)
    method = lambda: provenance.method_fingerprint(tmp_path / "methods" / "m")  # noqa: E731
    m0 = method()
    (tmp_path / "methods" / "m" / "README.md").write_text("# edited\n")
    (tmp_path / "methods" / "m" / "config.yaml").write_text("# tuned\nlr:   1\n")   # layout and comments
    (tmp_path / "methods" / "m" / "method.py").write_text('"""M."""\n# one\nX = (1)  # one\n')
    (tmp_path / "methods" / "m" / "method.py~").write_text("X = 2\n")   # editor leftovers
    (tmp_path / "methods" / "m" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "methods" / "m" / ".ipynb_checkpoints" / "method-checkpoint.py").write_text("X = 3\n")
    assert method() == m0
    (tmp_path / "methods" / "m" / "config.yaml").write_text("lr: 2\n")
    assert method() != m0


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_commit_is_dirty_for_code_changes_not_for_docs_or_the_published_board(tmp_path):
    _tree(tmp_path)
    (tmp_path / "leaderboard.md").write_text("# board\n")
    git = lambda *a: subprocess.run(["git", *a], cwd=tmp_path, check=True, capture_output=True)  # noqa: E731
    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init")
    clean = provenance.code_commit(tmp_path)
    assert len(clean) == 12 and not clean.endswith("-dirty")
    (tmp_path / "leaderboard.md").write_text("# published board\n")
    (tmp_path / "README.md").write_text("# edited\n")
    assert provenance.code_commit(tmp_path) == clean
    (tmp_path / "methods" / "new").mkdir()
    (tmp_path / "methods" / "new" / "method.py").write_text("Y = 1\n")  # an untracked method folder
    assert provenance.code_commit(tmp_path) == clean + "-dirty"
    assert provenance.code_commit(tmp_path / "methods" / "new" / "nowhere") == "unknown"
