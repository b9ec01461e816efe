// The README's flow through a client generated from openapi.yaml:
// openapi-typescript makes the types (schema.d.ts), openapi-fetch the calls.
// Run it against the local run (scripts/dev) or a deployed stack, in
// docs/clients/typescript once compiled (docs/clients/README.md):
//   EVENT_COLLECTOR_URL=http://127.0.0.1:3000 EVENT_COLLECTOR_TENANT=acme \
//   QUEUE_URL=$(../../../scripts/dev queue orders) node flow.js
// (EVENT_COLLECTOR_TOKEN: a bearer token, when the API asks for one;
// QUEUE_REGION: the queue's region, us-east-1 unless set.)
import createClient from "openapi-fetch";
import type { components, paths } from "./schema.js";

type Event = components["schemas"]["Event"];
type Problem = components["schemas"]["Problem"];

const baseUrl = process.env.EVENT_COLLECTOR_URL ?? "http://127.0.0.1:3000";
const tenant = process.env.EVENT_COLLECTOR_TENANT ?? "acme";
const queueUrl = required("QUEUE_URL");
const queueRegion = process.env.QUEUE_REGION ?? "us-east-1";
const token = process.env.EVENT_COLLECTOR_TOKEN;

const api = createClient<paths>({
  baseUrl,
  headers: token ? { Authorization: `Bearer ${token}` } : {},
});
const header = { "X-TWC-Tenant": tenant };
// Each run its own order, so its listing holds its events only.
const order = `ORD-${Date.now()}`;

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`unexpected: ${what}`);
}

// {"total": 129.9, "currency": "EUR"}, base64-encoded as the API takes payloads.
function payload(total: number): string {
  return Buffer.from(JSON.stringify({ total, currency: "EUR" })).toString("base64");
}

function orderEvent(encodedPayload: string): components["schemas"]["EventRequest"] {
  return {
    entity_id: order,
    entity_name: "ORDER",
    event_source: "APPLICATION",
    event_type: "ENTITY_EVENT",
    event_payload: { operation: "CREATE", base64_encoded_payload_json: encodedPayload },
  };
}

async function postOrder(total: number): Promise<Event> {
  const { data, error, response } = await api.POST("/api/v1/events", {
    params: { header },
    body: orderEvent(payload(total)),
  });
  if (!data) throw new Error(`POST /api/v1/events: ${response.status} ${JSON.stringify(error)}`);
  return data;
}

// 1. Subscribe a queue to the tenant's ORDER creates.
const subscribed = await api.POST("/api/v1/event-subscription", {
  params: { header },
  body: {
    entityType: "ORDER",
    subscribeCreate: true,
    destination: { type: "SQS", sqs: { queueUrl, region: queueRegion } },
  },
});
if (!subscribed.data) throw new Error(`subscribe: ${JSON.stringify(subscribed.error)}`);
const subscription = subscribed.data;
check(subscription.destination.type === "SQS", "an SQS destination");
console.log(`subscription ${subscription.id} (version ${subscription.version})`);

// 2. Post an event and read it back as a typed object.
const stored = await postOrder(129.9);
const read = await api.GET("/api/v1/events/{eventId}", {
  params: { header, path: { eventId: stored.id } },
});
if (!read.data) throw new Error(`GET the event: ${JSON.stringify(read.error)}`);
const event: Event = read.data;
check(event.entity_id === order && event.event_payload.operation === "CREATE", "the event as posted");
console.log(`event ${event.id}: ${event.entity_name} ${event.event_payload.operation} at ${event.created_at}`);

// 3. Page the order's events, two at a time, through next_token.
await postOrder(10);
await postOrder(20);
const seen: string[] = [];
let nextToken: string | undefined;
do {
  const page = await api.GET("/api/v1/events", {
    params: { header, query: { entity_name: "ORDER", entity_id: order, limit: 2, next_token: nextToken } },
  });
  if (!page.data) throw new Error(`list: ${JSON.stringify(page.error)}`);
  seen.push(...page.data.items.map((e) => e.id));
  nextToken = page.data.next_token ?? undefined;
} while (nextToken);
check(seen.length === 3 && seen.includes(stored.id), `three events listed, got ${seen.length}`);
console.log(`listed ${seen.length} events of ${order}, two a page`);

// 4. Create a notification job.
const job = await api.POST("/api/v1/jobs", {
  params: { header },
  body: { notification: "BACK_IN_STOCK", template_id: "d-0123456789abcdef", schedule: "cron(0 9 * * ? *)" },
});
if (!job.data) throw new Error(`create a job: ${JSON.stringify(job.error)}`);
console.log(`job ${job.data.id}: ${job.data.scheduleExpression} (${job.data.schedule_status})`);

// 5. A refused call: its problem+json names the field.
const refused = await api.POST("/api/v1/events", { params: { header }, body: orderEvent("not base64!") });
// An error answer is problem+json, or API Gateway's own {"message"} for a refused token.
const problem: Problem | undefined = refused.error && "title" in refused.error ? refused.error : undefined;
check(refused.response.status === 400 && problem !== undefined, "a 400");
const fields = (problem?.errors ?? []).map((e) => e.field);
check(fields.includes("event_payload.base64_encoded_payload_json"), `the field named, got ${fields}`);
console.log(`refused (${problem?.status}): ${fields.join(", ")}`);
console.log("typescript client: the flow passed");
