"""moto's server, with DynamoDB's isolation.

moto runs a transaction by copying the whole table and, when a condition fails,
putting the copy back: a write that another request made in between is lost.
DynamoDB never loses a committed write. Here moto's DynamoDB (and DynamoDB
Streams) operations run one at a time, so no other request sees or loses what a
transaction does before it ends.
"""

import functools
import sys
import threading

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.server import main

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

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
