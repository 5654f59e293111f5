#!/usr/bin/env bash
# Installs Debian's Chromium and a Korean font for the browser tests when they are missing.
# Playwright's own browser download cannot work offline, so the tests use /usr/bin/chromium.
set -euo pipefail
need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -d /usr/share/fonts/truetype/nanum ] || need+=(fonts-nanum)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "browser tests need: ${need[*]} (install them with your package manager); they will be skipped" >&2
  exit 0
fi
echo "installing ${need[*]} for the browser tests"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq "${need[@]}" >/dev/null
