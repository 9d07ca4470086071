"""Numbered pages without an exact count (docs/architecture.md#speed)."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.core.paginator import Paginator
from django.db.models import QuerySet

from cases.selectors import Bounded, bounded_count

if TYPE_CHECKING:
    _Base = Paginator[Any]  # generic in the stubs only
else:
    _Base = Paginator


class BoundedPaginator(_Base):
    """A Paginator that counts no further than `ahead` pages past the one asked for: "Page 3
    of 13+". The count of a first page stays the same however long the list grows."""

    ahead = 10
    last_page_asked = 100_000  # a larger number asks for the last page (and counts no further)
    _reach = 0

    def __init__(self, object_list: QuerySet[Any], per_page: int) -> None:
        super().__init__(object_list, per_page)
        self.rows = object_list

    def validate_number(self, number: Any) -> int:
        try:
            asked = min(max(1, int(number)), self.last_page_asked)
        except (TypeError, ValueError, OverflowError):
            asked = 1
        reach = (asked + self.ahead) * self.per_page
        if reach > self._reach:  # counted before for a nearer page, or not yet
            self._reach = reach
            self.__dict__.pop("count", None)
            self.__dict__.pop("num_pages", None)
        return super().validate_number(number)

    @cached_property
    def count(self) -> Bounded:
        return bounded_count(self.rows, self._reach or (1 + self.ahead) * self.per_page)

    @cached_property
    def num_pages(self) -> Bounded:
        return Bounded(super().num_pages, self.count.more)
