"""pybpf's pytest plugin: integration tests against the real kernel.

Installed with pybpf and active in every pytest run (entry point
``pytest11``); nothing to configure.  ``docs/testing.md`` is the guide.

Fixtures::

    netns        a new network namespace (pybpf.netns.NetNamespace)
    veth_pair    two namespaces joined by a veth pair, IPv4 and IPv6 (VethPair)
    bpffs        a private directory on bpffs, emptied after
    cgroup       a new cgroup v2 (Cgroup): cgroup.run([...]) runs a child in it
    tracefs      tracefs mounted (session)
    securityfs   securityfs mounted (session)
    bpf_object   bpf_object(path, prepare=None): a loaded BPFObject, closed after

Markers::

    @pytest.mark.kernel                         root and BPF
    @pytest.mark.kernel(min="6.6")              ... on 6.6 or later
    @pytest.mark.requires_feature("fentry")     a feature pybpf.features probes
    @pytest.mark.allow_leaks("why")             not checked by the leak guard
    @pytest.mark.host_only("why")               left out inside pybpf vm guests

Without root or BPF, marked tests skip with the reason; under
``PYBPF_REQUIRE_KERNEL=1`` such a skip fails, unless the kernel is older
than the test needs or the probe shows that the kernel's configuration
takes the feature away (``requirements``).

The leak guard checks every test: what it left behind (BPF objects, fds,
pins, namespaces, cgroups; ``leaks``) fails it, and the pins, namespaces
and cgroups are removed.  Turn it off for a test with ``allow_leaks``, for
a run with ``--pybpf-no-leak-guard``, for a project with
``pybpf_leak_guard = false`` in its pytest configuration.
"""

from pybpf.testing.access import kernel_required, kernel_unusable, need_kernel
from pybpf.testing.cgroups import Cgroup
from pybpf.testing.leaks import Leak, Snapshot, leaks_since
from pybpf.testing.requirements import FEATURES, Feature, kernel_module, register_feature

__all__ = [
    "FEATURES",
    "Cgroup",
    "Feature",
    "Leak",
    "Snapshot",
    "kernel_module",
    "kernel_required",
    "kernel_unusable",
    "leaks_since",
    "need_kernel",
    "register_feature",
]
