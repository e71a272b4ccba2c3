#ifndef CONFAB_REFERENCE_RELAY_H
#define CONFAB_REFERENCE_RELAY_H
// A minimal UDP relay for `confab bench sfu`: the yardstick the SFU is
// measured against. recvmmsg a batch, look the source port up in a table
// (which room), sendmmsg each datagram to every subscriber of that room.
// No STUN, no SSRC or role checks, no statistics: the floor of what
// forwarding costs on this machine.
#include <netinet/in.h>

typedef struct confab_reference_relay confab_reference_relay;

/// Makes a relay on `fd` (a bound UDP socket it does not own) for `rooms`
/// rooms of `subscribers_per_room` IPv4 subscribers each (`subscribers` holds
/// rooms × subscribers_per_room addresses, room by room). NULL on failure.
confab_reference_relay *confab_reference_relay_create(int fd, int rooms, int subscribers_per_room,
                                                      const struct sockaddr_in *subscribers);
/// Publishers sending from `port` belong to room `room`.
void confab_reference_relay_map(confab_reference_relay *relay, unsigned short port, int room);
/// From now on each room forwards only its `loudest` loudest publishers (by
/// the RFC 6464 level of their last packet, RFC 8285 one-byte extension id 1;
/// ties to the lower port): the top-N selection of a large room, without
/// Confab's smoothing. 0 (the default) forwards everyone.
void confab_reference_relay_set_loudest(confab_reference_relay *relay, int loudest);
/// Runs on the calling thread (named "confab-ref") until `confab_reference_relay_stop`.
void confab_reference_relay_run(confab_reference_relay *relay);
/// Asks `run` to return (within 50 ms); callable from any thread.
void confab_reference_relay_stop(confab_reference_relay *relay);
/// Datagrams read so far.
long confab_reference_relay_received(const confab_reference_relay *relay);
void confab_reference_relay_destroy(confab_reference_relay *relay);

#endif
