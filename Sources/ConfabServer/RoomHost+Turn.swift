// The room's turn: a chat send, a join, a resume and a change that lowers a
// peer's privileges each hold it while they await the database, so the room
// does not change under them.
//
//   chat send / join / resume ─▶ takeChatTurn() ─▶ the end of the queue
//   role / mute / removal (a cluster) ─▶ takeChatTurnAhead(before:) ─▶ ahead of every chat send, join
//       and resume queued, behind other such changes; its deadline passed ─▶ leaves the queue (false)
//   passChatTurn() ─▶ the first waiter, or free
//
// Why changes go ahead: with the database away each chat send queued holds the
// turn until its own operation fails, and a host's mute must be answered
// within its bound (docs/CLUSTER.md) however many sends wait.

extension RoomHost {
    /// One waiter for the room's turn.
    struct TurnWaiter {
        let ticket: Int
        /// A privileged change: served before the chat sends, joins and resumes queued.
        let ahead: Bool
        /// Resumed with true when the turn is given, false when the waiter's deadline passed.
        let continuation: CheckedContinuation<Bool, Never>
    }

    /// Waits until no chat send, join or resume of this room is under way
    /// (first come, first served).
    func takeChatTurn() async {
        guard chatTurnHeld else {
            chatTurnHeld = true
            return
        }
        let ticket = newTurnTicket()
        _ = await withCheckedContinuation { chatTurnWaiters.append(TurnWaiter(ticket: ticket, ahead: false, continuation: $0)) }
    }

    /// Takes the turn ahead of the chat sends, joins and resumes waiting for
    /// it (after other waiters that went ahead); false, with the turn not
    /// taken, when `deadline` passes first.
    func takeChatTurnAhead(before deadline: ContinuousClock.Instant) async -> Bool {
        guard chatTurnHeld else {
            chatTurnHeld = true
            return true
        }
        let ticket = newTurnTicket()
        let timer = Task {
            try await Task.sleep(until: deadline, clock: .continuous)
            abandonTurn(ticket)
        }
        defer { timer.cancel() }
        return await withCheckedContinuation { continuation in
            let position = chatTurnWaiters.firstIndex { !$0.ahead } ?? chatTurnWaiters.endIndex
            chatTurnWaiters.insert(TurnWaiter(ticket: ticket, ahead: true, continuation: continuation), at: position)
        }
    }

    /// Hands the turn to the next waiter, or frees it.
    func passChatTurn() {
        if chatTurnWaiters.isEmpty {
            chatTurnHeld = false
        } else {
            chatTurnWaiters.removeFirst().continuation.resume(returning: true)
        }
    }

    /// A waiter's deadline passed: it leaves the queue without the turn.
    private func abandonTurn(_ ticket: Int) {
        guard let index = chatTurnWaiters.firstIndex(where: { $0.ticket == ticket }) else { return }
        chatTurnWaiters.remove(at: index).continuation.resume(returning: false)
    }

    private func newTurnTicket() -> Int {
        nextTurnTicket += 1
        return nextTurnTicket
    }
}
