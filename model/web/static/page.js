// Refresh the results panel whenever an answer changes. The server renders the panel
// (the same template as the full page), so this script only fetches and swaps it.
// Without this script the "Update the results" button does the same with a full page.
"use strict";
(function () {
  const form = document.getElementById("answers");
  const panel = document.getElementById("results");
  if (!form || !panel || !window.fetch) return;
  let pending = null;
  let latest = 0;

  async function refresh() {
    const ticket = ++latest;
    try {
      const response = await fetch(form.dataset.resultsUrl, {
        method: "POST", body: new FormData(form), headers: {"Accept": "text/html"},
      });
      const html = await response.text();
      if (ticket !== latest) return;  // a newer answer is on its way
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      panel.innerHTML = html;
      markInvalid();
    } catch (error) {
      if (ticket !== latest) return;
      panel.innerHTML = "";
      const alert = document.createElement("div");
      alert.className = "errors";
      alert.setAttribute("role", "alert");
      alert.dataset.errors = "";
      alert.textContent = `The results could not be updated (${error.message}). ` +
        "Is python -m model serve still running?";
      panel.appendChild(alert);
    } finally {
      // busy from the first change until the answer to the last one is shown
      if (ticket === latest && pending === null) form.removeAttribute("aria-busy");
    }
  }

  // Mark the controls whose values the server did not accept.
  function markInvalid() {
    const bad = new Set([...panel.querySelectorAll("[data-error-for]")]
      .map((element) => element.dataset.errorFor));
    for (const control of form.elements) {
      if (!control.name) continue;
      if (bad.has(control.name)) control.setAttribute("aria-invalid", "true");
      else control.removeAttribute("aria-invalid");
    }
  }

  function soon() {
    clearTimeout(pending);
    form.setAttribute("aria-busy", "true");
    pending = setTimeout(() => { pending = null; refresh(); }, 150);
  }

  form.addEventListener("change", soon);
  form.addEventListener("input", (event) => {
    if (event.target.type === "number") soon();
  });
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(pending);
    pending = null;
    form.setAttribute("aria-busy", "true");
    refresh();
  });
})();
