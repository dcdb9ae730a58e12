// TEMPORARY stub so the tree compiles until the DIALECT 2 parser lands (being written in parallel); replace wholesale.
public enum QueryParser {
    public static func parse(_ query: [UInt8], params: [String: [UInt8]], dialect: Int = 2) throws(QueryError) -> ParsedQuery {
        let text = String(decoding: query, as: UTF8.self)
        if text == "*" { return ParsedQuery(filter: .all) }
        throw QueryError("Syntax error: query parser not available yet")
    }
}
