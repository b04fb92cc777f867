"""Runs the public scim2-tester conformance checks against a running scim-bridge.

Usage: python3 scripts/conformance.py BASE_URL TOKEN
(scripts/conformance.sh starts a bridge on a scratch demo database and calls this.)
Prints one line per check and exits 1 if any check failed.
"""
import sys

import httpx2 as httpx
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    http = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    client = SyncSCIMClient(http)
    results = check_server(client)
    counts: dict[str, int] = {}
    for r in results:
        status = r.status.name
        counts[status] = counts.get(status, 0) + 1
        line = f"{status:<8} {r.resource_type or '-':<8} {r.title}"
        if r.status not in (Status.SUCCESS,):
            line += f" -- {r.reason}"
        print(line)
    print(", ".join(f"{n} {s.lower()}" for s, n in sorted(counts.items())))
    return 1 if counts.get("ERROR", 0) or counts.get("CRITICAL", 0) else 0


if __name__ == "__main__":
    sys.exit(main())
