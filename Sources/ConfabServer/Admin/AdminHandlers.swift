// The management API's handlers: each reads its input, checks it, and
// acts through the registry, a room's host (as @server) or the call manager.

import ConfabProtocol
import ConfabRooms
import Foundation

extension AdminAPI {
    func listRooms(_ call: Call) async throws(CodedError) -> Reply {
        var rooms: [AdminRoomSummary] = []
        let node = nodeID()
        for host in await registry.hosts.values where !host.isRetired {
            if let summary = await host.adminSummary(node: node) { rooms.append(summary) }
        }
        var unreachable: [String]?
        // A forwarded request asks for this node's own rooms only.
        if let cluster, !call.forwarded {
            let others = await cluster.otherNodesRooms(authorization: call.original.authorization)
            rooms += others.rooms
            unreachable = others.unreachable.isEmpty ? nil : others.unreachable
        }
        rooms.sort { ($0.name, $0.node) < ($1.name, $1.node) }
        return .json(.ok, AdminRoomList(rooms: rooms, unreachable: unreachable))
    }

    func createRoom(_ call: Call) async throws(CodedError) -> Reply {
        let request = try AdminJSON.decode(AdminCreateRoom.self, from: call.body)
        // A template named but not configured is refused rather than quietly
        // replaced by the default: the room would open with settings nobody chose.
        if let named = request.template, configuration.templates[named] == nil {
            throw CodedError(.invalidMessage, "no template [rooms.\(named)] in the server's configuration (--config)")
        }
        var template = configuration.template(for: request.template ?? request.name)
        if let maxPeers = request.maxPeers { template.maxPeers = maxPeers }
        if let chatRate = request.chatRate { template.chatRate = chatRate }
        if let seconds = request.emptyTimeoutSeconds {
            guard seconds >= 0, seconds <= 7 * 86_400 else {
                throw CodedError(.invalidMessage, "emptyTimeoutSeconds must be 0 to 604800 (a week)")
            }
            template.emptyRoomTimeoutMs = seconds * 1_000
        }
        do {
            try template.validate()
        } catch {
            throw CodedError(.invalidMessage, error.description)
        }
        if let elsewhere = try await forwardedCreation(request.name, call: call) { return elsewhere }
        let host = try await registry.createRoom(request.name, template: template)
        if request.locked == true { await host.setJoinsLocked(true) }
        guard let detail = await host.adminDetail() else {
            throw CodedError(.roomLocked, "room \(request.name) was ended and locked")
        }
        return .json(.created, detail)
    }

    func roomDetail(_ call: Call) async throws(CodedError) -> Reply {
        let host = try await liveHost(call)
        guard let detail = await host.adminDetail() else { throw Self.notLive(host.name) }
        return .json(.ok, detail)
    }

    func updateRoom(_ call: Call) async throws(CodedError) -> Reply {
        let host = try await liveHost(call)
        let request = try AdminJSON.decode(AdminUpdateRoom.self, from: call.body)
        await host.setJoinsLocked(request.locked)
        guard let detail = await host.adminDetail() else { throw Self.notLive(host.name) }
        return .json(.ok, detail)
    }

    func endRoom(_ call: Call) async throws(CodedError) -> Reply {
        let host = try await liveHost(call)
        let lock = try Self.flag(call.query["lock"], name: "lock")
        _ = try await host.actAsServer(.endRoom(lock: lock, reason: call.query["reason"]))
        return .noContent
    }

    func removePeer(_ call: Call) async throws(CodedError) -> Reply {
        let host = try await liveHost(call)
        let peer = try Self.peer(call)
        _ = try await host.actAsServer(.removePeer(peer, reason: call.query["reason"]))
        return .noContent
    }

    func mutePeer(_ call: Call) async throws(CodedError) -> Reply {
        let host = try await liveHost(call)
        let peer = try Self.peer(call)
        guard await host.hasConnectedPeer(peer) else {
            throw CodedError(.peerNotFound, "no peer \(peer) in room \(host.name)")
        }
        _ = try await host.actAsServer(.muteTrack(.microphone(of: peer)))
        return .noContent
    }

    func changeRole(_ call: Call) async throws(CodedError) -> Reply {
        let host = try await liveHost(call)
        let peer = try Self.peer(call)
        let request = try AdminJSON.decode(AdminChangeRole.self, from: call.body)
        let reply = try await host.actAsServer(.changeRole(peer: peer, role: request.role, force: request.force ?? true))
        if case .ok(let ok) = reply, let prompt = ok.prompt {
            return .json(.accepted, AdminPromptSent(prompt: prompt))
        }
        return .noContent
    }

    func postMessage(_ call: Call) async throws(CodedError) -> Reply {
        let host = try await liveHost(call)
        let request = try AdminJSON.decode(AdminSystemMessage.self, from: call.body)
        let reply = try await host.actAsServer(.sendChat(target: .broadcast, text: request.text))
        guard case .chatAck(let ack) = reply else {
            throw CodedError(.internalError, "the message was posted without an acknowledgement")
        }
        return .json(.created, AdminPostedMessage(id: ack.message, seq: ack.seq, sentAt: ack.sentAt))
    }

    func listCalls(_ call: Call) async throws(CodedError) -> Reply {
        // In a cluster the calls are where the switchboard runs (docs/CLUSTER.md).
        if let cluster, !call.forwarded, let switchboard = try await cluster.holderElsewhere(lease: PresenceRelay.leaseName) {
            return await cluster.forward(call.original, to: switchboard)
        }
        return .json(.ok, AdminCallList(calls: await calls.callsInProgress))
    }

    func callHistory(_ call: Call) async throws(CodedError) -> Reply {
        guard let user = call.parameters["user"].flatMap(PeerID.init(rawValue:)) else {
            throw CodedError(.invalidMessage, "the user id is not valid: \(PeerID.validForm)")
        }
        var limit = 50
        if let text = call.query["limit"] {
            guard let value = Int(text), (1...500).contains(value) else {
                throw CodedError(.invalidMessage, "limit must be 1 to 500")
            }
            limit = value
        }
        do throws(StorageError) {
            return .json(.ok, AdminCallHistory(user: user, calls: try await store.callHistory(user: user, limit: limit)))
        } catch {
            throw CodedError(error.isRetryable ? .storageUnavailable : .storageFailure, "the call history cannot be read")
        }
    }

    // MARK: - Input

    func liveHost(_ call: Call) async throws(CodedError) -> RoomHost {
        guard let name = call.parameters["room"].flatMap(RoomName.init(rawValue:)) else {
            throw CodedError(.invalidMessage, "the room name is not valid: \(RoomName.validForm)")
        }
        guard let host = await registry.existingHost(for: name), await host.isOpen else { throw Self.notLive(name) }
        return host
    }

    static func notLive(_ name: RoomName) -> CodedError {
        CodedError(.roomNotFound, "no live room \(name)")
    }

    private static func peer(_ call: Call) throws(CodedError) -> PeerID {
        guard let peer = call.parameters["peer"].flatMap(PeerID.init(rawValue:)) else {
            throw CodedError(.invalidMessage, "the peer id is not valid: \(PeerID.validForm)")
        }
        return peer
    }

    private static func flag(_ text: String?, name: String) throws(CodedError) -> Bool {
        switch text {
        case nil, "false": return false
        case "true": return true
        default: throw CodedError(.invalidMessage, "\(name) must be true or false")
        }
    }
}

extension RoomHost {
    /// Live: not ended (an ended host lingers until its empty-room timeout).
    var isOpen: Bool { room.phase == .open }

    /// Ended and locked: it refuses joins, and its name stays taken.
    var isLocked: Bool {
        if case .ended(let locked, _) = room.phase { locked } else { false }
    }

    /// Records the start of a room opened ahead of time, as a first join
    /// would: its end (by the API, locked or not, or when it stays empty) is
    /// then recorded too, and a lock outlives a restart.
    func recordOpening() {
        guard room.phase == .open, !sessionRecorded else { return }
        let (name, startedAt) = (name, room.startedAt)
        recorder.record("record the start of the room") { store in try await store.roomStarted(name, at: startedAt) }
        sessionRecorded = true
        settings.webhooks?.publish(.roomStarted(name, at: startedAt))
    }

    func setJoinsLocked(_ locked: Bool) {
        _ = room.setJoinsLocked(locked)
    }

    func hasConnectedPeer(_ id: PeerID) -> Bool {
        room.peer(id)?.isConnected == true
    }
}

extension RoomRegistry {
    /// Opens `name` ahead of time with `template`. The name is taken
    /// (`roomExists`) while the room is live (open: with peers, or created and
    /// still within its empty-room timeout) or ended and locked; a room that
    /// ended unlocked is replaced. Names under `call-` belong to calls.
    func createRoom(_ name: RoomName, template: RoomTemplate) async throws(CodedError) -> RoomHost {
        guard !CallRoomDirectory.isCallRoomName(name) else {
            throw CodedError(.invalidMessage, "room names starting with \(CallRoomDirectory.prefix) are kept for calls")
        }
        let locked: Bool
        do throws(StorageError) {
            locked = try await store.isLocked(room: name)
        } catch {
            throw CodedError(error.isRetryable ? .storageUnavailable : .storageFailure, "the room's record cannot be read")
        }
        guard !locked else { throw CodedError(.roomExists, "room \(name) exists: it was ended and locked") }
        let existing = hosts[name].flatMap { $0.isRetired ? nil : $0 }
        if let existing {
            guard await !existing.isOpen else { throw CodedError(.roomExists, "room \(name) is live") }
            guard await !existing.isLocked else {
                throw CodedError(.roomExists, "room \(name) exists: it was ended and locked")
            }
            // Created or joined meanwhile (the await let others in): it is live now.
            guard hosts[name] === existing else { throw CodedError(.roomExists, "room \(name) is live") }
            metrics.roomClosed()
        }
        let host = try await host(for: name, template: template)
        await host.recordOpening()
        return host
    }
}
