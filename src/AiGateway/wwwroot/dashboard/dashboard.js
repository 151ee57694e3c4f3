// AiGateway billing dashboard and operator console. Plain browser JavaScript: it calls the gateway's own JSON APIs with
// the key the user signed in with (a gateway key, or the admin key for the operator console), which is kept in
// sessionStorage only (gone when the tab closes), sent only in the Authorization header, never put in a URL.
// API data is only ever written with textContent / Option, never as HTML.
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

  const state = { key: null, mode: null, account: null, cursors: {}, charts: {}, accountsCursor: null, accountsRequest: 0, catalogs: null };

  // Idempotency keys of the console's grant and pack forms. One is made per intended grant and kept until the API has
  // answered it for certain, so a retry after a lost answer (network error, 5xx) cannot grant twice.
  const pendingKeys = { grant: null, pack: null };

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

  /** Sends a JSON body with the admin key; answers the parsed body (null for 204). */
  function send(method, path, body) {
    return api(path, {
      method,
      headers: body === undefined ? {} : { "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  }

  /** A random idempotency key. crypto.getRandomValues works on plain-HTTP origins too (randomUUID needs a secure one). */
  function randomKey() {
    const bytes = crypto.getRandomValues(new Uint8Array(16));
    return `console-${[...bytes].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  }

  /** Runs a grant-like request under the form's idempotency key; the key is dropped once the API has decided. */
  async function idempotent(form, request) {
    pendingKeys[form] = pendingKeys[form] || randomKey();
    try {
      const result = await request(pendingKeys[form]);
      pendingKeys[form] = null;
      return result;
    } catch (error) {
      // A 4xx was refused before anything was granted (or names a key already used): the next attempt is a new grant.
      // No answer or a 5xx may have been applied: keep the key, so sending again cannot grant twice.
      if (error instanceof ApiError && error.status >= 400 && error.status < 500) pendingKeys[form] = null;
      throw error;
    }
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
    state.catalogs = null;
    pendingKeys.grant = null;
    pendingKeys.pack = null;
    hideNewKey();
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
      await loadCatalogs();
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
    hideNewKey();
    show("account-view", false);
    show("accounts-view", true);
    $("who-text").textContent = "Operator (admin key)";
    const list = $("account-list");
    // Searches can overlap (the first list is still loading when the operator searches): only the latest one may
    // write the list, and a new search replaces it only once its answer is in, so no page is ever listed twice.
    const request = ++state.accountsRequest;
    const search = $("account-search").value.trim();
    const page = await api(`/admin/accounts${query({ search, limit: PAGE, cursor: more ? state.accountsCursor : null })}`);
    if (request !== state.accountsRequest) return;
    if (!more) list.textContent = "";
    // Which search the list answers: a click aimed at the previous list can land while it is being replaced (the
    // button under the pointer is swapped between press and release, so no click fires); tests and tools wait on it.
    list.dataset.search = search;
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
    hideNewKey();
    pendingKeys.grant = null;
    pendingKeys.pack = null;
    showError("console-error", null);
    showNotice(null);
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

  // ---- Operator console: catalogs, accounts, keys, credits, plans, holds -----------------------------------------

  /** The plans and packs the console's forms offer, read once per sign-in. */
  async function loadCatalogs() {
    const [plans, packs] = await Promise.all([api("/admin/plans"), api("/admin/packs")]);
    state.catalogs = { plans: plans.plans, packs: packs.packs };
    for (const id of ["new-account-plan", "plan-name"]) {
      const select = $(id);
      for (const option of [...select.options].slice(1)) option.remove();
      for (const plan of plans.plans) select.add(new Option(plan.name, plan.name));
    }
    const packSelect = $("pack-id");
    packSelect.textContent = "";
    for (const pack of packs.packs) {
      const validity = pack.validDays ? `${fmtInt(pack.validDays)} days` : "no expiry";
      packSelect.add(new Option(`${pack.name} · ${fmtCredits(pack.credits)} credits · ${validity}`, pack.id));
    }
  }

  function showNotice(message) {
    $("console-notice").textContent = message || "";
    show("console-notice", Boolean(message));
  }

  /** Reports a console action's failure in words; a refused admin key signs out. */
  function reportActionError(what, error) {
    if (error instanceof ApiError && error.status === 401) {
      signOut("The admin key is no longer accepted. Sign in again.");
      return;
    }
    showNotice(null);
    showError("console-error", `${what}: ${error instanceof ApiError ? error.message : `the gateway could not be reached (${error.message}).`}`);
  }

  /** Runs a console action: clears old messages, reports failures, and refreshes what it changed. */
  async function action(what, run) {
    showError("console-error", null);
    showNotice(null);
    try {
      const notice = await run();
      if (notice) showNotice(notice);
    } catch (error) {
      reportActionError(what, error);
    }
  }

  /**
   * Asks before a destructive action, in a modal dialog (not window.confirm, so it can be styled and tested).
   * Resolves true only for the confirm button; Cancel, Escape or closing answer false.
   */
  function confirmAction(title, text, okLabel) {
    const dialog = $("confirm-dialog");
    $("confirm-title").textContent = title;
    $("confirm-text").textContent = text;
    $("confirm-ok").textContent = okLabel;
    dialog.returnValue = "";
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.showModal();
      $("confirm-cancel").focus();
    });
  }

  async function createAccount() {
    showError("accounts-error", null);
    const name = $("new-account-name").value.trim();
    if (!name) return;
    try {
      const account = await send("POST", "/admin/accounts", { name, plan: $("new-account-plan").value || null });
      $("new-account-name").value = "";
      openAccount({ id: account.id, name: account.name });
      showNotice(`Account “${account.name}” created.`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 401) {
        signOut("The admin key is no longer accepted. Sign in again.");
        return;
      }
      showError("accounts-error", `Could not create the account: ${error.message}`);
    }
  }

  async function loadKeys() {
    const page = await api(`/admin/accounts/${state.account.id}/keys?limit=500`);
    const body = $("keys-table").tBodies[0];
    body.textContent = "";
    for (const k of page.items) {
      const tr = document.createElement("tr");
      tr.dataset.keyId = k.id;
      cell(tr, k.name, "wrap");
      cell(tr, `${k.prefix}…`, "mono");
      cell(tr, fmtTime(k.createdAt));
      cell(tr, k.lastUsedAt ? fmtTime(k.lastUsedAt) : "never");
      cell(tr, k.revokedAt ? `revoked ${fmtTime(k.revokedAt)}` : "active", k.revokedAt ? "status-bad" : "status-ok");
      const actions = cell(tr, "");
      if (!k.revokedAt) {
        const revoke = document.createElement("button");
        revoke.type = "button";
        revoke.className = "secondary small revoke-key";
        revoke.textContent = "Revoke";
        revoke.addEventListener("click", () => revokeKey(k));
        actions.appendChild(revoke);
      }
      body.appendChild(tr);
    }
    show("keys-empty", page.items.length === 0);
  }

  /** Shows a new key in the one place it ever appears; it is kept nowhere else (not in state, not in storage). */
  function showNewKey(key) {
    $("new-key-value").value = key;
    $("new-key-copy").textContent = "Copy";
    show("new-key", true);
    $("new-key-value").select();
  }

  function hideNewKey() {
    $("new-key-value").value = "";
    show("new-key", false);
  }

  async function copyNewKey() {
    const input = $("new-key-value");
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(input.value);
    } else {
      // Plain-HTTP origins have no async clipboard; copying the selected field still works there.
      input.select();
      document.execCommand("copy");
    }
    $("new-key-copy").textContent = "Copied";
  }

  function issueKey() {
    return action("Could not issue a key", async () => {
      const name = $("key-name").value.trim();
      const created = await send("POST", `/admin/accounts/${state.account.id}/keys`, { name: name || null });
      $("key-name").value = "";
      showNewKey(created.key);
      await loadKeys();
      return `Key “${created.name}” (${created.prefix}…) issued.`;
    });
  }

  async function revokeKey(key) {
    const ok = await confirmAction("Revoke this key?",
      `Key “${key.name}” (${key.prefix}…) will be refused from now on; apps using it stop working. This cannot be undone.`, "Revoke key");
    if (!ok) return;
    await action("Could not revoke the key", async () => {
      await send("DELETE", `/admin/keys/${key.id}`);
      await loadKeys();
      return `Key “${key.name}” (${key.prefix}…) revoked.`;
    });
  }

  function grantCredits() {
    return action("Could not grant credits", async () => {
      const days = $("grant-days").value;
      const grant = await idempotent("grant", (idempotencyKey) => send("POST", `/admin/accounts/${state.account.id}/grants`, {
        kind: $("grant-kind").value,
        // JSON.stringify writes the shortest text that reads back as the typed number; the API parses it as a decimal.
        // Bounds (positive, whole micro-credits, validity) are the API's to check: its answer is shown as it is.
        credits: Number($("grant-credits").value),
        validDays: days ? Number(days) : null,
        reason: $("grant-reason").value.trim(),
        idempotencyKey,
      }));
      $("grant-credits").value = "";
      $("grant-reason").value = "";
      await refreshCredits();
      return `${grant.repeated ? "Already granted" : "Granted"} ${fmtCredits(grant.credits)} ${grant.kind} credits` +
        `${grant.expiresAt ? `, expiring ${fmtTime(grant.expiresAt)}` : ""}.`;
    });
  }

  function issuePack() {
    return action("Could not issue the pack", async () => {
      const packId = $("pack-id").value;
      const issued = await idempotent("pack", (idempotencyKey) =>
        send("POST", `/admin/accounts/${state.account.id}/packs`, { packId, idempotencyKey }));
      await refreshCredits();
      const name = state.catalogs.packs.find((p) => p.id === issued.packId)?.name || issued.packId;
      return `Issued ${name}: ${fmtCredits(issued.grant.credits)} credits.`;
    });
  }

  async function changePlan() {
    const plan = $("plan-name").value || null;
    const current = $("balance-plan").textContent;
    const ok = await confirmAction("Change the plan?",
      `${state.account.name} moves from ${current === "none" ? "no plan" : current} to ${plan || "no plan"}. ` +
      "What is left of the current plan's credits expires now; the new plan's credits are issued at once.", "Change plan");
    if (!ok) {
      $("plan-name").value = current === "none" ? "" : current;
      return;
    }
    await action("Could not change the plan", async () => {
      const result = await send("POST", `/admin/accounts/${state.account.id}/plan`, { plan });
      await refreshCredits();
      const issued = result.issuedLots.reduce((sum, l) => sum + l.credits, 0);
      return `Plan ${result.status}: ${result.oldPlan || "no plan"} → ${result.newPlan || "no plan"}; ` +
        `${fmtCredits(result.expiredCredits)} credits expired, ${fmtCredits(issued)} issued.`;
    });
  }

  async function revokeLot(lot) {
    const ok = await confirmAction("Revoke these credits?",
      `The ${fmtCredits(lot.remaining)} unspent credits of the ${lot.kind} lot “${lot.reason}” are removed from ${state.account.name}. This cannot be undone.`,
      "Revoke credits");
    if (!ok) return;
    await action("Could not revoke the credits", async () => {
      const result = await send("DELETE", `/admin/grants/${lot.id}`);
      await refreshCredits();
      return result.status === "revoked" ? `Revoked ${fmtCredits(result.revokedCredits)} credits.` : "Nothing was left to revoke.";
    });
  }

  async function loadHolds() {
    const page = await api(`/admin/accounts/${state.account.id}/holds?limit=50`);
    const body = $("holds-table").tBodies[0];
    body.textContent = "";
    for (const h of page.items) {
      const tr = document.createElement("tr");
      tr.dataset.requestId = h.requestId;
      cell(tr, fmtTime(h.createdAt));
      cell(tr, h.requestId, "mono");
      cell(tr, fmtCredits(h.amount), "num");
      cell(tr, h.task || "–");
      cell(tr, fmtIn(h.expiresAt));
      body.appendChild(tr);
    }
    show("holds-empty", page.items.length === 0);
  }

  /** After a grant, pack, plan change or revoke: the views that show credits. */
  function refreshCredits() {
    return Promise.all([loadBalance(), loadLog(false), loadLedger(false), loadHolds()]);
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
    const operator = state.mode === "admin" ? [loadKeys(), loadHolds()] : [loadPacks()];
    await Promise.all([loadBalance(), loadSummary(), loadUsage(false), loadLog(false), loadLedger(false), ...operator]);
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
    if (state.mode === "admin") $("plan-name").value = b.plan || "";
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
      tr.dataset.lotId = lot.id;
      if (state.mode === "admin") {
        // First, so the button stays in view when the table scrolls sideways.
        const actions = cell(tr, "");
        if (lot.remaining > 0) {
          const revoke = document.createElement("button");
          revoke.type = "button";
          revoke.className = "secondary small revoke-lot";
          revoke.textContent = "Revoke";
          revoke.addEventListener("click", () => revokeLot(lot));
          actions.appendChild(revoke);
        }
      }
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
      cell(tr, `${fmtInt(c.durationMs)} ms`, "num");
      cell(tr, c.usageSource);
      cell(tr, c.requestId, "mono");
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
    on("create-account-form", "submit", createAccount);
    on("key-form", "submit", issueKey);
    on("new-key-copy", "click", () => copyNewKey().catch((e) => reportActionError("Could not copy the key", e)));
    on("new-key-done", "click", hideNewKey);
    on("grant-form", "submit", grantCredits);
    on("pack-form", "submit", issuePack);
    on("plan-form", "submit", changePlan);
    $("confirm-ok").addEventListener("click", () => $("confirm-dialog").close("ok"));
    $("confirm-cancel").addEventListener("click", () => $("confirm-dialog").close("cancel"));

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
