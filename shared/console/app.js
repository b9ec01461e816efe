// The tenant console: plain ES module, no build. It calls only the public API,
// with the bearer token and tenant the user gives (kept for the browser tab).

const page = document.getElementById("page");
const status = document.getElementById("status");

const settings = {
  get tenant() { return sessionStorage.getItem("tenant") || ""; },
  get token() { return sessionStorage.getItem("token") || ""; },
  save(tenant, token) {
    sessionStorage.setItem("tenant", tenant);
    sessionStorage.setItem("token", token);
  },
};

/** An API error: problem+json's `detail`, and the fields it names. */
class Problem extends Error {
  constructor(status, body) {
    super((body && body.detail) || `HTTP ${status}`);
    this.status = status;
    this.errors = (body && body.errors) || [];
  }
}

async function api(method, path, body) {
  const headers = { "X-TWC-Tenant": settings.tenant };
  if (settings.token) headers.Authorization = `Bearer ${settings.token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await response.text();
  const parsed = text ? JSON.parse(text) : null;
  if (!response.ok) throw new Problem(response.status, parsed);
  return parsed;
}

/** Builds an element; strings become text (never HTML). */
function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) element.append(child instanceof Node ? child : String(child));
  }
  return element;
}

let nextId = 0;
/** A labelled input; `fields` are the API field names its errors are shown for. */
function field(label, name, attributes = {}, fields = [name]) {
  const id = `f${nextId++}`;
  const input = attributes.options
    ? h("select", { id, name }, attributes.options.map((o) => h("option", { value: o }, o)))
    : h("input", { id, name, ...attributes });
  input.dataset.fields = fields.join(" ");
  return h("label", { for: id }, label, input);
}

function say(message) {
  status.textContent = message;
}

/** Shows a problem next to the fields it names, or as the form's message. */
function showProblem(form, problem) {
  form.querySelectorAll(".error").forEach((e) => e.remove());
  form.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  let placed = false;
  for (const error of problem.errors || []) {
    // A content filter's error names the part of the pattern: shown on the filter's field.
    const name = error.field.startsWith("filter.") ? "filter" : error.field;
    const input = [...form.querySelectorAll("[data-fields]")].find((i) => i.dataset.fields.split(" ").includes(name));
    if (!input) continue;
    const message = name === error.field ? error.message : `${error.field.slice(name.length + 1)}: ${error.message}`;
    const note = h("span", { class: "error", id: `${input.id}-error` }, message);
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", note.id);
    input.closest("label").append(note);
    placed = true;
  }
  if (!placed) form.append(h("p", { class: "error", role: "alert" }, problem.message));
}

function table(headings, rows) {
  return h("div", { class: "table" },
    h("table", {}, h("thead", {}, h("tr", {}, headings.map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, rows)));
}

function decoded(base64) {
  if (!base64) return "";
  try {
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    return JSON.stringify(JSON.parse(new TextDecoder().decode(bytes)), null, 2);
  } catch {
    return base64;
  }
}

/** Counts per hour over the last `hours`, oldest first, of `times` (ISO strings). */
function perHour(times, hours = 24) {
  const now = Date.now();
  const counts = new Array(hours).fill(0);
  for (const time of times) {
    const age = Math.floor((now - Date.parse(time)) / 3_600_000);
    if (age >= 0 && age < hours) counts[hours - 1 - age] += 1;
  }
  return counts;
}

/** The last `hours` hours' `field` counts from `hourly` ([{hour: "yyyy-mm-ddThh", …}]), oldest first. */
function fromHourly(hourly, field, hours = 24) {
  const counts = new Array(hours).fill(0);
  const now = Math.floor(Date.now() / 3_600_000);
  for (const entry of hourly || []) {
    const age = now - Math.floor(Date.parse(`${entry.hour}:00:00Z`) / 3_600_000);
    if (age >= 0 && age < hours) counts[hours - 1 - age] += entry[field];
  }
  return counts;
}

const SVG = "http://www.w3.org/2000/svg";

/** A bar sparkline of `series` ([{label, counts, css}] stacked), with its numbers as text. */
function sparkline(title, series) {
  const hours = series[0].counts.length;
  const totals = series[0].counts.map((_, i) => series.reduce((sum, s) => sum + s.counts[i], 0));
  const max = Math.max(1, ...totals);
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("viewBox", `0 0 ${hours * 6} 24`);
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("aria-hidden", "true");
  totals.forEach((_, i) => {
    let y = 24;
    for (const s of series) {
      const height = (s.counts[i] / max) * 24;
      if (!height) continue;
      y -= height;
      const bar = document.createElementNS(SVG, "rect");
      Object.entries({ x: i * 6, y, width: 5, height, class: s.css }).forEach(([k, v]) => bar.setAttribute(k, v));
      svg.append(bar);
    }
  });
  const summary = series.map((s) => `${s.counts.reduce((a, b) => a + b, 0)} ${s.label}`).join(", ");
  return h("figure", { class: "spark" }, svg, h("figcaption", {}, `${title}: ${summary}`));
}

const pages = {
  settings() {
    const form = h("form", {
      onsubmit(event) {
        event.preventDefault();
        settings.save(form.tenant.value.trim(), form.token.value.trim());
        say(`Signed in as tenant ${settings.tenant}.`);
        location.hash = "#events";
      },
    },
    field("Tenant", "tenant", { required: true, value: settings.tenant, autocomplete: "organization" }),
    field("Bearer token", "token", { type: "password", value: settings.token, autocomplete: "off" }),
    h("button", { type: "submit" }, "Save"));
    return [h("h2", {}, "Settings"), h("p", {}, "The console calls the API as this tenant, with this token."), form];
  },

  events() {
    const results = h("div");
    const form = h("form", {
      async onsubmit(event) {
        event.preventDefault();
        const query = new URLSearchParams({ entity_name: form.entity_name.value, entity_id: form.entity_id.value });
        try {
          const found = await api("GET", `/api/v1/events?${query}`);
          results.replaceChildren(table(["Event", "Created", "Operation", "Key attributes", "Payload"],
            found.items.map((e) => h("tr", { "data-event-id": e.id },
              h("td", {}, e.id), h("td", {}, e.created_at), h("td", {}, e.event_payload.operation),
              h("td", {}, h("pre", {}, JSON.stringify(e.event_payload.key_attributes || {}, null, 2))),
              h("td", {}, h("pre", {}, decoded(e.event_payload.base64_encoded_payload_json)))))));
          const stats = await api("GET", `/api/v1/event-stats?${new URLSearchParams({ entity_name: form.entity_name.value })}`);
          results.prepend(
            sparkline(`${stats.entityName} events per hour, last 24 h`,
              [{ label: "events", counts: fromHourly(stats.hourly, "events"), css: "bar" }]),
            sparkline("This entity's events per hour",
              [{ label: "events", counts: perHour(found.items.map((e) => e.created_at)), css: "bar" }]));
          say(`${found.items.length} events, newest first.`);
        } catch (problem) {
          showProblem(form, problem);
        }
      },
    },
    field("Entity name", "entity_name", { required: true, placeholder: "ORDER" }),
    field("Entity id", "entity_id", { required: true, placeholder: "ORD-1001" }),
    h("button", { type: "submit" }, "Search"));
    return [h("h2", {}, "Events"), form, results];
  },

  async subscriptions() {
    // The fan-out's circuit breaker keeps deliveries back until then, then probes (docs/api.md).
    const circuit = (delivery) => {
      if (!delivery.circuitOpenUntil) return null;
      const until = Date.parse(delivery.circuitOpenUntil);
      return until > Date.now()
        ? `circuit open: deliveries kept as dead letters until ${new Date(until).toLocaleTimeString()}, sent again once one gets through`
        : "circuit half open: one delivery at a time probes the destination";
    };
    const list = h("div");
    const refresh = async () => {
      const all = await api("GET", "/api/v1/event-subscription?include_inactive=true");
      const rows = await Promise.all(all.map(async (s) => {
        const history = await api("GET", `/api/v1/event-subscription/${encodeURIComponent(s.id)}/deliveries?limit=1`);
        const last = history.items[0];

        const d = s.destination.sqs || s.destination.sns || s.destination.eventBridge || {};
        const act = (label, method, suffix, done) => h("button", {
          type: "button", class: "secondary",
          async onclick() {
            try {
              const answer = await api(method, `/api/v1/event-subscription/${encodeURIComponent(s.id)}${suffix}`);
              say(done(answer));
              await refresh();
            } catch (problem) {
              say(problem.message);
            }
          },
        }, label);
        return h("tr", { "data-subscription-id": s.id },
          h("td", {}, s.id),
          h("td", {}, s.entityType, s.filter ? h("br") : null,
            s.filter ? h("code", { "data-filter": "", title: "Content filter (EventBridge pattern)" }, JSON.stringify(s.filter)) : null),
          h("td", {}, s.active ? "active" : "inactive", s.rateLimit ? h("br") : null,
            s.rateLimit ? h("span", { "data-rate-limit": "" }, `at most ${s.rateLimit} a second`) : null),
          h("td", {}, d.queueUrl || d.topicArn || d.eventBusArn || ""),
          h("td", { class: s.delivery.consecutiveFailures ? "bad" : "good", "data-health": "" },
            `${s.delivery.consecutiveFailures} failures in a row`,
            circuit(s.delivery) ? h("br") : null,
            circuit(s.delivery),
            s.delivery.lastError ? h("br") : null, s.delivery.lastError || null,
            s.delivery.disabledReason ? h("br") : null, s.delivery.disabledReason || null),
          h("td", { "data-last-attempt": "" }, last ? `${last.outcome}: ${last.eventId} (attempt ${last.attempt})` : "none yet",
            sparkline("Deliveries per hour, last 24 h", [
              { label: "delivered", counts: fromHourly(history.hourly, "delivered"), css: "bar" },
              { label: "failed", counts: fromHourly(history.hourly, "failed"), css: "bar bad-bar" },
            ])),
          h("td", {}, s.active ? act("Deactivate", "PUT", "/deactivate", () => `Deactivated ${s.id}.`) : null,
            act("Redrive", "POST", "/redrive", (a) => `Sent ${a.redriven} dead letters again.`),
            h("button", { type: "button", class: "secondary", onclick: () => edit(s) }, "Edit")));
      }));
      list.replaceChildren(table(["Subscription", "Entity", "State", "Destination", "Delivery health", "Last attempt", ""], rows));
    };
    const form = h("form", {
      async onsubmit(event) {
        event.preventDefault();
        const type = form.type.value;
        const block = { SQS: ["sqs", "queueUrl"], SNS: ["sns", "topicArn"], EVENTBRIDGE: ["eventBridge", "eventBusArn"] }[type];
        const body = {
          entityType: form.entityType.value,
          subscribeCreate: form.subscribeCreate.checked,
          subscribeChange: form.subscribeChange.checked,
          subscribeDelete: form.subscribeDelete.checked,
          destination: { type, [block[0]]: { [block[1]]: form.address.value, region: form.region.value } },
        };
        if (form.filter.value.trim()) {
          try {
            body.filter = JSON.parse(form.filter.value);
          } catch {
            showProblem(form, { errors: [{ field: "filter", message: "is not JSON" }] });
            return;
          }
        }
        if (form.rateLimit.value.trim()) {
          body.rateLimit = Number(form.rateLimit.value);
        }
        // An edit keeps how the destination is reached (roleArn, or accessKey with
        // its secret as "****", which the API keeps as stored).
        const original = editedDestination.get(form.dataset.editing);
        if (original && original.type === type) {
          body.destination[block[0]] = { ...original[block[0]], ...body.destination[block[0]] };
        }
        try {
          const editing = form.dataset.editing;
          const saved = editing
            ? await api("PUT", `/api/v1/event-subscription/${encodeURIComponent(editing)}`, { ...body, active: true })
            : await api("POST", "/api/v1/event-subscription", body);
          form.querySelectorAll(".error").forEach((e) => e.remove());
          say(`${editing ? "Saved" : "Created"} subscription ${saved.id}.`);
          delete form.dataset.editing;
          form.querySelector("button[type=submit]").textContent = "Create subscription";
          await refresh();
        } catch (problem) {
          showProblem(form, problem);
        }
      },
    },
    field("Entity type", "entityType", { required: true, placeholder: "ORDER" }),
    h("fieldset", {}, h("legend", {}, "Operations"),
      ["subscribeCreate", "subscribeChange", "subscribeDelete"].map((name) =>
        h("label", {}, h("input", { type: "checkbox", name, checked: name === "subscribeCreate" }), name.slice(9)))),
    field("Destination type", "type", { options: ["SQS", "SNS", "EVENTBRIDGE"] }, ["destination.type", "destination"]),
    field("Queue URL, topic ARN or bus ARN", "address", { required: true },
      ["destination.sqs.queueUrl", "destination.sns.topicArn", "destination.eventBridge.eventBusArn"]),
    field("Region", "region", { required: true, value: "us-east-1" },
      ["destination.sqs.region", "destination.sns.region", "destination.eventBridge.region"]),
    field("Content filter (EventBridge pattern; empty: every event)", "filter",
      { placeholder: '{"data": {"total": [{"numeric": [">=", 100]}]}}' }),
    field("Rate limit (messages a second, 1 to 100; empty: as they come)", "rateLimit",
      { type: "number", min: 1, max: 100, step: 1 }),
    h("button", { type: "submit" }, "Create subscription"));
    const editedDestination = new Map();
    /** Fills the form with `s`; saving it then updates `s` (and reactivates it). */
    const edit = (s) => {
      editedDestination.set(s.id, s.destination);
      const type = s.destination.type;
      const d = s.destination.sqs || s.destination.sns || s.destination.eventBridge || {};
      form.entityType.value = s.entityType;
      form.subscribeCreate.checked = s.subscribeCreate;
      form.subscribeChange.checked = s.subscribeChange;
      form.subscribeDelete.checked = s.subscribeDelete;
      form.type.value = type;
      form.address.value = d.queueUrl || d.topicArn || d.eventBusArn || "";
      form.region.value = d.region || "";
      form.filter.value = s.filter ? JSON.stringify(s.filter) : "";
      form.rateLimit.value = s.rateLimit ?? "";
      form.dataset.editing = s.id;
      form.querySelector("button[type=submit]").textContent = `Save ${s.id}`;
      form.entityType.focus();
    };
    const replay = h("form", {
      async onsubmit(event) {
        event.preventDefault();
        const id = replay.subscription.value;
        try {
          const started = await api("POST", `/api/v1/event-subscription/${encodeURIComponent(id)}/replay`,
            { from: new Date(replay.from.value).toISOString(), to: new Date(replay.to.value).toISOString() });
          replay.querySelectorAll(".error").forEach((e) => e.remove());
          say(`Replay ${started.replayId} started: ${started.status}.`);
        } catch (problem) {
          showProblem(replay, problem);
        }
      },
    },
    field("Subscription id", "subscription", { required: true }),
    field("From", "from", { type: "datetime-local", required: true }),
    field("To", "to", { type: "datetime-local", required: true }),
    h("button", { type: "submit" }, "Replay"));
    await refresh();
    return [h("h2", {}, "Subscriptions"), list, h("h2", {}, "New subscription"), form,
      h("h2", {}, "Replay a window"), h("p", {}, "Sends the subscription the window's events again, with their eventIds."), replay];
  },

  async jobs() {
    const list = h("div");
    const refresh = async () => {
      const jobs = await api("GET", "/api/v1/jobs");
      list.replaceChildren(table(["Job", "Notification", "Schedule", "Next run", "Status", ""],
        jobs.map((j) => h("tr", { "data-job-id": j.id }, h("td", {}, j.id), h("td", {}, j.notification),
          h("td", {}, j.scheduleExpression || ""), h("td", {}, j.next_run_at || ""), h("td", {}, j.schedule_status || ""),
          h("td", {},
            h("button", { type: "button", class: "secondary", onclick: () => showRuns(j.id) }, "Runs"),
            h("button", {
              type: "button", class: "secondary",
              async onclick() {
                try {
                  const outcome = await api("POST", `/local/jobs/${encodeURIComponent(j.id)}/run`);
                  say(`Ran ${j.id}: ${JSON.stringify(outcome)}`);
                  await showRuns(j.id);
                } catch (problem) {
                  say(problem.status === 404 ? "Run now works in the local run only." : problem.message);
                }
              },
            }, "Run now"))))));
    };
    const runs = h("div");
    const showRuns = async (id) => {
      const latest = await api("GET", `/api/v1/jobs/${encodeURIComponent(id)}/runs`);
      runs.replaceChildren(h("h3", {}, `Runs of ${id}`), table(["Started", "Status", "Shoppers", "E-mails", "Items", "Failures", "First error"],
        latest.map((r) => h("tr", {}, h("td", {}, r.started_at), h("td", {}, r.status), h("td", {}, r.shoppers),
          h("td", {}, r.emails), h("td", {}, r.items), h("td", {}, r.failures), h("td", {}, (r.errors || [])[0] || "")))));
    };
    const form = h("form", {
      async onsubmit(event) {
        event.preventDefault();
        const body = {
          notification: form.notification.value,
          template_id: form.template_id.value,
          schedule: form.schedule.value,
          scheduleTimezone: form.scheduleTimezone.value || undefined,
        };
        try {
          const created = await api("POST", "/api/v1/jobs", body);
          form.querySelectorAll(".error").forEach((e) => e.remove());
          say(`Created job ${created.id}.`);
          await refresh();
        } catch (problem) {
          showProblem(form, problem);
        }
      },
    },
    field("Notification", "notification", { options: ["BACK_IN_STOCK", "PRICE_DROP", "LOW_STOCK", "WISHLIST_REMINDER"] }),
    field("SendGrid template id", "template_id", { required: true }),
    field("Schedule (cron or rate)", "schedule", { required: true, placeholder: "0 9 * * 1-5" }, ["schedule", "scheduleExpression"]),
    field("Time zone", "scheduleTimezone", { placeholder: "Europe/Berlin" }),
    h("button", { type: "submit" }, "Create job"));
    await refresh();
    return [h("h2", {}, "Jobs"), list, runs, h("h2", {}, "New job"), form];
  },

  async definitions() {
    const all = await api("GET", "/api/v1/event-definitions?include_inactive=true");
    return [h("h2", {}, "Event definitions"), table(["Event name", "Version", "State", "Fields"],
      all.map((d) => h("tr", {}, h("td", {}, d.eventName), h("td", {}, d.version), h("td", {}, d.active ? "active" : "inactive"),
        h("td", {}, (d.fields || []).map((f) => `${f.name} (${f.type}${f.isRequired ? ", required" : ""})`).join(", ")))))];
  },

  async rules() {
    const page = await api("GET", "/api/v1/rules?limit=500");
    return [h("h2", {}, "Loyalty rules"), table(["Rule", "Name", "Rule set", "State", "Priority", "Points"],
      page.items.map((r) => h("tr", {}, h("td", {}, r.id), h("td", {}, r.name), h("td", {}, r.ruleSet),
        h("td", {}, r.active ? "active" : "inactive"), h("td", {}, r.priority),
        h("td", {}, JSON.stringify((r.fulfilment || {}).points || {})))))];
  },

  customer() {
    const shown = h("div");
    const form = h("form", {
      async onsubmit(event) {
        event.preventDefault();
        const id = encodeURIComponent(form.customerId.value.trim());
        try {
          const customer = await api("GET", `/api/v1/customers/${id}`);
          const ledger = await api("GET", `/api/v1/customers/${id}/ledger?limit=100`);
          form.querySelectorAll(".error").forEach((e) => e.remove());
          shown.replaceChildren(
            h("p", { "data-balance": "" }, `${customer.points.available} points available, ${customer.points.lifetime} lifetime; `,
              `spend ${customer.spend.annual} this year, ${customer.spend.lifetime} lifetime${customer.locked ? "; locked" : ""}.`),
            table(["When", "Type", "Points", "Balance after", "Rule", "Event", "Expires"],
              ledger.items.map((e) => h("tr", {}, h("td", {}, e.createdAt), h("td", {}, e.type), h("td", {}, e.points),
                h("td", {}, e.balanceAfter), h("td", {}, e.ruleId || ""), h("td", {}, e.eventId), h("td", {}, e.expiresAt || "")))));
        } catch (problem) {
          showProblem(form, problem);
        }
      },
    },
    field("Customer id (GUID)", "customerId", { required: true }),
    h("button", { type: "submit" }, "Show"));
    return [h("h2", {}, "Customer"), form, shown];
  },
};

async function show() {
  const name = location.hash.slice(1) || (settings.tenant ? "events" : "settings");
  const render = pages[name] || pages.settings;
  for (const link of document.querySelectorAll("nav a")) {
    if (link.hash === `#${name}`) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  try {
    page.replaceChildren(...(await render()));
  } catch (problem) {
    page.replaceChildren(h("p", { class: "error", role: "alert" }, problem.message));
  }
  page.focus();
}

window.addEventListener("hashchange", show);
show();
