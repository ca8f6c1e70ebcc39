"""How keys, values and records travel between Python and the kernel: BTF
types as ctypes types (``btf``) and the codecs built on them (``codec``)."""
