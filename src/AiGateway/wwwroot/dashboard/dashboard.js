// AiGateway billing dashboard. Plain browser JavaScript: it calls the gateway's own JSON APIs with the key the user
// signed in with, which is kept in sessionStorage only (gone when the tab closes, never sent anywhere else).
"use strict";

(() => {
  const KEY_STORAGE = "aigw.key";
  const ACCOUNT_STORAGE = "aigw.account";
  const PAGE = 25;
  const CHART_DAYS = 30;
  const PALETTE = ["#2f5bd3", "#e07a1f", "#1b9e77", "#b5179e", "#7a5195", "#ef5675", "#4f6d7a", "#ffa600", "#003f5c", "#8ab17d"];

  const $ = (id) => document.getElementById(id);
  const credits = new Intl.NumberFormat(undefined, { maximumFractionDigits: 6 });
  const integer = new Intl.NumberFormat(undefined);
  const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });

  const state = { key: null, mode: null, account: null, cursors: {}, charts: {}, accountsCursor: null };

  // ---- API access -------------------------------------------------------------------------------------------------

  /** An error the API answered with, carrying its status and a human message. */
  class ApiError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  async function api(path, options = {}) {
    const response = await fetch(path, {
      ...options,
      headers: { Authorization: `Bearer ${state.key}`, ...(options.headers || {}) },
      cache: "no-store",
    });
    const type = response.headers.get("Content-Type") || "";
    const body = type.includes("json") ? await response.json() : null;
    if (!response.ok) {
      // ProblemDetails (gateway APIs) or a provider-shaped error (estimate).
      const message = body && (body.detail || (body.error && body.error.message) || body.title) || `HTTP ${response.status}`;
      throw new ApiError(response.status, message);
    }
    return body;
  }

  /** The path of an account resource: the caller's own with a gateway key, the picked account's with the admin key. */
  function accountPath(resource) {
    if (state.mode === "admin") return `/admin/accounts/${state.account.id}/${resource}`;
    return resource === "balance" ? "/v1/credits" : `/v1/credits/${resource}`;
  }

  function query(params) {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== "") q.set(k, v);
    const s = q.toString();
    return s ? `?${s}` : "";
  }

  // ---- Formatting -------------------------------------------------------------------------------------------------

  const fmtCredits = (n) => credits.format(n);
  const fmtInt = (n) => integer.format(n);
  const fmtTime = (iso) => (iso ? new Date(iso).toLocaleString() : "–");
  const fmtDate = (iso) => (iso ? new Date(iso).toLocaleDateString() : "never");

  function fmtIn(iso) {
    const seconds = (new Date(iso).getTime() - Date.now()) / 1000;
    const units = [["day", 86400], ["hour", 3600], ["minute", 60]];
    for (const [unit, size] of units) {
      if (Math.abs(seconds) >= size || unit === "minute") return relative.format(Math.round(seconds / size), unit);
    }
    return "";
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function show(id, visible) { $(id).hidden = !visible; }

  function showError(id, message) {
    $(id).textContent = message || "";
    show(id, Boolean(message));
  }

  // ---- Sign-in ----------------------------------------------------------------------------------------------------

  async function signIn(key) {
    state.key = key;
    // Gateway keys have a fixed prefix; anything else can only be the admin key. Deciding by shape avoids a request
    // that is bound to fail (and to log a 401) for every operator sign-in.
    state.mode = key.startsWith("agw_") ? "user" : "admin";
    if (state.mode === "user") {
      await api("/v1/credits");
    } else {
      await api("/admin/accounts?limit=1");
    }
    sessionStorage.setItem(KEY_STORAGE, key);
  }

  function badKeyMessage(error) {
    if (error.status === 401) {
      return state.mode === "admin"
        ? "That key was not accepted. Gateway keys start with agw_; the admin key must match the gateway's Gateway:AdminKey."
        : "That key was not accepted: it is wrong, incomplete or revoked. Paste the whole gateway key, starting with agw_.";
    }
    return `Could not sign in: ${error.message}`;
  }

  function signOut(message) {
    sessionStorage.removeItem(KEY_STORAGE);
    sessionStorage.removeItem(ACCOUNT_STORAGE);
    state.key = null;
    state.mode = null;
    state.account = null;
    show("account-view", false);
    show("accounts-view", false);
    show("who", false);
    show("signin-view", true);
    $("key").value = "";
    showError("signin-error", message);
    $("key").focus();
  }

  async function afterSignIn() {
    show("signin-view", false);
    show("who", true);
    showError("signin-error", null);
    if (state.mode === "admin") {
      const saved = sessionStorage.getItem(ACCOUNT_STORAGE);
      if (saved) {
        openAccount(JSON.parse(saved));
      } else {
        await showAccounts();
      }
    } else {
      $("who-text").textContent = `Signed in with key ${state.key.slice(0, 12)}…`;
      await loadAccount().catch(reportLoadError);
    }
  }

  // ---- Operator: account picker -----------------------------------------------------------------------------------

  async function showAccounts(more = false) {
    show("account-view", false);
    show("accounts-view", true);
    $("who-text").textContent = "Operator (admin key)";
    const list = $("account-list");
    if (!more) {
      list.textContent = "";
      state.accountsCursor = null;
    }
    const page = await api(`/admin/accounts${query({ search: $("account-search").value.trim(), limit: PAGE, cursor: state.accountsCursor })}`);
    for (const a of page.items) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.accountId = a.id;
      const name = document.createElement("strong");
      name.textContent = a.name;
      const meta = document.createElement("span");
      meta.className = "id";
      meta.textContent = `${a.plan ? `${a.plan} · ` : ""}${a.id}`;
      button.append(name, meta);
      button.addEventListener("click", () => openAccount({ id: a.id, name: a.name }));
      li.appendChild(button);
      list.appendChild(li);
    }
    if (!list.children.length) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = "No accounts match.";
      list.appendChild(li);
    }
    state.accountsCursor = page.nextCursor;
    show("accounts-more", Boolean(page.nextCursor));
  }

  function openAccount(account) {
    state.account = account;
    sessionStorage.setItem(ACCOUNT_STORAGE, JSON.stringify(account));
    show("accounts-view", false);
    $("who-text").textContent = `Operator · ${account.name}`;
    const back = $("switch-account") || document.createElement("button");
    if (!back.id) {
      back.id = "switch-account";
      back.type = "button";
      back.className = "link";
      back.textContent = "Switch account";
      back.addEventListener("click", () => {
        sessionStorage.removeItem(ACCOUNT_STORAGE);
        showAccounts().catch(reportLoadError);
      });
      $("who").insertBefore(back, $("signout"));
    }
    loadAccount().catch(reportLoadError);
  }

  // ---- Account views ----------------------------------------------------------------------------------------------

  async function loadAccount() {
    show("account-view", true);
    // Estimates are priced for the caller's own account, so they need the account's gateway key; exports are admin-only.
    show("estimate-card", state.mode === "user");
    for (const el of document.querySelectorAll(".operator-only")) el.hidden = state.mode !== "admin";
    showError("load-error", null);
    // The pack catalog is the user's own view (display only); operators manage packs through the admin API.
    show("packs-card", false);
    await Promise.all([loadBalance(), loadSummary(), loadUsage(false), loadLog(false), loadLedger(false),
      state.mode === "user" ? loadPacks() : Promise.resolve()]);
  }

  async function loadPacks() {
    const { packs } = await api("/v1/credits/packs");
    const body = $("packs-table").tBodies[0];
    body.textContent = "";
    for (const pack of packs) {
      const tr = document.createElement("tr");
      tr.dataset.pack = pack.id;
      cell(tr, pack.name);
      cell(tr, fmtCredits(pack.credits), "num");
      cell(tr, pack.validDays ? `${fmtInt(pack.validDays)} days` : "no expiry");
      cell(tr, new Intl.NumberFormat(undefined, { style: "currency", currency: pack.currency }).format(pack.price), "num");
      body.appendChild(tr);
    }
    show("packs-card", packs.length > 0);
  }

  function reportLoadError(error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut("Your key is no longer accepted. Sign in again.");
      return;
    }
    showError("load-error", `Could not load everything: ${error.message}`);
  }

  async function loadBalance() {
    const b = await api(accountPath("balance"));
    const available = $("balance-available");
    available.textContent = fmtCredits(b.available);
    available.dataset.value = String(b.available);
    $("balance-held").textContent = fmtCredits(b.held);
    $("balance-overage").textContent = fmtCredits(b.overage);
    $("balance-plan").textContent = b.plan || "none";
    show("balance-exhausted", b.exhausted);

    // The soonest expiry among lots that still hold credits, and how much expires then.
    const expiring = b.lots.filter((l) => l.expiresAt && l.remaining > 0).sort((x, y) => new Date(x.expiresAt) - new Date(y.expiresAt));
    if (expiring.length) {
      const first = expiring[0].expiresAt;
      const amount = expiring.filter((l) => l.expiresAt === first).reduce((sum, l) => sum + l.remaining, 0);
      $("balance-expiry").textContent = `${fmtCredits(amount)} credits expire ${fmtIn(first)} (${fmtTime(first)}).`;
    }
    show("balance-expiry", expiring.length > 0);

    const body = $("lots-table").tBodies[0];
    body.textContent = "";
    for (const lot of b.lots) {
      const tr = document.createElement("tr");
      cell(tr, lot.kind);
      cell(tr, fmtCredits(lot.remaining), "num");
      cell(tr, fmtCredits(lot.amount), "num");
      cell(tr, lot.expiresAt ? `${fmtDate(lot.expiresAt)} (${fmtIn(lot.expiresAt)})` : "never");
      cell(tr, lot.reason, "wrap");
      body.appendChild(tr);
    }
    show("lots-empty", b.lots.length === 0);
  }

  function usageRange() {
    // Date inputs are local calendar days; "to" includes its whole day.
    const from = $("usage-from").value ? new Date(`${$("usage-from").value}T00:00:00`) : null;
    let to = null;
    if ($("usage-to").value) {
      to = new Date(`${$("usage-to").value}T00:00:00`);
      to.setDate(to.getDate() + 1);
    }
    return { from: from && from.toISOString(), to: to && to.toISOString() };
  }

  async function loadUsage(more) {
    if (!more) state.cursors.usage = null;
    const { from, to } = usageRange();
    const page = await api(accountPath("usage") + query({ from, to, model: $("usage-model").value, limit: PAGE, cursor: state.cursors.usage }));
    const body = $("usage-table").tBodies[0];
    if (!more) body.textContent = "";
    for (const c of page.items) {
      const tr = document.createElement("tr");
      tr.dataset.requestId = c.requestId;
      cell(tr, fmtTime(c.startedAt));
      cell(tr, c.model);
      cell(tr, fmtInt(c.inputTokens), "num");
      cell(tr, fmtInt(c.outputTokens), "num");
      cell(tr, fmtInt(c.cachedInputTokens), "num");
      cell(tr, fmtInt(c.reasoningTokens), "num");
      cell(tr, fmtCredits(c.credits), "num");
      cell(tr, String(c.status), c.status >= 200 && c.status < 300 ? "status-ok" : "status-bad");
      cell(tr, c.usageSource);
      body.appendChild(tr);
    }
    state.cursors.usage = page.nextCursor;
    show("usage-more", Boolean(page.nextCursor));
    show("usage-empty", body.children.length === 0);
  }

  async function loadLog(more) {
    if (!more) state.cursors.log = null;
    const page = await api(accountPath("log") + query({ limit: PAGE, cursor: state.cursors.log }));
    const body = $("log-table").tBodies[0];
    if (!more) body.textContent = "";
    for (const l of page.items) {
      const tr = document.createElement("tr");
      cell(tr, fmtTime(l.effectiveAt));
      cell(tr, l.kind);
      cell(tr, `+${fmtCredits(l.amount)}`, "num in");
      cell(tr, l.expiresAt ? fmtDate(l.expiresAt) : "never");
      cell(tr, l.reason, "wrap");
      body.appendChild(tr);
    }
    state.cursors.log = page.nextCursor;
    show("log-more", Boolean(page.nextCursor));
  }

  function describe(e) {
    const lot = e.lotKind ? `${e.lotKind}${e.lotReason ? `: ${e.lotReason}` : ""}` : "";
    switch (e.type) {
      case "grant": return `Granted · ${lot}`;
      case "settle": return `Charged · ${e.model || e.note || "action"}`;
      case "expire": return e.direction === "in" ? "Hold expired" : `Expired · ${lot}`;
      case "revoke": return `Revoked · ${lot}`;
      case "adjust": return `Adjustment · ${e.note || lot}`;
      case "hold": return `Held · ${e.model || ""}`;
      case "release": return `Released · ${e.model || ""}`;
      default: return e.type;
    }
  }

  async function loadLedger(more) {
    if (!more) state.cursors.ledger = null;
    const page = await api(accountPath("ledger") + query({ limit: PAGE, cursor: state.cursors.ledger }));
    const body = $("ledger-table").tBodies[0];
    if (!more) body.textContent = "";
    for (const e of page.items) {
      const tr = document.createElement("tr");
      tr.dataset.type = e.type;
      cell(tr, fmtTime(e.at));
      cell(tr, describe(e), "wrap");
      const sign = e.direction === "in" ? "+" : e.direction === "out" ? "−" : "";
      cell(tr, `${sign}${fmtCredits(e.amount)}`, `num ${e.direction === "in" ? "in" : "out"}`);
      cell(tr, fmtCredits(e.availableAfter), "num");
      body.appendChild(tr);
    }
    state.cursors.ledger = page.nextCursor;
    show("ledger-more", Boolean(page.nextCursor));
  }

  /** Downloads an admin CSV export: fetched with the key (a plain link cannot send it), then saved from a blob. */
  async function exportCsv(resource, name) {
    const { from, to } = resource === "usage.csv" ? usageRange() : { from: null, to: null };
    const response = await fetch(accountPath(resource) + query({ from, to }), {
      headers: { Authorization: `Bearer ${state.key}` },
      cache: "no-store",
    });
    if (!response.ok) throw new ApiError(response.status, `Export failed (HTTP ${response.status}).`);
    const url = URL.createObjectURL(await response.blob());
    const link = document.createElement("a");
    link.href = url;
    link.download = `${name}-${state.account.name.replace(/[^A-Za-z0-9_-]+/g, "_")}.csv`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  // ---- Charts -----------------------------------------------------------------------------------------------------

  function localDay(date) {
    const pad = (n) => String(n).padStart(2, "0");
    return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
  }

  async function loadSummary() {
    const end = new Date();
    const start = new Date(end);
    start.setHours(0, 0, 0, 0);
    start.setDate(start.getDate() - (CHART_DAYS - 1));
    const summary = await api(accountPath("usage/summary") + query({
      groupBy: "day", from: start.toISOString(), to: end.toISOString(), tzOffset: -end.getTimezoneOffset(),
    }));

    // Every day of the range on the x axis, so quiet days show as gaps rather than vanish.
    const days = [];
    for (const d = new Date(start); d <= end; d.setDate(d.getDate() + 1)) days.push(localDay(d));
    const byDay = new Map(summary.buckets.map((b) => [b.key, b]));
    const models = [...new Set(summary.buckets.flatMap((b) => b.models.map((m) => m.model)))].sort();
    const statuses = [...new Set(summary.buckets.flatMap((b) => Object.keys(b.statuses)))].sort();
    fillModelFilter(models);

    const creditSets = models.map((model, i) => ({
      label: model,
      backgroundColor: PALETTE[i % PALETTE.length],
      data: days.map((d) => (byDay.get(d)?.models.find((m) => m.model === model)?.credits) || 0),
    }));
    const statusSets = statuses.map((status) => ({
      label: status,
      backgroundColor: status.startsWith("2") ? "#1b9e77" : status.startsWith("4") ? "#e07a1f" : status.startsWith("5") ? "#b3261e" : "#4f6d7a",
      data: days.map((d) => byDay.get(d)?.statuses[status] || 0),
    }));
    const labels = days.map((d) => d.slice(5));
    drawChart("credits", $("chart-credits"), labels, creditSets, (v) => fmtCredits(v), undefined);
    drawChart("status", $("chart-status"), labels, statusSets, (v) => fmtInt(v), 0);
  }

  function drawChart(name, canvas, labels, datasets, tick, precision) {
    if (typeof Chart === "undefined") return;
    const existing = state.charts[name];
    if (existing) {
      existing.data.labels = labels;
      existing.data.datasets = datasets;
      existing.update();
      return;
    }
    state.charts[name] = new Chart(canvas, {
      type: "bar",
      data: { labels, datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: { legend: { position: "bottom", labels: { boxWidth: 12 } } },
        scales: {
          x: { stacked: true, ticks: { maxRotation: 0, autoSkipPadding: 8 } },
          // Call counts are whole numbers: no 0.2-call ticks.
          y: { stacked: true, beginAtZero: true, ticks: { callback: tick, precision } },
        },
      },
    });
  }

  function fillModelFilter(models) {
    const select = $("usage-model");
    const chosen = select.value;
    for (const option of [...select.options].slice(1)) option.remove();
    for (const model of models) select.add(new Option(model, model));
    select.value = models.includes(chosen) ? chosen : "";
  }

  // ---- Estimate ---------------------------------------------------------------------------------------------------

  async function estimate() {
    showError("estimate-error", null);
    show("estimate-result", false);
    try {
      JSON.parse($("estimate-body").value);
    } catch {
      showError("estimate-error", "The request body is not valid JSON.");
      return;
    }
    try {
      const e = await api(`/v1/credits/estimate/${$("estimate-path").value}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: $("estimate-body").value,
      });
      const afford = e.available === undefined ? "" : ` You have ${fmtCredits(e.available)} available.`;
      // credits/outputTokens are the expected call; held/outputLimit the worst case a call holds until it is charged.
      const limit = e.outputLimit ?? e.outputTokens;
      const hold = e.held > e.credits
        ? ` A call holds up to ${fmtCredits(e.held)} credits until it is charged (about ${fmtInt(e.outputTokens)} output tokens are typical).`
        : "";
      $("estimate-result").textContent =
        `About ${fmtCredits(e.credits)} credits for ${e.pricedModel}: ${fmtInt(e.inputTokens)} input tokens and up to ${fmtInt(limit)} output tokens.${afford}${hold}`;
      show("estimate-result", true);
    } catch (error) {
      showError("estimate-error", error.message);
    }
  }

  // ---- Wiring -----------------------------------------------------------------------------------------------------

  function on(id, event, handler) {
    $(id).addEventListener(event, (e) => {
      e.preventDefault();
      Promise.resolve(handler(e)).catch(reportLoadError);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("signin-form").addEventListener("submit", async (e) => {
      e.preventDefault();
      const key = $("key").value.trim();
      if (!key) return;
      $("signin-submit").disabled = true;
      try {
        await signIn(key);
        await afterSignIn();
      } catch (error) {
        signOut(error instanceof ApiError ? badKeyMessage(error) : `Could not sign in: ${error.message}`);
      } finally {
        $("signin-submit").disabled = false;
      }
    });
    on("signout", "click", () => signOut(null));
    on("accounts-form", "submit", () => showAccounts());
    on("accounts-more", "click", () => showAccounts(true));
    on("usage-filters", "submit", () => loadUsage(false));
    on("usage-more", "click", () => loadUsage(true));
    on("log-more", "click", () => loadLog(true));
    on("ledger-more", "click", () => loadLedger(true));
    on("estimate-form", "submit", estimate);
    on("usage-export", "click", () => exportCsv("usage.csv", "usage"));
    on("ledger-export", "click", () => exportCsv("ledger.csv", "ledger"));

    const saved = sessionStorage.getItem(KEY_STORAGE);
    if (saved) {
      state.key = saved;
      state.mode = saved.startsWith("agw_") ? "user" : "admin";
      afterSignIn().catch(reportLoadError);
    } else {
      $("key").focus();
    }
  });
})();
