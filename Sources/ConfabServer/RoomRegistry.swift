import ConfabProtocol
import ConfabRooms
import ConfabSocket
import Logging
import Synchronization

/// The live rooms by name. A room's host is made by the first join that
/// reaches it and forgotten when it retires (empty for its timeout); the
/// chat log and a lock outlive it in the store.
actor RoomRegistry {
    private(set) var hosts: [RoomName: RoomHost] = [:]
    private var shuttingDown = false
    private let configuration: ServerConfiguration
    let store: any ServerStore
    let metrics: ServerMetrics
    private let logger: Logger
    private let media: any RoomMediaPlane
    /// The rooms of calls in progress, registered by the call manager.
    nonisolated let callRooms: CallRoomDirectory
    /// Wakes the room timers when the first room opens.
    nonisolated let openings = RoomOpenings()
    /// Room leases in a cluster (RoomPlacement.swift); nil on a single server.
    var placement: RoomPlacement?
    /// Room and call events posted to the configured webhooks.
    nonisolated let webhooks: WebhookDispatcher

    init(
        configuration: ServerConfiguration, store: any ServerStore, metrics: ServerMetrics, media: any RoomMediaPlane,
        callRooms: CallRoomDirectory, logger: Logger
    ) {
        self.configuration = configuration
        self.store = store
        self.metrics = metrics
        self.media = media
        self.callRooms = callRooms
        self.logger = logger
        webhooks = WebhookDispatcher(settings: configuration.webhooks, metrics: metrics, logger: logger)
    }

    /// The room's host, made if it is not live (which needs the store: a
    /// room ended and locked stays locked); with `template`, a new host made
    /// with it in any case (a room created through the management API).
    func host(for name: RoomName, template created: RoomTemplate? = nil) async throws(CodedError) -> RoomHost {
        guard !shuttingDown else { throw CodedError(.shuttingDown, "the server is shutting down") }
        if created == nil, let host = hosts[name], !host.isRetired { return host }
        let locked: Bool
        var kept: [StateEntry] = []
        do throws(StorageError) {
            locked = try await store.isLocked(room: name)
            // A room created through the API starts a new meeting: nothing to restore.
            if created == nil, !locked, let state = store as? any SharedStateStore {
                kept = try await state.sharedState(room: name)
            }
        } catch {
            logger.error("cannot open room", metadata: ["room": "\(name)", "error": "\(error)"])
            throw error.isRetryable
                ? CodedError(.storageUnavailable, "the room's record cannot be read now; join again in a moment")
                : CodedError(.storageFailure, "the room's record cannot be read")
        }
        // Checked again after the await: another join may have opened it, or shutdown begun.
        guard !shuttingDown else { throw CodedError(.shuttingDown, "the server is shutting down") }
        // A call's room admits only while the call is in progress (an ended
        // room would otherwise open afresh on the next join).
        let callRoom = CallRoomDirectory.isCallRoomName(name) ? callRooms.room(name) : nil
        if CallRoomDirectory.isCallRoomName(name), callRoom == nil {
            throw CodedError(.roomEnded, "this call has ended")
        }
        if created == nil, let host = hosts[name], !host.isRetired { return host }
        var settings = RoomHost.HostSettings(
            keepalive: configuration.keepalive, media: media, speakersIntervalMs: configuration.speakersIntervalMs,
            trackHealth: configuration.trackHealth)
        if let placement {
            settings.clusterNodes = { placement.nodeURLs }
            settings.keptSessionsNode = placement.node
        }
        if webhooks.isEnabled { settings.webhooks = webhooks }
        var template = created ?? configuration.template(for: name)
        if let callRoom {
            template = callRoom.template
            let directory = callRooms
            settings.membershipObserver = { room, members in
                directory.noteMembers(room, members)
                callRoom.observer(room, members)
            }
            settings.admission = { peer in directory.admission(name, peer) }
        }
        let host = RoomHost(
            name: name, template: template, locked: locked, sharedState: kept, store: store, metrics: metrics,
            settings: settings, logger: logger)
        hosts[name] = host
        metrics.roomOpened()
        openings.noteOpened()
        return host
    }

    /// The room's host if it is live (a resume needs the room it left).
    func existingHost(for name: RoomName) -> RoomHost? {
        guard let host = hosts[name], !host.isRetired else { return nil }
        return host
    }

    /// No room is live: the room timers can rest.
    var isIdle: Bool { hosts.isEmpty }

    /// Runs every room's timers; forgets rooms that retired.
    func sweep() async {
        for (name, host) in hosts {
            if await host.sweep() {
                // A newer host may have replaced it meanwhile (it was marked
                // retired before this await returned).
                if hosts[name] === host {
                    hosts[name] = nil
                    metrics.roomClosed()
                    released(name)
                }
            }
        }
    }

    /// Rooms whose lease another node took: their peers are told the server
    /// is going away here, so they reconnect and are sent to the new holder.
    func moveAway(_ names: [RoomName]) async {
        let notice = ServerGoingAway(reason: "the room moved to another node", retryAfterMs: 0)
        for name in names {
            guard let host = hosts[name], !host.isRetired else { continue }
            hosts[name] = nil
            metrics.roomClosed()
            await host.shutDown(notice)
        }
    }

    /// Ends the room of a call that is over (its peers see `room.ended`).
    func endCallRoom(_ name: RoomName) async {
        callRooms.remove(name)
        guard let host = hosts[name], !host.isRetired else { return }
        await host.end(reason: "the call ended")
    }

    /// Sends `speakers` in every room from the levels the media thread read,
    /// and flags tracks that went silent or lossy.
    func publishSpeakers() async {
        let reports = media.takeLevels()
        let now = MonotonicClock.nanoseconds()
        for host in hosts.values {
            await host.publishSpeakers(reports, nowNs: now)
            await host.assessTracks(reports, nowNs: now)
            await host.relayLossFeedback(nowNs: now)
        }
    }

    /// The media figures of one room's peers, by peer.
    func mediaReports(room: RoomName) async -> [PeerID: MediaPeerReport] {
        guard let host = hosts[room] else { return [:] }
        return await host.mediaReports(media.reports())
    }

    /// `server.goingAway` and close 1001 for everyone; refuses new rooms.
    func shutDown() async {
        shuttingDown = true
        // A cluster: the peers resume on the node that takes each room, as they are now.
        await saveKeptSessions()
        let notice = ServerGoingAway(reason: "the server is shutting down", retryAfterMs: 3_000)
        for host in hosts.values {
            await host.shutDown(notice)
        }
        // The departures just recorded, before the store closes (not for
        // ever: with the database away they are lost, as history may be).
        await withTaskGroup(of: Void.self) { group in
            for host in hosts.values {
                group.addTask { await host.recorder.flush(within: .seconds(5)) }
            }
        }
    }

    /// Connections still registered in rooms.
    func connectionCount() async -> Int {
        var count = 0
        for host in hosts.values {
            count += await host.connectionCount
        }
        return count
    }
}

/// The rooms of calls in progress: names under `call-`, each with the call
/// template, the observer that tells the call manager who is in it, and who
/// it admits. Shared by the call manager (which registers a room before it
/// hands out tokens for it, and admits or turns away members, without
/// awaiting) and the registry and hosts (which open it and check each join).
///
/// Who may join is kept here, under a lock, rather than asked of the call
/// manager: a member who leaves the room stops being admitted in the same
/// step the host reports them gone (`noteMembers`, called by the host), so a
/// quick rejoin with the old token cannot slip in before the manager has
/// heard of the leave.
final class CallRoomDirectory: Sendable {
    struct Entry: Sendable {
        var template: RoomTemplate
        var observer: @Sendable (RoomName, Set<PeerID>) -> Void
        /// The call's members: those its room admits.
        var admitted: Set<PeerID> = []
        /// Who the room last reported in it.
        var present: Set<PeerID> = []
        /// Everyone ever admitted: a join by one of them who is no longer
        /// admitted left the call; by anyone else, was never part of it.
        var everAdmitted: Set<PeerID> = []
    }

    /// What a call room says to a join.
    enum Admission: Sendable, Equatable {
        case admitted
        /// Was a member, hung up or left: the token is spent (`6007 leftCall`).
        case leftCall
        /// Never a member of this call (`6003 callNotFound`).
        case notMember
    }

    private let entries = Mutex<[RoomName: Entry]>([:])

    /// Room names with this prefix are reserved for calls: a room token for
    /// one admits only while its call is in progress.
    static let prefix = "call-"

    static func isCallRoomName(_ name: RoomName) -> Bool {
        name.rawValue.hasPrefix(prefix)
    }

    func register(_ name: RoomName, _ entry: Entry) {
        var entry = entry
        entry.everAdmitted.formUnion(entry.admitted)
        entries.withLock { $0[name] = entry }
    }

    func room(_ name: RoomName) -> Entry? {
        entries.withLock { $0[name] }
    }

    func remove(_ name: RoomName) {
        _ = entries.withLock { $0.removeValue(forKey: name) }
    }

    /// Rooms of calls in progress.
    var count: Int { entries.withLock { $0.count } }

    /// A member (an accepter, or one invited back) may join.
    func admit(_ name: RoomName, _ user: PeerID) {
        entries.withLock {
            _ = $0[name]?.admitted.insert(user)
            _ = $0[name]?.everAdmitted.insert(user)
        }
    }

    /// A member who hung up may not (their token is spent).
    func revoke(_ name: RoomName, _ user: PeerID) {
        entries.withLock { _ = $0[name]?.admitted.remove(user) }
    }

    /// Whether a join as `user` is let in, and if not, why.
    func admission(_ name: RoomName, _ user: PeerID) -> Admission {
        entries.withLock { entries in
            guard let entry = entries[name] else { return .notMember }
            if entry.admitted.contains(user) { return .admitted }
            return entry.everAdmitted.contains(user) ? .leftCall : .notMember
        }
    }

    /// The room's host reports who is in it: whoever was in it and is gone
    /// left the call, and is admitted no more.
    func noteMembers(_ name: RoomName, _ members: Set<PeerID>) {
        entries.withLock { entries in
            guard var entry = entries[name] else { return }
            entry.admitted.subtract(entry.present.subtracting(members))
            entry.present = members
            entries[name] = entry
        }
    }
}
