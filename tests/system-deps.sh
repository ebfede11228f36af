#!/usr/bin/env bash
# Installs the system programs some tests use (nginx, haproxy) from Debian packages when they
# are missing and we are allowed to. Tests that need a program still skip, naming it, when it
# could not be installed here.
set -u
want=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || want+=(nginx)
command -v haproxy >/dev/null 2>&1 || [ -x /usr/sbin/haproxy ] || want+=(haproxy)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: installing ${want[*]} from Debian packages"
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}") >/dev/null 2>&1 \
    || echo "system-deps: could not install ${want[*]}; the tests that need them will be skipped"
  # Debian starts nginx after install; our tests run their own instances on free ports.
  (command -v systemctl >/dev/null 2>&1 && systemctl stop nginx) >/dev/null 2>&1 || true
  pkill -x nginx >/dev/null 2>&1 || true
else
  echo "system-deps: not root or no apt-get; tests needing ${want[*]} will be skipped"
fi
exit 0
