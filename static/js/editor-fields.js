// Block field editors for the issue editor: inputs bound to the content, rows, uploads.

import { listItems, paragraphs, pastedLines, referenceRows, resourceRows } from "./paste-lists.js";

const hooks = { changed() {}, structural() {}, insertBlocksAfter() {}, announce() {}, references: () => [], uploadUrl: "", csrf: "" };
let uid = 0;

/** Connect the field editors to the editor's change handlers, announcer, references, upload URL and CSRF token. */
export function configure(options) {
  Object.assign(hooks, options);
}

export const LABELS = {
  heading: "Heading", paragraph: "Paragraph", bullets: "Bulleted list", callout: "Callout",
  quote: "Quote", resources: "Resources", image: "Image", button: "Button", divider: "Divider",
  references: "References", toc: "Table of contents",
};
const KINDS = ["webpage", "training", "publication", "organization", "toolkit", "pdf", "video"];
export const TEMPLATES = {
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
// ---- small DOM builders -------------------------------------------------------------------

export function el(tag, attrs = {}, ...children) {
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

export function field(label, control, hint) {
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

// `path` names the control as problems do ("items[0].text"), so a problem can point at it.
function bound(obj, key, { type = "text", multiline = false, required = false, parse, path = key } = {}) {
  const control = multiline ? el("textarea", { rows: 4 }) : el("input", { type });
  control.dataset.key = key;
  control.dataset.path = path;
  if (required) control.setAttribute("aria-required", "true");
  control.value = obj[key] ?? "";
  control.addEventListener("input", () => {
    obj[key] = parse ? parse(control.value) : control.value;
    hooks.changed();
  });
  return control;
}

function select(obj, key, options, parse = (v) => v, path = key) {
  const control = el("select");
  control.dataset.key = key;
  control.dataset.path = path;
  for (const [value, label] of options) control.append(el("option", { value, text: label }));
  control.value = String(obj[key] ?? options[0][0]);
  control.addEventListener("change", () => { obj[key] = parse(control.value); hooks.changed(); });
  return control;
}

function checkbox(obj, key, label) {
  const id = `c${++uid}`;
  const box = el("input", { type: "checkbox", id, "data-key": key, "data-path": key });
  box.checked = Boolean(obj[key]);
  box.addEventListener("change", () => { obj[key] = box.checked; hooks.changed(); });
  return el("div", { class: "field check" }, box, el("label", { for: id, text: label }));
}

export const intOrNull = (value) => (value === "" ? null : Number.parseInt(value, 10));
const FOOTNOTE = /\[\^(\d{1,3})\]/g;

// ---- Markdown toolbar ---------------------------------------------------------------------

// `hint` is said before the Markdown help (how a paste of several lines is read, say).
function markdownArea(obj, key, label, { path = key, list = true, required = false, hint: extra = "" } = {}) {
  const area = bound(obj, key, { multiline: true, path, required });
  const help = list
    ? "Markdown: **bold**, *italic*, [text](https://…), lines starting with “- ” make a list, [^1] cites reference 1."
    : "Markdown: **bold**, *italic*, [text](https://…); [^1] cites reference 1.";
  const wrap = field(label, area, extra ? `${extra} ${help}` : help);
  const changedText = () => { area.focus(); area.dispatchEvent(new Event("input")); };
  // Wraps the selection; with none, inserts the placeholder selected so typing replaces it.
  const apply = (before, after, placeholder) => {
    const { selectionStart: start, selectionEnd: end, value } = area;
    const chosen = value.slice(start, end) || placeholder;
    area.setRangeText(before + chosen + after, start, end, "end");
    if (start === end) area.setSelectionRange(start + before.length, start + before.length + chosen.length);
    changedText();
  };
  const listify = () => {
    const { selectionStart: start, selectionEnd: end, value } = area;
    const lineStart = value.lastIndexOf("\n", start - 1) + 1;
    const lines = value.slice(lineStart, end).split("\n").map((line) => (line.startsWith("- ") ? line : `- ${line}`));
    area.setRangeText(lines.join("\n"), lineStart, end, "end");
    changedText();
  };
  const link = () => {
    const answer = window.prompt("Link address (https://…)", "https://");
    const address = (answer || "").trim();
    if (!address || address === "https://") { area.focus(); return; }
    const href = /^(https?:\/\/|mailto:)/i.test(address) ? address : `https://${address}`;
    apply("[", `](${href})`, "link text");
  };
  const footnote = () => {
    const answer = window.prompt("Number of the reference to cite here", String(nextReference()));
    if (answer === null) { area.focus(); return; }
    const number = Number.parseInt(answer.trim(), 10);
    if (!(number >= 1 && number <= 999)) {
      hooks.announce("Not added: write a reference number from 1 to 999.");
      area.focus();
      return;
    }
    area.setRangeText(`[^${number}]`, area.selectionEnd, area.selectionEnd, "end");
    changedText();
  };
  const tool = (text, title, action) => el("button", { type: "button", class: "tool", "aria-label": title, title, onclick: action, text });
  const bar = el("div", { class: "md-toolbar", role: "toolbar", "aria-label": `${label} formatting` },
    tool("B", "Bold", () => apply("**", "**", "bold text")),
    tool("I", "Italic", () => apply("*", "*", "italic text")),
    tool("Link", "Link", link),
    list && tool("List", "Bulleted list", listify),
    tool("Footnote", "Footnote", footnote));
  wrap.insertBefore(bar, area);
  return wrap;
}

// The first listed reference not cited yet, else the number after the highest listed.
function nextReference() {
  const listed = hooks.references();
  const cited = new Set([...document.querySelectorAll("#blocks textarea")].flatMap((area) => [...area.value.matchAll(FOOTNOTE)].map((m) => Number(m[1]))));
  return listed.find((n) => !cited.has(n)) ?? (Math.max(0, ...listed) + 1);
}

/** Move a paragraph's (or list item's) `refs` into its text as marks, where they rendered. */
export function placeReferences(target) {
  if (!target.refs?.length) return;
  target.text = `${target.text || ""}${target.refs.map((n) => `[^${n}]`).join("")}`;
  target.refs = [];
}

// ---- pasting several lines -----------------------------------------------------------------

// A paste of several lines that `handle` reads as a list replaces the browser's own paste;
// `handle` returns false to leave a paste it cannot read to the browser.
function onPasteLines(control, handle, options) {
  control.addEventListener("paste", (event) => {
    const text = pastedLines(event, options);
    if (text !== null && handle(text) !== false) event.preventDefault();
  });
}

// The control's value with `text` in place of its selection, as a paste would leave it.
function withPasted(control, text) {
  const { selectionStart: start, selectionEnd: end, value } = control;
  return value.slice(0, start ?? value.length) + text + value.slice(end ?? value.length);
}

const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** Paragraphs pasted into a paragraph block: the first stays, each other becomes a block after. */
function pasteParagraphs(block, area) {
  onPasteLines(area, (text) => {
    const [first, ...more] = paragraphs(text);
    if (!more.length) return false;
    block.text = withPasted(area, first);
    hooks.insertBlocksAfter(block.id, more.map((body) => ({ type: "paragraph", text: body })), `${plural(more.length + 1, "paragraph")} pasted: ${plural(more.length, "block")} added.`);
  });
}

// Rows pasted into row `index`: the first fills it, the others follow it.
function pasteRows(block, index, control, read, fill, options) {
  onPasteLines(control, (text) => {
    const [first, ...more] = read(text);
    if (!first) return false;
    fill(block.items[index], first);
    block.items.splice(index + 1, 0, ...more);
    const last = index + more.length;
    hooks.structural(block.id, `${plural(more.length + 1, "row")} pasted.`, false, `items[${last}].${control.dataset.key}`);
  }, options);
}

// ---- row editors (bullets, resources, references) -----------------------------------------

function rowEditor(block, kind, emptyHint = "") {
  const rows = block.items;
  const list = el("ol", { class: "rows" });
  rows.forEach((row, index) => {
    const controls = el("div", { class: "row-fields" });
    const at = (key) => `items[${index}].${key}`;
    if (kind === "bullet") {
      const text = markdownArea(row, "text", `Item ${index + 1} text`, { path: at("text"), list: false, required: true, hint: index === 0 ? "Paste several lines to add an item for each." : "" });
      const area = text.querySelector("textarea");
      pasteRows(block, index, area, (pasted) => listItems(pasted).map((item) => ({ text: item, refs: [] })), (target, item) => { target.text = withPasted(area, item.text); });
      controls.append(text);
    } else if (kind === "resource") {
      const title = bound(row, "title", { required: true, path: at("title") });
      pasteRows(block, index, title, (pasted) => resourceRows(pasted, KINDS), (target, pasted) => {
        for (const key of ["url", "description", "size"]) target[key] = pasted[key] || target[key];
        if (pasted.kind !== "webpage") target.kind = pasted.kind;
        target.title = withPasted(title, pasted.title);
      }, { columns: true });
      controls.append(field(`Resource ${index + 1} title`, title, index === 0 ? "Paste several resources at once, one per line: the title, then its link, description, kind and size as columns (copied from a spreadsheet, or separated by |)." : undefined));
      controls.append(field("Link (https://…)", bound(row, "url", { type: "url", required: true, path: at("url") })));
      controls.append(field("Description", bound(row, "description", { multiline: true, path: at("description") })));
      controls.append(field("Kind", select(row, "kind", KINDS.map((k) => [k, k]), (v) => v, at("kind"))));
      controls.append(field("File size", bound(row, "size", { path: at("size") }), "For PDFs, e.g. 301 KB"));
    } else {
      controls.append(field(`Reference number`, bound(row, "number", { type: "number", parse: intOrNull, path: at("number") })));
      const text = bound(row, "text", { multiline: true, required: true, path: at("text") });
      pasteRows(block, index, text, (pasted) => referenceRows(pasted, row.number || index + 1), (target, pasted) => {
        Object.assign(target, { number: pasted.number, url: pasted.url || target.url, text: withPasted(text, pasted.text) });
      });
      controls.append(field(`Reference ${index + 1} text`, text, index === 0 ? "Paste a numbered list to add a reference for each line; a link at the end of a line becomes its link." : undefined));
      controls.append(field("Link", bound(row, "url", { type: "url", path: at("url") })));
    }
    const tools = el("div", { class: "row-tools" },
      el("button", { type: "button", class: "secondary small", text: "Up", "aria-label": `Move row ${index + 1} up`, disabled: index === 0, onclick: () => moveRow(block, index, -1) }),
      el("button", { type: "button", class: "secondary small", text: "Down", "aria-label": `Move row ${index + 1} down`, disabled: index === rows.length - 1, onclick: () => moveRow(block, index, 1) }),
      el("button", { type: "button", class: "danger small", text: "Remove", "aria-label": `Remove row ${index + 1}`, onclick: () => { rows.splice(index, 1); hooks.structural(block.id); } }));
    list.append(el("li", { class: "row" }, controls, tools));
  });
  const add = el("button", { type: "button", class: "secondary small", text: `Add ${kind}`, onclick: () => {
    rows.push(newRow(kind, rows));
    hooks.structural(block.id);
  } });
  const hint = !rows.length && emptyHint ? el("p", { class: "hint", text: emptyHint }) : null;
  return el("div", { class: "row-editor" }, hint, list, add);
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
  hooks.structural(block.id);
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
    const response = await fetch(hooks.uploadUrl, { method: "POST", body, headers: { "X-CSRFToken": hooks.csrf, Accept: "application/json" } });
    const data = await response.json();
    if (!response.ok) { status.textContent = data.error?.message || "The upload failed."; return; }
    block.src = data.url;
    src.value = data.url;
    status.textContent = "Uploaded. Describe the image in the alt text.";
    hooks.changed();
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

export function blockFields(block) {
  const levels = [["2", "Level 2"], ["3", "Level 3"], ["4", "Level 4"]];
  switch (block.type) {
    case "heading": return [field("Heading text", bound(block, "text", { required: true })), field("Level", select(block, "level", levels, Number))];
    case "paragraph": {
      const text = markdownArea(block, "text", "Paragraph text", { required: true });
      pasteParagraphs(block, text.querySelector("textarea"));
      return [text];
    }
    case "bullets": return [checkbox(block, "ordered", "Numbered list"), rowEditor(block, "bullet")];
    case "callout": return [field("Callout title", bound(block, "title", { required: true })), markdownArea(block, "body", "Callout body"), rowEditor(block, "bullet")];
    case "quote": return [field("Quotation", bound(block, "text", { multiline: true, required: true })), field("Attribution", bound(block, "attribution"))];
    case "resources": return [field("Section title", bound(block, "title")), markdownArea(block, "intro", "Introduction"), field("Heading level", select(block, "level", levels, Number)), rowEditor(block, "resource", "Links can wait: a title and an introduction will do for now.")];
    case "image": return imageEditor(block);
    case "button": return [field("Button label", bound(block, "label", { required: true })), field("Button link", bound(block, "url", { type: "url", required: true }))];
    case "references": return [field("Title", bound(block, "title")), field("Style", select(block, "style", [["numbered", "Numbered"], ["citation", "Citations"]])), rowEditor(block, "reference")];
    case "toc": return [field("Title", bound(block, "title"))];
    default: return [el("p", { class: "muted", text: "A horizontal rule between sections." })];
  }
}
