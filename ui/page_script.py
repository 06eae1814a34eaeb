"""The page's own JavaScript (run once on load), for what Gradio's components do not offer.

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
  window.gwKeepDraft = (text) => { kept = norm(text) ? norm(text) : null; };
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
CHAT_TO_TOP_JS = """
() => {
  const top = () => document.querySelectorAll("#design-chat *").forEach((el) => {
    if (el.scrollHeight > el.clientHeight + 4 && getComputedStyle(el).overflowY !== "visible") el.scrollTop = 0;
  });
  [50, 300, 800].forEach((ms) => setTimeout(top, ms));
}
"""
