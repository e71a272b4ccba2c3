import ConfabProtocol
import Logging

// A session's side of a cluster (docs/CLUSTER.md): redirects to the room's
// node, and reconnection through the other nodes when the room's URL is down.
//
//   join/resume ─▶ 4013 roomOnAnotherNode {redirect} ─▶ close ─▶ the same request on the
//                  room's node, whose certificate must be the first node's (one identity)
//   reconnection ─▶ the room's URL ─▶ unreachable? ─▶ each of the cluster's nodes in turn
//                   (`joined.reconnect.nodes`, replaced by each `cluster.nodes` since)

extension ConfabSession {
    /// `admit`, following `4013 roomOnAnotherNode` to the node that holds the
    /// room (a few hops at most: placement settles in one).
    func admitFollowingRedirects(_ body: ClientBody) async throws(SessionError) -> Joined {
        var hops = 0
        while true {
            do {
                return try await admit(body)
            } catch {
                guard hops < 3, let target = redirectTarget(error) else { throw error }
                hops += 1
                logger.debug("the room is on another node: following to \(target)")
                // The node closes after redirecting; the request goes again on a new connection.
                await channel.close()
                await channel.retarget(target)
                try await open()
            }
        }
    }

    /// Where a redirect sends us: only the same room, over wss.
    func redirectTarget(_ error: SessionError) -> ServerEndpoint? {
        guard case .server(let refusal) = error, refusal.code == .roomOnAnotherNode, let url = refusal.redirect,
            let target = try? ServerEndpoint(url: url), target.room == room
        else { return nil }
        return target
    }

    /// The nodes to reconnect through from now on (`joined.reconnect.nodes`
    /// or `cluster.nodes`: a node started since the join is among them).
    func adoptClusterNodes(_ nodes: [String]) {
        clusterNodes = nodes.compactMap { try? ServerEndpoint(serverURL: $0).with(room: room) }
    }

    /// Opens a connection for a reconnection: the room's URL first, then the
    /// cluster's other nodes while one cannot be reached (its node died).
    func openAnyNode() async throws(SessionError) {
        var candidates = [configuration.endpoint]
        for node in clusterNodes where !candidates.contains(node) { candidates.append(node) }
        var failure = SessionError.notConnected
        for candidate in candidates {
            await channel.retarget(candidate)
            do {
                try await open()
                return
            } catch {
                switch error {
                case .transport, .timedOut, .connectionLost: failure = error
                default: throw error
                }
            }
        }
        throw failure
    }
}
