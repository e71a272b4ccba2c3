#define _GNU_SOURCE 1
#include "CReferenceRelay.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

enum { BATCH = 64, SEND_BATCH = 1024, BUFFER = 2048, MAX_PUBLISHERS = 64 };

struct confab_reference_relay {
    int fd;
    int rooms;
    int per_room;
    struct sockaddr_in *subscribers;
    int room_of_port[65536];
    /// The last RFC 6464 level from each port (127: silence, or none yet).
    unsigned char level_of_port[65536];
    /// Each room's publisher ports, for the top-N selection.
    unsigned short (*publishers)[MAX_PUBLISHERS];
    int *publisher_count;
    int loudest;
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
    relay->publishers = calloc((size_t)rooms, sizeof *relay->publishers);
    relay->publisher_count = calloc((size_t)rooms, sizeof *relay->publisher_count);
    if (!relay->publishers || !relay->publisher_count) {
        confab_reference_relay_destroy(relay);
        return NULL;
    }
    relay->fd = fd;
    relay->rooms = rooms;
    relay->per_room = per_room;
    for (int i = 0; i < 65536; i++) {
        relay->room_of_port[i] = -1;
        relay->level_of_port[i] = 127;
    }
    return relay;
}

void confab_reference_relay_map(confab_reference_relay *relay, unsigned short port, int room) {
    relay->room_of_port[port] = room;
    if (room >= 0 && room < relay->rooms && relay->publisher_count[room] < MAX_PUBLISHERS) {
        relay->publishers[room][relay->publisher_count[room]++] = port;
    }
}

void confab_reference_relay_set_loudest(confab_reference_relay *relay, int loudest) { relay->loudest = loudest; }

/// The RFC 6464 level in an RTP packet's first one-byte extension element
/// with id 1 (RFC 8285 §4.2), or -1.
static int audio_level(const unsigned char *packet, int length) {
    if (length < 12 || !(packet[0] & 0x10)) return -1;
    int offset = 12 + 4 * (packet[0] & 0x0F);
    if (length < offset + 4 || packet[offset] != 0xBE || packet[offset + 1] != 0xDE) return -1;
    int words = (packet[offset + 2] << 8) | packet[offset + 3];
    int at = offset + 4, end = at + 4 * words;
    if (end > length) return -1;
    while (at < end) {
        if (packet[at] == 0) { at++; continue; }
        int id = packet[at] >> 4, size = (packet[at] & 0x0F) + 1;
        if (id == 15 || at + 1 + size > end) return -1;
        if (id == 1) return packet[at + 1] & 0x7F;
        at += 1 + size;
    }
    return -1;
}

/// Whether the publisher on `port` of `room` is among the room's `loudest`.
static int among_loudest(const confab_reference_relay *relay, int room, unsigned short port) {
    int level = relay->level_of_port[port], louder = 0;
    for (int i = 0; i < relay->publisher_count[room]; i++) {
        unsigned short other = relay->publishers[room][i];
        int other_level = relay->level_of_port[other];
        if (other != port && (other_level < level || (other_level == level && other < port))) louder++;
    }
    return louder < relay->loudest;
}

long confab_reference_relay_received(const confab_reference_relay *relay) { return relay->received; }

void confab_reference_relay_destroy(confab_reference_relay *relay) {
    if (!relay) return;
    free(relay->subscribers);
    free(relay->publishers);
    free(relay->publisher_count);
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
            unsigned short port = ntohs(sources[i].sin_port);
            int room = relay->room_of_port[port];
            if (room < 0) continue;
            if (relay->loudest > 0) {
                int level = audio_level((const unsigned char *)buffers[i], (int)in[i].msg_len);
                if (level >= 0) relay->level_of_port[port] = (unsigned char)level;
                if (!among_loudest(relay, room, port)) continue;
            }
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
