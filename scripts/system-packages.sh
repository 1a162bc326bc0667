#!/usr/bin/env bash
# Installs the Debian packages the test suite and the local stack use (a real Prometheus and promtool, and
# PostgreSQL's server binaries: the decision store's tests start a throw-away cluster of their own),
# where this runs as root on Debian and they are missing. Elsewhere it prints how to get them and the
# tests that need them skip with that reason.
set -euo pipefail

packages=(prometheus postgresql)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: ${missing[*]}"
    apt-get update -qq
    # the Debian packages would start a system Prometheus on :9090 and PostgreSQL on :5432; we only want the
    # binaries
    own_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && own_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ "$own_policy" = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
else
    echo "setup: optional Debian packages missing (${missing[*]}): sudo apt-get install ${missing[*]}" >&2
fi
