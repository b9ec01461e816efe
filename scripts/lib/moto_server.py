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
"""

import functools
import logging
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.core.utils import unix_time, unix_time_millis
from moto.server import main
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


SQSBackend.is_message_valid_based_on_retention_period = _retained
Queue.messages = property(_receivable)
Queue.approximate_number_of_messages_not_visible = property(_not_visible)
Queue.approximate_number_of_messages_delayed = property(_delayed)
logging.getLogger("werkzeug").setLevel(logging.WARNING)

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
