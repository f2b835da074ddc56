/*
 * Preloaded into each lab host's UML kernel (Debian bookworm's user-mode-linux 6.1).
 *
 * That kernel keeps its processes' XSAVE state in a 4 KiB buffer and hands the host that
 * buffer with PTRACE_SETREGSET. Hosts whose CPU has AMX have a larger XSAVE area (10 KiB and
 * more), and their kernel refuses a buffer of any other size with EFAULT: UML then panics
 * ("userspace - ptrace set fp regs failed, errno = 14") when it starts init. Later UML
 * kernels size the buffer from the CPU, but they lack the iptables the scenarios use.
 *
 * This wrapper gives the host a whole area: UML's bytes first, then zeros. The header's
 * feature bits come from UML's bytes; no lab process may use AMX (UML never grants it), so
 * the components beyond 4 KiB are never marked present and their zeros are never loaded.
 * Where the host's area fits UML's buffer, calls pass through unchanged.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdarg.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#define NT_X86_XSTATE 0x202

typedef long (*ptrace_function)(enum __ptrace_request, pid_t, void *, void *);

static unsigned char whole_area[65536] __attribute__((aligned(64)));
static size_t whole_size; /* 0 until measured; then the host's XSAVE area size */

long ptrace(enum __ptrace_request request, ...)
{
    static ptrace_function real_ptrace;
    va_list args;
    va_start(args, request);
    pid_t pid = va_arg(args, pid_t);
    void *addr = va_arg(args, void *);
    void *data = va_arg(args, void *);
    va_end(args);
    if (real_ptrace == NULL)
        real_ptrace = (ptrace_function)dlsym(RTLD_NEXT, "ptrace");
    if (request == PTRACE_SETREGSET && (long)addr == NT_X86_XSTATE) {
        struct iovec *given = data;
        if (whole_size == 0) {
            struct iovec measured = {whole_area, sizeof whole_area};
            if (real_ptrace(PTRACE_GETREGSET, pid, addr, &measured) == 0)
                whole_size = measured.iov_len;
            memset(whole_area, 0, sizeof whole_area);
        }
        if (whole_size > given->iov_len) {
            struct iovec whole = {whole_area, whole_size};
            memcpy(whole_area, given->iov_base, given->iov_len);
            return real_ptrace(PTRACE_SETREGSET, pid, addr, &whole);
        }
    }
    return real_ptrace(request, pid, addr, data);
}
