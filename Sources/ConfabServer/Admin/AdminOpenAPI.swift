// The OpenAPI 3.1 document of the management API, served at
// /api/v1/openapi.json. It is the contract: AdminAPITests checks that every
// path and method here is routed, every route is here, and the server's
// replies validate against these schemas. Kept as JSON text (not generated
// Swift): see docs/ADMIN.md for why.

enum AdminOpenAPI {
    static let document = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "Confab management API",
    "version": "1",
    "description": "For the people who run a Confab server: docs/ADMIN.md. Every request but this document's and a meeting code's exchange needs an admin token (confab token --admin)."
  },
  "security": [
    {
      "adminToken": []
    }
  ],
  "paths": {
    "/api/v1/rooms": {
      "get": {
        "operationId": "listRooms",
        "summary": "The live rooms",
        "responses": {
          "200": {"description": "The live rooms, by name", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RoomList"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"}
        }
      },
      "post": {
        "operationId": "createRoom",
        "summary": "Open a room ahead of time",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateRoom"}}}
        },
        "responses": {
          "201": {"description": "The room, open and empty", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RoomDetail"}}}},
          "400": {"description": "1000 malformedMessage, 1004 invalidMessage (also: a template that is not configured)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "409": {"description": "4012 roomExists: live, or ended and locked", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/rooms/{room}": {
      "parameters": [
        {
          "$ref": "#/components/parameters/room"
        }
      ],
      "get": {
        "operationId": "getRoom",
        "summary": "A live room and its peers",
        "responses": {
          "400": {"description": "1004 invalidMessage: the room, peer or code in the path is not valid", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "200": {"description": "The room", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RoomDetail"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"description": "4011 roomNotFound, 4004 peerNotFound", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      },
      "patch": {
        "operationId": "updateRoom",
        "summary": "Lock a live room against new joins, or unlock it",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UpdateRoom"}}}
        },
        "responses": {
          "200": {"description": "The room", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RoomDetail"}}}},
          "400": {"description": "1000 malformedMessage, 1004 invalidMessage", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"description": "4011 roomNotFound, 4004 peerNotFound", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      },
      "delete": {
        "operationId": "endRoom",
        "summary": "End the room for everyone",
        "parameters": [
          {"name": "lock", "in": "query", "required": false, "description": "refuse joins afterwards (4002 roomLocked)", "schema": {"type": "string", "enum": ["true", "false"]}},
          {"name": "reason", "in": "query", "required": false, "description": "shown to everyone concerned", "schema": {"type": "string", "maxLength": 500}}
        ],
        "responses": {
          "204": {"description": "Ended: every peer got room.ended"},
          "400": {"description": "1004 invalidMessage", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"description": "4011 roomNotFound, 4004 peerNotFound", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/rooms/{room}/peers/{peer}": {
      "parameters": [
        {
          "$ref": "#/components/parameters/room"
        },
        {
          "$ref": "#/components/parameters/peer"
        }
      ],
      "delete": {
        "operationId": "removePeer",
        "summary": "Remove a peer",
        "parameters": [
          {"name": "reason", "in": "query", "required": false, "description": "shown to everyone concerned", "schema": {"type": "string", "maxLength": 500}}
        ],
        "responses": {
          "400": {"description": "1004 invalidMessage: the room, peer or code in the path is not valid", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "204": {"description": "Removed: the peer got removed, the others peer.left"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"description": "4011 roomNotFound, 4004 peerNotFound", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/rooms/{room}/peers/{peer}/mute": {
      "parameters": [
        {
          "$ref": "#/components/parameters/room"
        },
        {
          "$ref": "#/components/parameters/peer"
        }
      ],
      "post": {
        "operationId": "mutePeer",
        "summary": "Mute a peer's microphone",
        "responses": {
          "400": {"description": "1004 invalidMessage: the room, peer or code in the path is not valid", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "204": {"description": "Muted (or already muted): everyone got track.muted"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"description": "4011 roomNotFound, 4004 peerNotFound, 4005 trackNotFound: its role has no microphone", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/rooms/{room}/peers/{peer}/role": {
      "parameters": [
        {
          "$ref": "#/components/parameters/room"
        },
        {
          "$ref": "#/components/parameters/peer"
        }
      ],
      "post": {
        "operationId": "changeRole",
        "summary": "Give a peer another role, or ask it to take one",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChangeRole"}}}
        },
        "responses": {
          "204": {"description": "Changed: everyone got peer.updated"},
          "202": {"description": "Asked: the peer got role.changeRequested", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PromptSent"}}}},
          "400": {"description": "1004 invalidMessage, 4006 roleNotFound", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"description": "4011 roomNotFound, 4004 peerNotFound", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/rooms/{room}/messages": {
      "parameters": [
        {
          "$ref": "#/components/parameters/room"
        }
      ],
      "post": {
        "operationId": "postMessage",
        "summary": "A message from the server into the room's chat",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SystemMessage"}}}
        },
        "responses": {
          "201": {"description": "Posted and numbered in the room's log", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/PostedMessage"}}}},
          "400": {"description": "5001 chatTooLong, 5002 chatEmpty", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"description": "4011 roomNotFound, 4004 peerNotFound", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "429": {"description": "5003 chatRateLimited: over the room's chat rate, which holds the server's messages as it holds a host's", "headers": {"Retry-After": {"description": "whole seconds until a message is let through", "schema": {"type": "integer", "minimum": 0}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/rooms/{room}/codes": {
      "parameters": [
        {
          "$ref": "#/components/parameters/room"
        }
      ],
      "post": {
        "operationId": "createCode",
        "summary": "A meeting code for a role in the room",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CreateCode"}}}
        },
        "responses": {
          "201": {"description": "The code", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MeetingCode"}}}},
          "400": {"description": "1000 malformedMessage, 1004 invalidMessage, 4006 roleNotFound", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"}
        }
      },
      "get": {
        "operationId": "listCodes",
        "summary": "The room's meeting codes, newest first, with their state",
        "responses": {
          "200": {"description": "The codes", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/MeetingCodeList"}}}},
          "400": {"description": "1004 invalidMessage", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"}
        }
      }
    },
    "/api/v1/rooms/{room}/codes/{code}": {
      "parameters": [
        {
          "$ref": "#/components/parameters/room"
        },
        {
          "name": "code",
          "in": "path",
          "required": true,
          "schema": {"type": "string", "maxLength": 64}
        }
      ],
      "delete": {
        "operationId": "revokeCode",
        "summary": "Revoke a meeting code",
        "responses": {
          "400": {"description": "1004 invalidMessage: the room, peer or code in the path is not valid", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "204": {"description": "Revoked: exchanging it gets 2011 codeRevoked"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"description": "2010 codeNotFound", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "410": {"description": "2011 codeRevoked: revoked already", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/rooms/{room}/join": {
      "parameters": [
        {
          "$ref": "#/components/parameters/room"
        }
      ],
      "post": {
        "operationId": "exchangeCode",
        "summary": "A meeting code for a room token (no admin token: the code is the credential)",
        "security": [],
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CodeExchange"}}}
        },
        "responses": {
          "200": {"description": "A room token for the code's role, with an identity of its own", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CodeToken"}}}},
          "400": {"description": "1000 malformedMessage, 1004 invalidMessage, 1009 emptyName", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "404": {"description": "2010 codeNotFound", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "410": {"description": "2011 codeRevoked, 2012 codeExpired, 2013 codeUsedUp", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "429": {"description": "2014 codeRateLimited: too many unknown codes from this address; wait a minute", "headers": {"Retry-After": {"description": "whole seconds until an exchange from this address is let through again", "schema": {"type": "integer", "minimum": 0}}}, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/rooms/{room}/state": {
      "parameters": [
        {
          "$ref": "#/components/parameters/room"
        }
      ],
      "get": {
        "operationId": "getRoomState",
        "summary": "The room's shared state (agenda line, pinned message, …)",
        "responses": {
          "200": {"description": "Every key, sorted", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RoomState"}}}},
          "400": {"description": "1004 invalidMessage: the room in the path is not valid", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"description": "4011 roomNotFound", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/rooms/{room}/state/{key}": {
      "parameters": [
        {
          "$ref": "#/components/parameters/room"
        },
        {
          "$ref": "#/components/parameters/stateKey"
        }
      ],
      "put": {
        "operationId": "setRoomState",
        "summary": "Set a key of the room's shared state: every peer gets state.changed",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SetState"}}}
        },
        "responses": {
          "200": {"description": "The key as set", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/StateEntry"}}}},
          "400": {"description": "1000 malformedMessage, 1004 invalidMessage, 1011 stateKeyInvalid, 1012 stateValueInvalid", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"description": "4011 roomNotFound", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "409": {"description": "4014 stateFull: 16 keys are set; delete one first", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      },
      "delete": {
        "operationId": "deleteRoomState",
        "summary": "Delete a key of the room's shared state (no error when it was not set)",
        "responses": {
          "204": {"description": "Deleted: every peer got state.changed without a value"},
          "400": {"description": "1004 invalidMessage, 1011 stateKeyInvalid", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"description": "4011 roomNotFound", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
        }
      }
    },
    "/api/v1/tokens/revoke": {
      "post": {
        "operationId": "revokeAdminToken",
        "summary": "Revoke an admin token: it is refused from now on (2015 adminTokenRevoked)",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RevokeToken"}}}
        },
        "responses": {
          "204": {"description": "Revoked (or expired already)"},
          "400": {"description": "1000 malformedMessage, 1004 invalidMessage: not an admin token of this server, or one without an id", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"}
        }
      }
    },
    "/api/v1/calls": {
      "get": {
        "operationId": "listCalls",
        "summary": "The calls in progress",
        "responses": {
          "200": {"description": "The calls", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CallList"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"}
        }
      }
    },
    "/api/v1/users/{user}/calls": {
      "parameters": [
        {
          "$ref": "#/components/parameters/user"
        }
      ],
      "get": {
        "operationId": "userCallHistory",
        "summary": "A user's call history, newest first",
        "parameters": [
          {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}}
        ],
        "responses": {
          "200": {"description": "The history", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/CallHistory"}}}},
          "400": {"description": "1004 invalidMessage", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"}
        }
      }
    },
    "/api/v1/openapi.json": {
      "get": {
        "operationId": "openAPIDocument",
        "summary": "This document (no token needed)",
        "security": [],
        "responses": {
          "200": {"description": "The OpenAPI document", "content": {"application/json": {"schema": {"type": "object"}}}}
        }
      }
    }
  },
  "components": {
    "parameters": {
      "room": {
        "name": "room",
        "in": "path",
        "required": true,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}
      },
      "peer": {
        "name": "peer",
        "in": "path",
        "required": true,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._@+-]{1,64}$"}
      },
      "stateKey": {
        "name": "key",
        "in": "path",
        "required": true,
        "schema": {"type": "string", "pattern": "^[a-z0-9][a-z0-9._-]{0,31}$"}
      },
      "user": {
        "name": "user",
        "in": "path",
        "required": true,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._@+-]{1,64}$"}
      }
    },
    "responses": {
      "Unauthorized": {
        "description": "2001 tokenMissing, 2002 tokenMalformed, 2003 tokenSignatureInvalid, 2004 tokenExpired, 2015 adminTokenRevoked",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "Forbidden": {
        "description": "2009 notAdminToken: a room or user token",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      },
      "Unavailable": {
        "description": "9004 storageUnavailable: the database cannot be reached now; 4000 roomUnavailable: in a cluster, the node holding the room does not answer now. Retry later.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
      }
    },
    "securitySchemes": {
      "adminToken": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT"
      }
    },
    "schemas": {
      "Error": {
        "type": "object",
        "properties": {"error": {"type": "object", "properties": {"code": {"type": "integer", "description": "the catalog number of docs/PROTOCOL.md"}, "name": {"type": "string"}, "message": {"type": "string"}, "retryAfterMs": {"type": "integer", "minimum": 0, "description": "with a rate limit (429): milliseconds until the same request is let through; the Retry-After header gives it in whole seconds"}}, "required": ["code", "name", "message"]}},
        "required": ["error"]
      },
      "RateLimit": {
        "type": "object",
        "properties": {"perSecond": {"type": "integer", "minimum": 1, "maximum": 1000000}, "burst": {"type": "integer", "minimum": 1, "maximum": 1000000}},
        "required": ["perSecond", "burst"]
      },
      "RoomSummary": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "startedAt": {"type": "integer", "minimum": 0, "description": "milliseconds since 1970"}, "peers": {"type": "integer", "minimum": 0}, "peersByRole": {"type": "object", "additionalProperties": {"type": "integer", "minimum": 1}}, "locked": {"type": "boolean"}, "node": {"type": "string", "description": "the node holding the room (a single server: its own id)"}},
        "required": ["name", "startedAt", "peers", "peersByRole", "locked", "node"]
      },
      "RoomList": {
        "type": "object",
        "properties": {"rooms": {"type": "array", "items": {"$ref": "#/components/schemas/RoomSummary"}}, "unreachable": {"type": "array", "items": {"type": "string"}, "description": "in a cluster: the advertised URLs of live nodes that did not answer, whose rooms are missing from the list"}},
        "required": ["rooms"]
      },
      "Peer": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "name": {"type": "string"}, "role": {"type": "string"}, "connected": {"type": "boolean"}, "muted": {"type": "boolean"}, "mutedBy": {"type": "string"}, "handRaisedAt": {"type": "integer", "minimum": 0, "description": "milliseconds since 1970"}, "joinedAt": {"type": "integer", "minimum": 0, "description": "milliseconds since 1970"}},
        "required": ["id", "name", "role", "connected", "joinedAt"]
      },
      "RoomDetail": {
        "type": "object",
        "properties": {"name": {"type": "string"}, "startedAt": {"type": "integer", "minimum": 0, "description": "milliseconds since 1970"}, "maxPeers": {"type": "integer", "minimum": 1}, "chatRate": {"$ref": "#/components/schemas/RateLimit"}, "roles": {"type": "array", "items": {"type": "string"}}, "emptyRoomTimeoutMs": {"type": "integer", "minimum": 0}, "locked": {"type": "boolean", "description": "locked against new joins (4002 roomLocked); peers in it stay"}, "peers": {"type": "array", "items": {"$ref": "#/components/schemas/Peer"}}, "state": {"type": "array", "items": {"$ref": "#/components/schemas/StateEntry"}}},
        "required": ["name", "startedAt", "chatRate", "roles", "emptyRoomTimeoutMs", "locked", "peers", "state"]
      },
      "CreateRoom": {
        "type": "object",
        "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$"}, "template": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,64}$", "description": "use the template configured for this room ([rooms.NAME] in the server's --config); 400 when there is none"}, "maxPeers": {"type": "integer", "minimum": 1}, "chatRate": {"$ref": "#/components/schemas/RateLimit"}, "emptyTimeoutSeconds": {"type": "integer", "minimum": 0, "maximum": 604800}, "locked": {"type": "boolean", "default": false, "description": "open it locked against joins; unlock with PATCH"}},
        "required": ["name"]
      },
      "UpdateRoom": {
        "type": "object",
        "properties": {"locked": {"type": "boolean"}},
        "required": ["locked"]
      },
      "ChangeRole": {
        "type": "object",
        "properties": {"role": {"type": "string"}, "force": {"type": "boolean", "default": true}},
        "required": ["role"]
      },
      "PromptSent": {
        "type": "object",
        "properties": {"prompt": {"type": "string"}},
        "required": ["prompt"]
      },
      "SystemMessage": {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"]
      },
      "PostedMessage": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "seq": {"type": "integer", "minimum": 1}, "sentAt": {"type": "integer", "minimum": 0, "description": "milliseconds since 1970"}},
        "required": ["id", "seq", "sentAt"]
      },
      "CallParticipant": {
        "type": "object",
        "properties": {"user": {"type": "string"}, "name": {"type": "string"}, "state": {"type": "string", "enum": ["ringing", "accepted", "rejected", "noResponse", "busy", "offline", "cancelled", "left"]}, "invitedBy": {"type": "string"}},
        "required": ["user", "name", "state"]
      },
      "Call": {
        "type": "object",
        "properties": {"id": {"type": "string"}, "caller": {"type": "string"}, "group": {"type": "boolean"}, "createdAt": {"type": "integer", "minimum": 0, "description": "milliseconds since 1970"}, "answeredAt": {"type": "integer", "minimum": 0, "description": "milliseconds since 1970"}, "participants": {"type": "array", "items": {"$ref": "#/components/schemas/CallParticipant"}}},
        "required": ["id", "caller", "group", "createdAt", "participants"]
      },
      "CallList": {
        "type": "object",
        "properties": {"calls": {"type": "array", "items": {"$ref": "#/components/schemas/Call"}}},
        "required": ["calls"]
      },
      "CallRecord": {
        "type": "object",
        "properties": {"call": {"type": "string"}, "direction": {"type": "string", "enum": ["outgoing", "incoming"]}, "peers": {"type": "array", "items": {"type": "string"}}, "outcome": {"type": "string", "enum": ["answered", "cancelled", "rejected", "noResponse", "busy", "offline"]}, "startedAt": {"type": "integer", "minimum": 0, "description": "milliseconds since 1970"}, "durationMs": {"type": "integer", "minimum": 0}},
        "required": ["call", "direction", "peers", "outcome", "startedAt", "durationMs"]
      },
      "CreateCode": {
        "type": "object",
        "properties": {"role": {"type": "string", "pattern": "^[A-Za-z0-9._-]{1,32}$"}, "uses": {"type": "integer", "minimum": 1, "maximum": 1000000, "description": "how many exchanges it allows; absent: no limit"}, "expiresInSeconds": {"type": "integer", "minimum": 1, "maximum": 31622400, "description": "absent: no expiry"}},
        "required": ["role"]
      },
      "MeetingCode": {
        "type": "object",
        "properties": {"code": {"type": "string", "pattern": "^[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}$"}, "room": {"type": "string"}, "role": {"type": "string"}, "uses": {"type": "integer", "minimum": 1}, "used": {"type": "integer", "minimum": 0}, "expiresAt": {"type": "integer", "minimum": 0, "description": "milliseconds since 1970"}, "createdAt": {"type": "integer", "minimum": 0, "description": "milliseconds since 1970"}, "createdBy": {"type": "string"}, "revokedAt": {"type": "integer", "minimum": 0, "description": "milliseconds since 1970"}, "state": {"type": "string", "enum": ["active", "revoked", "expired", "usedUp"]}},
        "required": ["code", "room", "role", "used", "createdAt", "createdBy", "state"]
      },
      "MeetingCodeList": {
        "type": "object",
        "properties": {"codes": {"type": "array", "items": {"$ref": "#/components/schemas/MeetingCode"}}},
        "required": ["codes"]
      },
      "CodeExchange": {
        "type": "object",
        "properties": {"code": {"type": "string", "description": "as given, dashes optional"}, "name": {"type": "string", "description": "the display name to join with"}},
        "required": ["code", "name"]
      },
      "CodeToken": {
        "type": "object",
        "properties": {"token": {"type": "string", "description": "a room token: join with it"}, "room": {"type": "string"}, "role": {"type": "string"}, "peer": {"type": "string", "description": "the identity the token names"}, "expiresAt": {"type": "integer", "minimum": 0, "description": "milliseconds since 1970"}},
        "required": ["token", "room", "role", "peer", "expiresAt"]
      },
      "StateEntry": {
        "type": "object",
        "properties": {"key": {"type": "string"}, "value": {"type": "string"}, "by": {"type": "string", "description": "a peer, or @server"}, "at": {"type": "integer", "minimum": 0, "description": "milliseconds since 1970"}},
        "required": ["key", "value", "by", "at"]
      },
      "RoomState": {
        "type": "object",
        "properties": {"state": {"type": "array", "items": {"$ref": "#/components/schemas/StateEntry"}}},
        "required": ["state"]
      },
      "SetState": {
        "type": "object",
        "properties": {"value": {"type": "string", "description": "one line, at most 500 characters once cleaned"}},
        "required": ["value"]
      },
      "RevokeToken": {
        "type": "object",
        "properties": {"token": {"type": "string", "description": "the admin token to revoke"}},
        "required": ["token"]
      },
      "CallHistory": {
        "type": "object",
        "properties": {"user": {"type": "string"}, "calls": {"type": "array", "items": {"$ref": "#/components/schemas/CallRecord"}}},
        "required": ["user", "calls"]
      }
    }
  }
}
"""#
}
