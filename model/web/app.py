"""The local web page: tick findings or take the interview, see the results update.

A Flask application rendered on the server from Jinja templates (package data in
``model/web/templates``); one small script (``static/page.js``) refreshes the
results panel as answers change, and the page works without it. Nothing is
fetched from elsewhere and nothing leaves the machine: the server listens on
127.0.0.1 only, the page loads only its own files (a Content-Security-Policy of
``'self'`` says so to the browser), and answers travel in POST bodies, never in
URLs or logs.

Routes: ``/`` the tick form (GET, or POST without script); ``/results`` the results
panel alone for the script (POST); ``/interview`` one question at a time (GET to
start, POST to answer, undo or start again).
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from flask import Flask, render_template, request

from ..cli.common import DISCLAIMER
from ..errors import HeelnetError
from ..interview.policy import STOPPED
from .pages import answer_help, encode_answer, read_form, rebuild, results

if TYPE_CHECKING:
    from werkzeug.serving import BaseWSGIServer

    from ..diagnosis import ModelCore

__all__ = ["HOST", "create_app", "make_server"]

#: The only address the page is served on.
HOST = "127.0.0.1"
_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}




def _fields(model: ModelCore) -> dict[str, list[Any]]:
    """The form's controls, grouped by kind, in vocabulary order."""
    vocab = model.vocabulary
    return {kind: [vocab[i] for i in ids]
            for kind, ids in (("context", vocab.context), ("finding", vocab.findings))}


def create_app(model: ModelCore | None = None) -> Flask:
    """The Flask application for ``model`` (the bundled model by default).

    Examples
    --------
    >>> app = create_app()
    >>> page = app.test_client().post("/results", data={"palpable_gap": "yes"})
    >>> 'data-triage="emergency"' in page.get_data(as_text=True)
    True
    """
    if model is None:
        from ..api import Model

        model = Model.default()
    app = Flask(__name__)
    app.config["MODEL"] = model
    lock = threading.Lock()  # one inference at a time: the engine's workspace is shared
    common = {"disclaimer": DISCLAIMER, "fields": _fields(model)}

    @app.after_request
    def headers(response: Any) -> Any:
        response.headers.update(_HEADERS)
        return response

    @app.route("/", methods=["GET", "POST"])
    def index() -> str:
        given, raw, errors = read_form(model, request.form)
        with lock:
            shown = results(model, given, errors)
        return render_template("index.html", results=shown, raw=raw, **common)

    @app.post("/results")
    def panel() -> str:
        given, _, errors = read_form(model, request.form)
        with lock:
            shown = results(model, given, errors)
        return render_template("_results.html", results=shown, links=True)

    @app.route("/interview", methods=["GET", "POST"])
    def interview() -> str:
        with lock:
            return _interview_page(model, common)

    return app


def _interview_page(model: ModelCore, common: dict[str, Any]) -> str:
    """Rebuild the interview from the carried answers, apply this step, render."""
    form = request.form
    carried = form.getlist("answers") if request.method == "POST" else []
    session, problem = rebuild(model, carried)
    if form.get("action") == "undo":
        session.undo()
    elif "answer" in form:
        item = form.get("question", "")
        value = form.get("value", "") if form.get("answer") == "value" else form.get("answer")
        try:
            if not str(value or "").strip():
                raise HeelnetError(f"give an answer to '{item}': "
                                   f"{answer_help(model, item)} (the Don't know button)")
            session.answer(item, value)
        except HeelnetError as error:
            problem = str(error)
    question = session.next()
    shown = results(model, session.given, session=session)
    stopped = "" if question else session.result.stopped
    return render_template(
        "interview.html", session=session, question=question, problem=problem,
        stopped=stopped, stopped_words=STOPPED.get(stopped, stopped),
        carried=[encode_answer(i, v) for i, v in session.answers], results=shown,
        accepted=answer_help(model, question.id) if question else "",
        vocabulary=model.vocabulary, **common)


def make_server(model: ModelCore | None = None, port: int = 8000) -> BaseWSGIServer:
    """A threaded server of the page on 127.0.0.1 (``port`` 0 picks a free one); call
    ``serve_forever()`` on it, and ``shutdown()`` from another thread to stop."""
    from werkzeug.serving import make_server as werkzeug_server

    return werkzeug_server(HOST, port, create_app(model), threaded=True)
