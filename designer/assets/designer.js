// The designer's editor: keeps the item being edited as JSON, updates it
// from the inputs (each named by the JSON pointer of its value), asks the
// server to check it and shows the problems next to the inputs.
"use strict";
(() => {
  const $ = (sel, root = document) => root.querySelector(sel);
  const status = (text) => { const s = $("#status"); if (s) s.textContent = text; };
  const call = async (method, url, body) => {
    const r = await fetch(url, { method, headers: { "Content-Type": "application/json" }, body: body && JSON.stringify(body) });
    const data = await r.json().catch(() => ({ error: { message: r.statusText, problems: [] } }));
    return { ok: r.ok, data };
  };
  const segments = (ptr) => ptr.split("/").slice(1).map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));

  function setAt(doc, ptr, value) {
    const segs = segments(ptr);
    const last = segs.pop();
    let at = doc;
    for (const s of segs) { if (at == null) return; at = at[s]; }
    if (at == null) return;
    if (value === undefined) { if (Array.isArray(at)) at.splice(+last, 1); else delete at[last]; }
    else at[last] = value;
  }

  // The value of an input, `undefined` for an optional one left empty.
  function read(input) {
    const kind = input.dataset.input, optional = "optional" in input.dataset;
    // An absent option stands for its default: set to it, it stays absent.
    if (kind === "checkbox") {
      const fallback = "default" in input.dataset;
      return optional && !("present" in input.dataset) && input.checked === fallback ? undefined : input.checked;
    }
    const text = input.value.trim();
    if (text === "" && (optional || kind !== "text")) return optional ? undefined : (kind === "text" ? "" : 0);
    switch (kind) {
      case "integer": case "number": { const n = Number(text); if (Number.isNaN(n)) throw new Error("a number"); return n; }
      case "list": return text.split(",").map((s) => s.trim()).filter((s) => s !== "");
      case "json": return JSON.parse(text);
      default: return input.value;
    }
  }

  function editor(form) {
    const kind = form.dataset.kind;
    let original = form.dataset.original;
    let item = JSON.parse(form.dataset.item);
    let timer = null;

    // Every problem is listed at the top with its path; one in this item
    // is also shown at its input, and the folded rows that hold it are
    // marked (a click on the listed problem unfolds them).
    const show = (problems, path) => {
      form.querySelectorAll(".problem").forEach((p) => p.remove());
      form.querySelectorAll(".has-problem").forEach((p) => p.classList.remove("has-problem"));
      form.querySelectorAll(".row-problems").forEach((b) => { b.hidden = true; b.textContent = ""; delete b.dataset.count; });
      const list = $("#problems ul");
      list.replaceChildren();
      for (const p of problems) {
        const here = p.file === "" || p.file === path;
        let ptr = here ? p.pointer : null, target = null;
        while (ptr !== null && !(target = form.querySelector(`[data-ptr="${CSS.escape(ptr)}"]`))) {
          ptr = ptr === "" ? null : ptr.slice(0, ptr.lastIndexOf("/"));
        }
        const li = document.createElement("li");
        li.className = "listed-problem";
        li.dataset.for = p.pointer;
        const where = here ? p.path : `${p.file}${p.path ? ": " + p.path : ""}`;
        if (target) {
          const a = document.createElement("a");
          a.href = "#";
          a.dataset.goto = ptr;
          a.textContent = where || "this item";
          li.append(a, `: ${p.message}`);
          const note = document.createElement("div");
          note.className = "problem";
          note.textContent = p.message;
          note.dataset.for = p.pointer;
          const box = target.closest(".field, fieldset") || target;
          box.classList.add("has-problem");
          ($(".problem-slot", box) || box).append(note);
          for (let row = target.closest("details.row"); row; row = row.parentElement.closest("details.row")) {
            const summary = row.querySelector(":scope > summary");
            summary.classList.add("has-problem");
            const badge = summary.querySelector(".row-problems");
            const count = (+badge.dataset.count || 0) + 1;
            badge.dataset.count = count;
            badge.textContent = `${count} problem(s)`;
            badge.hidden = false;
          }
        } else {
          li.textContent = `${where}: ${p.message}`;
        }
        list.append(li);
      }
      $("#problems").hidden = list.children.length === 0;
    };
    $("#problems").addEventListener("click", (e) => {
      const a = e.target.closest("a[data-goto]");
      if (!a) return;
      e.preventDefault();
      const target = form.querySelector(`[data-ptr="${CSS.escape(a.dataset.goto)}"]`);
      if (!target) return;
      for (let row = target.closest("details.row"); row; row = row.parentElement.closest("details.row")) row.open = true;
      target.scrollIntoView({ block: "center" });
      const input = target.matches("input, select, textarea") ? target : target.querySelector("input, select, textarea");
      if (input) input.focus();
    });
    const validate = async () => {
      const { ok, data } = await call("POST", "/api/validate", { kind, original, item });
      if (!ok) { status(data.error.message); return; }
      show(data.problems, data.path);
      status(data.problems.length ? `${data.problems.length} problem(s)` : "No problems");
    };
    const later = () => { clearTimeout(timer); timer = setTimeout(validate, 300); };

    // The form drawn again by the server (after a structural edit, or a
    // new type that changes which options apply), the unfolded rows kept.
    const redraw = async (op) => {
      const open = [...form.querySelectorAll("details.row[open]")].map((d) => d.dataset.ptr);
      const { ok, data } = await call("POST", "/api/form", { kind, item, op, open });
      if (!ok) { status(data.error.message); return; }
      item = data.item;
      form.innerHTML = data.html;
      validate();
    };
    // A select is read on `change` (every way of choosing fires it; not
    // every one fires `input`), the other inputs as they are typed in.
    const edited = (e) => {
      const input = e.target.closest("[data-input]");
      if (!input || (input.tagName === "SELECT") !== (e.type === "change")) return;
      try { setAt(item, input.dataset.ptr, read(input)); input.setCustomValidity(""); }
      catch (err) { input.setCustomValidity(`Expected ${err.message === "a number" ? "a number" : "JSON"}`); input.reportValidity(); return; }
      if (input.tagName === "SELECT" && input.dataset.ptr.endsWith("/type")) redraw(null); else later();
    };
    form.addEventListener("input", edited);
    form.addEventListener("change", edited);
    form.addEventListener("click", async (e) => {
      const button = e.target.closest("[data-op]");
      if (!button) return;
      e.preventDefault();
      redraw({ op: button.dataset.op, ptr: button.dataset.ptr });
    });
    $("#save").addEventListener("click", async () => {
      const url = original ? `/api/items/${kind}/${encodeURIComponent(original)}` : `/api/items/${kind}`;
      const { ok, data } = await call(original ? "PUT" : "POST", url, { item });
      if (!ok) { status(`Not saved: ${data.error.message}`); show(data.error.problems || [], $("#item-path").textContent); return; }
      status(`Saved to ${data.path}` + (data.problems.length ? ` (${data.problems.length} problem(s) in the package)` : ""));
      if (original !== item.name) location.href = `/items/${kind}/${encodeURIComponent(item.name)}`;
      else show(data.problems, data.path);
    });
    const del = $("#delete");
    if (del) del.addEventListener("click", async () => {
      if (!confirm(`Delete ${kind} ${original}?`)) return;
      const { ok, data } = await call("DELETE", `/api/items/${kind}/${encodeURIComponent(original)}`);
      if (ok) location.href = "/"; else status(data.error.message);
    });
    validate();
  }

  function scriptEditor(area) {
    const name = area.dataset.name;
    const list = $("#script-errors");
    let timer = null;
    const show = (errors, problems) => {
      list.replaceChildren(...errors.map((e) => {
        const li = document.createElement("li");
        li.textContent = `line ${e.line}, column ${e.column}: ${e.message}`;
        li.dataset.line = e.line;
        return li;
      }), ...problems.map((p) => {
        const li = document.createElement("li");
        li.textContent = `${p.file}${p.path ? ": " + p.path : ""}: ${p.message}`;
        return li;
      }));
      list.hidden = list.children.length === 0;
    };
    const check = async () => {
      const { ok, data } = await call("POST", "/api/scripts/check", { name, text: area.value });
      if (!ok) { status(data.error.message); return; }
      show(data.errors, data.problems);
      status(data.errors.length ? "Does not compile" : "Compiles");
    };
    list.addEventListener("click", (e) => {
      const line = +(e.target.dataset.line || 0);
      if (!line) return;
      const start = area.value.split("\n").slice(0, line - 1).join("\n").length + (line > 1 ? 1 : 0);
      area.focus();
      area.setSelectionRange(start, start);
    });
    area.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(check, 400); });
    $("#check").addEventListener("click", check);
    $("#save-script").addEventListener("click", async () => {
      const { ok, data } = await call("PUT", `/api/scripts/${name}`, { text: area.value });
      if (ok) { status(`Saved scripts/${name}`); show(data.errors, data.problems); }
      else { status(`Not saved: ${data.error.message}`); }
    });
  }


  // The form layout editor: fields are dragged (or selected, then placed
  // with a button) into sections; every move is made by the server, which
  // sends the form and its layout back.
  function layoutEditor(box) {
    const name = box.dataset.name;
    let item = JSON.parse(box.dataset.item);
    let selected = null, dragged = null;
    const problems = $("#layout-problems");
    const validate = async () => {
      const { ok, data } = await call("POST", "/api/validate", { kind: "form", original: name, item });
      if (!ok) { status(data.error.message); return; }
      problems.replaceChildren(...data.problems.map((p) => {
        const li = document.createElement("li");
        li.textContent = `${p.file}${p.path ? ": " + p.path : ""}: ${p.message}`;
        return li;
      }));
      problems.hidden = data.problems.length === 0;
      status(data.problems.length ? `${data.problems.length} problem(s)` : "No problems");
    };
    const move = async (op) => {
      const { ok, data } = await call("POST", "/api/layout", { item, op });
      if (!ok) { status(data.error.message); return; }
      item = data.item;
      box.innerHTML = data.html;
      selected = null;
      validate();
    };
    box.addEventListener("click", (e) => {
      const chip = e.target.closest(".field-chip");
      if (chip) {
        box.querySelectorAll(".field-chip.selected").forEach((c) => c.classList.remove("selected"));
        chip.classList.add("selected");
        selected = chip.dataset.field;
        return;
      }
      const b = e.target.closest("button[data-layout]");
      if (!b) return;
      const tab = +(b.dataset.tab || 0), section = +(b.dataset.section || 0);
      switch (b.dataset.layout) {
        case "place": if (selected) move({ op: "place", field: selected, tab, section }); break;
        case "unplace": if (selected) move({ op: "unplace", field: selected }); break;
        case "add_tab": move({ op: "add_tab" }); break;
        case "add_section": move({ op: "add_section", tab }); break;
        case "add_button": move({ op: "add_button", command: $("#command-choice").value }); break;
        case "rename": {
          const tools = b.closest(".part-tools");
          const text = (lang) => tools.querySelector(`[data-rename=${lang}]`).value;
          move({ op: "rename", part: b.dataset.part, en: text("en"), zh: text("zh") });
          break;
        }
        case "remove": move({ op: "remove", part: b.dataset.part }); break;
        case "add_related": {
          const [entity, via] = b.parentElement.querySelector(".related-choice").value.split("/");
          move({ op: "add_related", tab, entity, via });
        }
      }
    });
    box.addEventListener("change", (e) => {
      const s = e.target.closest("select[data-layout=columns]");
      if (s) move({ op: "columns", tab: +s.dataset.tab, section: +s.dataset.section, columns: +s.value });
    });
    box.addEventListener("dragstart", (e) => {
      const chip = e.target.closest(".field-chip");
      if (chip) { dragged = chip.dataset.field; e.dataTransfer.setData("text/plain", dragged); }
    });
    box.addEventListener("dragover", (e) => { if (e.target.closest(".drop")) e.preventDefault(); });
    box.addEventListener("drop", (e) => {
      const zone = e.target.closest(".drop");
      if (!zone || !dragged) return;
      e.preventDefault();
      const before = e.target.closest(".field-chip");
      if (zone.dataset.drop === "palette") move({ op: "unplace", field: dragged });
      else move({ op: "place", field: dragged, tab: +zone.dataset.tab, section: +zone.dataset.section,
        index: before && before.dataset.index !== undefined ? +before.dataset.index : undefined });
      dragged = null;
    });
    $("#save-layout").addEventListener("click", async () => {
      const { ok, data } = await call("PUT", `/api/items/form/${encodeURIComponent(name)}`, { item });
      status(ok ? `Saved to ${data.path}` : `Not saved: ${data.error.message}`);
    });
    validate();
  }

  const form = $("#editor");
  if (form) editor(form);
  const area = $("#script-editor");
  if (area) scriptEditor(area);
  const layout = $("#layout");
  if (layout) layoutEditor(layout);
})();
