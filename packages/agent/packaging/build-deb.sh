#!/usr/bin/env bash
# Builds nannyagent_<version>_all.deb from the esbuild bundle (one file, runs on Node.js 18 and 20:
# what Debian ships with PVE 8 and 9; no npm on the host).
#   npm run build && packages/agent/packaging/build-deb.sh [OUT_DIR]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pkg="$(cd "$here/.." && pwd)"
out="${1:-$pkg/dist}"
bundle="$pkg/dist/nannyagent.mjs"
[ -f "$bundle" ] || { echo "build-deb: $bundle missing (run npm run build)" >&2; exit 1; }
command -v dpkg-deb >/dev/null || { echo "build-deb: dpkg-deb not found" >&2; exit 1; }
version="$(node -p "require('$pkg/package.json').version")"

root="$(mktemp -d)"
trap 'rm -rf "$root"' EXIT
chmod 0755 "$root"
install -d "$root/DEBIAN" "$root/usr/bin" "$root/usr/lib/nannyagent" "$root/lib/systemd/system" \
  "$root/etc/nannyagent" "$root/usr/share/doc/nannyagent"
install -m 0644 "$bundle" "$root/usr/lib/nannyagent/nannyagent.mjs"
cat > "$root/usr/bin/nannyagent" <<'SH'
#!/bin/sh
# Debian's nodejs package: 18.x on bookworm (PVE 8), 20.x on trixie (PVE 9).
exec node /usr/lib/nannyagent/nannyagent.mjs "$@"
SH
chmod 0755 "$root/usr/bin/nannyagent"
install -m 0644 "$here/nannyagent.service" "$root/lib/systemd/system/nannyagent.service"
install -m 0600 "$here/config.env" "$root/etc/nannyagent/config.env"
for doc in agent-install.md agent-configuration.md; do
  if [ -f "$pkg/../../docs/$doc" ]; then
    install -m 0644 "$pkg/../../docs/$doc" "$root/usr/share/doc/nannyagent/$doc"
  fi
done

cat > "$root/DEBIAN/control" <<CONTROL
Package: nannyagent
Version: $version
Section: admin
Priority: optional
Architecture: all
Depends: nodejs (>= 18)
Maintainer: NannyAI <support@nannyai.dev>
Description: Proxmox VE monitoring agent
 Collects cluster, node, LXC and QEMU data of a Proxmox VE node every
 PROXMOX_INTERVAL seconds and posts it to nannyapi over HTTPS.
CONTROL
echo /etc/nannyagent/config.env > "$root/DEBIAN/conffiles"

cat > "$root/DEBIAN/postinst" <<'SH'
#!/bin/sh
set -e
if [ "$1" = configure ]; then
  install -d -m 0700 /var/lib/nannyagent
  if [ -d /run/systemd/system ]; then
    systemctl daemon-reload || true
    systemctl enable nannyagent.service >/dev/null || true
    if [ -f /var/lib/nannyagent/credentials.json ]; then
      systemctl restart nannyagent.service || true
    else
      echo "nannyagent: register first: nannyagent register --url URL --enroll-token TOKEN && systemctl start nannyagent"
    fi
  fi
fi
SH
cat > "$root/DEBIAN/prerm" <<'SH'
#!/bin/sh
set -e
if [ -d /run/systemd/system ] && [ "$1" = remove ]; then
  systemctl stop nannyagent.service || true
  systemctl disable nannyagent.service >/dev/null || true
fi
SH
cat > "$root/DEBIAN/postrm" <<'SH'
#!/bin/sh
set -e
if [ "$1" = purge ]; then rm -rf /var/lib/nannyagent; fi
if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi
SH
chmod 0755 "$root/DEBIAN/postinst" "$root/DEBIAN/prerm" "$root/DEBIAN/postrm"

mkdir -p "$out"
deb="$out/nannyagent_${version}_all.deb"
dpkg-deb --root-owner-group --build "$root" "$deb" >/dev/null
echo "$deb"
