// The input line's commands (irssi/weechat style) and Tab completion.
//
//   "/msg bob hi" ─▶ resolve "bob" (id, name, unique prefix) ─▶ .send("hi", .peers([bob]))
//   "hello"       ─▶ .send("hello", .broadcast)
import ConfabClient
import ConfabProtocol

extension MeetingModel {
    public static let slashCommands: [SlashCommand] = chatCommands + moderationCommands + ownCommands

    /// Writing to someone, to a role, or as an action.
    static let chatCommands: [SlashCommand] = [
        ("/msg", "/msg NAME text", "a direct message"),
        ("/to", "/to ROLE text", "a message to everyone with a role"),
        ("/me", "/me text", "an action (* you text)"),
    ]

    /// What a host (or a role with the permission) does to others.
    static let moderationCommands: [SlashCommand] = [
        ("/mute", "/mute NAME", "mute someone (host)"),
        ("/role", "/role NAME ROLE", "ask someone to take a role"),
        ("/kick", "/kick NAME [reason]", "remove someone (host)"),
        ("/audience", "/audience [NAME]", "browse and search the audience (host)"),
        ("/agenda", "/agenda [text]", "set the room's agenda line; empty clears it (host)"),
        ("/pin", "/pin [text]", "pin a line for everyone; empty unpins (host)"),
    ]

    /// Your own hand, mic, questions, and the meeting itself.
    static let ownCommands: [SlashCommand] = [
        ("/hand", "/hand", "raise or lower your hand"),
        ("/mic", "/mic", "mute or unmute yourself"),
        ("/who", "/who", "list who is here"),
        ("/answer", "/answer", "answer a question put to you (also F2)"),
        ("/help", "/help", "every key and command"),
        ("/quit", "/quit", "leave at once"),
    ]

    /// Runs a submitted input line.
    mutating func runLine(_ line: String, state: RoomState) -> [MeetingCommand] {
        guard line.hasPrefix("/"), !line.hasPrefix("//") else {
            // "//text" sends "/text" literally.
            let text = line.hasPrefix("//") ? String(line.dropFirst()) : line
            return sendChecked(text, .broadcast, state: state)
        }
        var words = Self.split(line)
        let command = words.isEmpty ? "" : words.removeFirst().lowercased()
        switch command {
        case "/msg", "/dm", "/to", "/me":
            return runChat(command, words: words, line: line, state: state)
        case "/mute":
            return runMute(words, state: state)
        case "/audience":
            return openAudience(query: words.joined(separator: " "), state: state)
        case "/role":
            return runRole(words, state: state)
        case "/kick", "/remove":
            guard !words.isEmpty, let (peer, used) = resolveLeading(words, leaving: 0, state: state) else {
                return usage("/kick NAME [reason]", words.first, state: state)
            }
            let reason = Self.rest(of: line, after: used)
            overlay = .confirmRemove(peer, reason: reason.isEmpty ? nil : reason)
        case "/agenda", "/pin":
            // The room's shared state (its keys `agenda` and `pinned`); the server checks the permission.
            let text = Self.rest(of: line, after: 0)
            return [.setState(key: command == "/agenda" ? "agenda" : "pinned", value: text.isEmpty ? nil : text)]
        case "/hand":
            guard let you = state.you else { return [] }
            return [.setHand(raised: !you.isHandRaised)]
        case "/mic":
            guard state.yourMicrophone != nil else {
                setNotice("your role has no microphone", error: true)
                return []
            }
            return [.setMuted(!state.isMuted)]
        case "/who":
            runWho(state: state)
        case "/help":
            overlay = .help
        case "/answer":
            runAnswer(state: state)
        case "/quit", "/leave":
            return [.leave]
        case "/audio":
            return runVoice(words)
        case "/device":
            return runDevice(words, line: line)
        default:
            setNotice(InputLine.unknownCommand(command), error: true)
        }
        return []
    }

    /// The text after `count` arguments of `line` (after its command), as typed (spacing kept).
    static func rest(of line: String, after count: Int) -> String {
        var remainder = Substring(line)
        for _ in 0...count {
            remainder = remainder.drop { $0 == " " }
            if remainder.first == "\"", let close = remainder.dropFirst().firstIndex(of: "\"") {
                remainder = remainder[remainder.index(after: close)...]
            } else {
                remainder = remainder.drop { $0 != " " }
            }
        }
        return String(remainder.drop { $0 == " " })
    }

    /// `/msg NAME text`, `/to ROLE text`, `/me text`.
    private mutating func runChat(_ command: String, words: [String], line: String, state: RoomState) -> [MeetingCommand] {
        switch command {
        case "/to":
            guard words.count >= 2, let role = RoleName(rawValue: words[0].lowercased()),
                state.room?.role(named: role) != nil
            else {
                let roles = state.room?.roles.map(\.name.rawValue).joined(separator: ", ") ?? ""
                setNotice("usage: /to ROLE text (roles: \(roles))", error: true)
                return []
            }
            return sendChecked(Self.rest(of: line, after: 1), .roles([role]), state: state)
        case "/me":
            guard !words.isEmpty else { return usage("/me text", nil, state: state) }
            return sendChecked("/me " + Self.rest(of: line, after: 0), .broadcast, state: state)
        default:
            guard words.count >= 2, let (peer, used) = resolveLeading(words, leaving: 1, state: state) else {
                return usage("/msg NAME text", words.first, state: state)
            }
            return sendChecked(Self.rest(of: line, after: used), .peers([peer]), state: state)
        }
    }

    private mutating func runMute(_ words: [String], state: RoomState) -> [MeetingCommand] {
        guard !words.isEmpty, let (peer, used) = resolveLeading(words, leaving: 0, state: state), used == words.count else {
            return usage("/mute NAME", words.first, state: state)
        }
        if peer == state.you?.id {
            if state.isMuted { setNotice("you are already muted", error: true); return [] }
            return [.setMuted(true)]
        }
        guard let mic = state.peer(peer)?.microphone else {
            setNotice("\(name(peer, in: state)) has no microphone", error: true)
            return []
        }
        if mic.muted {
            setNotice("\(name(peer, in: state)) is already muted", error: true)
            return []
        }
        return [.mute(peer)]
    }

    private mutating func runRole(_ words: [String], state: RoomState) -> [MeetingCommand] {
        guard words.count >= 2, let (peer, used) = resolveLeading(words, leaving: 1, state: state), used == words.count - 1 else {
            return usage("/role NAME ROLE", words.first, state: state)
        }
        let roleWord = words[words.count - 1]
        guard let role = RoleName(rawValue: roleWord.lowercased()), state.room?.role(named: role) != nil else {
            setNotice("no role \"\(roleWord)\"", error: true)
            return []
        }
        return [.changeRole(peer, role)]
    }

    /// `/who`: with the ids the commands take (a name with spaces also works, or "in quotes").
    private mutating func runWho(state: RoomState) {
        let list = tilePeers(state).map { peer in
            let you = peer.id == state.you?.id ? ", you" : ""
            return "\(peer.displayName) [\(peer.id)] (\(peer.role)\(you))"
        }.joined(separator: "; ")
        addSystemLine("here: \(list)")
    }

    private mutating func runAnswer(state: RoomState) {
        guard screenReader else {
            openPrompt(state)
            return
        }
        // Lines mode: the question is already the open dialog.
        if let prompt = waitingPrompts(state).first {
            announcements.append(describe(prompt, in: state) + ". Answer with a line a (accept) or d (decline).")
        } else {
            announcements.append("no question is waiting for an answer")
        }
    }

    private mutating func usage(_ text: String, _ name: String?, state: RoomState) -> [MeetingCommand] {
        if let name, resolve(name, state: state) == nil {
            setNotice("nobody called \"\(TextSanitizer.clean(name, lineBreaks: .singleLine))\" here", error: true)
        } else {
            setNotice("usage: \(text)", error: true)
        }
        return []
    }

    private mutating func sendChecked(_ text: String, _ target: ChatTarget, state: RoomState) -> [MeetingCommand] {
        do {
            let clean = try TextSanitizer.sanitize(text, policy: .chat)
            return [.send(clean, target)]
        } catch {
            setNotice(error == .empty ? "nothing to send" : "message too long", error: true)
            return []
        }
    }

    /// Splits a command line into words; "double quotes" keep spaces in a name.
    static func split(_ line: String) -> [String] {
        var words: [String] = []
        var current = ""
        var quoted = false
        var hasWord = false
        for character in line {
            if character == "\"" {
                quoted.toggle()
                hasWord = true
            } else if character == " ", !quoted {
                if hasWord { words.append(current) }
                current = ""
                hasWord = false
            } else {
                current.append(character)
                hasWord = true
            }
        }
        if hasWord { words.append(current) }
        return words
    }

    /// A peer named by the first words of a command: the longest run of
    /// words (keeping at least `leaving` for the rest) that is someone's
    /// whole display name or id, else the first word as `resolve` takes it.
    /// Returns the peer and how many words named it.
    func resolveLeading(_ words: [String], leaving: Int, state: RoomState) -> (PeerID, Int)? {
        let peers = tilePeers(state)
        let most = words.count - leaving
        if most >= 2 {
            for count in stride(from: most, through: 2, by: -1) {
                let wanted = words[0..<count].joined(separator: " ").lowercased()
                if let match = peers.first(where: { $0.displayName.lowercased() == wanted }) { return (match.id, count) }
            }
        }
        guard most >= 1, let peer = resolve(words[0], state: state) else { return nil }
        return (peer, 1)
    }

    /// A peer by id, display name, or unique prefix of either (any case).
    public func resolve(_ text: String, state: RoomState) -> PeerID? {
        let peers = tilePeers(state)
        let wanted = text.lowercased().replacingOccurrences(of: "_", with: " ")
        if let exact = peers.first(where: { $0.id.rawValue.lowercased() == text.lowercased() }) { return exact.id }
        if let exact = peers.first(where: { $0.displayName.lowercased() == wanted || $0.displayName.lowercased() == text.lowercased() }) {
            return exact.id
        }
        let matches = peers.filter {
            $0.id.rawValue.lowercased().hasPrefix(text.lowercased()) || $0.displayName.lowercased().hasPrefix(wanted)
        }
        return matches.count == 1 ? matches[0].id : nil
    }

    /// What Tab inserts for a peer: the display name when it is one word, else the id.
    func completionName(_ peer: PeerID, state: RoomState) -> String {
        guard let info = state.peer(peer) else { return peer.rawValue }
        let name = info.displayName
        return name.contains(" ") || name.contains("\"") ? peer.rawValue : name
    }

    /// Tab: completes a command at the start of the line, else a name (or a
    /// role after /to and as /role's second argument). Returns whether it completed.
    mutating func complete(state: RoomState) -> Bool {
        let (word, start) = editor.wordBeforeCursor
        let before = String(editor.characters[..<start])
        let lowered = word.lowercased()
        let candidates: [String]
        if start == 0, word.hasPrefix("/") {
            candidates = (Self.slashCommands + extraCommands).map(\.name).filter { $0.hasPrefix(lowered) }
        } else if before.lowercased().hasPrefix("/to "), Self.split(before).count == 1 {
            candidates = (state.room?.roles.map(\.name.rawValue) ?? []).filter { $0.hasPrefix(lowered) }
        } else if before.lowercased().hasPrefix("/role "), Self.split(before).count == 2 {
            candidates = (state.room?.roles.map(\.name.rawValue) ?? []).filter { $0.hasPrefix(lowered) }
        } else {
            guard !word.isEmpty else { return false }
            // Matched on the display name or the id; inserted as completionName.
            candidates = tilePeers(state).filter { peer in
                peer.id != state.you?.id
                    && (peer.displayName.lowercased().hasPrefix(lowered) || peer.id.rawValue.lowercased().hasPrefix(lowered))
            }.map { completionName($0.id, state: state) }
        }
        guard !candidates.isEmpty else { return false }
        // A name at the start of the line addresses its owner: "Ada: ".
        let suffix = start == 0 && !word.hasPrefix("/") ? ": " : " "
        if let several = input.complete(from: start, word: word, candidates: candidates, suffix: suffix) {
            setNotice(several.joined(separator: "  "))
        }
        return true
    }
}
