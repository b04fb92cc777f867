#!/usr/bin/env bash
# Builds the Debian package: target/debian/scim-bridge_<version>_<arch>.deb.
#
# Needs cargo-deb (`cargo install cargo-deb`) and, for the check at the end, dpkg-deb and
# systemd-analyze. Generated assets go to target/deb-assets/ (paths in Cargo.toml's
# [package.metadata.deb]):
#   - the unit: systemd/scim-bridge.service with ExecStart pointing at /usr/bin
#   - config.toml: the shipped one, running the demo from /var/lib/scim-bridge with the
#     packaged demo preset, until `scim-bridge init --database URL --force` rewrites it
#   - man pages (`scim-bridge man --dir`) and bash/zsh/fish completions (`scim-bridge completions`)
set -euo pipefail
cd "$(dirname "$0")/.."

target_dir="${CARGO_TARGET_DIR:-target}"
assets=target/deb-assets
rm -rf "$assets"
mkdir -p "$assets/man" "$assets/completions"

cargo build --release --locked
bin="$target_dir/release/scim-bridge"

sed 's#/usr/local/bin/scim-bridge#/usr/bin/scim-bridge#' systemd/scim-bridge.service >"$assets/scim-bridge.service"
grep -q '^ExecStart=/usr/bin/scim-bridge ' "$assets/scim-bridge.service"

sed -e 's#^url = "sqlite://data/helpdesk-demo.db"#url = "sqlite:///var/lib/scim-bridge/helpdesk-demo.db"#' \
    -e 's#^file = "mappings/demo.toml"#file = "/usr/share/scim-bridge/mappings/demo.toml"#' \
    -e 's#^\# As shipped, this file runs the bridge on an embedded SQLite demo helpdesk.#\# As packaged, this file runs the bridge on an embedded SQLite demo helpdesk in /var/lib/scim-bridge;\n\# `sudo scim-bridge --config /etc/scim-bridge/config.toml init --database URL --force` replaces it.#' \
    config.toml >"$assets/config.toml"
grep -q '^url = "sqlite:///var/lib/scim-bridge/helpdesk-demo.db"' "$assets/config.toml"
grep -q '^file = "/usr/share/scim-bridge/mappings/demo.toml"' "$assets/config.toml"

"$bin" man --dir "$assets/man"
gzip -9n "$assets"/man/*.1
"$bin" completions bash >"$assets/completions/scim-bridge"
"$bin" completions zsh >"$assets/completions/_scim-bridge"
"$bin" completions fish >"$assets/completions/scim-bridge.fish"

cargo deb --no-build --locked
deb=$(ls -t "$target_dir"/debian/scim-bridge_*.deb | head -1)
echo "built $deb"

# Check what was built: contents, maintainer scripts, and the unit as installed.
dpkg-deb --info "$deb"
dpkg-deb --contents "$deb"
if command -v systemd-analyze >/dev/null; then
    root=$(mktemp -d)
    trap 'rm -rf "$root"' EXIT
    dpkg-deb --extract "$deb" "$root"
    unit=$(find "$root" -name scim-bridge.service | head -1)
    # verify wants ExecStart's binary where the unit says; point it into the extracted tree.
    sed "s#/usr/bin/scim-bridge#$root/usr/bin/scim-bridge#" "$unit" >"$root/scim-bridge.service"
    out=$(systemd-analyze verify --man=no "$root/scim-bridge.service" 2>&1 | grep -v -e 'not found' -e 'Failed to load' || true)
    if [ -n "$out" ]; then
        echo "$out" >&2
        echo "systemd-analyze verify found problems in the packaged unit" >&2
        exit 1
    fi
    echo "systemd-analyze verify: the packaged unit is clean"
    "$root/usr/bin/scim-bridge" --version
fi
