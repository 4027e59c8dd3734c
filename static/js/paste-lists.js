// Pasted text read as several paragraphs, list items, resources or references.
//
// Authors copy bulletins from a word processor, a web page or a spreadsheet. One paste of many
// lines becomes as many blocks or rows, so a list is not typed in field by field.

const MARKER = /^\s*(?:[-*•◦▪‣–]|\d{1,3}[.)])\s+/;
const NUMBERED = /^\s*(?:\[(\d{1,3})\]|(\d{1,3})[.)])\s+/;
const URL = /https?:\/\/[^\s<>"]+/i;
const TRAILING_URL = /\s*<?(https?:\/\/[^\s<>"]+?)>?[.,;)]*\s*$/i;
const SIZE = /^\(?\s*(\d+(?:[.,]\d+)?)\s*([KMG]B)\s*\)?$/i;
// Columns from a spreadsheet come tab-separated; typed ones with " | " or a spaced dash.
const COLUMNS = /\t|\s+[|—–]\s+/;

function lines(text) {
  return text.replace(/\r\n?/g, "\n").split("\n");
}

/** Paragraphs of `text`, split at blank lines; one line break inside a paragraph stays. */
export function paragraphs(text) {
  return text.replace(/\r\n?/g, "\n").split(/\n[ \t]*\n+/).map((p) => p.trim()).filter(Boolean);
}

/** Items of a pasted list: one per line, without the bullet or number that started it. */
export function listItems(text) {
  return lines(text).map((line) => line.replace(MARKER, "").trim()).filter(Boolean);
}

/**
 * Resources, one per line: a title, then in any order a link, a description, a kind and a file
 * size, in columns; or a title and a link in running text ("Title https://… description").
 */
export function resourceRows(text, kinds) {
  return lines(text).map((line) => line.trim()).filter(Boolean).map((line) => resourceRow(line, kinds));
}

function resourceRow(line, kinds) {
  const row = { title: "", url: "", description: "", kind: "", size: "" };
  const cells = line.split(COLUMNS).flatMap(aroundLink).filter(Boolean);
  const rest = [];
  for (const cell of cells) {
    const size = SIZE.exec(cell);
    const kind = cell.toLowerCase();
    if (!row.url && /^https?:\/\/\S+$/i.test(cell)) row.url = cell;
    else if (rest.length && !row.size && size) row.size = `${size[1]} ${size[2].toUpperCase()}`;
    else if (rest.length && !row.kind && kinds.includes(kind)) row.kind = kind;
    else rest.push(cell);
  }
  row.title = rest[0] || "";
  row.description = rest.slice(1).join(" ");
  row.kind ||= /\.pdf(?:$|[?#])/i.test(row.url) ? "pdf" : "webpage";
  return row;
}

// A cell of running text with a link in it: what comes before the link, the link, what follows.
function aroundLink(cell) {
  const match = URL.exec(cell);
  const parts = match ? [cell.slice(0, match.index), match[0], cell.slice(match.index + match[0].length)] : [cell];
  return parts.map((part) => part.trim().replace(/^[-–—:|]\s*|\s*[-–—:|]$/g, "").trim());
}

/**
 * References, one per line ("1. Text https://…" or "[1] Text"); a line without a number of its
 * own continues the reference above when the others are numbered. A trailing link is its link.
 */
export function referenceRows(text, firstNumber) {
  const found = lines(text).map((line) => line.trim()).filter(Boolean);
  const numbered = found.some((line) => NUMBERED.test(line));
  const rows = [];
  for (const line of found) {
    const match = NUMBERED.exec(line);
    if (numbered && !match && rows.length) {
      rows.at(-1).text += ` ${line}`;
      continue;
    }
    const previous = rows.at(-1)?.number ?? firstNumber - 1;
    const number = match ? Number(match[1] || match[2]) : previous + 1;
    rows.push({ number, text: match ? line.slice(match[0].length) : line, url: "" });
  }
  for (const row of rows) {
    const link = TRAILING_URL.exec(row.text);
    if (link && link.index > 0) {
      row.url = link[1];
      row.text = row.text.slice(0, link.index).trim();
    }
  }
  return rows;
}

/** The plain text a paste event carries, when it holds more than one line (else null). */
export function pastedLines(event, { columns = false } = {}) {
  const text = event.clipboardData?.getData("text/plain") ?? "";
  const several = /\S[ \t]*\r?\n[\s\S]*\S/.test(text) || (columns && /\S\t+\S/.test(text));
  return several ? text : null;
}
