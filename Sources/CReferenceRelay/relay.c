#define _GNU_SOURCE 1
#include "CReferenceRelay.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { BATCH = 64, SEND_BATCH = 1024, BUFFER = 2048 };

struct confab_reference_relay {
    int fd;
    int rooms;
    int per_room;
    struct sockaddr_in *subscribers;
    int room_of_port[65536];
    long received;
    int stop;
};

void confab_reference_relay_stop(confab_reference_relay *relay) {
    __atomic_store_n(&relay->stop, 1, __ATOMIC_RELAXED);
}

confab_reference_relay *confab_reference_relay_create(int fd, int rooms, int per_room,
                                                      const struct sockaddr_in *subscribers) {
    confab_reference_relay *relay = calloc(1, sizeof *relay);
    if (!relay) return NULL;
    relay->subscribers = calloc((size_t)(rooms * per_room) + 1, sizeof *subscribers);
    if (!relay->subscribers) { free(relay); return NULL; }
    memcpy(relay->subscribers, subscribers, sizeof *subscribers * (size_t)(rooms * per_room));
    relay->fd = fd;
    relay->rooms = rooms;
    relay->per_room = per_room;
    for (int i = 0; i < 65536; i++) relay->room_of_port[i] = -1;
    return relay;
}

void confab_reference_relay_map(confab_reference_relay *relay, unsigned short port, int room) {
    relay->room_of_port[port] = room;
}

long confab_reference_relay_received(const confab_reference_relay *relay) { return relay->received; }

void confab_reference_relay_destroy(confab_reference_relay *relay) {
    if (!relay) return;
    free(relay->subscribers);
    free(relay);
}

static void flush(int fd, struct mmsghdr *out, int count) {
    int start = 0;
    while (start < count) {
        int n = sendmmsg(fd, out + start, (unsigned)(count - start), MSG_DONTWAIT);
        if (n > 0) { start += n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) break;
        start += 1;
    }
}

void confab_reference_relay_run(confab_reference_relay *relay) {
    pthread_setname_np(pthread_self(), "confab-ref");
    static __thread char buffers[BATCH][BUFFER];
    static __thread struct sockaddr_in sources[BATCH];
    static __thread struct iovec in_vectors[BATCH];
    static __thread struct mmsghdr in[BATCH];
    static __thread struct iovec out_vectors[SEND_BATCH];
    static __thread struct mmsghdr out[SEND_BATCH];
    for (int i = 0; i < BATCH; i++) {
        in_vectors[i].iov_base = buffers[i];
        in_vectors[i].iov_len = BUFFER;
    }
    struct pollfd pfd = { .fd = relay->fd, .events = POLLIN };
    while (!__atomic_load_n(&relay->stop, __ATOMIC_RELAXED)) {
        if (poll(&pfd, 1, 50) <= 0) continue;
        for (int i = 0; i < BATCH; i++) {
            memset(&in[i].msg_hdr, 0, sizeof in[i].msg_hdr);
            in[i].msg_hdr.msg_name = &sources[i];
            in[i].msg_hdr.msg_namelen = sizeof sources[i];
            in[i].msg_hdr.msg_iov = &in_vectors[i];
            in[i].msg_hdr.msg_iovlen = 1;
        }
        int n = recvmmsg(relay->fd, in, BATCH, MSG_DONTWAIT, NULL);
        if (n <= 0) continue;
        relay->received += n;
        int queued = 0;
        for (int i = 0; i < n; i++) {
            int room = relay->room_of_port[ntohs(sources[i].sin_port)];
            if (room < 0) continue;
            struct sockaddr_in *subscribers = relay->subscribers + room * relay->per_room;
            for (int s = 0; s < relay->per_room; s++) {
                if (queued == SEND_BATCH) { flush(relay->fd, out, queued); queued = 0; }
                out_vectors[queued].iov_base = buffers[i];
                out_vectors[queued].iov_len = in[i].msg_len;
                memset(&out[queued].msg_hdr, 0, sizeof out[queued].msg_hdr);
                out[queued].msg_hdr.msg_name = &subscribers[s];
                out[queued].msg_hdr.msg_namelen = sizeof subscribers[s];
                out[queued].msg_hdr.msg_iov = &out_vectors[queued];
                out[queued].msg_hdr.msg_iovlen = 1;
                queued++;
            }
        }
        if (queued) flush(relay->fd, out, queued);
    }
}
