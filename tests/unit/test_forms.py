"""forms.text: a value longer than its limit is never cut; it comes back whole with a translated error."""

import pytest

from app import i18n
from app.domain import assessments, plans
from app.domain.forms import FormErrors, text


@pytest.fixture(autouse=True)
def english() -> None:
    i18n.set_locale("en")


def test_an_over_long_value_comes_back_whole_with_an_error() -> None:
    errors = FormErrors()
    typed = "a" * 399 + "bc"
    assert text({"description": f"  {typed}\n"}, "description", 400, errors) == typed
    assert errors == {"description": "Shorten this to at most 400 characters (now 401)."}


def test_a_value_at_the_limit_is_taken_as_it_is() -> None:
    errors = FormErrors()
    assert text({"note": " " + "é" * 400 + " "}, "note", 400, errors) == "é" * 400
    assert text({"note": ""}, "note", 400, errors) is None
    assert text({}, "note", 400, errors) is None
    assert errors == {}


def test_the_error_is_translated() -> None:
    i18n.set_locale("fi")
    errors = FormErrors()
    text({"title": "x" * 12}, "title", 10, errors)
    assert errors["title"] == "Lyhennä teksti enintään 10 merkkiin (nyt 12)."


def test_plan_goals_and_assessment_rows_are_not_cut_either() -> None:
    goal = "Työ lähihoitajana. " * 106  # 2014 characters
    parsed = plans.read_plan_form({}, [("long_term", "employment_goal", goal)])
    assert parsed.goals[0][2] == goal.strip()
    assert parsed.errors["goals"] == "Shorten this to at most 2000 characters (now 2013)."
    field, occupation = "Sairaanhoito " * 16, "Lähihoitaja " * 17  # 208 and 204 characters
    lists = {"edu_level": ["upper_secondary"], "edu_field": [field], "work_occupation": [occupation]}
    parsed_assessment = assessments.read_form({}, lists, set())
    assert parsed_assessment.errors["edu-1-field"] == "Shorten this to at most 200 characters (now 207)."
    assert (
        parsed_assessment.errors["work-1-occupation"] == "Shorten this to at most 200 characters (now 203)."
    )
