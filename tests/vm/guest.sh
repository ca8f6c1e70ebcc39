#!/bin/sh
# Runs inside a VM guest booted by tests/vm/run.py: the project's test suite
# against the package installed in the host's venv (the host filesystem is
# visible read-only), results into OUT, which is the guest's writable share.
#
#   guest.sh REPO OUT [pytest args...]
#
# The guest's exit status does not reach the host (virtme-ng reports its own),
# so it is written to OUT/rc.
repo=$1
out=$2
shift 2
cd "$repo" || exit 1
# PYBPF_EMULATED: qemu's software emulation is some twenty times slower than
# the host; the randomized tests (fuzzing, map models, leak cycles) run a
# smaller slice, the tests of each kernel behaviour all run.
export PYBPF_REQUIRE_KERNEL=1 PYTHONDONTWRITEBYTECODE=1 HOME=/tmp PYBPF_EMULATED=1
uname -r >"$out/release"
"$repo/.venv/bin/pytest" -p no:cacheprovider -q -rs --junitxml "$out/junit.xml" "$@" >"$out/pytest.log" 2>&1
echo $? >"$out/rc"
