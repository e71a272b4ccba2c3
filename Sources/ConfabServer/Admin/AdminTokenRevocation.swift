// Revoking admin tokens (docs/ADMIN.md, "Admin tokens"): a deny-list of token
// ids (`jti`, RFC 7519 §4.1.7) in the server's store, SQLite or PostgreSQL, so
// every node of a cluster refuses a revoked token.
//
//   POST /api/v1/tokens/revoke {"token": "…"} ─▶ verify it is this server's admin token
//        ─▶ INSERT its jti and expiry ─▶ 204   (an expired one: 204, nothing to keep)
//   every request ─▶ verify ─▶ jti in the list? ─▶ 401 2015 adminTokenRevoked
//
// A row is needed only until the token expires; revoking deletes the rows
// whose tokens have expired. Tokens made before ids existed have no `jti`
// and cannot be revoked: they last until they expire.

import ConfabProtocol
import GRDB
import PostgresNIO

/// What a store needs to keep revoked admin tokens.
protocol AdminTokenDenyList: Sendable {
    /// Creates the table when it is missing.
    func prepareRevokedTokens() async throws(StorageError)
    /// Records a revocation (again is fine) and forgets revocations of tokens expired by `now`.
    func revokeAdminToken(id: String, subject: String, expiresAt: Int64, by: String, now: Timestamp) async throws(StorageError)
    func isAdminTokenRevoked(id: String) async throws(StorageError) -> Bool
}

private enum RevokedTokenSQL {
    static let table = """
        CREATE TABLE IF NOT EXISTS admin_token_revoked (
            jti TEXT PRIMARY KEY, subject TEXT NOT NULL, expires_at BIGINT NOT NULL, revoked_at BIGINT NOT NULL,
            revoked_by TEXT NOT NULL)
        """
}

extension ChatStore: AdminTokenDenyList {
    func prepareRevokedTokens() throws(StorageError) {
        try makeTables("the revoked token table", RevokedTokenSQL.table)
    }

    func revokeAdminToken(id: String, subject: String, expiresAt: Int64, by: String, now: Timestamp)
        throws(StorageError)
    {
        do {
            try database.write { db in
                try db.execute(
                    sql: """
                        INSERT INTO admin_token_revoked (jti, subject, expires_at, revoked_at, revoked_by)
                        VALUES (?, ?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING
                        """,
                    arguments: [id, subject, expiresAt, now.millisecondsSince1970, by])
                try db.execute(
                    sql: "DELETE FROM admin_token_revoked WHERE expires_at <= ?",
                    arguments: [now.millisecondsSince1970 / 1_000])
            }
        } catch {
            throw StorageError(description: "cannot revoke an admin token: \(error)")
        }
    }

    func isAdminTokenRevoked(id: String) throws(StorageError) -> Bool {
        do {
            return try database.read { db in
                try Row.fetchOne(db, sql: "SELECT 1 FROM admin_token_revoked WHERE jti = ?", arguments: [id]) != nil
            }
        } catch {
            throw StorageError(description: "cannot read the revoked admin tokens: \(error)")
        }
    }
}

extension PostgresStore: AdminTokenDenyList {
    func prepareRevokedTokens() async throws(StorageError) {
        try await prepareTables("make the revoked token table", [RevokedTokenSQL.table])
    }

    func revokeAdminToken(id: String, subject: String, expiresAt: Int64, by: String, now: Timestamp)
        async throws(StorageError)
    {
        let (at, nowSeconds) = (now.millisecondsSince1970, now.millisecondsSince1970 / 1_000)
        try await execute(
            "revoke an admin token",
            """
            INSERT INTO admin_token_revoked (jti, subject, expires_at, revoked_at, revoked_by)
            VALUES (\(id), \(subject), \(expiresAt), \(at), \(by)) ON CONFLICT (jti) DO NOTHING
            """)
        try await execute("forget expired revocations", "DELETE FROM admin_token_revoked WHERE expires_at <= \(nowSeconds)")
    }

    func isAdminTokenRevoked(id: String) async throws(StorageError) -> Bool {
        try await run("read the revoked admin tokens") {
            let rows = try await self.client.query("SELECT 1 FROM admin_token_revoked WHERE jti = \(id)", logger: self.logger)
            return try await rows.collect().count == 1
        }
    }
}

extension AdminAPI {
    /// `POST /api/v1/tokens/revoke`: the token in the body is refused from now on.
    func revokeToken(_ call: Call) async throws(CodedError) -> Reply {
        let request = try AdminJSON.decode(AdminRevokeToken.self, from: call.body)
        let target: AdminIdentity
        do throws(CodedError) {
            target = try await authority.verify(authorization: "Bearer " + request.token, now: .now())
        } catch {
            // Expired: refused already, nothing to keep.
            if error.code == .tokenExpired { return .noContent }
            throw CodedError(.invalidMessage, "the token to revoke is not an admin token of this server: \(error.message)")
        }
        guard let id = target.tokenID else {
            throw CodedError(
                .invalidMessage, "this token has no id (jti): it was made before tokens could be revoked and lasts until it expires")
        }
        let list = try denyList()
        do throws(StorageError) {
            try await list.revokeAdminToken(
                id: id, subject: target.subject, expiresAt: target.expiresAt, by: call.admin?.subject ?? "", now: .now())
        } catch {
            throw CodedError(error.isRetryable ? .storageUnavailable : .storageFailure, "the revocation cannot be stored")
        }
        return .noContent
    }

    /// Refuses a revoked token; a token without an id, or a store without the list, passes.
    func checkNotRevoked(_ admin: AdminIdentity) async throws(CodedError) {
        guard let id = admin.tokenID, let list = store as? any AdminTokenDenyList else { return }
        let revoked: Bool
        do throws(StorageError) {
            revoked = try await list.isAdminTokenRevoked(id: id)
        } catch {
            throw CodedError(error.isRetryable ? .storageUnavailable : .storageFailure, "the revoked tokens cannot be read")
        }
        if revoked { throw CodedError(.adminTokenRevoked, "this admin token was revoked") }
    }

    private func denyList() throws(CodedError) -> any AdminTokenDenyList {
        guard let list = store as? any AdminTokenDenyList else {
            throw CodedError(.storageFailure, "this server's store keeps no revoked tokens")
        }
        return list
    }
}
