// The issue editor: block composition, live preview, pre-send checks and autosave with conflicts.

import { LABELS, TEMPLATES, blockFields, configure, el, intOrNull, placeReferences } from "./editor-fields.js";

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => [...root.querySelectorAll(selector)];

const state = JSON.parse($("#editor-state").textContent);
const urls = JSON.parse($("#editor-urls").textContent);
const csrf = $('meta[name="csrf-token"]').content;
const SAVE_DELAY = 1200;
const PREVIEW_DELAY = 400;
// Names this page's editing session: the server gathers its saves into one revision.
const EDITING_SESSION = [...crypto.getRandomValues(new Uint8Array(12))].map((b) => b.toString(16).padStart(2, "0")).join("");

let dirty = false;
let saving = false;
let conflicted = false;
let saveTimer = 0;
let previewTimer = 0;
let previewSeq = 0;
let lastPreview = { html: "", text: "", checks: [] };

function blockCard(block, index, total) {
  const label = LABELS[block.type] || block.type;
  const headingId = `block-${block.id}-title`;
  const tool = (text, name, action, disabled = false, cls = "secondary") =>
    el("button", { type: "button", class: `${cls} small`, text, "data-tool": name, "aria-label": `${name} ${label.toLowerCase()} ${index + 1}`, disabled, onclick: action });
  const header = el("div", { class: "block-header" },
    el("span", { class: "drag-handle", draggable: "true", title: "Drag to reorder", "aria-hidden": "true", text: "⠿" }),
    el("h3", { id: headingId, text: `${index + 1}. ${label}` }),
    el("span", { class: "block-id muted", text: block.id }),
    el("div", { class: "block-tools" },
      tool("↑", "Move up", () => moveBlock(index, -1, "Move up"), index === 0),
      tool("↓", "Move down", () => moveBlock(index, 1, "Move down"), index === total - 1),
      tool("Duplicate", "Duplicate", () => duplicateBlock(index)),
      tool("Delete", "Delete", () => deleteBlock(index), false, "danger")));
  const card = el("li", { class: "block", "data-block-id": block.id, "data-type": block.type, tabindex: "-1", "aria-labelledby": headingId }, header);
  card.append(el("ul", { class: "block-problems", id: `block-${block.id}-problems`, hidden: true }));
  if (state.original) card.append(originalPanel(block));
  card.append(el("div", { class: "block-body" }, ...blockFields(block)));
  wireDrag(card, header, index);
  return card;
}

// An edition's block shows the original's block of the same id, to translate from.
function originalPanel(block) {
  const lines = state.original.blocks[block.id];
  const body = lines
    ? el("div", { class: "original-lines", lang: state.original.language }, ...lines.map((line) => el("p", { text: line })))
    : el("p", { class: "muted", text: "The English has no block like this one." });
  return el("details", { class: "original-text", open: true, "data-original-for": block.id }, el("summary", { text: "English" }), body);
}

function renderBlocks() {
  const blocks = state.content.blocks;
  $("#blocks").replaceChildren(...blocks.map((block, index) => blockCard(block, index, blocks.length)));
  renderPositions();
  markBlocks(lastPreview.checks || []);
}

// "Where" of the add form: before the first block, between any two, or at the end.
function renderPositions() {
  const select = $("#add-position");
  const blocks = state.content.blocks;
  // An empty choice follows the end of the list as blocks come and go.
  const chosen = select.dataset.chosen ? Math.min(Number(select.dataset.chosen), blocks.length) : blocks.length;
  const options = blocks.map((block, index) => {
    const text = index === 0 ? "At the start" : `After block ${index} (${LABELS[blocks[index - 1].type]})`;
    return el("option", { value: String(index), text });
  });
  options.push(el("option", { value: String(blocks.length), text: blocks.length ? `At the end, after block ${blocks.length} (${LABELS[blocks.at(-1).type]})` : "At the start" }));
  select.replaceChildren(...options);
  select.value = String(chosen);
}

function focusBlock(blockId, control = false, path = null) {
  const card = $(`[data-block-id="${CSS.escape(blockId)}"]`);
  if (!card) return;
  const body = $(".block-body", card);
  const named = path ? $(`[data-path="${CSS.escape(path)}"]`, body) : null;
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

function addBlock(type, position) {
  const block = { id: newId(type), type, ...TEMPLATES[type]() };
  const blocks = state.content.blocks;
  const at = Math.max(0, Math.min(position, blocks.length));
  blocks.splice(at, 0, block);
  // The next block added goes after this one, so several in a row stay in order.
  $("#add-position").dataset.chosen = at + 1 < blocks.length ? String(at + 1) : "";
  structural(block.id, `${LABELS[type]} added at position ${at + 1} of ${blocks.length}.`);
  focusBlock(block.id, true);
}

// `keep` is the control to keep focus on: true for the field being edited, or a tool's name.
function moveBlock(index, delta, keep = false) {
  const blocks = state.content.blocks;
  const target = index + delta;
  if (target < 0 || target >= blocks.length) return;
  const [block] = blocks.splice(index, 1);
  blocks.splice(target, 0, block);
  structural(block.id, `${LABELS[block.type]} moved to position ${target + 1} of ${blocks.length}.`, keep === true);
  if (typeof keep === "string") focusTool(block.id, keep);
}

// After a move by button, stay on that button (or its twin at the top or bottom of the list).
function focusTool(blockId, name) {
  const card = $(`[data-block-id="${CSS.escape(blockId)}"]`);
  const other = name === "Move up" ? "Move down" : "Move up";
  const button = [name, other].map((n) => $(`[data-tool="${n}"]`, card)).find((b) => b && !b.disabled);
  if (button) button.focus();
}

function duplicateBlock(index) {
  const copy = structuredClone(state.content.blocks[index]);
  copy.id = newId(copy.type);
  state.content.blocks.splice(index + 1, 0, copy);
  structural(copy.id, `${LABELS[copy.type]} duplicated as position ${index + 2}.`);
}

// Blocks made from one paste, placed after the block it went into; the last one gets focus.
function insertBlocksAfter(blockId, blocks, message) {
  const at = state.content.blocks.findIndex((b) => b.id === blockId) + 1;
  const added = [];
  for (const content of blocks) {
    const block = { id: newId(content.type), ...content };
    state.content.blocks.splice(at + added.length, 0, block);
    added.push(block);
  }
  structural(added.at(-1).id, message, true);
}

function deleteBlock(index) {
  const [block] = state.content.blocks.splice(index, 1);
  const next = state.content.blocks[Math.min(index, state.content.blocks.length - 1)];
  structural(next?.id, `${LABELS[block.type]} ${index + 1} deleted.`);
  if (!next) $("#add-type").focus();
}

// `path` names the control to focus inside the block ("items[2].title"), when there is one.
function structural(focusId, message, keepControl = false, path = null) {
  renderBlocks();
  if (focusId) focusBlock(focusId, keepControl || Boolean(path), path);
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
    control.after(el("span", { class: "field-problem", id: `${control.id}-problem`, hidden: true }));
    const [, themePart] = key.split("theme.");
    control.value = (themePart ? state.content.theme?.[themePart] : state.content[key]) ?? (key === "language" ? "en" : "");
    control.addEventListener("input", () => {
      const numeric = control.type === "number";
      // A single line holds no tab or other control character (pasted text may bring one).
      if (!numeric && /[\u0000-\u001f\u007f]/.test(control.value)) control.value = control.value.replace(/[\u0000-\u001f\u007f]+/g, " ");
      if (themePart) setTheme(themePart, control.value.trim());
      else state.content[key] = numeric ? intOrNull(control.value) : control.value;
      changed();
    });
  }
  const observance = $("#f-observance");
  observance.value = state.observance_slug || "";
  showObservanceTheme();
  observance.addEventListener("change", () => { state.observance_slug = observance.value; showObservanceTheme(); changed(); });
  for (const box of $$("[data-topic]")) {
    box.checked = state.topic_ids.includes(Number(box.value));
    box.addEventListener("change", () => {
      state.topic_ids = $$("[data-topic]").filter((b) => b.checked).map((b) => Number(b.value));
      changed();
    });
  }
}

// An issue's own theme: none at all when both fields are empty, so its observance's look applies.
function setTheme(part, value) {
  const theme = { accent: "", banner: "", ...state.content.theme, [part]: value };
  state.content.theme = theme.accent || theme.banner ? theme : null;
}

// The empty theme fields show what the chosen observance gives the issue in their place.
function showObservanceTheme() {
  const option = $("#f-observance").selectedOptions[0];
  $("#f-theme-accent").placeholder = option?.dataset.colour || "";
  $("#f-theme-banner").placeholder = option?.dataset.banner || "";
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
  const body = { base_revision: baseRevision, editing_session: EDITING_SESSION, content: state.content, topic_ids: state.topic_ids, observance_slug: state.observance_slug };
  if (state.original) body.original_revision = state.original.revision;
  return body;
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
    setStatus(`Not saved: ${data.error?.message || "the server refused it."}`, "error");
  } catch {
    dirty = true;
    setStatus("Not saved: the server could not be reached. Retrying…", "error");
    saveTimer = setTimeout(save, SAVE_DELAY * 5);
  } finally {
    saving = false;
    updateSubmit();
  }
}

// The words the page's `status_label` filter shows for a stored status ("in_review" → "In review").
function statusLabel(status) {
  const words = status.replaceAll("_", " ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function saved(data) {
  state.revision = data.revision;
  state.status = data.status;
  $("#issue-revision").textContent = data.revision;
  $("#issue-status").textContent = statusLabel(data.status);
  if (data.original) {
    const newer = data.original.revision !== state.original.revision;
    state.original = data.original;
    $("#edition-out-of-date").hidden = !data.original.out_of_date;
    // The English changed meanwhile: show it, so the next save is translated from what is shown.
    if (newer) for (const panel of $$("[data-original-for]")) panel.replaceWith(originalPanel(state.content.blocks.find((b) => b.id === panel.dataset.originalFor)));
  }
  const open = data.problems.length;
  const todo = open ? ` ${open} thing${open === 1 ? "" : "s"} to finish before review, marked on the blocks.` : "";
  if (dirty) { setStatus("Saving…", "pending"); saveTimer = setTimeout(save, SAVE_DELAY); }
  else setStatus(`All changes saved (revision ${data.revision}).${todo}`, "ok");
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
  placeAllReferences();
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
  $("#issue-status").textContent = statusLabel(state.status);
}

// ---- preview and checks -------------------------------------------------------------------

async function refreshPreview() {
  const seq = ++previewSeq;
  const { response, data } = await postJson(urls.preview, { content: state.content, observance_slug: state.observance_slug || "" });
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
  markBlocks(checks);
  if (!checks.length) { box.replaceChildren(el("p", { class: "check-ok", text: "All pre-send checks pass." })); return; }
  const errors = checks.filter((c) => c.severity === "error").length;
  const summary = el("p", { text: `${errors} error${errors === 1 ? "" : "s"} (block sending), ${checks.length - errors} warning${checks.length - errors === 1 ? "" : "s"}.` });
  const list = el("ul", { class: "checks" });
  for (const check of checks) {
    const item = el("li", { class: `check check-${check.severity}`, "data-code": check.code },
      el("strong", { text: check.severity === "error" ? "Error" : "Warning" }), `: ${check.message}`);
    if (check.block_id) {
      item.append(" ", el("button", { type: "button", class: "link-button", text: `Go to block ${check.block_id}`, onclick: () => focusBlock(check.block_id, true, check.field) }));
    } else if (check.field && $(`[data-field="${CSS.escape(check.field)}"]`)) {
      item.append(" ", el("button", { type: "button", class: "link-button", text: "Go to the field", onclick: () => $(`[data-field="${CSS.escape(check.field)}"]`).focus() }));
    }
    list.append(item);
  }
  box.replaceChildren(summary, list);
}

// Show each block's problems on the block, and point each problem's field at its words.
function markBlocks(checks) {
  for (const note of $$(".field-problem")) note.hidden = true;
  for (const control of $$("[aria-invalid]")) {
    control.removeAttribute("aria-invalid");
    const own = (control.dataset.describedby || "").trim();
    if (own) control.setAttribute("aria-describedby", own); else control.removeAttribute("aria-describedby");
  }
  for (const card of $$(".block")) {
    const mine = checks.filter((c) => c.block_id === card.dataset.blockId);
    const list = $(".block-problems", card);
    list.replaceChildren(...mine.map((check, n) => {
      const id = `${list.id}-${n}`;
      const control = check.field ? $(`[data-path="${CSS.escape(check.field)}"]`, card) : null;
      if (control && check.severity === "error") markInvalid(control, id);
      return el("li", { id, class: `check-${check.severity}` }, el("strong", { text: check.severity === "error" ? "To fix" : "Consider" }), `: ${check.message}`);
    }));
    list.hidden = !mine.length;
    card.classList.toggle("has-error", mine.some((c) => c.severity === "error"));
  }
  for (const check of checks.filter((c) => !c.block_id && c.field && c.severity === "error")) {
    const control = $(`[data-field="${CSS.escape(check.field)}"]`);
    const note = control && $(`#${control.id}-problem`);
    if (note) { note.textContent = check.message; note.hidden = false; markInvalid(control, note.id); }
  }
}

function markInvalid(control, describedBy) {
  if (!("describedby" in control.dataset)) control.dataset.describedby = control.getAttribute("aria-describedby") || "";
  control.setAttribute("aria-invalid", "true");
  control.setAttribute("aria-describedby", `${control.dataset.describedby} ${describedBy}`.trim());
}

function updateSubmit() {
  const button = $("#submit-review");
  const errors = (lastPreview.checks || []).filter((c) => c.severity === "error").length;
  const reason = state.status !== "draft" ? `The issue is ${state.status.replace("_", " ")}.`
    : errors ? "Fix the problems marked on the blocks and in the pre-send checks first."
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

// Reference numbers listed beside a text become marks at its end, where they showed.
function placeAllReferences() {
  state.content.blocks ||= [];
  for (const block of state.content.blocks) {
    if (block.type === "paragraph") placeReferences(block);
    for (const item of ["bullets", "callout"].includes(block.type) ? block.items : []) placeReferences(item);
  }
}

function announce(message) {
  $("#move-status").textContent = message;
}

function listedReferences() {
  return state.content.blocks.filter((b) => b.type === "references").flatMap((b) => b.items.map((r) => r.number)).filter(Number.isInteger);
}

function init() {
  configure({ changed, structural, insertBlocksAfter, announce, references: listedReferences, uploadUrl: urls.media, csrf });
  placeAllReferences();
  lastPreview.checks = state.problems || [];
  bindSettings();
  renderBlocks();
  updateSubmit();
  $("#add-position").addEventListener("change", (event) => {
    const { value } = event.target;
    event.target.dataset.chosen = Number(value) < state.content.blocks.length ? value : "";
  });
  $("#add-block").addEventListener("click", () => addBlock($("#add-type").value, Number($("#add-position").value)));
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
