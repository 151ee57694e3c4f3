#!/usr/bin/env bash
# Installs what the Node SDK test (tests/AiGateway.IntegrationTests/Unified/NodeSdkTests.cs) needs, once: node and npm
# from Debian when missing, then the official OpenAI Node SDK exactly as tests/node-sdk/package-lock.json pins it.
# 'npm ci' runs only when node_modules is missing or was installed from another lockfile; otherwise nothing happens.
set -euo pipefail
sdk="$(cd "$(dirname "${BASH_SOURCE[0]}")/../node-sdk" && pwd)"
SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then SUDO="sudo"; fi
apt() {
  # Another install may hold the dpkg lock on a shared machine: wait for it rather than fail.
  $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "$@" >/dev/null
}
if ! command -v node >/dev/null 2>&1; then apt nodejs; fi
# Some nodejs packages bring npm along (NodeSource's), Debian's does not: install it only when still missing.
if ! command -v npm >/dev/null 2>&1; then apt npm; fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 20 ]; then echo "node $(node --version) is too old for tests/node-sdk (20 or newer)" >&2; exit 1; fi

# The stamp is the lockfile node_modules was installed from: a changed lockfile (a new SDK pin) means reinstall.
stamp="$sdk/node_modules/.installed-from-package-lock.json"
if [ -f "$sdk/node_modules/openai/package.json" ] && cmp -s "$sdk/package-lock.json" "$stamp"; then exit 0; fi
(cd "$sdk" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
cp "$sdk/package-lock.json" "$stamp"
echo "node $(node --version), openai $(node -p "require('$sdk/node_modules/openai/package.json').version")"
