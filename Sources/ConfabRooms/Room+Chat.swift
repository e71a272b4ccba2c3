import ConfabProtocol

// Who receives a chat message:
//
//   broadcast        → every peer in the room (and later joiners, in history)
//   roles [r1, r2]   → every peer holding r1 or r2, plus the sender
//   peers [p1, p2]   → p1 and p2, plus the sender
//
// "Every peer" includes suspended ones, within their resume grace: they read
// the message back from the log when they resume. A role that may not send a
// kind of chat gets a permission error for it; a target that names nobody but
// the sender gets `noRecipients`.

extension Room {
    /// The recipients of a message from `sender` to `target`, the sender
    /// included, or why it cannot be sent (the sender's permissions aside).
    public func recipients(of target: ChatTarget, from sender: PeerID) throws(CodedError) -> Set<PeerID> {
        switch target {
        case .broadcast:
            return Set(peers.keys)
        case .roles(let roleNames):
            for roleName in roleNames where template.role(named: roleName) == nil {
                throw CodedError(.roleNotFound, "room \(name) has no role \(roleName)")
            }
            let wanted = Set(roleNames)
            var recipients = Set(peers.values.lazy.filter { wanted.contains($0.role) }.map(\.id))
            recipients.insert(sender)
            guard recipients.count > 1 else {
                throw CodedError(
                    .noRecipients, "nobody else holds the role(s) \(roleNames.map(\.rawValue).joined(separator: ", "))")
            }
            return recipients
        case .peers(let ids):
            for id in ids where peers[id] == nil {
                throw CodedError(.peerNotFound, "no peer \(id) in room \(name)")
            }
            var recipients = Set(ids)
            recipients.insert(sender)
            guard recipients.count > 1 else { throw CodedError(.noRecipients, "a direct message needs someone else") }
            return recipients
        }
    }

    /// Checks and addresses a chat message (a draft: the store numbers it). The order of checks:
    /// permission for the target's kind, the target, the text, then the rate
    /// limit, so a refused message never spends the sender's allowance.
    mutating func sendChat(from sender: Peer, to target: ChatTarget, text: String, now: Timestamp) throws(CodedError)
        -> RoomOutcome
    {
        let permissions = role(of: sender).chat
        switch target {
        case .broadcast:
            guard permissions.broadcast else {
                throw CodedError(.cannotChatBroadcast, "role \(sender.role) may not chat to everyone")
            }
        case .roles:
            guard permissions.toRoles else {
                throw CodedError(.cannotChatToRoles, "role \(sender.role) may not chat to roles")
            }
        case .peers:
            guard permissions.direct else {
                throw CodedError(.cannotChatDirect, "role \(sender.role) may not send direct messages")
            }
        }
        let recipients = try recipients(of: target, from: sender.id)
        let cleaned = try Self.cleaned(
            text, policy: .chat, what: "the message",
            empty: CodedError(.chatEmpty, "the message is empty once control and invisible characters are removed"),
            tooLong: .chatTooLong)
        var allowance = sender.chatAllowance
        var sharedAllowance = audienceAllowance
        let spendsAudience = spendsAudienceAllowance(sender, target)
        do {
            try allowance.take(
                now: now,
                or: CodedError(
                    .chatRateLimited,
                    "at most \(template.chatRate.perSecond) messages a second (bursts of \(template.chatRate.burst))"))
        } catch {
            // Such a message also waits for the audience's allowance: say the later of the two.
            var refusal = error
            if spendsAudience, let shared = sharedAllowance {
                refusal.retryAfterMs = max(refusal.retryAfterMs ?? 0, Int(shared.waitMs(now: now)))
            }
            throw refusal
        }
        if spendsAudience, let rate = template.audience?.broadcastRate {
            var bucket = sharedAllowance ?? TokenBucket(limit: rate, now: now)
            try bucket.take(
                now: now,
                or: CodedError(
                    .chatRateLimited,
                    "the audience may send the room at most \(rate.perSecond) messages a second "
                        + "(bursts of \(rate.burst)); \(audienceAdvice(permissions))"))
            sharedAllowance = bucket
        }
        // Both allowances are spent only once both allowed the message.
        peers[sender.id]?.chatAllowance = allowance
        if sender.id == .server { serverChatAllowance = allowance }
        audienceAllowance = sharedAllowance
        // A direct message is an interaction: its quiet parties become visible to each other.
        let introductions: [RoomEvent] = if case .peers = target { introduce(recipients) } else { [] }

        // Unnumbered: the store numbers it in the transaction that commits it.
        let draft = ChatMessage(
            id: .forSequence(0), seq: 0, sentAt: now, from: sender.id, fromName: sender.name, fromRole: sender.role,
            target: Self.normalized(target), text: cleaned)
        return ChatDelivery(message: draft, recipients: recipients, introductions: introductions)
            .outcome(committed: draft)
    }

    /// `text` sanitised by `policy`, or the numbered refusal: `empty` when
    /// nothing is left, `tooLong` (saying how long `what` is) past the limit.
    static func cleaned(_ text: String, policy: TextPolicy, what: String, empty: CodedError, tooLong: ErrorCode)
        throws(CodedError) -> String
    {
        do {
            return try TextSanitizer.sanitize(text, policy: policy)
        } catch {
            switch error {
            case .empty: throw empty
            case .tooLong(let characters, let limit):
                throw CodedError(tooLong, "\(what) has \(characters) characters; the limit is \(limit)")
            }
        }
    }

    /// The target as recorded: each role or peer once, in the order given.
    static func normalized(_ target: ChatTarget) -> ChatTarget {
        switch target {
        case .broadcast: .broadcast
        case .roles(let roles): .roles(unique(roles))
        case .peers(let peers): .peers(unique(peers))
        }
    }

    private static func unique<Element: Hashable>(_ elements: [Element]) -> [Element] {
        var seen = Set<Element>()
        return elements.filter { seen.insert($0).inserted }
    }
}
