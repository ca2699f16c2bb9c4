// The staff dashboard (/admin/dashboard): signs in with POST /v1/auth/login, then draws the reports of
// GET /v1/admin/reports/{name} with Chart.js. A file, not an inline script, so the page can forbid inline
// scripts. The access token lives in this closure only: never in a URL, a cookie or storage.
"use strict";
(function () {
  let token = null;
  const charts = {};
  const $ = (selector, root) => (root || document).querySelector(selector);

  async function call(method, path, body, accept) {
    const headers = { Accept: accept || "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    if (response.status === 401 && token) signedOut("Your session has ended; sign in again.");
    return response;
  }

  async function errorOf(response) {
    try { return (await response.json()).error || {}; } catch (e) { return {}; }
  }

  // -- signing in and out ------------------------------------------------------------------------
  $("#sign-in").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    const body = { email: form.email.value, password: form.password.value };
    if (form.otp.value) body.otp = form.otp.value;
    const response = await call("POST", "/v1/auth/login", body);
    if (response.ok) {
      token = (await response.json()).access_token;
      form.reset();
      $("#otp-field").hidden = true;
      $("#sign-in-error").textContent = "";
      form.hidden = true;
      $("#reports").hidden = false;
      showAll();
      return;
    }
    const error = await errorOf(response);
    if (error.code === "otp_required") {
      $("#otp-field").hidden = false;
      $("#sign-in-error").textContent = "Enter the code from your authenticator app.";
      form.otp.focus();
    } else {
      $("#sign-in-error").textContent = error.message || "Signing in failed.";
    }
  });

  function signedOut(message) {
    token = null;
    $("#reports").hidden = true;
    $("#sign-in").hidden = false;
    $("#sign-in-error").textContent = message || "";
  }

  $("#sign-out").addEventListener("click", async () => {
    await call("POST", "/v1/auth/logout");
    signedOut("Signed out.");
  });

  // -- the date range ----------------------------------------------------------------------------
  const isoDay = (date) => date.toISOString().slice(0, 10);
  const range = $("#range");
  const today = new Date();
  range.until.value = isoDay(today);
  range.since.value = isoDay(new Date(today.getTime() - 29 * 86400000));
  range.addEventListener("submit", (event) => { event.preventDefault(); showAll(); });

  function daysBetween(since, until) {
    const days = [];
    for (let d = new Date(since + "T00:00:00Z"); isoDay(d) <= until; d = new Date(d.getTime() + 86400000)) {
      days.push(isoDay(d));
    }
    return days;
  }

  // -- reading reports ---------------------------------------------------------------------------
  // What each section asks for: the date range where the report has dates.
  function paramsOf(name) {
    if (name === "low_stock") return {};
    if (name === "top_products") return { period: "month" };
    return { since: range.since.value, until: range.until.value };
  }

  async function readReport(name) {
    const items = [];
    let cursor = null;
    for (let page = 0; page < 20; page++) {  // at most 2,000 rows: plenty for a chart
      const query = new URLSearchParams({ ...paramsOf(name), limit: "100" });
      if (cursor) query.set("cursor", cursor);
      const response = await call("GET", `/v1/admin/reports/${name}?${query}`);
      if (!response.ok) return { status: response.status, error: await errorOf(response) };
      const answer = await response.json();
      items.push(...answer.items);
      cursor = answer.next_cursor;
      if (!cursor) break;
    }
    return { status: 200, items };
  }

  async function downloadCsv(name) {
    const query = new URLSearchParams(paramsOf(name));
    const response = await call("GET", `/v1/admin/reports/${name}?${query}`, undefined, "text/csv");
    if (!response.ok) return;
    const link = document.createElement("a");
    link.href = URL.createObjectURL(await response.blob());
    link.download = `${name}.csv`;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  // -- drawing -----------------------------------------------------------------------------------
  const COLOURS = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2"];
  const major = (amount) => Number(amount) / 100;  // minor units (cents) to units, for the axis only

  function draw(name, config) {
    if (charts[name]) charts[name].destroy();
    config.options = { animation: false, responsive: true, maintainAspectRatio: true, ...config.options };
    charts[name] = new Chart($(`#${name} canvas`), config);
  }

  const DRAW = {
    sales_daily(items) {
      const days = daysBetween(range.since.value, range.until.value);
      const currencies = [...new Set(items.map((row) => row.currency))].sort();
      draw("sales_daily", {
        type: "line",
        data: {
          labels: days,
          datasets: currencies.map((currency, i) => {
            const net = new Map(items.filter((row) => row.currency === currency).map((row) => [row.day, major(row.net)]));
            return { label: `net ${currency}`, data: days.map((day) => net.get(day) || 0),
                     borderColor: COLOURS[i % COLOURS.length], tension: 0.2 };
          }),
        },
      });
      const orders = items.reduce((sum, row) => sum + Number(row.orders), 0);
      return `${orders} orders in ${days.length} days`;
    },
    conversion_funnel_daily(items) {
      const steps = ["sessions", "product_views", "add_to_carts", "checkouts", "orders"].filter((s) => items.length && s in items[0]);
      const totals = steps.map((step) => items.reduce((sum, row) => sum + Number(row[step] || 0), 0));
      draw("conversion_funnel_daily", {
        type: "bar",
        data: { labels: steps.map((s) => s.replace(/_/g, " ")),
                datasets: [{ label: "over the range", data: totals, backgroundColor: COLOURS[0] }] },
      });
      const rate = totals[0] ? (100 * totals[totals.length - 1] / totals[0]).toFixed(1) : "0";
      return `conversion ${rate}% of sessions`;
    },
    top_products(items) {
      // Rows come newest period first, best first: the latest period in its first currency.
      const first = items[0];
      const top = items.filter((row) => row.period_start === first.period_start && row.currency === first.currency).slice(0, 10);
      draw("top_products", {
        type: "bar",
        data: { labels: top.map((row) => row.product_name || row.product || row.product_slug),
                datasets: [{ label: `revenue ${first.currency || ""}`.trim(), data: top.map((row) => major(row.revenue)),
                             backgroundColor: COLOURS[2] }] },
        options: { indexAxis: "y" },
      });
      return first.period_start ? `from ${first.period_start}` : "";
    },
    low_stock(items) {
      const body = $("#low_stock tbody");
      body.replaceChildren(...items.map((row) => {
        const tr = document.createElement("tr");
        for (const [value, number] of [[row.sku], [row.product_name], [row.available, true], [row.low_stock_threshold, true]]) {
          const td = document.createElement("td");
          td.textContent = value;
          if (number) td.className = "number";
          tr.appendChild(td);
        }
        return tr;
      }));
      return `${items.length} variants at or below their threshold`;
    },
  };

  async function show(section) {
    const name = section.id;
    const status = $(".status", section);
    section.dataset.state = "loading";
    status.textContent = "Loading…";
    const result = await readReport(name);
    section.dataset.rows = String(result.items ? result.items.length : 0);
    if (result.status === 404 && result.error.code === "report_not_found") {
      section.dataset.state = "unavailable";
      status.textContent = "Not available yet on this server.";
    } else if (result.status !== 200) {
      section.dataset.state = "error";
      status.textContent = result.status === 403 ? "Your roles do not include reports." : (result.error.message || "Failed.");
    } else if (result.items.length === 0) {
      section.dataset.state = "empty";
      status.textContent = "No data for this range.";
    } else {
      status.textContent = DRAW[name](result.items);
      section.dataset.state = "ready";
    }
  }

  function showAll() {
    return Promise.all([...document.querySelectorAll(".report")].map(show));
  }

  for (const section of document.querySelectorAll(".report")) {
    $(".csv", section).addEventListener("click", () => downloadCsv(section.id));
  }
})();
