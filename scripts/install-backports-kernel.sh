#!/usr/bin/env bash
# Install the newest kernel of this Debian release's backports (as root), for
# the Vagrant VM; it runs after the next reboot.  Uses the backports suite that
# install-deps.sh adds from the machine's own apt sources.
set -euo pipefail
. /etc/os-release
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "linux-image-amd64/${VERSION_CODENAME}-backports" >/dev/null
echo "install-backports-kernel.sh: installed; reboot (vagrant reload) to run it"
