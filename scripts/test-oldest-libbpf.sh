#!/usr/bin/env bash
# Build pybpf against the oldest libbpf the distribution offers (>= 1.1, the
# supported minimum) and run the test suite with it, so the PYBPF_HAS_* gates
# are exercised on both sides.  The packages are unpacked, not installed:
# nothing on the system changes, and the scratch directory is removed at the
# end unless PYBPF_OLD_LIBBPF_DIR names one to keep.  Extra arguments go to
# pytest.
set -euo pipefail
cd "$(dirname "$0")/.."
work="${PYBPF_OLD_LIBBPF_DIR:-${TMPDIR:-/tmp}/pybpf-oldest-libbpf}"
oldest="$(apt-cache madison libbpf-dev | awk -F'|' '{gsub(/ /, "", $2); print $2}' | sort -V | head -n1)"
if [ -z "$oldest" ]; then
    echo "test-oldest-libbpf: apt knows no libbpf-dev; nothing to test" >&2
    exit 0
fi
upstream="${oldest#*:}"
upstream="${upstream%%-*}"
if dpkg --compare-versions "$upstream" lt 1.1; then
    echo "test-oldest-libbpf: oldest libbpf-dev is $upstream (< 1.1, unsupported); nothing to test" >&2
    exit 0
fi
rm -rf "$work"
if [ -z "${PYBPF_OLD_LIBBPF_DIR:-}" ]; then trap 'rm -rf "$work"' EXIT; fi
mkdir -p "$work/debs" "$work/root"
chmod 777 "$work/debs"  # apt's download sandbox user writes here
(cd "$work/debs" && apt-get download -q "libbpf-dev=$oldest" "libbpf1=$oldest")
for deb in "$work"/debs/*.deb; do dpkg -x "$deb" "$work/root"; done
pc="$(dirname "$(find "$work/root" -name libbpf.pc | head -n1)")"
libdir="$(dirname "$(find "$work/root" -name 'libbpf.so.1' | head -n1)")"
sed -i "s|^prefix=.*|prefix=$work/root/usr|; s|^libdir=.*|libdir=$libdir|; s|^includedir=.*|includedir=$work/root/usr/include|" "$pc/libbpf.pc"
python3 -m venv "$work/venv"
git ls-files -z | tar --null -T - -cf - | (mkdir -p "$work/src" && tar -C "$work/src" -xf -)
PKG_CONFIG_PATH="$pc" "$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$work/src[test]"
cd "$work"  # the installed package, not the source tree
LD_LIBRARY_PATH="$libdir" "$work/venv/bin/python" -c \
    'import pybpf; v = pybpf.libbpf_version(); print("test-oldest-libbpf: running with libbpf %d.%d" % v)'
cd "$work/src"
LD_LIBRARY_PATH="$libdir" "$work/venv/bin/pytest" -q "$@"
