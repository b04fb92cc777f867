#!/usr/bin/env bash
# Runs scim2-tester (PyPI) against a scim-bridge serving a scratch copy of the demo helpdesk.
# Needs: pip install scim2-tester httpx2
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build -q
work=$(mktemp -d)
trap 'kill $pid 2>/dev/null || true; rm -rf "$work"' EXIT
port=${PORT:-18080}
cat > "$work/config.toml" <<CFG
[server]
listen = "127.0.0.1:$port"
[database]
url = "sqlite://$work/helpdesk.db"
create_demo = true
[mapping]
file = "$PWD/mappings/demo.toml"
[log]
level = "warn"
CFG
token=$(./target/debug/scim-bridge --config "$work/config.toml" token create --name conformance 2>/dev/null)
./target/debug/scim-bridge --config "$work/config.toml" serve &
pid=$!
for _ in $(seq 1 50); do curl -fs "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
python3 scripts/conformance.py "http://127.0.0.1:$port/scim/v2" "$token"
