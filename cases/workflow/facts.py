"""What the checks of one page know about a case (docs/architecture.md#speed).

`available(case, user)` runs every outgoing transition's checks; several read the same facts
(the steps, the running deadlines, an app's decisions). Inside `facts(case, ...)` each fact is
read once (`once`), and a page hands over what it has read already (`known`). Outside a block
nothing is kept: `fire` always checks against the database, under the case's lock.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_ATTR = "_workflow_facts"


@contextlib.contextmanager
def facts(case: Any, **given: Any) -> Iterator[None]:
    """Within the block, facts about `case` are read once; `given` are known already."""
    outer = case.__dict__.get(_ATTR)
    case.__dict__[_ATTR] = {**(outer or {}), **given}
    try:
        yield
    finally:
        if outer is None:
            case.__dict__.pop(_ATTR, None)
        else:
            case.__dict__[_ATTR] = outer


def known(case: Any, key: str) -> Any:
    """The fact `key` if it is known inside a `facts` block, else None."""
    memo = case.__dict__.get(_ATTR)
    return None if memo is None else memo.get(key)


def once(case: Any, key: str, read: Callable[[], T]) -> T:
    """`read()`, kept for the rest of the `facts` block (outside one, read every time)."""
    memo = case.__dict__.get(_ATTR)
    if memo is None:
        return read()
    if key not in memo:
        memo[key] = read()
    value: T = memo[key]
    return value
