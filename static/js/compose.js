// The campaign composition page: live recipient count, approval state and resulting send time.

const form = document.querySelector("#compose-form");
const countBox = document.querySelector("#audience-count");
const approvalBox = document.querySelector("#approval-status");
const timeBox = document.querySelector("#send-time");
let timer = 0;

function query(names) {
  const data = new FormData(form);
  const params = new URLSearchParams();
  for (const [key, value] of data) if (names.includes(key)) params.append(key, value);
  return params;
}

async function getJson(url, params) {
  const response = await fetch(`${url}?${params}`, { headers: { Accept: "application/json" } });
  return { ok: response.ok, data: await response.json().catch(() => ({})) };
}

async function refreshCount() {
  const { ok, data } = await getJson(form.dataset.countUrl, query(["topic_ids", "segment_key", "segment_value", "include_uncertain"]));
  if (!ok) { countBox.textContent = data.error?.message || "The count is not available."; return; }
  countBox.textContent = `${data.count.toLocaleString()} recipient${data.count === 1 ? "" : "s"} now.`;
  approvalBox.textContent = data.message;
  approvalBox.dataset.allowed = String(data.allowed);
}

async function refreshTime() {
  const { ok, data } = await getJson(form.dataset.timeUrl, query(["mode", "local", "tz", "observance", "rule"]));
  if (!ok) { timeBox.textContent = data.error?.message || "That schedule is not valid."; return; }
  timeBox.textContent = data.utc ? `Sends ${data.local} (${data.utc}).${data.past ? " That time has passed." : ""}` : "Sends as soon as you confirm.";
}

function showModeFields() {
  const mode = form.querySelector('input[name="mode"]:checked').value;
  for (const field of form.querySelectorAll("[data-modes]")) {
    field.hidden = !field.dataset.modes.split(" ").includes(mode);
  }
}

form.addEventListener("change", showModeFields);
form.addEventListener("input", () => {
  clearTimeout(timer);
  timer = setTimeout(() => { refreshCount(); refreshTime(); }, 250);
});
showModeFields();
refreshCount();
refreshTime();
