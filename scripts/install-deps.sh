#!/usr/bin/env bash
# Install the system packages pybpf builds and tests with (Debian/Ubuntu, as root).
# Idempotent: safe to run again; it only installs what is missing.
# With --vm, also what the VM kernel matrix boots guests with (qemu, depmod,
# busybox for virtme-ng's initramfs), and what `pybpf vm build-kernel` builds
# kernels with (flex, bison, bc, libssl-dev, dwarves for BTF).
#
# On Debian bookworm, libbpf 1.1 and bpftool 7.1 are too old for what we use, so
# libbpf-dev/libbpf1/bpftool come from bookworm-backports.  The backports suite is
# added with the mirror URI that the machine's apt sources already name: no registry
# host is written here.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
    echo "install-deps.sh: run as root (it calls apt-get)" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
. /etc/os-release

backports=""
if [ "${ID:-}" = "debian" ] && [ -n "${VERSION_CODENAME:-}" ]; then
    backports="${VERSION_CODENAME}-backports"
    list=/etc/apt/sources.list.d/pybpf-backports.sources
    if ! grep -rqs "Suites:.*${backports}\|${backports}" /etc/apt/sources.list /etc/apt/sources.list.d/; then
        mirror=$(bash "$(dirname "$0")/debian-mirror.sh")
        keyring=/usr/share/keyrings/debian-archive-keyring.gpg
        {
            echo "Types: deb"
            echo "URIs: ${mirror}"
            echo "Suites: ${backports}"
            echo "Components: main"
            [ -f "$keyring" ] && echo "Signed-By: ${keyring}"
        } >"$list"
        rm -f /var/lib/apt/periodic/pybpf-updated
    fi
fi

# Update the lists once per boot of this script's state (a missing stamp forces it).
stamp=/var/lib/apt/periodic/pybpf-updated
if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +360 2>/dev/null)" ]; then
    if ! apt-get update -qq && [ -f "${list:-}" ]; then
        # A release without a backports suite (testing, sid): use its own packages.
        echo "install-deps.sh: no ${backports} suite; using the release's packages" >&2
        rm -f "$list"
        apt-get update -qq
    fi
    mkdir -p "$(dirname "$stamp")" && touch "$stamp"
fi

pkgs=(make pkg-config gcc libelf-dev zlib1g-dev libxdp-dev iproute2 kmod python3 python3-dev python3-venv python3-pip
    systemtap-sdt-dev)  # <sys/sdt.h>: the USDT probes of the test helpers
if [ "${1:-}" = "--vm" ]; then
    pkgs+=(qemu-system-x86 busybox-static flex bison bc libssl-dev dwarves xz-utils)
fi

# clang with the BPF target: prefer clang-19, else the distribution's clang.
if apt-cache show clang-19 >/dev/null 2>&1; then
    pkgs+=(clang-19 llvm-19)
else
    pkgs+=(clang llvm)
fi

libbpf_pkgs=(libbpf-dev libbpf1 bpftool)
if [ -n "$backports" ] && apt-cache policy bpftool 2>/dev/null | grep "$backports" >/dev/null; then
    libbpf_pkgs=("${libbpf_pkgs[@]/%//${backports}}")
elif ! apt-cache show bpftool >/dev/null 2>&1; then
    # Ubuntu ships bpftool in the kernel's linux-tools packages.
    libbpf_pkgs=(libbpf-dev linux-tools-common)
    if apt-cache show "linux-tools-$(uname -r)" >/dev/null 2>&1; then
        libbpf_pkgs+=("linux-tools-$(uname -r)")
    else
        libbpf_pkgs+=(linux-tools-generic)
    fi
fi

need=()
for p in "${pkgs[@]}" "${libbpf_pkgs[@]}"; do
    name=${p%%/*}
    if ! dpkg-query -W -f='${Status}' "$name" 2>/dev/null | grep "install ok installed" >/dev/null; then
        need+=("$p")
    elif [[ "$p" == */* ]] && [[ "$(dpkg-query -W -f='${Version}' "$name")" != *bpo* ]]; then
        # Installed, but the release's older version: take the backport.
        need+=("$p")
    fi
done
if [ ${#need[@]} -gt 0 ]; then
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Unversioned names for the tools the build calls.
for tool in clang llvm-strip; do
    if ! command -v "$tool" >/dev/null 2>&1 && command -v "${tool}-19" >/dev/null 2>&1; then
        ln -sf "$(command -v "${tool}-19")" "/usr/local/bin/${tool}"
    fi
done

echo "install-deps.sh: libbpf $(pkg-config --modversion libbpf), $(bpftool version | head -n 1), $(clang --version | head -n 1)"
