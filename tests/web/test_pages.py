"""The web page through Flask's in-process client: controls, results, errors, interview."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from model.cli.common import DISCLAIMER
from model.web import create_app

RUPTURE = {"age_years": "35", "sex": "male", "pop_or_snap": "yes", "palpable_gap": "yes",
           "weak_push_off": "yes"}


class Elements(HTMLParser):
    """Every start tag as (tag, attributes), in document order."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))

    def having(self, attribute: str) -> list[dict[str, str | None]]:
        return [a for _, a in self.found if attribute in a]


@pytest.fixture(scope="module")
def client(model):
    return create_app(model).test_client()


def post(client, path, data) -> str:
    response = client.post(path, data=data)
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_every_item_has_a_control_named_by_its_id(client, model):
    page = client.get("/").get_data(as_text=True)
    elements = Elements(page)
    controls = {a["name"]: (tag, a) for tag, a in elements.found
                if tag in ("input", "select") and a.get("name")}
    assert set(controls) == set(model.vocabulary.inputs)
    assert controls["age_years"][0] == "input" and controls["age_years"][1]["type"] == "number"
    options = re.findall(r'<select id="field-sex" name="sex"[^>]*>(.*?)</select>', page, re.S)[0]
    assert re.findall(r'value="([^"]*)"', options) == ["", "female", "male"]
    options = re.findall(r'<select id="field-fever" name="fever"[^>]*>(.*?)</select>', page, re.S)
    assert re.findall(r'value="([^"]*)"', options[0]) == ["", "yes", "no"]
    for item in model.vocabulary.inputs:  # every control has a label
        assert f'<label for="field-{item}">' in page


def test_page_says_it_is_not_a_medical_device(client):
    for path in ("/", "/interview"):
        assert DISCLAIMER in client.get(path).get_data(as_text=True)


def test_rupture_story_ranks_rupture_first_and_triages_emergency(client, model):
    panel = post(client, "/results", RUPTURE)
    elements = Elements(panel)
    ranked = elements.having("data-condition")
    assert ranked[0]["data-condition"] == "achilles_rupture"
    assert sorted(r["data-condition"] for r in ranked) == sorted(model.diagnoses)
    probabilities = [float(r["data-probability"]) for r in ranked]
    assert probabilities == sorted(probabilities, reverse=True)
    expected = model.diagnose(RUPTURE)
    assert probabilities[0] == pytest.approx(expected.ranked[0][1], abs=1e-6)
    assert [t["data-triage"] for t in elements.having("data-triage")] == ["emergency"]
    assert expected.red_flags[0] in panel
    assert "data-explanation" in panel and "raised the odds" in panel


def test_bad_value_gets_a_clear_message_and_the_rest_is_still_shown(client):
    panel = post(client, "/results", {**RUPTURE, "age_years": "250", "fever": "maybe"})
    assert 'role="alert"' in panel
    assert "&#39;age_years&#39; must be a whole number from 0 to 120; got &#39;250&#39;" in panel
    assert "&#39;fever&#39; must be yes/no" in panel
    assert 'data-error-for="age_years"' in panel and 'data-triage="emergency"' in panel
    page = post(client, "/", {"age_years": "250"})  # without the script: the whole page
    assert 'aria-invalid="true"' in page and 'value="250"' in page


def test_fields_that_are_not_items_are_ignored(client):
    panel = post(client, "/results", {"not_an_item": "yes", "palpable_gap": "yes"})
    assert "data-errors" not in panel and 'data-triage="emergency"' in panel


def test_next_questions_update_as_answers_change(client):
    before = Elements(post(client, "/results", {}))
    after = Elements(post(client, "/results", {"age_years": "11", "sex": "female",
                                                "pain_heel_back": "yes"}))
    first = before.having("data-ask-first")[0]["data-ask-first"]
    assert first == "age_years"
    assert after.having("data-ask-first")[0]["data-ask-first"] not in ("age_years", "sex", "")
    suggested = [q["data-question"] for q in after.having("data-question")]
    assert suggested and "pain_heel_back" not in suggested


def test_security_headers_and_nothing_from_elsewhere(client):
    response = client.get("/")
    assert response.headers["Content-Security-Policy"].startswith("default-src 'self'")
    assert response.headers["Referrer-Policy"] == "no-referrer"
    page = response.get_data(as_text=True)
    assert not re.search(r'(src|href|action)="(https?:)?//', page)
    assert client.get("/static/page.js").status_code == 200


def interview(client, carried=(), **form) -> str:
    return post(client, "/interview", {"answers": list(carried), **form})


def test_interview_page_asks_one_question_at_a_time(client):
    page = client.get("/interview").get_data(as_text=True)
    assert 'data-question="age_years"' in page and 'type="number"' in page
    page = interview(client, question="age_years", answer="value", value="35")
    assert 'data-question="sex"' in page and 'name="answers" value="age_years=35"' in page
    page = interview(client, ["age_years=35"], question="sex", answer="male")
    question = Elements(page).having("data-purpose")[0]
    assert question["data-purpose"] == "warning sign"
    page = interview(client, ["age_years=35", "sex=male"], question=question["data-question"],
                     answer="unknown")
    assert f'value="{question["data-question"]}=unknown"' in page


def test_interview_rupture_story_ends_in_emergency(client):
    answers = {"pop_or_snap": "yes", "palpable_gap": "yes", "weak_push_off": "yes",
               "sudden_onset": "yes"}
    carried = ["age_years=35", "sex=male"]
    for _ in range(40):
        page = interview(client, carried)
        if 'data-done="true"' in page:
            break
        item = Elements(page).having("data-purpose")[0]["data-question"]
        carried.append(f"{item}={answers.get(item, 'unknown')}")
    assert 'data-done="true"' in page and 'data-stopped="safe"' in page
    ranked = Elements(page).having("data-condition")
    assert ranked[0]["data-condition"] == "achilles_rupture"
    assert 'data-triage="emergency"' in page


def test_interview_bad_age_keeps_the_question_with_a_message(client):
    page = interview(client, question="age_years", answer="value", value="250")
    assert 'role="alert"' in page and "from 0 to 120, or unknown" in page
    assert 'data-question="age_years"' in page
    page = interview(client, question="age_years", answer="value", value="")
    assert "give an answer to &#39;age_years&#39;" in page


def test_interview_undo_and_tampered_answers(client):
    page = interview(client, ["age_years=35", "sex=male"], action="undo")
    assert 'data-question="sex"' in page and 'value="sex=male"' not in page
    page = interview(client, ["age_years=35", "fever=perhaps", "sex=male"])
    assert "An earlier answer could not be read" in page
    assert 'value="age_years=35"' in page and 'value="sex=male"' not in page


def test_serve_command_listens_on_this_computer_and_stops_on_ctrl_c(monkeypatch, capsys):
    """python -m model serve: the real server on a free port, stopped as Ctrl+C would."""
    import model.web as web
    from model.cli import main

    made, original = [], web.make_server

    def make(model, port):
        server = original(model, port)
        made.append(server)
        server.serve_forever = lambda: (_ for _ in ()).throw(KeyboardInterrupt)
        return server

    monkeypatch.setattr(web, "make_server", make)
    assert main(["serve", "--port", "0"]) == 0
    out = capsys.readouterr().out
    assert f"http://127.0.0.1:{made[0].server_port}/" in out and "not a medical device" in out
    assert made[0].server_address[0] == "127.0.0.1"
    assert main(["serve", "--port", "70000"]) == 1
    assert "--port must be a whole number from 0 to 65535" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["interview", "serve"])
def test_help_says_what_it_is_and_what_it_is_not(command, capsys):
    from model.cli import main

    with pytest.raises(SystemExit):
        main([command, "--help"])
    assert "not a medical device" in " ".join(capsys.readouterr().out.split())


def test_other_causes_are_listed_apart_from_the_ranked_conditions(other_model):
    page = create_app(other_model).test_client()
    text = post(page, "/", {"age_years": "50", "calf_tenderness_or_swelling": "yes",
                            "leg_swollen_one_side": "yes"})
    elements = Elements(text)
    ranked = [r["data-condition"] for r in elements.having("data-condition")]
    assert sorted(ranked) == sorted(other_model.diagnoses)
    assert [r["data-other-cause"] for r in elements.having("data-other-cause")] == list(
        other_model.other_causes)
    assert "Other causes (not diagnoses)" in text
