"""moto's server, with DynamoDB's isolation, and SQS receives that do not slow
down with a queue's size.

moto runs a transaction by copying the whole table and, when a condition fails,
putting the copy back: a write that another request made in between is lost.
DynamoDB never loses a committed write. Here moto's DynamoDB (and DynamoDB
Streams) operations run one at a time, so no other request sees or loses what a
transaction does before it ends.

moto's SQS receive checks each message it hands out against the queue's
retention by computing every attribute of the queue (its approximate counts
among them: three scans of all its messages, three times over), and each scan
reads the clock once per message. A retry queue holding a few thousand delayed
messages then made every receive cost tens of milliseconds of moto's one core,
and every other call of every function waited behind it (the system harness
measured it: docs/operations.md). Sending a message computes them too. The
replacements below answer exactly as moto's own: the retention read from the
queue, and one clock reading a scan. And no log line per request (a tenth of
moto's time under load): the log keeps warnings and errors.

moto's DynamoDB Query on a table's key sorts every item of the table and then
keeps the partition asked for, so a query's cost grows with the whole table: a
deliveries table holding ten thousand dead letters made each read of one
subscription's page cost a sort of all of them. The replacement hands moto's
own query the one partition, sorted as moto sorts it; queries of an index are
left as they are.

moto's SQS delete scans every message of the queue twice (building each one's
list of receipt handles) and rebuilds the queue's list, for each receipt handle
of a batch; the replacement finds the one message in one pass and removes it.

moto's FIFO receive holds back a message group while one of its messages is
"pending", and drops a pending message whose visibility ran out only when its
scan reaches it: a group whose first messages were handed back (hidden for a
second, as fanout-paced does with a lane over its rate) was then served from
its later messages first, out of order. SQS holds a group only while one of its
messages is in flight (received and still hidden) and then serves it from its
first message; the replacement answers which groups are in flight that way.

moto writes each DynamoDB answer by walking the service's model, and each
attribute value of each item is a structure of ten members picked one at a time:
the listing of a page of five hundred dead letters took over half of moto's core
under the harness's noisy tenant (py-spy). An attribute value moto holds is
already in DynamoDB's JSON form, so one made only of strings, numbers, booleans,
nulls, lists and maps is written as it is; binary ones go the model's way.
MOTO_CHECK_ATTRIBUTE_VALUES=1 writes each both ways and fails the call on any
difference (how the shortcut was checked against the whole test suite).

moto picks the service of each request by listing its own package directory
(a directory check per service, twice a request) and then trying each
service's URL patterns in turn, under one lock: a quarter of the services
process's samples under the harness's noisy tenant (py-spy, waits for that
lock included). The list is read once here, and each host's service
remembered.
"""

import functools
import logging
import os
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.core.serialize import BaseJSONSerializer
from moto.core.utils import unix_time, unix_time_millis
from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.server import main
from moto.sqs.exceptions import ReceiptHandleIsInvalid
from moto.sqs.models import Queue, SQSBackend

_ONE_AT_A_TIME = threading.RLock()

_OPERATIONS = (
    "batch_execute_statement",
    "batch_get_item",
    "batch_write_item",
    "delete_item",
    "execute_statement",
    "execute_transaction",
    "get_item",
    "put_item",
    "query",
    "scan",
    "transact_get_items",
    "transact_write_items",
    "update_item",
)


def _serialized(operation):
    @functools.wraps(operation)
    def run(*args, **kwargs):
        with _ONE_AT_A_TIME:
            return operation(*args, **kwargs)

    return run


# A stream reader must not see the records of a transaction that is undone.
_STREAM_OPERATIONS = ("describe_stream", "get_records", "get_shard_iterator", "list_streams")

for _name in _OPERATIONS:
    setattr(DynamoDBBackend, _name, _serialized(getattr(DynamoDBBackend, _name)))
for _name in _STREAM_OPERATIONS:
    setattr(DynamoDBStreamsBackend, _name, _serialized(getattr(DynamoDBStreamsBackend, _name)))


_query = Table.query


def _query_one_partition(self, hash_key, *args, **kwargs):
    index_name = args[6] if len(args) > 6 else kwargs.get("index_name")
    if index_name or hash_key is None:
        return _query(self, hash_key, *args, **kwargs)
    partition = self.items.get(hash_key)
    if partition is None:
        items = []
    elif self.range_key_attr:
        items = sorted(partition.values(), key=lambda item: item.range_key)
    else:
        items = [partition]
    # moto's query reads `self.all_items()`: for this call, the partition alone.
    self.all_items = lambda: items
    try:
        return _query(self, hash_key, *args, **kwargs)
    finally:
        del self.all_items


Table.query = _query_one_partition


def _retained(self, queue_name, message):
    queue = self.get_queue(queue_name)
    return int(queue.message_retention_period) + message.sent_timestamp / 1000 > unix_time()


def _receivable(self):
    now = unix_time_millis()
    return [m for m in self._messages if now > m.visible_at and not now < m.delayed_until]


def _not_visible(self):
    now = unix_time_millis()
    return sum(1 for m in self._messages if not now > m.visible_at)


def _delayed(self):
    now = unix_time_millis()
    return sum(1 for m in self._messages if now < m.delayed_until)


def _delete_message(self, receipt_handle):
    if receipt_handle in self.deleted_messages:
        return
    # moto serves SQS calls on many threads at once: read a snapshot of the list,
    # and remove the message itself (by identity), never an index another
    # thread's delete may have shifted.
    for message in list(self._messages):
        if message.receipt_handle == receipt_handle or receipt_handle in message._old_receipt_handles:
            self.pending_messages.discard(message)
            self.deleted_messages.update(message.all_receipt_handles)
            try:
                self._messages.remove(message)
            except ValueError:
                pass  # another thread's delete of the same message came first
            return
    raise ReceiptHandleIsInvalid()


def _groups_in_flight(self):
    now = unix_time_millis()
    return {m.group_id for m in self._pending_messages if m.group_id is not None and not now > m.visible_at}


Queue.delete_message = _delete_message
Queue.pending_message_groups = property(_groups_in_flight)
SQSBackend.is_message_valid_based_on_retention_period = _retained
Queue.messages = property(_receivable)
Queue.approximate_number_of_messages_not_visible = property(_not_visible)
Queue.approximate_number_of_messages_delayed = property(_delayed)
logging.getLogger("werkzeug").setLevel(logging.WARNING)

_PLAIN_TYPES = {"S": str, "N": str, "BOOL": bool, "NULL": bool}


def _plain(value):
    """Whether `value` is an attribute value with no binary part, as DynamoDB writes it."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    ((kind, inner),) = value.items()
    if kind in _PLAIN_TYPES:
        return isinstance(inner, _PLAIN_TYPES[kind])
    if kind in ("SS", "NS"):
        return isinstance(inner, list) and all(isinstance(v, str) for v in inner)
    if kind == "L":
        return isinstance(inner, list) and all(_plain(v) for v in inner)
    if kind == "M":
        return isinstance(inner, dict) and all(isinstance(k, str) and _plain(v) for k, v in inner.items())
    return False


_serialize_structure = BaseJSONSerializer._serialize_type_structure
_CHECK = os.environ.get("MOTO_CHECK_ATTRIBUTE_VALUES") == "1"


def _serialize_attribute_value(self, serialized, value, shape, key):
    if shape.name != "AttributeValue" or not _plain(value):
        return _serialize_structure(self, serialized, value, shape, key)
    self._default_serialize(serialized, value, shape, key)
    if _CHECK:
        slow = {}
        _serialize_structure(self, slow, value, shape, key)
        fast = {self.get_serialized_name(shape, key): value}
        if slow != fast:
            raise AssertionError(f"attribute value written differently: {fast!r} against {slow!r}")


BaseJSONSerializer._serialize_type_structure = _serialize_attribute_value

_MODULES = tuple(backends.list_of_moto_modules())
backends.list_of_moto_modules = lambda: _MODULES

_backend_for_host = DomainDispatcherApplication.get_backend_for_host
_BACKENDS_BY_HOST = {}


def _remembered_backend_for_host(self, host):
    # Called under the dispatcher's lock.
    if host not in _BACKENDS_BY_HOST:
        _BACKENDS_BY_HOST[host] = _backend_for_host(self, host)
    return _BACKENDS_BY_HOST[host]


DomainDispatcherApplication.get_backend_for_host = _remembered_backend_for_host

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
