"""A BPF ELF object and what lives inside it: ``BPFObject`` (``object``), its
programs (``program``, which attach through the mixins of ``pybpf._attach``),
its global data (``data``), run statistics (``stats``) and the objects pybpf
ships (``shipped``)."""
