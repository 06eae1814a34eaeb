"""`days_between`: calendar arithmetic for trip plans and deadlines (models miscount days)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import Field


def days_between(
    start: Annotated[date, Field(description="The first day, as YYYY-MM-DD.")],
    end: Annotated[date, Field(description="The last day, as YYYY-MM-DD.")],
) -> dict[str, int | str]:
    """Count the days from `start` to `end` (both included) and name their weekdays."""
    return {"days": (end - start).days + 1, "start_weekday": start.strftime("%A"), "end_weekday": end.strftime("%A")}
