"""One side of ``python -m bench detect``: serve detect_modules timings over stdin/stdout.

Run by path with the ``sculpt`` under test first on ``PYTHONPATH``; loads every stored network
once (not timed), then answers one JSON line per request ``{"i": index, "record": bool}`` with
the CPU seconds of ``detect_modules`` on that network (its own parameters) and, when asked to
record, a digest of the full result.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import time


def main() -> int:
    reference_dir, ids = sys.argv[1], sys.argv[2].split(",")
    import sculpt
    from sculpt.detect import detect_modules
    from sculpt.reference import iter_networks

    nets = {net.id: net for net in iter_networks(reference_dir=reference_dir, ids=ids)}
    prepared = []
    for net_id in ids:
        net, r = nets[net_id], nets[net_id].record
        prepared.append((net.masks, dict(feature_step_size=r["feature_step_size"],
                                         clusterability_step_size=r["clusterability_step_size"],
                                         modularity_threshold=r["modularity_threshold"],
                                         merge_threshold=r["merge_threshold"])))
    detect_modules(prepared[0][0], **prepared[0][1])  # warm-up, as paperbench does
    print(json.dumps({"ready": os.path.dirname(sculpt.__file__)}), flush=True)
    for line in sys.stdin:
        request = json.loads(line)
        masks, kwargs = prepared[request["i"]]
        start = time.process_time()
        detection = detect_modules(masks, **kwargs)
        cpu = time.process_time() - start
        reply = {"cpu": cpu}
        if request.get("record"):  # only in the first round, as paperbench records results
            reply["digest"] = hashlib.sha256(json.dumps(detection.to_dict(), sort_keys=True).encode()).hexdigest()[:16]
        print(json.dumps(reply), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
