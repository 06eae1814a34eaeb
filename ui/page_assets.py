"""The page's own JavaScript and layout rules, for what Gradio's components do not offer.

- Undo stops at a generated draft: the editor's undo history holds the step from empty to the
  draft the chat wrote, so one Ctrl+Z too many wiped it. `gwKeepDraft(text)` marks the text the
  server put in the editor; Ctrl+Z while the editor shows exactly that text does nothing.
- Run brings the trace into view: on a phone the Run button sits above the fold of the trace.
- The chat opens on its first message: autoscroll would hide the introduction on load.
"""

from __future__ import annotations

# Called with the editor's value after the server rewrote it (see design_tab).
KEEP_DRAFT_JS = "(text) => { window.gwKeepDraft && window.gwKeepDraft(text); }"

PAGE_JS = """
() => {
  let kept = null;
  const norm = (text) => (text || "").replace(/\\s+$/, "");
  window.gwKeepDraft = (text) => { kept = norm(text) ? norm(text) : null; window.gwKept = kept; };
  const editorText = (box) => {
    const content = box.querySelector(".cm-content");
    const view = content && content.cmView && content.cmView.view;
    if (view) return view.state.doc.toString();
    return Array.from(box.querySelectorAll(".cm-line")).map((l) => l.textContent).join("\\n");
  };
  document.addEventListener("keydown", (event) => {
    const undo = (event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === "z";
    const box = undo && event.target.closest ? event.target.closest("#yaml-editor") : null;
    if (box && kept !== null && norm(editorText(box)) === kept) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
  document.addEventListener("click", (event) => {
    if (!event.target.closest || !event.target.closest("#run-start")) return;
    setTimeout(() => {
      const trace = document.querySelector("#run-status") || document.querySelector("#run-timeline");
      if (trace) trace.scrollIntoView({behavior: "smooth", block: "start"});
    }, 50);
  }, true);
}
"""

# The chat opens on its first message (the guided form's introduction), not scrolled to the bottom.
# Gradio scrolls the chat to its end whenever it renders, which on a loaded machine can be many
# seconds after this script ran: every such scroll is undone until the visitor acts, however late.
CHAT_TO_TOP_JS = """
() => {
  let touched = false;
  ["wheel", "touchstart", "keydown", "mousedown"].forEach((kind) =>
    document.addEventListener(kind, () => { touched = true; }, {capture: true, once: true}));
  const top = (el) => {
    if (!touched && el.scrollHeight > el.clientHeight + 4 && getComputedStyle(el).overflowY !== "visible") {
      el.scrollTop = 0;
    }
  };
  document.addEventListener("scroll", (event) => {
    if (event.target.closest && event.target.closest("#design-chat")) top(event.target);
  }, true);
  document.querySelectorAll("#design-chat *").forEach(top);
}
"""


TITLE_HTML = ("<h1 class='gw-title'>graphwright <span class='gw-tagline'>· describe an agent workflow, run it, "
              "review its cost</span></h1>")

# Layout: the title on one line, long trace cells wrap. On a phone (390 px wide): the four tabs fit
# (Gradio moves tabs that do not fit behind "…"), the message box sits above the fold.
LAYOUT_CSS = """
.gw-title {margin: 0; font-size: 1.5em; font-weight: 700; white-space: nowrap; overflow: hidden;
  text-overflow: ellipsis}
.gw-tagline {font-weight: 400; font-size: 0.75em; opacity: 0.75}
.gw-trace td:last-child {overflow-wrap: anywhere}
#design-chat .message-wrap {padding-top: 2.2em}
@media (max-width: 640px) {
  .gw-tagline {display: none}
  #tabs .tab-container button {padding: 4px 8px; font-size: 0.95em; min-width: 0}
  #design-chat {height: 46vh !important}
  .gw-trace td, .gw-trace th {padding: 3px; font-size: 0.92em}
}
"""
