#!/usr/bin/env bash
# What stratad's web UI needs on the host beyond Debian packages (those are in
# scripts/deps/web.txt): the PAM service `strata` for the web login
# (src/web/pam.d/strata -> /etc/pam.d/strata). Run by scripts/install-deps.sh;
# idempotent. Also fetches the vendored front-end libraries (scripts/web-vendor.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
if ! cmp -s "$top/src/web/pam.d/strata" /etc/pam.d/strata; then
	$SUDO install -m 0644 "$top/src/web/pam.d/strata" /etc/pam.d/strata
	echo "install-web: installed /etc/pam.d/strata"
fi
# the vendored front-end libraries (src/web/vendor.lock) into the cache the build copies from
if command -v npm >/dev/null; then
	"$top/scripts/web-vendor.sh" fetch
else
	echo "install-web: npm is missing: the web UI's vendored libraries (xterm.js, uPlot) are not fetched" >&2
fi
