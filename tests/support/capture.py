"""rotel processor used by tracewire's tests: appends what the collector received as JSON lines.

rotel-agent loads this file with its embedded CPython for traces, logs and metrics. It only
reads; the data passes on unchanged. Output: $CAPTURE_DIR/spans.jsonl, logs.jsonl and
metrics.jsonl, one object per span, log record or metric data point. An exception escaping a processor would stop rotel, so all are caught.
"""
import json
import os
import threading

OUT = os.environ.get("CAPTURE_DIR", ".")
LOCK = threading.Lock()
KINDS = ["UNSPECIFIED", "INTERNAL", "SERVER", "CLIENT", "PRODUCER", "CONSUMER"]
CODES = ["UNSET", "OK", "ERROR"]


def plain(v):
    """A rotel AnyValue as JSON: ints stay ints, arrays lists, key-value lists objects."""
    while v is not None and not isinstance(v, (str, bytes, int, float, bool, list, tuple)) and hasattr(v, "value"):
        v = v.value
    if isinstance(v, (bytes, bytearray)):
        return bytes(v).hex()
    if isinstance(v, (list, tuple)) or type(v).__name__ == "ArrayValue":
        return [plain(x) for x in v]
    if type(v).__name__ == "KeyValueList":
        return {kv.key: plain(kv.value) for kv in v}
    return v


def attrs(kvs):
    return {kv.key: plain(kv.value) for kv in (kvs or [])}


def write(name, records):
    if not records:
        return
    data = "".join(json.dumps(r, sort_keys=True) + "\n" for r in records).encode()
    with LOCK:
        fd = os.open(os.path.join(OUT, name), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)


def failed(where, e):
    try:
        write("capture-errors.jsonl", [{"where": where, "error": repr(e)}])
    except Exception:
        pass


def process_spans(resource_spans):
    try:
        res = attrs(resource_spans.resource.attributes) if resource_spans.resource else {}
        out = []
        for ss in resource_spans.scope_spans:
            scope = ss.scope.name if ss.scope else ""
            for s in ss.spans:
                code = s.status.code if s.status else 0
                out.append({
                    "trace_id": bytes(s.trace_id).hex(),
                    "span_id": bytes(s.span_id).hex(),
                    "parent_span_id": bytes(s.parent_span_id).hex() if s.parent_span_id else "",
                    "flags": s.flags,
                    "name": s.name,
                    "kind": KINDS[s.kind] if 0 <= s.kind < len(KINDS) else str(s.kind),
                    "start_time_unix_nano": s.start_time_unix_nano,
                    "end_time_unix_nano": s.end_time_unix_nano,
                    "attributes": attrs(s.attributes),
                    "events": [{"name": e.name, "attributes": attrs(e.attributes)} for e in s.events],
                    "status": {"code": CODES[code] if 0 <= code < 3 else str(code),
                               "message": s.status.message if s.status else ""},
                    "resource": res,
                    "scope": scope,
                })
        write("spans.jsonl", out)
    except Exception as e:
        failed("spans", e)


def process_logs(resource_logs):
    try:
        res = attrs(resource_logs.resource.attributes) if resource_logs.resource else {}
        out = []
        for sl in resource_logs.scope_logs:
            for r in sl.log_records:
                out.append({
                    "trace_id": bytes(r.trace_id).hex() if r.trace_id else "",
                    "span_id": bytes(r.span_id).hex() if r.span_id else "",
                    "severity_text": r.severity_text,
                    "body": plain(r.body),
                    "attributes": attrs(r.attributes),
                    "resource": res,
                })
        write("logs.jsonl", out)
    except Exception as e:
        failed("logs", e)


def number(v):
    """A NumberDataPointValue (AsInt / AsDouble) as a number."""
    while v is not None and not isinstance(v, (int, float)) and hasattr(v, "_0"):
        v = v._0
    return v


TEMPORALITY = {0: "UNSPECIFIED", 1: "DELTA", 2: "CUMULATIVE"}


def process_metrics(resource_metrics):
    """One object per data point: metric name, unit, type, temporality, attributes, and for a
    histogram count/sum/bounds/bucket_counts, for a sum or gauge its value."""
    try:
        res = attrs(resource_metrics.resource.attributes) if resource_metrics.resource else {}
        out = []
        for sm in resource_metrics.scope_metrics:
            scope = sm.scope.name if sm.scope else ""
            for m in sm.metrics:
                d = m.data
                kind = type(d).__name__.replace("MetricData_", "")
                inner = d[0]
                temporality = getattr(inner, "aggregation_temporality", None)
                temporality = TEMPORALITY.get(int(temporality), str(temporality)) if temporality is not None else ""
                for p in inner.data_points:
                    point = {
                        "name": m.name,
                        "unit": m.unit,
                        "type": kind,
                        "temporality": temporality,
                        "attributes": attrs(p.attributes),
                        "time_unix_nano": p.time_unix_nano,
                        "resource": res,
                        "scope": scope,
                    }
                    if kind == "Histogram":
                        point["count"] = p.count
                        point["sum"] = p.sum
                        point["bounds"] = list(p.explicit_bounds)
                        point["bucket_counts"] = list(p.bucket_counts)
                    elif kind in ("Sum", "Gauge"):
                        point["value"] = number(p.value)
                    out.append(point)
        write("metrics.jsonl", out)
    except Exception as e:
        failed("metrics", e)


# rotel imports this module once per signal at startup: the harness waits for the three marks.
write("ready.jsonl", [{"pid": os.getpid()}])
