// The room's shared state through the management API (docs/ADMIN.md): read it,
// set a key, delete a key. Setting and deleting go through the room's checked
// `setState` action as `@server`, so peers get the same `state.changed` as when
// a host sets it, and the same numbered errors come back.
//
//   GET    /api/v1/rooms/{room}/state        ─▶ {"state": [entries]}
//   PUT    /api/v1/rooms/{room}/state/{key}  {"value": "…"} ─▶ the entry
//   DELETE /api/v1/rooms/{room}/state/{key}  ─▶ 204 (also when the key was not set)

import ConfabProtocol
import ConfabRooms

extension AdminAPI {
    func readState(_ call: Call) async throws(CodedError) -> Reply {
        let host = try await liveHost(call)
        return .json(.ok, AdminRoomState(state: await host.room.sharedStateEntries ?? []))
    }

    func setState(_ call: Call) async throws(CodedError) -> Reply {
        let host = try await liveHost(call)
        let key = call.parameters["key"] ?? ""
        let request = try AdminJSON.decode(AdminSetState.self, from: call.body)
        _ = try await host.actAsServer(.setState(key: key, value: request.value))
        guard let entry = await host.room.sharedState[key] else { throw Self.notLive(host.name) }
        return .json(.ok, entry)
    }

    func deleteState(_ call: Call) async throws(CodedError) -> Reply {
        let host = try await liveHost(call)
        _ = try await host.actAsServer(.setState(key: call.parameters["key"] ?? "", value: nil))
        return .noContent
    }
}
