#!/usr/bin/env bash
# What stratad's web UI needs on the host beyond Debian packages (those are in
# scripts/deps/web.txt): the PAM service `strata` for the web login
# (src/web/pam.d/strata -> /etc/pam.d/strata). Run by scripts/install-deps.sh;
# idempotent.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
if [ "$(id -u)" != 0 ]; then SUDO=sudo; else SUDO=; fi
if ! cmp -s "$top/src/web/pam.d/strata" /etc/pam.d/strata; then
	$SUDO install -m 0644 "$top/src/web/pam.d/strata" /etc/pam.d/strata
	echo "install-web: installed /etc/pam.d/strata"
fi
