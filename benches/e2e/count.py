"""rotel processor for scripts/e2e.sh: counts the spans received (no copy, no JSON), and keeps the
total in $COUNT_FILE, rewritten atomically after each batch."""
import os
import threading

OUT = os.environ["COUNT_FILE"]
LOCK = threading.Lock()
TOTAL = [0]


def process_spans(resource_spans):
    try:
        n = sum(len(ss.spans) for ss in resource_spans.scope_spans)
        with LOCK:
            TOTAL[0] += n
            tmp = OUT + ".tmp"
            with open(tmp, "w") as f:
                f.write(str(TOTAL[0]))
            os.replace(tmp, OUT)
    except Exception:
        pass
