import GRDB

extension ChatStore {
    /// Runs the `CREATE … IF NOT EXISTS` statements of one feature's tables in a
    /// transaction; `what` names them in the error ("the meeting code table").
    func makeTables(_ what: String, _ statements: String...) throws(StorageError) {
        do {
            try database.write { db in
                for statement in statements { try db.execute(sql: statement) }
            }
        } catch {
            throw StorageError(description: "cannot make \(what): \(error)")
        }
    }
}
