// The issue editor: block composition, live preview, pre-send checks and autosave with conflicts.

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

const state = JSON.parse($("#editor-state").textContent);
const urls = JSON.parse($("#editor-urls").textContent);
const csrf = $('meta[name="csrf-token"]').content;
const SAVE_DELAY = 1200;
const PREVIEW_DELAY = 400;

const LABELS = {
  heading: "Heading", paragraph: "Paragraph", bullets: "Bulleted list", callout: "Callout",
  quote: "Quote", resources: "Resources", image: "Image", button: "Button", divider: "Divider",
  references: "References", toc: "Table of contents",
};
const KINDS = ["webpage", "training", "publication", "organization", "toolkit", "pdf", "video"];
const TEMPLATES = {
  heading: () => ({ text: "New heading", level: 2 }),
  paragraph: () => ({ text: "" }),
  bullets: () => ({ items: [{ text: "", refs: [] }], ordered: false }),
  callout: () => ({ title: "Approach to Consider", body: "", items: [] }),
  quote: () => ({ text: "", attribution: "" }),
  resources: () => ({ title: "Resources", intro: "", level: 2, items: [{ title: "", url: "", description: "", kind: "webpage", size: "" }] }),
  image: () => ({ src: "", alt: "", decorative: false, width: null, link: "" }),
  button: () => ({ label: "", url: "" }),
  divider: () => ({}),
  references: () => ({ title: "References", style: "numbered", items: [{ number: 1, text: "", url: "" }] }),
  toc: () => ({ title: "In this issue" }),
};
let dirty = false;
let saving = false;
let conflicted = false;
let saveTimer = 0;
let previewTimer = 0;
let previewSeq = 0;
let lastPreview = { html: "", text: "", checks: [] };
let uid = 0;

// ---- small DOM builders -------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  node.append(...children.filter(Boolean));
  return node;
}

function field(label, control, hint) {
  const id = `c${++uid}`;
  control.id = id;
  const wrap = el("div", { class: "field" }, el("label", { for: id, text: label }), control);
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute("aria-describedby", hintId);
    wrap.append(el("span", { class: "hint", id: hintId, text: hint }));
  }
  return wrap;
}

function bound(obj, key, { type = "text", multiline = false, required = false, parse } = {}) {
  const control = multiline ? el("textarea", { rows: 4 }) : el("input", { type });
  control.dataset.key = key;
  if (required) control.setAttribute("aria-required", "true");
  control.value = obj[key] ?? "";
  control.addEventListener("input", () => {
    obj[key] = parse ? parse(control.value) : control.value;
    changed();
  });
  return control;
}

function select(obj, key, options, parse = (v) => v) {
  const control = el("select");
  control.dataset.key = key;
  for (const [value, label] of options) control.append(el("option", { value, text: label }));
  control.value = String(obj[key] ?? options[0][0]);
  control.addEventListener("change", () => { obj[key] = parse(control.value); changed(); });
  return control;
}

function checkbox(obj, key, label) {
  const id = `c${++uid}`;
  const box = el("input", { type: "checkbox", id, "data-key": key });
  box.checked = Boolean(obj[key]);
  box.addEventListener("change", () => { obj[key] = box.checked; changed(); });
  return el("div", { class: "field check" }, box, el("label", { for: id, text: label }));
}

const refsParse = (value) => value.split(/[\s,]+/).filter(Boolean).map(Number).filter((n) => Number.isInteger(n) && n > 0);
const intOrNull = (value) => (value === "" ? null : Number.parseInt(value, 10));

// ---- Markdown toolbar ---------------------------------------------------------------------

function markdownArea(obj, key, label) {
  const area = bound(obj, key, { multiline: true });
  const wrap = field(label, area, "Markdown: **bold**, *italic*, [text](https://…), lines starting with “- ” make a list.");
  const apply = (before, after, placeholder) => {
    const { selectionStart: start, selectionEnd: end, value } = area;
    const chosen = value.slice(start, end) || placeholder;
    area.setRangeText(before + chosen + after, start, end, "end");
    area.focus();
    area.dispatchEvent(new Event("input"));
  };
  const listify = () => {
    const { selectionStart: start, selectionEnd: end, value } = area;
    const lineStart = value.lastIndexOf("\n", start - 1) + 1;
    const lines = value.slice(lineStart, end).split("\n").map((line) => (line.startsWith("- ") ? line : `- ${line}`));
    area.setRangeText(lines.join("\n"), lineStart, end, "end");
    area.focus();
    area.dispatchEvent(new Event("input"));
  };
  const tool = (text, title, action) => el("button", { type: "button", class: "tool", "aria-label": title, title, onclick: action, text });
  const bar = el("div", { class: "md-toolbar", role: "toolbar", "aria-label": `${label} formatting` },
    tool("B", "Bold", () => apply("**", "**", "bold text")),
    tool("I", "Italic", () => apply("*", "*", "italic text")),
    tool("Link", "Link", () => apply("[", "](https://)", "link text")),
    tool("List", "Bulleted list", listify));
  wrap.insertBefore(bar, area);
  return wrap;
}

// ---- row editors (bullets, resources, references) -----------------------------------------

function rowEditor(block, kind) {
  const rows = block.items;
  const list = el("ol", { class: "rows" });
  rows.forEach((row, index) => {
    const controls = el("div", { class: "row-fields" });
    if (kind === "bullet") {
      controls.append(field(`Item ${index + 1} text`, bound(row, "text", { multiline: true, required: true })));
      controls.append(field("Reference numbers", refsControl(row), "e.g. 2, 3"));
    } else if (kind === "resource") {
      controls.append(field(`Resource ${index + 1} title`, bound(row, "title", { required: true })));
      controls.append(field("Link (https://…)", bound(row, "url", { type: "url", required: true })));
      controls.append(field("Description", bound(row, "description", { multiline: true })));
      controls.append(field("Kind", select(row, "kind", KINDS.map((k) => [k, k]))));
      controls.append(field("File size", bound(row, "size"), "For PDFs, e.g. 301 KB"));
    } else {
      controls.append(field(`Reference number`, bound(row, "number", { type: "number", parse: intOrNull })));
      controls.append(field(`Reference ${index + 1} text`, bound(row, "text", { multiline: true, required: true })));
      controls.append(field("Link", bound(row, "url", { type: "url" })));
    }
    const tools = el("div", { class: "row-tools" },
      el("button", { type: "button", class: "secondary small", text: "Up", "aria-label": `Move row ${index + 1} up`, disabled: index === 0, onclick: () => moveRow(block, index, -1) }),
      el("button", { type: "button", class: "secondary small", text: "Down", "aria-label": `Move row ${index + 1} down`, disabled: index === rows.length - 1, onclick: () => moveRow(block, index, 1) }),
      el("button", { type: "button", class: "danger small", text: "Remove", "aria-label": `Remove row ${index + 1}`, onclick: () => { rows.splice(index, 1); structural(block.id); } }));
    list.append(el("li", { class: "row" }, controls, tools));
  });
  const add = el("button", { type: "button", class: "secondary small", text: `Add ${kind}`, onclick: () => {
    rows.push(newRow(kind, rows));
    structural(block.id);
  } });
  return el("div", { class: "row-editor" }, list, add);
}

function refsControl(row) {
  const control = el("input", { type: "text", inputmode: "numeric", "data-key": "refs" });
  control.value = (row.refs || []).join(", ");
  control.addEventListener("input", () => { row.refs = refsParse(control.value); changed(); });
  return control;
}

function newRow(kind, rows) {
  if (kind === "bullet") return { text: "", refs: [] };
  if (kind === "resource") return { title: "", url: "", description: "", kind: "webpage", size: "" };
  const next = Math.max(0, ...rows.map((r) => r.number || 0)) + 1;
  return { number: next, text: "", url: "" };
}

function moveRow(block, index, delta) {
  const rows = block.items;
  const [row] = rows.splice(index, 1);
  rows.splice(index + delta, 0, row);
  structural(block.id);
}

// ---- image upload -------------------------------------------------------------------------

function imageEditor(block) {
  const src = bound(block, "src", { type: "url", required: true });
  const file = el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp" });
  const status = el("p", { class: "hint", role: "status", "aria-live": "polite" });
  file.addEventListener("change", async () => {
    if (!file.files.length) return;
    status.textContent = "Uploading…";
    const body = new FormData();
    body.append("file", file.files[0]);
    const response = await fetch(urls.media, { method: "POST", body, headers: { "X-CSRFToken": csrf, Accept: "application/json" } });
    const data = await response.json();
    if (!response.ok) { status.textContent = data.error?.message || "The upload failed."; return; }
    block.src = data.url;
    src.value = data.url;
    status.textContent = "Uploaded. Describe the image in the alt text.";
    changed();
  });
  const alt = bound(block, "alt", { multiline: false });
  return [
    field("Upload an image (PNG, JPEG, GIF or WebP, up to 5 MB)", file), status,
    field("Image address", src),
    field("Alt text", alt, "Required: what the image shows, for people who cannot see it."),
    checkbox(block, "decorative", "Decorative only (no alt text needed)"),
    field("Width in pixels", bound(block, "width", { type: "number", parse: intOrNull }), "20–600; empty for full width"),
    field("Link (optional)", bound(block, "link", { type: "url" })),
  ];
}

// ---- block cards --------------------------------------------------------------------------

function blockFields(block) {
  const levels = [["2", "Level 2"], ["3", "Level 3"], ["4", "Level 4"]];
  switch (block.type) {
    case "heading": return [field("Heading text", bound(block, "text", { required: true })), field("Level", select(block, "level", levels, Number))];
    case "paragraph": return [markdownArea(block, "text", "Paragraph text"), field("Reference numbers", refsControl(block), "e.g. 1, 2")];
    case "bullets": return [checkbox(block, "ordered", "Numbered list"), rowEditor(block, "bullet")];
    case "callout": return [field("Callout title", bound(block, "title", { required: true })), markdownArea(block, "body", "Callout body"), rowEditor(block, "bullet")];
    case "quote": return [field("Quotation", bound(block, "text", { multiline: true, required: true })), field("Attribution", bound(block, "attribution"))];
    case "resources": return [field("Section title", bound(block, "title")), markdownArea(block, "intro", "Introduction"), field("Heading level", select(block, "level", levels, Number)), rowEditor(block, "resource")];
    case "image": return imageEditor(block);
    case "button": return [field("Button label", bound(block, "label", { required: true })), field("Button link", bound(block, "url", { type: "url", required: true }))];
    case "references": return [field("Title", bound(block, "title")), field("Style", select(block, "style", [["numbered", "Numbered"], ["citation", "Citations"]])), rowEditor(block, "reference")];
    case "toc": return [field("Title", bound(block, "title"))];
    default: return [el("p", { class: "muted", text: "A horizontal rule between sections." })];
  }
}

function blockCard(block, index, total) {
  const label = LABELS[block.type] || block.type;
  const headingId = `block-${block.id}-title`;
  const tool = (text, name, action, disabled = false, cls = "secondary") =>
    el("button", { type: "button", class: `${cls} small`, text, "aria-label": `${name} ${label.toLowerCase()} ${index + 1}`, disabled, onclick: action });
  const header = el("div", { class: "block-header" },
    el("span", { class: "drag-handle", draggable: "true", title: "Drag to reorder", "aria-hidden": "true", text: "⠿" }),
    el("h3", { id: headingId, text: `${index + 1}. ${label}` }),
    el("span", { class: "block-id muted", text: block.id }),
    el("div", { class: "block-tools" },
      tool("↑", "Move up", () => moveBlock(index, -1), index === 0),
      tool("↓", "Move down", () => moveBlock(index, 1), index === total - 1),
      tool("Duplicate", "Duplicate", () => duplicateBlock(index)),
      tool("Delete", "Delete", () => deleteBlock(index), false, "danger")));
  const card = el("li", { class: "block", "data-block-id": block.id, "data-type": block.type, tabindex: "-1", "aria-labelledby": headingId }, header);
  card.append(el("div", { class: "block-body" }, ...blockFields(block)));
  wireDrag(card, header, index);
  return card;
}

function renderBlocks() {
  const blocks = state.content.blocks;
  $("#blocks").replaceChildren(...blocks.map((block, index) => blockCard(block, index, blocks.length)));
  markBlocks(lastPreview.checks || []);
}

function focusBlock(blockId, control = false, key = null) {
  const card = $(`[data-block-id="${CSS.escape(blockId)}"]`);
  if (!card) return;
  const body = $(".block-body", card);
  const named = key ? $(`[data-key="${CSS.escape(key)}"]`, body) : null;
  const target = named || (control ? $("input, textarea, select", body) : null) || card;
  target.scrollIntoView({ block: "center" });
  target.focus();
}

// ---- block operations ---------------------------------------------------------------------

function newId(type) {
  const taken = new Set(state.content.blocks.map((b) => b.id));
  let n = 1;
  while (taken.has(`${type}-${n}`)) n += 1;
  return `${type}-${n}`;
}

function addBlock(type) {
  const block = { id: newId(type), type, ...TEMPLATES[type]() };
  state.content.blocks.push(block);
  structural(block.id, `${LABELS[type]} added at position ${state.content.blocks.length}.`);
  focusBlock(block.id, true);
}

function moveBlock(index, delta, keepControl = false) {
  const blocks = state.content.blocks;
  const target = index + delta;
  if (target < 0 || target >= blocks.length) return;
  const [block] = blocks.splice(index, 1);
  blocks.splice(target, 0, block);
  structural(block.id, `${LABELS[block.type]} moved to position ${target + 1} of ${blocks.length}.`, keepControl);
}

function duplicateBlock(index) {
  const copy = structuredClone(state.content.blocks[index]);
  copy.id = newId(copy.type);
  state.content.blocks.splice(index + 1, 0, copy);
  structural(copy.id, `${LABELS[copy.type]} duplicated as position ${index + 2}.`);
}

function deleteBlock(index) {
  const [block] = state.content.blocks.splice(index, 1);
  const next = state.content.blocks[Math.min(index, state.content.blocks.length - 1)];
  structural(next?.id, `${LABELS[block.type]} deleted.`);
  if (!next) $("#add-type").focus();
}

function structural(focusId, message, keepControl = false) {
  renderBlocks();
  if (focusId) focusBlock(focusId, keepControl);
  if (message) $("#move-status").textContent = message;
  changed();
}

function wireDrag(card, header, index) {
  const handle = $(".drag-handle", header);
  handle.addEventListener("dragstart", (event) => {
    event.dataTransfer.setData("text/plain", String(index));
    event.dataTransfer.effectAllowed = "move";
    card.classList.add("dragging");
  });
  handle.addEventListener("dragend", () => card.classList.remove("dragging"));
  card.addEventListener("dragover", (event) => { event.preventDefault(); card.classList.add("drop-target"); });
  card.addEventListener("dragleave", () => card.classList.remove("drop-target"));
  card.addEventListener("drop", (event) => {
    event.preventDefault();
    card.classList.remove("drop-target");
    const from = Number(event.dataTransfer.getData("text/plain"));
    if (Number.isInteger(from) && from !== index) moveBlock(from, index - from);
  });
}

// ---- issue settings -----------------------------------------------------------------------

function bindSettings() {
  for (const control of $$("[data-field]")) {
    const key = control.dataset.field;
    control.value = state.content[key] ?? (key === "language" ? "en" : "");
    control.addEventListener("input", () => {
      const numeric = control.type === "number";
      state.content[key] = numeric ? intOrNull(control.value) : control.value;
      changed();
    });
  }
  const observance = $("#f-observance");
  observance.value = state.observance_slug || "";
  observance.addEventListener("change", () => { state.observance_slug = observance.value; changed(); });
  for (const box of $$("[data-topic]")) {
    box.checked = state.topic_ids.includes(Number(box.value));
    box.addEventListener("change", () => {
      state.topic_ids = $$("[data-topic]").filter((b) => b.checked).map((b) => Number(b.value));
      changed();
    });
  }
}

// ---- saving -------------------------------------------------------------------------------

function setStatus(text, tone = "") {
  const status = $("#save-status");
  status.textContent = text;
  status.dataset.tone = tone;
}

function changed() {
  dirty = true;
  updateSubmit();
  if (!conflicted) setStatus("Unsaved changes…", "pending");
  clearTimeout(previewTimer);
  previewTimer = setTimeout(refreshPreview, PREVIEW_DELAY);
  clearTimeout(saveTimer);
  if (!conflicted) saveTimer = setTimeout(save, SAVE_DELAY);
}

function payload(baseRevision = state.revision) {
  return { base_revision: baseRevision, content: state.content, topic_ids: state.topic_ids, observance_slug: state.observance_slug };
}

async function postJson(url, body) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
    body: JSON.stringify(body),
  });
  const data = await response.json().catch(() => ({}));
  return { response, data };
}

async function save(baseRevision) {
  if (saving) { saveTimer = setTimeout(save, SAVE_DELAY); return; }
  if (!dirty && baseRevision === undefined) return;
  saving = true;
  dirty = false;
  setStatus("Saving…", "pending");
  try {
    const { response, data } = await postJson(urls.content, payload(baseRevision ?? state.revision));
    if (response.ok) return saved(data);
    dirty = true;
    if (response.status === 409) return showConflict(data.error);
    const count = data.error?.details?.length || 0;
    setStatus(`Not saved: ${count || "some"} problem${count === 1 ? "" : "s"} to fix (see the pre-send checks).`, "error");
  } catch {
    dirty = true;
    setStatus("Not saved: the server could not be reached. Retrying…", "error");
    saveTimer = setTimeout(save, SAVE_DELAY * 5);
  } finally {
    saving = false;
    updateSubmit();
  }
}

function saved(data) {
  state.revision = data.revision;
  state.status = data.status;
  $("#issue-revision").textContent = data.revision;
  $("#issue-status").textContent = data.status.replace("_", " ");
  if (dirty) { setStatus("Saving…", "pending"); saveTimer = setTimeout(save, SAVE_DELAY); }
  else setStatus(`All changes saved (revision ${data.revision}).`, "ok");
}

// ---- conflicts ----------------------------------------------------------------------------

async function showConflict(error) {
  conflicted = true;
  clearTimeout(saveTimer);
  setStatus("Not saved: someone else saved this issue. Choose what to keep.", "error");
  const panel = $("#conflict");
  $("#conflict-message").textContent = `${error?.message || "This issue changed since you opened it."} Below: what your version changes compared with theirs.`;
  const { data } = await postJson(urls.compare, { content: state.content });
  panel.dataset.theirs = String(data.revision);
  $("#conflict-diff").innerHTML = data.html || "";
  panel.hidden = false;
  panel.focus();
}

async function reloadTheirs() {
  const response = await fetch(urls.content, { headers: { Accept: "application/json" } });
  const data = await response.json();
  Object.assign(state, data);
  closeConflict();
  dirty = false;
  bindValues();
  renderBlocks();
  setStatus(`Loaded their version (revision ${data.revision}). Your unsaved edits were discarded.`, "ok");
  refreshPreview();
}

async function keepMine() {
  const theirs = Number($("#conflict").dataset.theirs);
  closeConflict();
  dirty = true;
  await save(theirs);
}

function closeConflict() {
  conflicted = false;
  $("#conflict").hidden = true;
}

function bindValues() {
  for (const control of $$("[data-field]")) control.value = state.content[control.dataset.field] ?? "";
  $("#f-observance").value = state.observance_slug || "";
  for (const box of $$("[data-topic]")) box.checked = state.topic_ids.includes(Number(box.value));
  $("#issue-revision").textContent = state.revision;
  $("#issue-status").textContent = state.status.replace("_", " ");
}

// ---- preview and checks -------------------------------------------------------------------

async function refreshPreview() {
  const seq = ++previewSeq;
  const { response, data } = await postJson(urls.preview, { content: state.content });
  if (seq !== previewSeq || !response.ok) return;
  lastPreview = data;
  showPreview();
  showChecks(data.checks);
  updateSubmit();
}

function darkened(html) {
  // Simulate a client in dark mode: the email's own dark rules apply unconditionally.
  return html.replaceAll("(prefers-color-scheme: dark)", "all").replaceAll("(prefers-color-scheme:dark)", "all");
}

function showPreview() {
  const part = $('input[name="pv-part"]:checked').value;
  const dark = $('input[name="pv-scheme"]:checked').value === "dark";
  const mobile = $('input[name="pv-width"]:checked').value === "mobile";
  const frame = $("#preview-frame");
  const text = $("#preview-text");
  frame.classList.toggle("mobile", mobile);
  frame.hidden = part !== "html";
  text.hidden = part !== "text";
  text.classList.toggle("dark", dark);
  if (part === "text") text.textContent = lastPreview.text;
  else frame.srcdoc = dark ? darkened(lastPreview.html) : lastPreview.html;
}

function showChecks(checks) {
  const box = $("#checks");
  if (!checks.length) { box.replaceChildren(el("p", { class: "check-ok", text: "All pre-send checks pass." })); return; }
  const errors = checks.filter((c) => c.severity === "error").length;
  const summary = el("p", { text: `${errors} error${errors === 1 ? "" : "s"} (block sending), ${checks.length - errors} warning${checks.length - errors === 1 ? "" : "s"}.` });
  const list = el("ul", { class: "checks" });
  for (const check of checks) {
    const item = el("li", { class: `check check-${check.severity}`, "data-code": check.code },
      el("strong", { text: check.severity === "error" ? "Error" : "Warning" }), `: ${check.message}`);
    if (check.block_id) {
      item.append(" ", el("button", { type: "button", class: "link-button", text: `Go to block ${check.block_id}`, onclick: () => focusBlock(check.block_id, true, check.field) }));
    }
    list.append(item);
  }
  box.replaceChildren(summary, list);
  markBlocks(checks);
}

function markBlocks(checks) {
  const failing = new Set(checks.filter((c) => c.severity === "error" && c.block_id).map((c) => c.block_id));
  for (const card of $$(".block")) card.classList.toggle("has-error", failing.has(card.dataset.blockId));
}

function updateSubmit() {
  const button = $("#submit-review");
  const errors = (lastPreview.checks || []).filter((c) => c.severity === "error").length;
  const reason = state.status !== "draft" ? `The issue is ${state.status.replace("_", " ")}.`
    : errors ? "Fix the pre-send check errors first."
    : dirty || saving ? "Wait until your changes are saved." : "";
  button.disabled = Boolean(reason);
  $("#submit-hint").textContent = reason;
}

// ---- keyboard and page wiring -------------------------------------------------------------

function onKeydown(event) {
  if (!event.altKey || !["ArrowUp", "ArrowDown"].includes(event.key)) return;
  const card = event.target.closest(".block");
  if (!card) return;
  event.preventDefault();
  const index = state.content.blocks.findIndex((b) => b.id === card.dataset.blockId);
  moveBlock(index, event.key === "ArrowUp" ? -1 : 1, true);
}

function init() {
  state.content.blocks ||= [];
  bindSettings();
  renderBlocks();
  $("#add-block").addEventListener("click", () => addBlock($("#add-type").value));
  $("#blocks").addEventListener("keydown", onKeydown);
  $("#conflict-reload").addEventListener("click", reloadTheirs);
  $("#conflict-keep").addEventListener("click", keepMine);
  for (const radio of $$('input[name^="pv-"]')) radio.addEventListener("change", showPreview);
  $("#submit-form").addEventListener("submit", (event) => { if ($("#submit-review").disabled) event.preventDefault(); });
  window.addEventListener("beforeunload", (event) => {
    if (dirty || saving || conflicted) { event.preventDefault(); event.returnValue = ""; }
  });
  document.body.dataset.editorReady = "true";
  refreshPreview();
}

init();
