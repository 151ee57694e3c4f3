#!/usr/bin/env bash
# Copies the pinned Chart.js UMD build (and the licences of it and of the colour library it inlines) into the
# dashboard's static assets. The copied files are committed, so building or running the gateway never needs npm;
# run this again only after changing the version in package.json (then `npm install` to refresh the lock file).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
vendor="$here/../../src/AiGateway/wwwroot/dashboard/vendor"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error
mkdir -p "$vendor"
cp node_modules/chart.js/dist/chart.umd.min.js "$vendor/chart.umd.min.js"
{
  echo "chart.umd.min.js is Chart.js $(node -p "require('./node_modules/chart.js/package.json').version") (https://www.chartjs.org), MIT licence:"
  echo
  cat node_modules/chart.js/LICENSE.md
  echo
  echo "It inlines @kurkle/color $(node -p "require('./node_modules/@kurkle/color/package.json').version"), MIT licence:"
  echo
  cat node_modules/@kurkle/color/LICENSE.md
} > "$vendor/chart.js.LICENSE.txt"
echo "bundled into $vendor"
