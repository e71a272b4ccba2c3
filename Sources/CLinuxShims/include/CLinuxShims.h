#ifndef CONFAB_CLINUXSHIMS_H
#define CONFAB_CLINUXSHIMS_H
// GNU extensions Swift's Glibc module does not expose (it is built without
// _GNU_SOURCE): batched datagram I/O and thread names. This header must not
// define _GNU_SOURCE itself, or its system types would clash with Glibc's.
#include <sys/socket.h>

/// Layout-identical to the GNU `struct mmsghdr` (checked in shims.c).
typedef struct {
    struct msghdr msg_hdr;
    unsigned int msg_len;
} confab_mmsghdr;

/// The corresponding C function is `recvmmsg` (no timeout).
int confab_recvmmsg(int fd, confab_mmsghdr *messages, unsigned int count, int flags);
/// The corresponding C function is `sendmmsg`.
int confab_sendmmsg(int fd, confab_mmsghdr *messages, unsigned int count, int flags);
/// Writes the calling thread's stack (raw addresses) to `fd`; allocation-free
/// after the first call. For `confab bench`'s allocation tracing.
void confab_write_backtrace(int fd);

/// Names the calling thread (15 characters show); `pthread_setname_np`.
int confab_set_thread_name(const char *name);

/// Lets the calling thread (and threads it starts later) run only on CPUs
/// `cpus[0..<count]`; `sched_setaffinity`. 0 on success, else -1 and errno.
int confab_pin_calling_thread(const int *cpus, int count);

/// A non-blocking, close-on-exec eventfd (counter 0) that wakes a thread
/// blocked in poll; `eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)`. -1 and errno on failure.
int confab_wake_descriptor(void);

/// Bytes glibc's allocator has handed out and not taken back: in-use chunks of
/// every arena plus blocks it mapped on their own; `mallinfo2`.
unsigned long confab_heap_in_use(void);

#endif
