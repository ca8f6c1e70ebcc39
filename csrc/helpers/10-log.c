/* libbpf's messages, formatted here and handed to Python's logging. */
#define PYBPF_LIBBPF_MAJOR LIBBPF_MAJOR_VERSION
#define PYBPF_LIBBPF_MINOR LIBBPF_MINOR_VERSION

static void pybpf_on_libbpf_print(int level, const char *msg);

/* Format one libbpf message and pass it to Python.  libbpf hands the whole
 * verifier log to a single call, so the buffer is sized from a first pass. */
static int pybpf_print_trampoline(enum libbpf_print_level level, const char *fmt, va_list args)
{
    char small[512];
    va_list copy;
    int n;

    va_copy(copy, args);
    n = vsnprintf(small, sizeof(small), fmt, copy);
    va_end(copy);
    if (n < 0)
        return 0;
    if ((size_t)n < sizeof(small)) {
        pybpf_on_libbpf_print((int)level, small);
        return n;
    }
    char *big = malloc((size_t)n + 1);
    if (!big) {
        pybpf_on_libbpf_print((int)level, small);
        return n;
    }
    vsnprintf(big, (size_t)n + 1, fmt, args);
    pybpf_on_libbpf_print((int)level, big);
    free(big);
    return n;
}

static void pybpf_install_print(void)
{
    libbpf_set_print(pybpf_print_trampoline);
}

