"""A BPF ELF object and what lives inside it: ``BPFObject`` (``object``), its
programs (``program``), the links that attach them (``link``), its global data
(``data``), run statistics (``stats``) and the objects pybpf ships (``shipped``)."""
