// The tenant inspector. Everything it shows comes from the mock's control plane (`/_mock/`) and
// everything it changes goes through it: the page keeps no tenant state of its own. Where it
// is (tenant, view, opened journal entry) lives in the URL: #/<tenant id>/<view>[/<entry seq>].

const VIEWS = ["directory", "journal", "clock", "faults", "snapshot"];
const $ = (id) => document.getElementById(id);

// ---- The control plane ---------------------------------------------------------------------

class ControlError extends Error {}

async function call(method, path, body) {
  const init = { method, headers: {} };
  if (body !== undefined) {
    init.headers["content-type"] = "application/json";
    init.body = typeof body === "string" ? body : JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  const text = await resp.text();
  const json = text ? safeJson(text) : null;
  if (!resp.ok) {
    const why = json && json.error ? json.error : `${resp.status} ${resp.statusText}`;
    throw new ControlError(why);
  }
  return json;
}

function safeJson(text) {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

const tenantPath = (tid, rest = "") => `/_mock/tenants/${encodeURIComponent(tid)}${rest}`;

// ---- Small DOM helpers ---------------------------------------------------------------------

// An element with attributes and children (strings become text, never HTML).
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") e.className = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    e.append(c instanceof Node ? c : String(c));
  }
  return e;
}

function badge(text, kind) {
  return el("span", { class: `badge ${kind}` }, text);
}

function mono(text) {
  return el("code", { class: "mono" }, text ?? "—");
}

// A table that becomes one card per row on a narrow window (each cell says what it is).
function table(caption, columns, rows, empty) {
  if (rows.length === 0) return el("p", { class: "empty" }, empty);
  return el("div", { class: "table-wrap" },
    el("table", {},
      el("caption", { class: "visually-hidden" }, caption),
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col" }, c.title)))),
      el("tbody", {}, rows.map((r) => el("tr", r.attrs || {},
        columns.map((c) => el("td", { "data-label": c.title }, c.cell(r.data))))))));
}

function say(message) {
  $("problem").textContent = "";
  $("notice").textContent = message;
}

function complain(error) {
  $("notice").textContent = "";
  $("problem").textContent = error instanceof ControlError ? error.message : `${error}`;
}

// Runs an action of a form; the form's submit button is disabled meanwhile.
async function act(form, action) {
  const button = form.querySelector("button[type=submit]");
  if (button) button.disabled = true;
  try {
    await action();
  } catch (e) {
    complain(e);
  } finally {
    if (button) button.disabled = false;
  }
}

// ---- Time ----------------------------------------------------------------------------------

function duration(seconds) {
  const s = Math.abs(seconds);
  const days = Math.floor(s / 86400);
  if (days >= 2) return `${days} days`;
  const hours = Math.floor(s / 3600);
  if (hours >= 2) return `${hours} hours`;
  const minutes = Math.floor(s / 60);
  if (minutes >= 2) return `${minutes} minutes`;
  return `${s} seconds`;
}

function timeLeft(seconds) {
  return seconds > 0 ? `${duration(seconds)} left` : `expired ${duration(seconds)} ago`;
}

const shortDate = (rfc3339) => rfc3339.replace("T", " ").replace(/:\d\dZ$/, " UTC");

// ---- Where we are --------------------------------------------------------------------------

function here() {
  const [tid = "", view = "", entry = ""] = location.hash.replace(/^#\/?/, "").split("/");
  return {
    tid: decodeURIComponent(tid),
    view: VIEWS.includes(view) ? view : "directory",
    entry: entry ? Number(entry) : null,
  };
}

function go(tid, view, entry) {
  const hash = `#/${encodeURIComponent(tid)}/${view}${entry ? `/${entry}` : ""}`;
  if (location.hash === hash) render();
  else location.hash = hash;
}

let tenants = [];

async function loadTenants() {
  tenants = (await call("GET", "/_mock/tenants")).value;
  const select = $("tenant");
  select.replaceChildren(...tenants.map((t) =>
    el("option", { value: t.id }, `${t.displayName} — ${t.initialDomain}`)));
}

// ---- Rendering -----------------------------------------------------------------------------

let leaving = () => {};
let lastView = null;

async function render() {
  const { tid, view, entry } = here();
  if (!tenants.some((t) => t.id === tid)) {
    if (tenants.length === 0) return complain("The mock serves no tenant.");
    return go(tenants[0].id, view);
  }
  $("tenant").value = tid;
  for (const a of document.querySelectorAll("#views a")) {
    a.href = `#/${encodeURIComponent(tid)}/${a.dataset.view}`;
    if (a.dataset.view === view) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  for (const v of VIEWS) $(`view-${v}`).hidden = v !== view;
  const t = tenants.find((x) => x.id === tid);
  document.title = `${view[0].toUpperCase()}${view.slice(1)} · ${t.displayName} · Tenant inspector`;
  const changed = lastView !== `${tid}/${view}`;
  if (changed) {
    leaving();
    leaving = () => {};
    lastView = `${tid}/${view}`;
  }
  try {
    await VIEW_RENDERERS[view](tid, entry, changed);
  } catch (e) {
    complain(e);
  }
  // Keyboard and screen-reader users land on the view they asked for.
  if (changed && document.activeElement !== $("tenant")) $(`h-${view}`).focus();
}

// Directory ----------------------------------------------------------------------------------

function credentialMarks(k) {
  const marks = [];
  if (k.status === "expired") marks.push(badge("Expired", "bad"));
  if (k.status === "expiring") marks.push(badge("Expiring", "warn"));
  if (k.status === "notYetValid") marks.push(badge("Not yet valid", "warn"));
  if (k.status === "valid") marks.push(badge("Valid", "ok"));
  if (k.foreign === true) marks.push(badge("Foreign", "bad"));
  // A credential a test put in place directly has no principal to judge it by: say so,
  // rather than "unknown", which reads as if the mock had lost track of it.
  if (k.foreign === null) {
    const byTest = k.addedBy && !k.addedBy.principal;
    marks.push(badge(byTest ? "Added by a test" : "Origin unknown", "muted"));
  }
  return marks;
}

function addedBy(k) {
  if (!k.addedBy) return "not recorded";
  const who = k.addedBy.principal
    ? k.addedBy.principal.name || k.addedBy.principal.id
    : "a test, in-process";
  return `${who} (${k.addedBy.via})`;
}

function credentialList(keys, what) {
  if (keys.length === 0) return el("p", { class: "empty" }, `No ${what}.`);
  return el("ul", { class: "credentials" }, keys.map((k) => el("li", {
    class: `credential ${k.status}${k.foreign ? " foreign" : ""}`,
    "data-key-id": k.keyId,
  },
    el("div", { class: "credential-head" },
      el("strong", {}, k.displayName || "(no display name)"),
      el("span", { class: "marks" }, credentialMarks(k))),
    el("dl", { class: "facts" },
      el("div", {}, el("dt", {}, "Time left"), el("dd", { class: "time-left" }, timeLeft(k.secondsLeft))),
      el("div", {}, el("dt", {}, "Starts"), el("dd", {}, shortDate(k.startDateTime))),
      el("div", {}, el("dt", {}, "Ends"), el("dd", {}, shortDate(k.endDateTime))),
      el("div", {}, el("dt", {}, "Type"), el("dd", {}, `${k.type} · ${k.usage}`)),
      el("div", { class: "span2" }, el("dt", {}, "Key id"), el("dd", {}, mono(k.keyId))),
      el("div", { class: "span2" }, el("dt", {}, "Added by"), el("dd", {}, addedBy(k))),
      el("div", { class: "span2" }, el("dt", {}, "SHA-1 thumbprint"), el("dd", {}, mono(k.sha1))),
      el("div", { class: "span2" }, el("dt", {}, "SHA-256 thumbprint"), el("dd", {}, mono(k.sha256)))))));
}

function secretList(secrets) {
  if (secrets.length === 0) return null;
  return el("div", {},
    el("h5", {}, "Client secrets (metadata only)"),
    table("Client secrets", [
      { title: "Name", cell: (p) => p.displayName || "—" },
      { title: "Hint", cell: (p) => p.hint || "—" },
      { title: "Ends", cell: (p) => shortDate(p.endDateTime) },
      { title: "Time left", cell: (p) => timeLeft(p.secondsLeft) },
    ], secrets.map((p) => ({ data: p })), ""));
}

async function renderDirectory(tid) {
  const s = await call("GET", tenantPath(tid, "/summary"));
  $("directory-clock").textContent =
    `On the tenant's clock: ${s.clock.now}${s.clock.frozen ? " (frozen)" : ""}. ` +
    `Expiring means ending within ${s.expiringWithinDays} days. Foreign means added by someone ` +
    "other than the application itself or one of its owners.";
  $("applications").replaceChildren(...(s.applications.length === 0
    ? [el("p", { class: "empty" }, "No application registrations.")]
    : s.applications.map((a) => el("article", { class: "object", "data-app-id": a.appId },
      el("h4", {}, a.displayName),
      el("p", { class: "ids" },
        "appId ", mono(a.appId), " · object ", mono(a.id),
        a.servicePrincipalId ? [" · service principal ", mono(a.servicePrincipalId)] : " · no service principal"),
      el("p", { class: "ids" }, "Owners: ",
        a.owners.length ? a.owners.map((o) => o.name || o.id).join(", ") : "none recorded"),
      credentialList(a.keyCredentials, "certificates"),
      secretList(a.passwordCredentials)))));
  const withKeys = s.servicePrincipals.filter((p) => p.keyCredentials.length > 0);
  $("service-principals").replaceChildren(
    table("Service principals", [
      { title: "Name", cell: (p) => p.displayName },
      { title: "appId", cell: (p) => mono(p.appId) },
      { title: "Kind", cell: (p) => (p.hasApplication ? "this tenant's application" : "another tenant's application") },
      { title: "Enabled", cell: (p) => (p.accountEnabled ? "yes" : "no") },
      { title: "App roles", cell: (p) => p.appRoles },
      { title: "Certificates", cell: (p) => p.keyCredentials.length },
    ], s.servicePrincipals.map((p) => ({ data: p })), "No service principals."),
    ...withKeys.map((p) => el("article", { class: "object" },
      el("h4", {}, `${p.displayName} (service principal)`),
      credentialList(p.keyCredentials, "certificates"))));
  $("assignments").replaceChildren(table("App role assignments", [
    { title: "Principal", cell: (a) => a.principal.name || a.principal.id },
    { title: "Role", cell: (a) => a.appRole || a.appRoleId },
    { title: "Resource", cell: (a) => a.resource.name || a.resource.id },
  ], s.appRoleAssignments.map((a) => ({ data: a })), "No app role assignments."));
  $("grants").replaceChildren(table("Consent grants", [
    { title: "Client", cell: (g) => g.client.name || g.client.id },
    { title: "Resource", cell: (g) => g.resource.name || g.resource.id },
    { title: "For", cell: (g) => (g.consentType === "AllPrincipals" ? "all users" : (g.principal?.name || g.principal?.id || "—")) },
    { title: "Scopes", cell: (g) => g.scope },
  ], s.oauth2PermissionGrants.map((g) => ({ data: g })), "No consent grants."));
  $("users").replaceChildren(table("Users", [
    { title: "User", cell: (u) => u.userPrincipalName },
    { title: "Name", cell: (u) => u.displayName },
    { title: "Enabled", cell: (u) => (u.accountEnabled ? "yes" : "no") },
    { title: "Password", cell: (u) => (u.hasPassword ? "set" : "none") },
    { title: "Directory roles", cell: (u) => u.directoryRoles.map((r) => r.name || r.id).join(", ") || "—" },
  ], s.users.map((u) => ({ data: u })), "No users."));
}

// Journal -------------------------------------------------------------------------------------

let journal = []; // what the stream has told, oldest first (the control plane's, not ours)

function outcomeOf(e) {
  if (e.fault) return "fault";
  return e.status !== null && e.status < 400 ? "ok" : "refused";
}

function fillFilter(select, values) {
  const keep = select.value;
  select.replaceChildren(el("option", { value: "" }, "Any"),
    ...[...new Set(values)].sort().map((v) => el("option", { value: v }, v)));
  select.value = [...select.options].some((o) => o.value === keep) ? keep : "";
}

function renderJournalList(tid) {
  fillFilter($("filter-operation"), journal.map((e) => e.operation || "(none)"));
  fillFilter($("filter-client"), journal.filter((e) => e.client_id).map((e) => e.client_id));
  const op = $("filter-operation").value;
  const client = $("filter-client").value;
  const outcome = $("filter-outcome").value;
  const shown = journal.filter((e) =>
    (!op || (e.operation || "(none)") === op) &&
    (!client || e.client_id === client) &&
    (!outcome || outcomeOf(e) === outcome)).reverse();
  $("journal-count").textContent =
    `${shown.length} of ${journal.length} request${journal.length === 1 ? "" : "s"}, newest first`;
  const open = here().entry;
  $("journal-list").replaceChildren(table("Requests, newest first", [
    { title: "#", cell: (e) => el("a", { href: `#/${encodeURIComponent(tid)}/journal/${e.seq}`, "aria-label": `Request ${e.seq}: ${e.method} ${e.path}` }, `${e.seq}`) },
    { title: "Time", cell: (e) => shortDate(e.time) },
    { title: "Request", cell: (e) => el("span", { class: "request" }, el("b", {}, e.method), " ", e.path) },
    { title: "Operation", cell: (e) => e.operation || "—" },
    { title: "Status", cell: (e) => (e.status === null ? badge("dropped", "bad") : badge(`${e.status}`, e.status < 400 ? "ok" : "bad")) },
    { title: "Error", cell: (e) => (e.error_code ? mono(e.error_code) : "—") },
    { title: "Client", cell: (e) => (e.client_id ? mono(e.client_id) : "—") },
    { title: "Fault", cell: (e) => e.fault || "—" },
  ], shown.map((e) => ({ data: e, attrs: { class: e.seq === open ? "selected" : null, "data-seq": e.seq, "data-outcome": outcomeOf(e) } })),
  journal.length ? "No request matches the filters." : "No request yet. Requests appear here as the tenant answers them."));
}

function field(term, value) {
  return el("div", {}, el("dt", {}, term), el("dd", {}, value ?? "—"));
}

function renderEntry(tid, seq) {
  const box = $("journal-entry");
  const e = seq === null ? null : journal.find((x) => x.seq === seq);
  if (!e) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  $("h-entry").textContent = `Request ${e.seq}: ${e.method} ${e.operation || e.path}`;
  const a = e.client_assertion;
  const parts = [
    el("dl", { class: "facts" },
      field("Time (tenant clock)", e.time),
      field("Method and path", el("span", { class: "request" }, `${e.method} ${e.path}`)),
      field("Operation", e.operation),
      field("Status", e.status === null ? "none: the connection was dropped" : `${e.status}`),
      field("Error code", e.error_code ? mono(e.error_code) : null),
      field("Client", e.client_id ? mono(e.client_id) : null),
      field("Fault rule", e.fault)),
  ];
  if (e.error_message) {
    parts.push(el("h4", {}, e.status !== null && e.status < 400 ? "Message" : "Why it was refused"),
      el("p", { class: "why" }, e.error_message));
  }
  if (a) {
    parts.push(el("h4", {}, "Client assertion (decoded; signature left out)"));
    if (a.unreadable) parts.push(el("p", { class: "why" }, `Unreadable: ${a.unreadable}`));
    if (a.header) parts.push(el("h5", {}, "Header"), el("pre", { class: "json" }, JSON.stringify(a.header, null, 2)));
    if (a.claims) {
      parts.push(el("h5", {}, "Claims"), el("pre", { class: "json" }, JSON.stringify(a.claims, null, 2)));
      const times = ["nbf", "iat", "exp"].filter((c) => typeof a.claims[c] === "number");
      if (times.length) {
        parts.push(el("p", { class: "hint" }, times.map((c) =>
          `${c} = ${new Date(a.claims[c] * 1000).toISOString().replace(".000", "")}`).join(" · ")));
      }
    }
  }
  parts.push(el("p", {}, el("a", { href: `#/${encodeURIComponent(tid)}/journal` }, "Close")));
  $("entry-body").replaceChildren(...parts);
}

function renderJournal(tid, entry, changed) {
  if (changed) {
    journal = [];
    $("journal-state").textContent = "Connecting…";
    $("journal-live").className = "dot";
    const source = new EventSource(tenantPath(tid, "/requests/events"));
    const refresh = () => {
      renderJournalList(tid);
      renderEntry(tid, here().entry);
    };
    source.addEventListener("snapshot", (m) => {
      journal = JSON.parse(m.data).value;
      $("journal-state").textContent = "Live";
      $("journal-live").className = "dot live";
      refresh();
    });
    source.addEventListener("entry", (m) => {
      journal.push(JSON.parse(m.data));
      refresh();
    });
    source.addEventListener("cleared", () => {
      journal = [];
      refresh();
    });
    source.addEventListener("restart", () => {
      $("journal-state").textContent = "Catching up…";
    });
    source.addEventListener("error", () => {
      $("journal-state").textContent = "Reconnecting…";
      $("journal-live").className = "dot";
    });
    leaving = () => source.close();
  }
  renderJournalList(tid);
  renderEntry(tid, entry);
  if (entry !== null && !changed) $("h-entry").focus();
}

// Clock -----------------------------------------------------------------------------------------

function showClock(c) {
  $("clock-now").textContent = c.now;
  $("clock-state").textContent = c.frozen ? "frozen" : "running";
  $("clock-state").className = `badge ${c.frozen ? "warn" : "ok"}`;
  $("freeze-button").textContent = c.frozen ? "Unfreeze (run on from here)" : "Freeze";
  $("freeze-button").dataset.frozen = c.frozen ? "yes" : "no";
  if (!$("set-at").value) $("set-at").value = c.now;
}

async function renderClock(tid, _entry, changed) {
  if (changed) $("set-at").value = "";
  showClock(await call("GET", tenantPath(tid, "/clock")));
  if (changed) {
    // A running clock moves on its own: show it move while the view is open.
    const timer = setInterval(async () => {
      try {
        showClock(await call("GET", tenantPath(tid, "/clock")));
      } catch (e) {
        complain(e);
      }
    }, 1000);
    leaving = () => clearInterval(timer);
  }
}

async function changeClock(body, done) {
  const { tid } = here();
  const c = await call("POST", tenantPath(tid, "/clock"), body);
  // The Set field is left alone while the user may be typing in it; after another change it
  // would offer a time the clock has already left.
  if (!("set" in body)) $("set-at").value = c.now;
  showClock(c);
  say(`${done}: the tenant's clock shows ${c.now}${c.frozen ? " (frozen)" : ""}.`);
}

// Faults ----------------------------------------------------------------------------------------

let operations = [];

function describeMatch(m) {
  if (m.operation) return el("span", {}, "operation ", mono(m.operation));
  return el("span", {}, `${m.method || "any method"} `, mono(m.path));
}

function describeEffect(r) {
  const parts = [];
  if (r.status) parts.push(`status ${r.status}${r.error ? ` (${r.error})` : ""}`);
  if (r.retry_after !== undefined) parts.push(`Retry-After ${r.retry_after} s`);
  if (r.delay_ms) parts.push(`delay ${r.delay_ms} ms`);
  if (r.drop_connection) parts.push("drops the connection");
  if (r.lag_seconds) parts.push(`replication lag ${r.lag_seconds} s`);
  return parts.join(", ");
}

async function renderFaults(tid) {
  if (operations.length === 0) {
    operations = (await call("GET", "/_mock/operations")).value;
    $("fault-operation").replaceChildren(...operations.map((o) => el("option", { value: o }, o)));
  }
  const rules = (await call("GET", tenantPath(tid, "/faults"))).value;
  $("fault-list").replaceChildren(table("Fault rules", [
    { title: "Rule", cell: (r) => mono(r.id) },
    { title: "Matches", cell: (r) => describeMatch(r.match) },
    { title: "Effect", cell: (r) => describeEffect(r) },
    { title: "Left", cell: (r) => (r.remaining === null ? "every request" : `${r.remaining} of ${r.count}`) },
    { title: "", cell: (r) => el("button", { type: "button", class: "secondary", "aria-label": `Remove rule ${r.id}`, onclick: () => removeFault(tid, r.id) }, "Remove") },
  ], rules.map((r) => ({ data: r, attrs: { "data-rule": r.id } })), "No fault rules: the tenant answers every request by its rules."));
}

async function removeFault(tid, id) {
  try {
    await call("DELETE", tenantPath(tid, `/faults/${encodeURIComponent(id)}`));
    say(`Removed fault rule ${id}.`);
    await renderFaults(tid);
    $("h-faults").focus();
  } catch (e) {
    complain(e);
  }
}

function faultRule(form) {
  const data = new FormData(form);
  const number = (name) => (data.get(name) === "" ? undefined : Number(data.get(name)));
  const rule = {
    match: data.get("match") === "operation"
      ? { operation: data.get("operation") }
      : { path: data.get("path"), ...(data.get("method") ? { method: data.get("method") } : {}) },
  };
  for (const name of ["status", "retry_after", "delay_ms", "lag_seconds", "count"]) {
    if (number(name) !== undefined) rule[name] = number(name);
  }
  if (data.get("error")) rule.error = data.get("error");
  if (data.get("drop_connection")) rule.drop_connection = true;
  return rule;
}

function showMatchFields() {
  const byOperation = $("match-operation").checked;
  $("field-operation").hidden = !byOperation;
  $("field-method").hidden = byOperation;
  $("field-path").hidden = byOperation;
  $("fault-path").required = !byOperation;
}

// Snapshot --------------------------------------------------------------------------------------

function renderSnapshot(tid) {
  const a = $("snapshot-download");
  a.href = tenantPath(tid, "/snapshot");
  a.setAttribute("download", `tenant-${tid}.json`);
}

async function fileText(input) {
  const file = input.files[0];
  return file ? file.text() : null;
}

// ---- Wiring ------------------------------------------------------------------------------------

const VIEW_RENDERERS = {
  directory: renderDirectory,
  journal: renderJournal,
  clock: renderClock,
  faults: renderFaults,
  snapshot: renderSnapshot,
};

function wire() {
  $("tenant-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    go($("tenant").value, here().view);
  });
  $("journal-filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    renderJournalList(here().tid);
  });
  for (const id of ["filter-operation", "filter-client", "filter-outcome"]) {
    $(id).addEventListener("change", () => renderJournalList(here().tid));
  }
  $("journal-clear").addEventListener("click", async () => {
    try {
      await call("DELETE", tenantPath(here().tid, "/requests"));
      say("The journal was cleared.");
    } catch (e) {
      complain(e);
    }
  });
  $("clock-advance").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    act(form, async () => {
      const seconds = Math.round(Number($("advance-amount").value) * Number($("advance-unit").value));
      await changeClock({ advance_seconds: seconds }, `Moved by ${seconds} seconds`);
    });
  });
  $("clock-set").addEventListener("submit", (ev) => {
    ev.preventDefault();
    act(ev.currentTarget, () => changeClock({ set: $("set-at").value.trim() }, "Set"));
  });
  $("clock-freeze").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const frozen = $("freeze-button").dataset.frozen === "yes";
    act(ev.currentTarget, () => changeClock({ frozen: !frozen }, frozen ? "Unfrozen" : "Frozen"));
  });
  for (const id of ["match-operation", "match-path"]) $(id).addEventListener("change", showMatchFields);
  $("fault-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    act(form, async () => {
      const { tid } = here();
      const { id } = await call("POST", tenantPath(tid, "/faults"), faultRule(form));
      say(`Added fault rule ${id}.`);
      await renderFaults(tid);
    });
  });
  $("snapshot-replace").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    act(form, async () => {
      const { tid } = here();
      const text = await fileText($("replace-file"));
      await call("PUT", tenantPath(tid, "/snapshot"), text);
      await loadTenants();
      say("The tenant now holds the uploaded snapshot.");
      form.reset();
    });
  });
  $("tenant-create").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.currentTarget;
    act(form, async () => {
      const text = (await fileText($("create-file"))) ?? "{}";
      const made = await call("POST", "/_mock/tenants", text);
      await loadTenants();
      form.reset();
      say(`Created tenant ${made.domain} (${made.id}).`);
      go(made.id, "directory");
    });
  });
  window.addEventListener("hashchange", render);
}

async function start() {
  wire();
  showMatchFields();
  try {
    await loadTenants();
  } catch (e) {
    return complain(e);
  }
  await render();
  document.body.dataset.ready = "yes";
}

start();
