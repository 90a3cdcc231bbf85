"""Another revision's Threadline, exported next to this one for a same-run comparison.

`BENCH_BASELINE=<rev>` (`make bench BASELINE=<rev>`): `git archive <rev> | tar -x` once per
run into the bench's work directory. Its servers run with that tree as their working
directory: `python -m uvicorn bench.sut.threadline_app:app` and `python -c ...server.cli...`
put the cwd first on sys.path, ahead of the editable install's finder (which setuptools
appends to sys.meta_path, after the path finder), so they import that tree's `bench` and
`server`. The load generator and the measuring code stay this tree's. Same interpreter, same
installed dependencies: a baseline whose pins differ is measured on today's."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from bench.harness import ORIGIN, ROOT

ENV = "BENCH_BASELINE"
# `threadline` without the console script, which would import the editable install.
CLI = "import sys; from server.cli import main; sys.exit(main())"
# What a process started in the tree imports, printed by `imports()`.
WHERE = (
    "import importlib.util as u, sys; print(' '.join(u.find_spec(m).origin for m in sys.argv[1:]))"
)
PROBED = ("server", "server.cli", "server.app", "bench", "bench.sut.threadline_app")


def requested() -> str | None:
    return os.environ.get(ENV) or None


@dataclass(frozen=True)
class Tree:
    rev: str  # as given
    sha: str
    root: Path
    is_current: bool = False  # this checkout, uncommitted changes included
    dirty: bool = False

    @property
    def label(self) -> str:
        short = self.sha[:10]
        if self.is_current:
            return f"current (HEAD {short}{' + uncommitted changes' if self.dirty else ''})"
        return short if self.rev == short else f"{self.rev} ({short})"

    @property
    def slug(self) -> str:
        """For file names: a revision may hold a "/" or a "."."""
        return "current" if self.is_current else f"baseline-{self.sha[:10]}"

    def cli(self, *args: str) -> list[str]:
        """The tree's `threadline` command."""
        return [sys.executable, "-c", CLI, *args]

    def run_cli(self, env: dict[str, str], *args: str) -> None:
        done = subprocess.run(
            self.cli(*args),
            cwd=self.root,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(
                f"baseline `threadline {' '.join(args)}` failed ({done.returncode}): "
                f"{(done.stderr or done.stdout).strip()[-2000:]}"
            )

    def prepare(self, env: dict[str, str], site: str = "bench") -> None:
        """Migrate the (empty) database in env and register the site, with the tree's own
        code, so that its schema is the one its server expects."""
        self.run_cli(env, "migrate")
        self.run_cli(env, "site", "add", site, "--origin", ORIGIN)

    def imports(self) -> dict[str, str]:
        """Where a process started in the tree finds the modules the SUTs import."""
        out = subprocess.run(
            [sys.executable, "-c", WHERE, *PROBED],
            cwd=self.root,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.split()
        return dict(zip(PROBED, out, strict=True))

    def check(self) -> dict[str, str]:
        found = self.imports()
        foreign = {m: f for m, f in found.items() if not Path(f).is_relative_to(self.root)}
        if foreign:
            raise RuntimeError(f"the baseline tree {self.root} imports from elsewhere: {foreign}")
        return found


def current() -> Tree:
    """This checkout, as the comparison's other side (started the same way as a baseline)."""
    changed = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no", "--", "server", "bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return Tree("current", resolve("HEAD"), ROOT, is_current=True, dirty=bool(changed))


def resolve(rev: str, repo: Path = ROOT) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}"],
        cwd=repo,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def export(rev: str, work: Path, repo: Path = ROOT) -> Tree:
    """`git archive <rev> | tar -x` into work/baseline-<sha>; no worktree, no checkout. The
    committed tree only: uncommitted changes of this checkout are not in it."""
    try:
        sha = resolve(rev, repo)
    except subprocess.CalledProcessError as exc:
        raise RuntimeError(f"{ENV}={rev!r} is not a commit of {repo}") from exc
    root = work / f"baseline-{sha[:12]}"
    if not (root / "server").is_dir():
        root.mkdir(parents=True, exist_ok=True)
        archive = subprocess.Popen(
            ["git", "archive", "--format=tar", sha], cwd=repo, stdout=subprocess.PIPE
        )
        subprocess.run(["tar", "-x", "-C", str(root)], stdin=archive.stdout, check=True)
        assert archive.stdout is not None
        archive.stdout.close()
        if archive.wait() != 0:
            raise RuntimeError(f"git archive {sha} failed")
    tree = Tree(rev, sha, root)
    tree.check()
    return tree
