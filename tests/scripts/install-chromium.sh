#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard browser tests, once: Playwright's own browser download cannot
# work on these machines, so the tests drive /usr/bin/chromium instead. Does nothing when it is already there.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
# Another install may hold the dpkg lock on a shared machine: wait for it rather than fail.
$SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >/dev/null
/usr/bin/chromium --version
