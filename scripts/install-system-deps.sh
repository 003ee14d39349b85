#!/usr/bin/env bash
# System packages ecert's demo uses (a CJK font, OpenSSL), and with --test those its tests use too
# (Java and BouncyCastle, Chromium and chromedriver).
# Safe to run repeatedly; needs root (or sudo) for apt.
set -euo pipefail
need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
if [ "${1:-}" = "--test" ]; then
  # Java and BouncyCastle for tests/test_bouncycastle_interop.py (the library Java OFD verifiers use);
  # a JRE only when there is no java at all (Debian's runs the single-file check from source)
  command -v java >/dev/null 2>&1 || need+=(default-jre-headless)
  [ -f /usr/share/java/bcprov.jar ] || need+=(libbcprov-java)
  [ -f /usr/share/java/bcpkix.jar ] || need+=(libbcpkix-java)
  # headless Chromium and its driver for the window page's browser tests (tests/test_window_page.py)
  [ -x /usr/bin/chromium ] || need+=(chromium)
  [ -x /usr/bin/chromedriver ] || need+=(chromium-driver)
  # a PostgreSQL server for the library's contract suite (started by scripts/pg-test-cluster.sh, not as a service)
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
  # Info-ZIP unzip: a third reader of the archives the ZIP attack tests build (tests/test_attack_zip_structure.py)
  command -v unzip >/dev/null 2>&1 || need+=(unzip)
fi
if ! fc-list 2>/dev/null | grep -qi -E "Noto (Sans|Serif) CJK|WenQuanYi|Droid Sans Fallback"; then
  need+=(fonts-noto-cjk fontconfig)
fi
if [ "${#need[@]}" -gt 0 ]; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  if command -v apt-get >/dev/null 2>&1; then
    $SUDO apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "install-system-deps: please install: ${need[*]}" >&2
  fi
fi
