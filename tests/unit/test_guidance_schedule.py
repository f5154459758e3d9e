"""Initial guidance (3.4.6): when a guidance task is next due. Guidance may be daily at first and taper off
as the person learns to manage on their own; the next occurrence follows the last time it was done, and an
occurrence on or after the taper date follows the tapered rhythm (or none, when it stops)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pytest

from app.domain.guidance_plans import next_due, read_task_form, state

D = date(2026, 3, 2)


@dataclass
class T:
    first_due_on: date = D
    every_days: int | None = None
    taper_on: date | None = None
    taper_every_days: int | None = None
    last_done_on: date | None = None
    completed_on: date | None = None


def days(n: int) -> date:
    return D + timedelta(days=n)


def test_a_task_not_yet_done_is_due_on_its_first_date_and_stays_due_until_done():
    task = T(every_days=7)
    assert next_due(task) == D
    assert state(task, D) == "due"
    assert state(task, days(-1)) == "upcoming"
    assert state(task, days(30)) == "overdue"  # not rescheduled by itself: it waits to be done


def test_a_once_task_is_complete_when_done():
    task = T()
    assert next_due(task) == D
    task.last_done_on = days(3)  # done late
    assert next_due(task) is None
    assert state(task, days(10)) == "done"


def test_no_longer_needed_ends_every_kind_of_task():
    for task in (T(), T(every_days=1), T(every_days=2, taper_on=days(10), taper_every_days=7)):
        task.completed_on = days(1)
        assert next_due(task) is None
        assert state(task, days(1)) == "not_needed"


def test_a_recurring_task_comes_due_again_counted_from_when_it_was_done():
    task = T(every_days=7, last_done_on=D)
    assert next_due(task) == days(7)
    task.last_done_on = days(9)  # done two days late: the next one is a week after that, not piled up
    assert next_due(task) == days(16)


@pytest.mark.parametrize(
    ("done", "expected"),
    [
        (8, 10),  # the next occurrence (day 10) falls before the taper date (day 11): the first rhythm
        (9, 16),  # it would fall on the taper date: the tapered rhythm, 7 days after it was done
        (10, 17),  # it would fall after the taper date
        (11, 18),  # done on the taper date
        (20, 27),  # long after
    ],
)
def test_tapering_boundary_less_often(done, expected):
    task = T(every_days=2, taper_on=days(11), taper_every_days=7, last_done_on=days(done))
    assert next_due(task) == days(expected)


@pytest.mark.parametrize(("done", "expected"), [(0, 1), (9, 10), (10, None), (11, None)])
def test_tapering_boundary_stop(done, expected):
    """Daily until day 11; from then on no more: the last occurrence is day 10."""
    task = T(every_days=1, taper_on=days(11), last_done_on=days(done))
    assert next_due(task) == (days(expected) if expected is not None else None)
    if expected is None:
        assert state(task, days(30)) == "finished"


def test_not_done_before_the_taper_date_it_is_still_due_on_the_first_date():
    task = T(every_days=1, taper_on=days(5), taper_every_days=7)
    assert next_due(task) == D
    assert state(task, days(8)) == "overdue"


# --- the task form's frequency rules -----------------------------------------------------------------


@dataclass
class Plan:
    starts_on: date = D
    includes_family: bool = False


BASE = {"kind": "housing_guidance", "description": "Asunnon laitteet ja jätteiden lajittelu"}


def form(**values: str) -> dict[str, str]:
    return {**BASE, "first_due_on": D.isoformat(), **values}


def test_form_once_ignores_the_rhythm_fields():
    parsed = read_task_form(form(frequency="once", every_days="3", taper="stop"), Plan(), [])
    assert not parsed.errors
    assert parsed.values["every_days"] is None and parsed.values["taper_on"] is None


def test_form_tapering_must_be_later_and_less_often():
    parsed = read_task_form(
        form(
            frequency="repeat",
            every_days="7",
            taper="less_often",
            taper_on=D.isoformat(),
            taper_every_days="7",
        ),
        Plan(),
        [],
    )
    assert set(parsed.errors) == {"taper_on", "taper_every_days"}
    parsed = read_task_form(
        form(
            frequency="repeat",
            every_days="2",
            taper="less_often",
            taper_on=days(14).isoformat(),
            taper_every_days="7",
        ),
        Plan(),
        [],
    )
    assert not parsed.errors
    assert (parsed.values["every_days"], parsed.values["taper_on"], parsed.values["taper_every_days"]) == (
        2,
        days(14),
        7,
    )


@pytest.mark.parametrize("every", ["", "0", "366", "x"])
def test_form_repeat_needs_a_sensible_interval(every):
    parsed = read_task_form(form(frequency="repeat", every_days=every), Plan(), [])
    assert "every_days" in parsed.errors


def test_form_first_due_not_before_the_plan_starts():
    parsed = read_task_form(form(frequency="once", first_due_on=days(-1).isoformat()), Plan(), [])
    assert "first_due_on" in parsed.errors
