"""The README's flow through a client generated from openapi.yaml by
openapi-python-client (docs/clients/README.md says how to generate it).
Run it against the local run (scripts/dev) or a deployed stack:

    EVENT_COLLECTOR_URL=http://127.0.0.1:3000 EVENT_COLLECTOR_TENANT=acme \\
    QUEUE_URL=$(scripts/dev queue orders) python docs/clients/python/flow.py

(EVENT_COLLECTOR_TOKEN: a bearer token, when the API asks for one; QUEUE_REGION:
the queue's region, us-east-1 unless set.)
"""

import base64
import json
import os
import time

from event_collector_client import AuthenticatedClient, Client
from event_collector_client.api.events import create_event, get_event, list_events
from event_collector_client.api.jobs import create_job
from event_collector_client.api.subscriptions import create_subscription
from event_collector_client.models import (
    Event,
    EventList,
    EventPayload,
    EventRequest,
    EventSource,
    EventType,
    Job,
    JobRequest,
    Notification,
    Operation,
    Problem,
    SqsDestination,
    SqsTarget,
    Subscription,
    SubscriptionRequest,
)
from event_collector_client.types import UNSET

BASE_URL = os.environ.get("EVENT_COLLECTOR_URL", "http://127.0.0.1:3000")
TENANT = os.environ.get("EVENT_COLLECTOR_TENANT", "acme")
QUEUE_URL = os.environ["QUEUE_URL"]
QUEUE_REGION = os.environ.get("QUEUE_REGION", "us-east-1")
TOKEN = os.environ.get("EVENT_COLLECTOR_TOKEN")

api = AuthenticatedClient(base_url=BASE_URL, token=TOKEN) if TOKEN else Client(base_url=BASE_URL)
# Each run its own order, so its listing holds its events only.
ORDER = f"ORD-{time.time_ns()}"


def check(condition: bool, what: str) -> None:
    """Fails the flow (an assert would vanish under python -O)."""
    if not condition:
        raise SystemExit(f"unexpected: {what}")


def payload(total: float) -> str:
    """The order's JSON, base64-encoded as the API takes payloads."""
    return base64.b64encode(json.dumps({"total": total, "currency": "EUR"}).encode()).decode()


def order_event(encoded_payload: str) -> EventRequest:
    return EventRequest(
        entity_id=ORDER,
        entity_name="ORDER",
        event_source=EventSource.APPLICATION,
        event_type=EventType.ENTITY_EVENT,
        event_payload=EventPayload(operation=Operation.CREATE, base64_encoded_payload_json=encoded_payload),
    )


def post_order(total: float) -> Event:
    answer = create_event.sync_detailed(client=api, body=order_event(payload(total)), x_twc_tenant=TENANT)
    check(isinstance(answer.parsed, Event), f"POST /api/v1/events: {answer.status_code} {answer.content!r}")
    return answer.parsed


# 1. Subscribe a queue to the tenant's ORDER creates.
subscription = create_subscription.sync(
    client=api,
    x_twc_tenant=TENANT,
    body=SubscriptionRequest(
        entity_type="ORDER",
        subscribe_create=True,
        destination=SqsDestination(type_="SQS", sqs=SqsTarget(queue_url=QUEUE_URL, region=QUEUE_REGION)),
    ),
)
check(isinstance(subscription, Subscription), f"subscribe: {subscription!r}")
check(isinstance(subscription.destination, SqsDestination), "an SQS destination")
print(f"subscription {subscription.id} (version {subscription.version})")

# 2. Post an event and read it back as a typed object.
stored = post_order(129.9)
event = get_event.sync(client=api, event_id=stored.id, x_twc_tenant=TENANT)
check(isinstance(event, Event), f"GET the event: {event!r}")
check(event.entity_id == ORDER and event.event_payload.operation is Operation.CREATE, "the event as posted")
print(f"event {event.id}: {event.entity_name} {event.event_payload.operation} at {event.created_at.isoformat()}")

# 3. Page the order's events, two at a time, through next_token.
post_order(10)
post_order(20)
seen: list[str] = []
next_token = UNSET
while True:
    page = list_events.sync(
        client=api, x_twc_tenant=TENANT, entity_name="ORDER", entity_id=ORDER, limit=2, next_token=next_token
    )
    check(isinstance(page, EventList), f"list: {page!r}")
    seen.extend(e.id for e in page.items)
    if not page.next_token:
        break
    next_token = page.next_token
check(len(seen) == 3 and stored.id in seen, f"three events listed, got {seen}")
print(f"listed {len(seen)} events of {ORDER}, two a page")

# 4. Create a notification job.
job = create_job.sync(
    client=api,
    x_twc_tenant=TENANT,
    body=JobRequest(
        notification=Notification.BACK_IN_STOCK, template_id="d-0123456789abcdef", schedule="cron(0 9 * * ? *)"
    ),
)
check(isinstance(job, Job), f"create a job: {job!r}")
print(f"job {job.id}: {job.schedule_expression} ({job.schedule_status})")

# 5. A refused call: its problem+json names the field.
refused = create_event.sync(client=api, x_twc_tenant=TENANT, body=order_event("not base64!"))
check(isinstance(refused, Problem) and refused.status == 400, f"a 400: {refused!r}")
fields = [e.field for e in refused.errors or []]
check("event_payload.base64_encoded_payload_json" in fields, f"the field named, got {fields}")
print(f"refused ({refused.status}): {', '.join(fields)}")
print("python client: the flow passed")
