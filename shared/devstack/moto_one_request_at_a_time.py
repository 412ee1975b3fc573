"""moto server that answers one request at a time.

`moto_server` serves each request on its own thread, and moto evaluates a DynamoDB condition
and applies the write in separate steps without a lock: two concurrent conditional writes can
both pass. DynamoDB applies each request atomically. Serving requests one after another gives
moto that atomicity, so tests of optimistic concurrency see the real semantics (the client side
stays concurrent: racing requests still interleave).

Usage: python moto_one_request_at_a_time.py HOST PORT
"""

import os
import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)

host, port = sys.argv[1], int(sys.argv[2])
os.environ.setdefault("MOTO_PORT", str(port))
run_simple(
    host,
    port,
    DomainDispatcherApplication(create_backend_app),
    threaded=False,
    request_handler=MotoRequestHandler,
)
