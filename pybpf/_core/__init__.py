"""The binding layer: the one door into the compiled libbpf module (``ffi``),
the error funnel (``errors``), the kernel's enums (``enums``), the owned-handle
base every kernel handle uses (``handle``), and the system facts the handles
need (``fdinfo``, ``mounts``, ``interfaces``)."""
