#!/usr/bin/env bash
# A headless browser for the report page test: Debian's chromium and chromium-driver
# (Selenium drives it through /usr/bin/chromedriver; nothing is downloaded at test time).
#
#   scripts/browser.sh install
set -euo pipefail

install() {
    if command -v chromium >/dev/null && [ -x /usr/bin/chromedriver ]; then
        return 0
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || { echo "browser.sh: need root or sudo to apt-get install chromium" >&2; exit 1; }
        sudo="sudo"
    fi
    command -v apt-get >/dev/null || { echo "browser.sh: no apt-get here; install chromium and its chromedriver yourself" >&2; exit 1; }
    echo "browser.sh: installing Debian's chromium and chromium-driver" >&2
    $sudo apt-get update -q >/dev/null
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium chromium-driver >/dev/null
    command -v chromium >/dev/null && [ -x /usr/bin/chromedriver ] || { echo "browser.sh: chromium still missing after install" >&2; exit 1; }
}

case "${1:-}" in
    install) install ;;
    *) echo "usage: $0 install" >&2; exit 2 ;;
esac
