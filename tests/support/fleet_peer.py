"""A service written with Python's OpenTelemetry SDK, for the propagation tests.

usage: fleet_peer.py PORT

Serves on 127.0.0.1:PORT, and exits by itself after 120 seconds:
  GET /echo?p=NAME         extracts the request's context with the propagator registered under
                           NAME (the names OTEL_PROPAGATORS takes: b3, b3multi, jaeger, xray),
                           starts a child span (parent-based sampler) and answers what it saw.
  GET /relay?url=URL        a service in the middle: continues the request's W3C trace context
                           (a child span, parent-based), calls URL with it, answers URL's status
                           and body; knows nothing of `traceresponse` (neither reads nor sends).
  GET /call?p=NAME&sampled=0|1&url=URL
                           starts a root span (sampled or not), injects its context with NAME
                           only, calls URL and answers its own ids, the headers it sent and
                           URL's answer.
"""

import json
import os
import sys
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from opentelemetry import trace
from opentelemetry.propagators.textmap import Getter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, ParentBased
from opentelemetry.util._importlib_metadata import entry_points

SAMPLED = TracerProvider(sampler=ParentBased(ALWAYS_ON)).get_tracer("fleet-peer")
UNSAMPLED = TracerProvider(sampler=ParentBased(ALWAYS_OFF)).get_tracer("fleet-peer")


def propagator(name):
    """The propagator Python's SDK installs for this OTEL_PROPAGATORS name."""
    (ep,) = entry_points(group="opentelemetry_propagator", name=name)
    return ep.load()()


class Headers(Getter):
    def get(self, carrier, key):
        values = carrier.get_all(key)
        return list(values) if values else None

    def keys(self, carrier):
        return list(carrier.keys())


def ids(sc):
    return {
        "trace_id": format(sc.trace_id, "032x"),
        "span_id": format(sc.span_id, "016x"),
        "sampled": bool(sc.trace_flags.sampled),
        "valid": sc.is_valid,
    }


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/relay":
            p = propagator("tracecontext")
            ctx = p.extract(self.headers, getter=Headers())
            with SAMPLED.start_as_current_span("python-relay", context=ctx):
                sent = {}
                p.inject(sent)
                req = urllib.request.Request(q["url"], headers=sent)
                with urllib.request.urlopen(req, timeout=10) as resp:
                    body = resp.read()
                    status = resp.status
            self.send_response(status)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        p = propagator(q["p"])
        if url.path == "/echo":
            ctx = p.extract(self.headers, getter=Headers())
            parent = trace.get_current_span(ctx).get_span_context()
            with SAMPLED.start_as_current_span("python-server", context=ctx) as span:
                self.answer({
                    "parent": ids(parent),
                    "own": ids(span.get_span_context()),
                    "headers": {k.lower(): v for k, v in self.headers.items()},
                })
        elif url.path == "/call":
            tracer = SAMPLED if q["sampled"] == "1" else UNSAMPLED
            with tracer.start_as_current_span("python-client") as span:
                sent = {}
                p.inject(sent)
                req = urllib.request.Request(q["url"], headers=sent)
                with urllib.request.urlopen(req, timeout=10) as resp:
                    answer = json.loads(resp.read())
                self.answer({"own": ids(span.get_span_context()), "sent": sent, "answer": answer})
        else:
            self.send_response(404)
            self.end_headers()


def main():
    port = int(sys.argv[1])
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Timer(120, lambda: os._exit(0)).start()
    server.serve_forever()


if __name__ == "__main__":
    main()
