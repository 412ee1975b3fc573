// The taskpulse dashboard: the analytics API's answer as numbers and a chart, kept live.
//
// Served by the local stack (`cargo run`, http://127.0.0.1:3000/) it acts as a local identity
// (the stack's X-Local-User / X-Local-Scopes headers) and follows the stack's change notices
// (Server-Sent Events at /_local/changes): it asks for the analytics again only when a notice
// says its numbers moved. Hosted anywhere else it calls a deployed API with a bearer token and
// polls the analytics route with If-None-Match, so an unchanged answer is a 304 without a body.
// Either way only the numbers that changed are rewritten; the page never reloads.
"use strict";

(() => {
  const POLL_MS = 5000;
  const $ = (id) => document.getElementById(id);
  const numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  const percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 1 });

  // Also read by the browser test: what was shown, and how long effects took to show.
  const state = {
    local: false,
    api: "",
    user: "",
    token: "",
    view: "me",
    tags: new Map(),
    shown: null,
    notice: null,
    changedAt: null,
    checkedAt: null,
    loading: false,
    again: false,
    source: null,
    poll: null,
    chart: null,
    chartData: "",
    daysTable: "",
    pending: [],
    targets: { created: 0, completed: 0 },
    latencies: [],
    updates: 0,
    loadedAt: Date.now(),
  };
  window.taskpulseDashboard = state;

  // ---- talking to the API ----

  function headers(extra) {
    const all = Object.assign({}, extra);
    if (state.local) {
      all["X-Local-User"] = state.user;
      if (state.view === "global") all["X-Local-Scopes"] = "analytics:read";
    } else if (state.token) {
      all.Authorization = "Bearer " + state.token;
    }
    return all;
  }

  async function problemText(response) {
    try {
      const body = await response.json();
      return body.detail || body.message || body.title || response.statusText;
    } catch (_) {
      return response.statusText || "HTTP " + response.status;
    }
  }

  function say(id, text, isError) {
    const element = $(id);
    element.textContent = text;
    element.classList.toggle("error", Boolean(isError));
  }

  async function call(method, path, body, extra) {
    const init = { method, headers: headers(extra), cache: "no-store" };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers["Content-Type"] = "application/json";
    }
    return fetch(state.api + path, init);
  }

  // ---- the analytics ----

  function analyticsPath() {
    return state.view === "global" ? "/analytics/global" : "/analytics/me";
  }

  // One request at a time; a notice that arrives meanwhile asks for one more afterwards.
  async function refresh() {
    if (state.loading) {
      state.again = true;
      return;
    }
    state.loading = true;
    try {
      do {
        state.again = false;
        await loadAnalytics();
      } while (state.again);
    } finally {
      state.loading = false;
    }
  }

  async function loadAnalytics() {
    const path = analyticsPath();
    const key = (state.local ? state.user : "token") + " " + path;
    const held = state.tags.get(key);
    let response;
    try {
      response = await call("GET", path, undefined, held ? { "If-None-Match": held.tag } : {});
    } catch (error) {
      say("connection", "The API did not answer (" + error.message + ").", true);
      return;
    }
    state.checkedAt = Date.now();
    if (response.status === 304 && held) {
      showFreshness();
      return;
    }
    if (!response.ok) {
      say("connection", "The API answered " + response.status + ": " + (await problemText(response)), true);
      return;
    }
    const answer = await response.json();
    const tag = response.headers.get("ETag");
    if (tag) state.tags.set(key, { tag });
    state.changedAt = Date.now();
    render(answer);
    showFreshness();
  }

  // Writes `text` only if it differs, and marks the change for a moment.
  function put(element, text, value) {
    const same = element.textContent === text && (value === undefined || element.dataset.value === String(value));
    if (same) return;
    element.textContent = text;
    if (value !== undefined) element.dataset.value = String(value);
    element.classList.remove("changed");
    void element.offsetWidth;
    element.classList.add("changed");
    state.updates += 1;
  }

  function duration(seconds) {
    if (seconds === null || seconds === undefined) return "–";
    if (seconds < 90) return numbers.format(seconds) + " s";
    if (seconds < 5400) return numbers.format(seconds / 60) + " min";
    if (seconds < 172800) return numbers.format(seconds / 3600) + " h";
    return numbers.format(seconds / 86400) + " d";
  }

  function render(answer) {
    const totals = answer.totals || {};
    const scope = answer.scope === "global" ? "everyone" : answer.userId;
    put($("range"), answer.from + " to " + answer.to + " (UTC), " + scope + ", projection v" + answer.projectionVersion);
    put($("total-created"), numbers.format(totals.created || 0), totals.created || 0);
    put($("total-completed"), numbers.format(totals.completed || 0), totals.completed || 0);
    const rate = totals.onTimeRate;
    put($("total-on-time-rate"), rate === null || rate === undefined ? "–" : percent.format(rate), rate ?? "");
    put($("total-lead-time"), duration(totals.avgLeadTimeSeconds), totals.avgLeadTimeSeconds ?? "");

    const open = answer.openTasks || {};
    const most = Math.max(1, ...Object.values(open));
    for (const status of ["new", "in_progress", "on_hold"]) {
      const count = open[status] || 0;
      put($("open-" + status), numbers.format(count), count);
      $("meter-" + status).style.width = (100 * count) / most + "%";
    }
    renderAllTotals(totals);
    renderDays(answer.days || []);
    state.shown = answer;
    if (state.view === "me") noteEffects(totals);
  }

  // Every counter the API answers, also those added after this page was written.
  function renderAllTotals(totals) {
    const body = $("all-totals");
    for (const [name, value] of Object.entries(totals)) {
      let row = body.querySelector('tr[data-counter="' + name + '"]');
      if (!row) {
        row = document.createElement("tr");
        row.dataset.counter = name;
        const label = document.createElement("th");
        label.scope = "row";
        label.textContent = name;
        row.append(label, document.createElement("td"));
        body.append(row);
      }
      const text = value === null ? "–" : name.endsWith("Rate") ? percent.format(value) : numbers.format(value);
      put(row.cells[1], text, value ?? "");
    }
  }

  function renderDays(days) {
    const x = days.map((d) => Date.parse(d.date + "T00:00:00Z") / 1000);
    const created = days.map((d) => d.created || 0);
    const completed = days.map((d) => d.completed || 0);
    const data = [x, created, completed];
    const text = JSON.stringify(data);
    if (text !== state.chartData) {
      state.chartData = text;
      drawChart(data);
    }
    const rows = days.map((d) => [d.date, d.created || 0, d.completed || 0, d.completedOnTime || 0, d.completedLate || 0]);
    const table = JSON.stringify(rows);
    if (table === state.daysTable) return;
    state.daysTable = table;
    const body = $("days");
    const fresh = rows.reverse().map((cells) => {
      const row = document.createElement("tr");
      cells.forEach((cell, i) => {
        const element = document.createElement(i === 0 ? "th" : "td");
        if (i === 0) element.scope = "row";
        element.textContent = i === 0 ? cell : numbers.format(cell);
        row.append(element);
      });
      return row;
    });
    body.replaceChildren(...fresh);
  }

  function chartWidth() {
    return Math.max(280, $("chart").clientWidth);
  }

  function drawChart(data) {
    if (state.chart) {
      state.chart.setData(data);
      return;
    }
    const style = getComputedStyle(document.documentElement);
    const colour = (name) => style.getPropertyValue(name).trim();
    const options = {
      width: chartWidth(),
      height: 240,
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), "Etc/UTC"),
      scales: { y: { range: (u, min, max) => [0, Math.max(4, max)] } },
      axes: [
        { stroke: colour("--muted"), grid: { stroke: colour("--line") } },
        { stroke: colour("--muted"), grid: { stroke: colour("--line") } },
      ],
      series: [
        { label: "Day" },
        { label: "Created", stroke: colour("--created"), width: 2, points: { size: 6 } },
        { label: "Completed", stroke: colour("--completed"), width: 2, dash: [6, 4], points: { size: 6, fill: colour("--completed") } },
      ],
    };
    state.chart = new uPlot(options, data, $("chart"));
    new ResizeObserver(() => state.chart.setSize({ width: chartWidth(), height: 240 })).observe($("chart"));
  }

  // ---- how fresh the numbers are ----

  function ago(at) {
    const seconds = Math.max(0, Math.round((Date.now() - at) / 1000));
    return seconds < 60 ? seconds + " s ago" : Math.round(seconds / 60) + " min ago";
  }

  function clock(iso) {
    return new Date(iso).toLocaleTimeString();
  }

  function showFreshness() {
    const element = $("freshness");
    let text;
    if (state.local) {
      const notice = state.notice;
      text = notice && notice.newestEventAt
        ? "Last event counted " + ago(Date.parse(notice.countedAt)) + ": it happened at " + clock(notice.newestEventAt) + ", counted at " + clock(notice.countedAt) + "."
        : "No event counted since the stack started.";
    } else if (state.changedAt) {
      text = "Numbers last changed " + ago(state.changedAt) + "; asked every " + POLL_MS / 1000 + " s, last " + ago(state.checkedAt) + ".";
    } else {
      text = "Not connected yet.";
    }
    if (element.textContent !== text) element.textContent = text;
  }

  // ---- live updates ----

  function follow() {
    if (state.source) state.source.close();
    if (state.poll) clearInterval(state.poll);
    state.source = null;
    state.poll = null;
    if (state.local) {
      const source = new EventSource(state.api + "/_local/changes");
      source.addEventListener("counted", (event) => {
        const notice = JSON.parse(event.data);
        state.notice = notice;
        showFreshness();
        if (state.view === "global" || notice.users.includes(state.user)) refresh();
      });
      source.addEventListener("lagged", () => refresh());
      source.onopen = () => say("connection", "Live: the stack announces every counted batch.");
      source.onerror = () => say("connection", "Live updates interrupted; reconnecting…", true);
      state.source = source;
    } else {
      state.poll = setInterval(refresh, POLL_MS);
    }
  }

  // ---- commands ----

  // A command's effect is shown once the counter reaches the value the command aims at.
  function expectEffect(counter) {
    if (state.view !== "me") return;
    const shown = state.shown ? state.shown.totals[counter] || 0 : 0;
    state.targets[counter] = Math.max(state.targets[counter], shown) + 1;
    state.pending.push({ counter, target: state.targets[counter], answeredAt: performance.now() });
  }

  function noteEffects(totals) {
    const now = performance.now();
    state.pending = state.pending.filter((effect) => {
      if ((totals[effect.counter] || 0) < effect.target) return true;
      state.latencies.push(now - effect.answeredAt);
      return false;
    });
  }

  function newKey() {
    return crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random().toString(16).slice(2);
  }

  async function createTask(event) {
    event.preventDefault();
    const title = $("title").value.trim();
    const planned = new Date($("planned").value);
    if (!title || Number.isNaN(planned.getTime())) {
      say("command-status", "A task needs a title and a planned date.", true);
      return;
    }
    const body = { title, priority: $("priority").value, plannedAccomplishDate: planned.toISOString() };
    try {
      const response = await call("POST", "/tasks", body, { "Idempotency-Key": newKey() });
      if (!response.ok) {
        say("command-status", "Not created (" + response.status + "): " + (await problemText(response)), true);
        return;
      }
      expectEffect("created");
      const task = await response.json();
      say("command-status", "Created “" + task.title + "”; watch Created move.");
      await listNewTasks();
    } catch (error) {
      say("command-status", "The API did not answer (" + error.message + ").", true);
    }
  }

  async function completeTask(task) {
    try {
      const response = await call("POST", "/tasks/" + task.id + "/status", { status: "completed" }, { "If-Match": '"' + task.version + '"' });
      if (!response.ok) {
        say("command-status", "Not completed (" + response.status + "): " + (await problemText(response)), true);
        return;
      }
      expectEffect("completed");
      say("command-status", "Completed “" + task.title + "”; watch Completed move.");
      await listNewTasks();
    } catch (error) {
      say("command-status", "The API did not answer (" + error.message + ").", true);
    }
  }

  async function listNewTasks() {
    const list = $("new-tasks");
    let response;
    try {
      response = await call("GET", "/tasks?status=new&limit=10");
    } catch (error) {
      return;
    }
    if (!response.ok) {
      list.replaceChildren();
      return;
    }
    const page = await response.json();
    list.replaceChildren(...page.items.map((task) => {
      const item = document.createElement("li");
      const text = document.createElement("span");
      text.textContent = task.title;
      const due = document.createElement("span");
      due.className = "due";
      due.textContent = "planned " + new Date(task.plannedAccomplishDate).toLocaleString();
      text.append(due);
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary";
      button.textContent = "Complete";
      button.setAttribute("aria-label", "Complete " + task.title);
      button.addEventListener("click", () => completeTask(task));
      item.append(text, button);
      return item;
    }));
  }

  // ---- who you are ----

  function readIdentity() {
    state.view = document.querySelector('input[name="view"]:checked').value;
    if (state.local) {
      state.user = $("user").value.trim() || "demo-user";
      $("user").value = state.user;
    } else {
      state.api = $("api-url").value.trim().replace(/\/+$/, "");
      state.token = $("token").value.trim();
    }
    state.pending = [];
    state.targets = { created: 0, completed: 0 };
    localStorage.setItem("taskpulse.dashboard", JSON.stringify({ user: state.user, view: state.view, api: state.local ? "" : state.api }));
    if (!state.local) sessionStorage.setItem("taskpulse.token", state.token);
  }

  async function apply(event) {
    if (event) event.preventDefault();
    readIdentity();
    if (!state.api) {
      say("connection", "Give the API's address and a token.", true);
      return;
    }
    say("connection", "Asking the API…");
    follow();
    await Promise.all([refresh(), listNewTasks()]);
  }

  async function servedByLocalStack() {
    if (!location.protocol.startsWith("http")) return false;
    try {
      const response = await fetch("/health", { cache: "no-store" });
      if (!response.ok) return false;
      const body = await response.json();
      return typeof body.backend === "string";
    } catch (_) {
      return false;
    }
  }

  async function start() {
    const saved = JSON.parse(localStorage.getItem("taskpulse.dashboard") || "{}");
    const query = new URLSearchParams(location.search);
    state.local = await servedByLocalStack();
    if (state.local) {
      state.api = location.origin;
      $("user-field").hidden = false;
      $("user").value = query.get("user") || saved.user || "demo-user";
    } else {
      $("api-field").hidden = false;
      $("token-field").hidden = false;
      $("api-url").value = query.get("api") || saved.api || "";
      $("token").value = sessionStorage.getItem("taskpulse.token") || "";
    }
    const view = query.get("view") || saved.view;
    if (view === "global" || view === "me") {
      document.querySelector('input[name="view"][value="' + view + '"]').checked = true;
    }
    const tomorrow = new Date(Date.now() + 86400000);
    tomorrow.setSeconds(0, 0);
    $("planned").value = new Date(tomorrow.getTime() - tomorrow.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
    $("identity").addEventListener("submit", apply);
    $("create").addEventListener("submit", createTask);
    setInterval(showFreshness, 1000);
    await apply();
  }

  start();
})();
