# A build-and-test image for privileged containers.  Every step is a call of
# the project's own scripts, which CI runs too.
#
#   docker build -t pybpf .
#   docker run --rm --privileged \
#       -v /sys/fs/bpf:/sys/fs/bpf -v /sys/kernel/tracing:/sys/kernel/tracing \
#       -v /sys/kernel/debug:/sys/kernel/debug pybpf
#
# The container uses the host's kernel and its BTF (/sys/kernel/btf/vmlinux);
# the command is what `make test` runs once everything is installed.
FROM debian:bookworm
WORKDIR /src
COPY . /src
RUN bash scripts/install-deps.sh && make install
CMD [".venv/bin/pytest"]
