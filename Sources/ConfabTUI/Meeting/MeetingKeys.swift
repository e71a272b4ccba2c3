// Keys on the meeting screen. F2 turns to a question put to us (questions
// never open by themselves); then dialogs take keys, then the focused part
// (tiles, chat, input line), then the single-key actions of the key map
// (which never fire while typing in the input line).
import ConfabClient
import ConfabProtocol
import Foundation

extension MeetingModel {
    /// Handles one key read at `time` (now, as the front reads it): the
    /// key's own time, never the last frame's, is what time-based state sees.
    public mutating func handle(_ key: Key, state: RoomState, at time: Date) -> [MeetingCommand] {
        now = time
        return handle(key, state: state)
    }

    /// Handles one key at the model's `now`. Returns what the session should do.
    public mutating func handle(_ key: Key, state: RoomState) -> [MeetingCommand] {
        if case .released(let character) = key {
            // Hold-to-talk: releasing the key mutes again, whatever has focus
            // or opened meanwhile. Other releases mean nothing here.
            // Shift let go first reports the unshifted letter: either case counts.
            let isTalkKey = [character, Character(character.lowercased()), Character(character.uppercased())]
                .contains { keyMap.action(for: $0) == .pushToTalk }
            guard isTalkKey, pushToTalk == .hold, talking else { return [] }
            talking = false
            return [.setMuted(true)]
        }
        if key == Self.answerKey, !isEnded {
            openPrompt(state)
            return []
        }
        if let overlay {
            let commands = handleOverlay(overlay, key: key, state: state)
            // Esc is "back to the tiles", closing a dialog too: the keys after
            // it are actions, never letters typed into a line left focused
            // under the dialog (Esc, then h, raises the hand).
            if key == .escape, self.overlay == nil { focus = .tiles }
            return commands
        }
        if key == .resize { return [] }
        switch key {
        case .tab:
            if focus == .input, !editor.isEmpty, complete(state: state) { return [] }
            focus = Focus.allCases[(Focus.allCases.firstIndex(of: focus)! + 1) % Focus.allCases.count]
            return []
        case .backTab:
            focus = Focus.allCases[(Focus.allCases.firstIndex(of: focus)! + Focus.allCases.count - 1) % Focus.allCases.count]
            return []
        case .pageUp:
            return scrollChat(by: max(1, chatRows - 1), state: state)
        case .pageDown:
            return scrollChat(by: -max(1, chatRows - 1), state: state)
        case .end where chatScroll > 0:
            // Back to the newest line wherever the focus is (in the input
            // line End also moves the cursor, as it always did).
            if focus == .input { editor.moveEnd() }
            return scrollChat(by: -chatScroll, state: state)
        case .control("l"):
            return []
        default:
            break
        }
        switch focus {
        case .input: return handleInput(key, state: state)
        case .tiles: return handleTiles(key, state: state)
        case .chat: return handleChat(key, state: state)
        }
    }

    /// The window lost the keyboard focus: Space held for hold-to-talk will
    /// never be reported released, so talking stops now.
    public mutating func focusLost() -> [MeetingCommand] {
        guard pushToTalk == .hold, talking else { return [] }
        talking = false
        return [.setMuted(true)]
    }

    // MARK: - Focus areas

    mutating func handleTiles(_ key: Key, state: RoomState) -> [MeetingCommand] {
        let peers = tilePeers(state)
        let index = selected.flatMap { id in peers.firstIndex { $0.id == id } }
        func select(_ newIndex: Int) {
            guard !peers.isEmpty else { return }
            let clamped = min(max(newIndex, 0), peers.count - 1)
            selected = peers[clamped].id
            tilePage = clamped / max(tilesPerPage, 1)
        }
        switch key {
        case .left: select((index ?? 1) - 1)
        case .right: select((index ?? -1) + 1)
        case .up: select((index ?? tileColumns) - tileColumns)
        case .down: select((index ?? -tileColumns) + tileColumns)
        case .home: select(0)
        case .end: select(peers.count - 1)
        case .enter:
            guard let selected, let menu = actionMenu(for: selected, state: state) else {
                if selected == nil { select(0) }
                return []
            }
            overlay = .actions(menu)
        case .escape:
            selected = nil
        case .character(let character):
            return handleAction(character, state: state)
        default:
            break
        }
        return []
    }

    mutating func handleChat(_ key: Key, state: RoomState) -> [MeetingCommand] {
        switch key {
        case .up: return scrollChat(by: 1, state: state)
        case .down: return scrollChat(by: -1, state: state)
        case .end: return scrollChat(by: -chatScroll, state: state)
        case .enter: focus = .input
        case .character(let character): return handleAction(character, state: state)
        default: break
        }
        return []
    }

    mutating func scrollChat(by lines: Int, state: RoomState) -> [MeetingCommand] {
        let wasFollowing = chatScroll == 0
        chatScroll = max(0, chatScroll + lines)
        if wasFollowing, chatScroll > 0 { readMarkerSeq = state.lastSeenSequence }
        if chatScroll == 0 {
            readMarkerSeq = nil
            return [.markRead]
        }
        // Scrolling past what we hold asks the server for older messages.
        return lines > 0 && state.hasOlderChat ? [.loadOlderChat] : []
    }

    mutating func handleInput(_ key: Key, state: RoomState) -> [MeetingCommand] {
        switch input.handle(key) {
        case .left: focus = .tiles
        case .submitted(let line): return runLine(line, state: state)
        case .complete: _ = complete(state: state)
        case .edited, .blank, .unhandled: break
        }
        return []
    }

    /// A single-key action from the key map.
    mutating func handleAction(_ character: Character, state: RoomState) -> [MeetingCommand] {
        guard let action = keyMap.action(for: character) else { return [] }
        let permissions = state.yourRole?.permissions ?? .none
        switch action {
        case .mute:
            guard state.yourMicrophone != nil else {
                setNotice("your role has no microphone", error: true)
                return []
            }
            talking = false
            return [.setMuted(!state.isMuted)]
        case .pushToTalk:
            guard state.yourMicrophone != nil else {
                setNotice("your role has no microphone", error: true)
                return []
            }
            switch pushToTalk {
            case .hold:
                // Key repeat while held; or the mic is already on (by `m`):
                // then holding is not talking, and releasing must not mute.
                guard !talking, state.isMuted else { return [] }
                talking = true
                return [.setMuted(false)]
            case .toggle:
                talking.toggle()
                return [.setMuted(!talking)]
            }
        case .hand:
            guard let you = state.you else { return [] }
            if !you.isHandRaised, !permissions.raiseHand {
                setNotice("your role may not raise a hand", error: true)
                return []
            }
            return [.setHand(raised: !you.isHandRaised)]
        case .muteAll:
            guard permissions.muteOthers else {
                setNotice("only a host may mute everyone", error: true)
                return []
            }
            setNotice("muting everyone else")
            return [.muteEveryoneElse]
        case .endRoom:
            guard permissions.endRoom else {
                setNotice("your role may not end the room", error: true)
                return []
            }
            overlay = .confirmEndRoom
        case .volumeUp, .volumeDown:
            let step = action == .volumeUp ? 0.1 : -0.1
            let targets = selected.map { [$0] }.flatMap { $0.first == state.you?.id ? nil : $0 } ?? Array(state.peers.keys)
            var commands: [MeetingCommand] = []
            for peer in targets {
                let volume = min(max(state.volume(of: peer) + step, 0), 2)
                commands.append(.setVolume(peer, volume))
            }
            let shown = targets.count == 1 ? name(targets[0], in: state) : "everyone"
            let level = targets.first.map { Int((min(max(state.volume(of: $0) + step, 0), 2) * 100).rounded()) } ?? 100
            setNotice("volume \(shown): \(level)%")
            return commands
        case .audience:
            return openAudience(state: state)
        case .leave:
            overlay = .confirmLeave
        case .help:
            overlay = .help
        case .chat:
            focus = .input
            if character == "/" { editor.insert("/") }
        case .echoCancellation: return toggleVoice(.echo)
        case .noiseSuppression: return toggleVoice(.noise)
        case .automaticGain: return toggleVoice(.gain)
        case .keyboardSuppression: return toggleVoice(.keys)
        }
        return []
    }

    // MARK: - Dialogs

    mutating func handleOverlay(_ overlay: Overlay, key: Key, state: RoomState) -> [MeetingCommand] {
        switch overlay {
        case .help:
            let last = max(0, helpRowCount - helpVisibleRows)
            let page = max(1, helpVisibleRows - 1)
            switch key {
            case .escape, .enter, .character("?"), .character("q"):
                self.overlay = nil
                helpScroll = 0
            case .up, .character("k"): helpScroll = max(0, min(helpScroll, last) - 1)
            case .down, .character("j"): helpScroll = min(last, helpScroll + 1)
            case .pageUp: helpScroll = max(0, min(helpScroll, last) - page)
            case .pageDown, .character(" "): helpScroll = min(last, helpScroll + page)
            case .home: helpScroll = 0
            case .end: helpScroll = last
            default: break
            }
        case .confirmLeave:
            switch key {
            case .character("?"): self.overlay = .help
            case .character("y"), .character("Y"), .enter, .character("q"): return [.leave]
            case .character("n"), .character("N"), .escape: self.overlay = nil
            default: break
            }
        case .confirmEndRoom:
            switch key {
            case .character("?"): self.overlay = .help
            case .character("y"), .character("Y"):
                self.overlay = nil
                return [.endRoom]
            case .character("n"), .character("N"), .escape: self.overlay = nil
            default: break
            }
        case .confirmRemove(let peer, let reason):
            switch key {
            case .character("?"): self.overlay = .help
            case .character("y"), .character("Y"):
                self.overlay = nil
                return [.remove(peer, reason: reason)]
            case .character("n"), .character("N"), .escape: self.overlay = nil
            default: break
            }
        case .prompt(let prompt):
            // Opened on purpose (F2, /answer); Enter answers nothing, Esc puts it off.
            switch key {
            case .character("a"), .character("A"), .character("y"), .character("Y"):
                dismissedPrompts.insert(prompt.id)
                self.overlay = nil
                showNextPrompt(state)
                return [.answer(prompt.id, accept: true)]
            case .character("d"), .character("D"), .character("n"), .character("N"):
                dismissedPrompts.insert(prompt.id)
                self.overlay = nil
                showNextPrompt(state)
                return [.answer(prompt.id, accept: false)]
            case .escape:
                self.overlay = nil
            case .character("?"):
                self.overlay = .help
            default: break
            }
        case .ended:
            if key == .enter || key == .escape || key == .character("q") { return [.exit] }
        case .actions(var menu):
            switch key {
            case .up: menu.selected = max(0, menu.selected - 1)
            case .down: menu.selected = min(menu.items.count - 1, menu.selected + 1)
            case .escape:
                self.overlay = menu.returnsTo.map { .audience($0) }
                return []
            case .character("?"):
                self.overlay = .help
                return []
            case .enter:
                self.overlay = nil
                let item = menu.items[menu.selected]
                let commands = runMenuItem(item, peer: menu.peer, state: state)
                return item == .directMessage ? commands : commands + returnToAudience(menu.returnsTo)
            default: break
            }
            self.overlay = .actions(menu)
        case .audience(let browser):
            return handleAudience(browser, key: key, state: state)
        }
        return []
    }

    /// The actions our role may take on `peer` (and always: message, volume).
    public func actionMenu(for peer: PeerID, state: RoomState) -> ActionMenu? {
        state.peer(peer).flatMap { actionMenu(for: $0, state: state) }
    }

    /// The actions our role may take on `info` (a tile's peer, or one from the audience).
    public func actionMenu(for info: PeerInfo, state: RoomState) -> ActionMenu? {
        let peer = info.id
        guard peer != state.you?.id else { return nil }
        let permissions = state.yourRole?.permissions ?? .none
        let ourPriority = state.yourRole?.priority ?? 0
        let theirPriority = state.room?.role(named: info.role)?.priority ?? 0
        let outranked = theirPriority > ourPriority
        var items: [ActionMenu.Item] = []
        if let mic = info.microphone, !outranked {
            if !mic.muted, permissions.muteOthers { items.append(.mute) }
            if mic.muted, permissions.askToUnmute { items.append(.askToUnmute) }
        }
        if permissions.changeRoles, !outranked {
            for role in state.room?.roles ?? [] where role.name != info.role && role.priority <= ourPriority {
                items.append(.changeRole(role.name))
            }
        }
        if permissions.removePeers, !outranked { items.append(.remove) }
        if state.yourRole?.chat.direct ?? false { items.append(.directMessage) }
        items += [.volumeUp, .volumeDown]
        return ActionMenu(peer: peer, items: items)
    }

    mutating func runMenuItem(_ item: ActionMenu.Item, peer: PeerID, state: RoomState) -> [MeetingCommand] {
        switch item {
        case .mute: return [.mute(peer)]
        case .askToUnmute: return [.askToUnmute(peer)]
        case .changeRole(let role): return [.changeRole(peer, role)]
        case .remove:
            overlay = .confirmRemove(peer, reason: nil)
            return []
        case .directMessage:
            focus = .input
            editor.setText("/msg \(completionName(peer, state: state)) ")
            return []
        case .volumeUp, .volumeDown:
            let step = item == .volumeUp ? 0.1 : -0.1
            let volume = min(max(state.volume(of: peer) + step, 0), 2)
            setNotice("volume \(name(peer, in: state)): \(Int((volume * 100).rounded()))%")
            return [.setVolume(peer, volume)]
        }
    }
}
