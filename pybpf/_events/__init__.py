"""What the kernel sends to user space: the reader base (``reader``), ring
buffers (``ringbuf``), perf buffers (``perfbuf``) and AF_XDP sockets (``xsk``)."""
