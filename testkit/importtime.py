"""Read `python -X importtime` output: which modules a command imported, through which, and how long.

The import-budget tests and `bench/bench_cold.py` run CLI commands with `-X importtime` and use this
to name a heavy module that crept onto a path, with the chain of imports that brought it in.

Python prints one line per module when its import finishes (children before their parent):
`import time: <self us> | <cumulative us> | <two spaces per nesting level><module>`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

_LINE = re.compile(r"import time:\s+(-?\d+) \|\s+(-?\d+) \| ( *)(\S+)")


@dataclass(frozen=True)
class Import:
    module: str
    self_us: int
    cumulative_us: int
    depth: int  # 0: imported by the program itself, 1: by a depth-0 module, ...

    @property
    def package(self) -> str:
        return self.module.split(".", 1)[0]


def parse(stderr: str) -> list[Import]:
    """Every import line of `stderr`, in the order printed (other lines are ignored)."""
    return [Import(m[4], int(m[1]), int(m[2]), len(m[3]) // 2)
            for m in map(_LINE.match, stderr.splitlines()) if m]


def total_seconds(imports: Iterable[Import]) -> float:
    """Time spent importing: the sum of the top-level imports' cumulative times."""
    return sum(max(i.cumulative_us, 0) for i in imports if i.depth == 0) / 1e6


def seconds_of(imports: list[Import], package: str) -> float:
    """Cumulative import time of `package` where it was first imported (0.0 when it never was)."""
    first = next((i for i in imports if i.module == package), None)
    return max(first.cumulative_us, 0) / 1e6 if first else 0.0


def chain(imports: list[Import], index: int) -> list[str]:
    """The module at `index` and the modules that imported it, innermost first."""
    names, depth = [imports[index].module], imports[index].depth
    for later in imports[index + 1:]:  # a parent is printed after its children, one level up
        if later.depth < depth:
            names.append(later.module)
            depth = later.depth
    return names


def forbidden(imports: list[Import], packages: Iterable[str]) -> list[str]:
    """One line per forbidden top-level package imported, naming who brought it in."""
    wanted, seen, found = set(packages), set(), []
    for index, item in enumerate(imports):
        if item.package in wanted and item.package not in seen:
            seen.add(item.package)
            top = next((i for i, x in enumerate(imports) if x.module == item.package), index)
            found.append(f"{item.package} (imported by {' <- '.join(chain(imports, top)[1:]) or 'the command'})")
    return found
