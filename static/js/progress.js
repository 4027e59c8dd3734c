// The campaign page: refresh the progress figures while it sends, and reload the page when
// its status changes (a scheduled send starts, a send finishes), since its sections depend on it.

const page = document.querySelector("#campaign");
const POLL_MS = { sending: 2000, scheduled: 15000 };

function set(name, value) {
  const node = page.querySelector(`[data-field="${name}"]`);
  if (node) node.textContent = value;
}

function render(data) {
  set("sent", data.sent.toLocaleString());
  set("recipients", data.recipients.toLocaleString());
  set("rate", data.rate.toFixed(1));
  set("eta", data.eta_seconds === null ? "—" : `${data.eta_seconds} s`);
  set("failures", data.failures);
  set("uncertain", data.counts.uncertain);
  const bar = page.querySelector('[data-field="bar"]');
  if (bar) {
    bar.max = data.recipients || 1;
    bar.value = data.done;
    bar.textContent = `${data.percent}%`;
  }
}

async function poll() {
  let data = null;
  try {
    const response = await fetch(page.dataset.progressUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    data = response.ok ? await response.json() : null;
  } catch {
    window.setTimeout(poll, 5000);
    return;
  }
  if (!data) return;
  if (data.status !== page.dataset.status) {
    window.location.reload();
    return;
  }
  render(data);
  window.setTimeout(poll, POLL_MS[data.status]);
}

if (page && POLL_MS[page.dataset.status]) window.setTimeout(poll, 1000);
