#!/usr/bin/env bash
# Install Debian's Chromium and ChromeDriver (packages chromium, chromium-driver), which the web
# console's browser test drives (scripts/interop/console_browser.py). Nothing is downloaded by
# the test itself: no browser of a test tool's own, no driver fetched at run time.
# Prints nothing on stdout; progress goes to stderr. Safe to run again.
set -euo pipefail
if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup-browser: need root (or sudo) to install chromium" >&2; exit 1; }
  sudo="sudo"
fi
echo "setup-browser: installing Debian's chromium and chromium-driver" >&2
$sudo apt-get update -qq >&2
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium chromium-driver >&2
/usr/bin/chromium --version >&2
