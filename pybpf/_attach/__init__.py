"""Attaching programs: ``link`` (``Link``, what an attachment is: closing it
detaches), and one module per family of kernel hooks, each a mixin of
``Program``: ``trace`` (tracepoints, kprobes, uprobes, perf events,
fentry/LSM, iterators), ``cgroup``, ``tc``, ``socket``, ``netfilter``,
``route`` (LWT, seg6local) and ``lirc``; ``base`` turns what each attached
into a ``Link`` its object owns; ``marks`` names what the kernel keeps
without a process with its owner, and finds what exited owners left."""
