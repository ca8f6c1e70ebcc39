#!/usr/bin/env bash
# Print the URI of the apt source that serves this Debian release's main suite
# (not security), as the machine's apt sources name it.  install-deps.sh adds
# backports from it and the VM runner fetches kernels from it, so no registry
# host is ever written into the project.  Exits 1 when there is none.
set -euo pipefail
. /etc/os-release
release=${VERSION_CODENAME:-}
uri=$(
    {
        # deb822 stanzas: remember URIs, print them when Suites names the release.
        cat /etc/apt/sources.list.d/*.sources 2>/dev/null | awk -v rel="$release" '
            /^$/ {uri = ""}
            /^URIs:/ {uri = $2}
            /^Suites:/ {for (i = 2; i <= NF; i++) if ($i == rel && uri != "") print uri}' || true
        # one-line format: deb [opts] URI SUITE COMPONENTS
        cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | awk -v rel="$release" '
            $1 == "deb" {for (i = 2; i < NF; i++) if ($i ~ /^[a-z+]+:\/\//) {if ($(i + 1) == rel) print $i; break}}' || true
    } | head -n 1
)
if [ -z "$uri" ]; then
    echo "debian-mirror.sh: no apt source serves '${release}'" >&2
    exit 1
fi
echo "$uri"
