// A small checker for the part of JSON Schema (2020-12, as OpenAPI 3.1 uses
// it) that the management API's document uses: $ref to components, type,
// properties, required, additionalProperties, items, enum, minimum, maximum,
// maxLength, pattern. Written here rather than pulled in: no Swift package
// validates JSON Schema, and this subset is a page.

import ConfabTestSupport
import Foundation

struct OpenAPISchema {
    let document: JSONValue

    /// What is wrong with a reply for `method template` with `status`: an
    /// undocumented status, a body where none is documented or none where
    /// one is, or a body that does not fit the schema.
    func check(reply: JSONValue?, status: Int, method: String, template: String) -> [String] {
        guard case .object(let paths)? = document["paths"], let item = paths[template] else {
            return ["\(template) is not in the document"]
        }
        guard case .object(let operation)? = item[method.lowercased()] else {
            return ["\(method) \(template) is not in the document"]
        }
        guard case .object(let responses)? = operation["responses"], var response = responses[String(status)] else {
            return ["status \(status) is not documented"]
        }
        if let reference = response["$ref"]?.text {
            let name = reference.replacingOccurrences(of: "#/components/responses/", with: "")
            guard case .object(let shared)? = document["components"]?["responses"], let target = shared[name] else {
                return ["unresolved \(reference)"]
            }
            response = target
        }
        guard case .object(let content)? = response["content"] else {
            return reply == nil ? [] : ["a body came where none is documented"]
        }
        guard let schema = content["application/json"]?["schema"] else { return ["no JSON schema"] }
        guard let reply else { return ["no JSON body"] }
        return validate(reply, against: schema, at: "$")
    }

    func validate(_ value: JSONValue, against schema: JSONValue, at path: String) -> [String] {
        if let reference = schema["$ref"]?.text {
            let name = reference.replacingOccurrences(of: "#/components/schemas/", with: "")
            guard case .object(let schemas)? = document["components"]?["schemas"], let target = schemas[name] else {
                return ["\(path): unresolved \(reference)"]
            }
            return validate(value, against: target, at: path)
        }
        var problems: [String] = []
        if let type = schema["type"]?.text, !Self.matches(value, type: type) {
            return ["\(path): \(value) is not of type \(type)"]
        }
        if case .array(let allowed)? = schema["enum"], !allowed.contains(value) {
            problems.append("\(path): \(value) is not one of \(allowed)")
        }
        if case .number(let number) = value {
            if case .number(let minimum)? = schema["minimum"], number < minimum { problems.append("\(path): below \(minimum)") }
            if case .number(let maximum)? = schema["maximum"], number > maximum { problems.append("\(path): above \(maximum)") }
        }
        if case .string(let text) = value {
            if case .number(let limit)? = schema["maxLength"], Double(text.count) > limit {
                problems.append("\(path): longer than \(limit)")
            }
            if let pattern = schema["pattern"]?.text, text.range(of: pattern, options: .regularExpression) == nil {
                problems.append("\(path): \(text) does not match \(pattern)")
            }
        }
        if case .object(let members) = value {
            problems += validateObject(members, against: schema, at: path)
        }
        if case .array(let items) = value, let itemSchema = schema["items"] {
            for (index, item) in items.enumerated() {
                problems += validate(item, against: itemSchema, at: "\(path)[\(index)]")
            }
        }
        return problems
    }

    private func validateObject(_ members: [String: JSONValue], against schema: JSONValue, at path: String) -> [String] {
        var problems: [String] = []
        for required in schema["required"]?.array ?? [] {
            if let key = required.text, members[key] == nil { problems.append("\(path): \(key) is missing") }
        }
        let properties: [String: JSONValue] = if case .object(let properties)? = schema["properties"] { properties } else { [:] }
        for (key, member) in members {
            if let property = properties[key] {
                problems += validate(member, against: property, at: "\(path).\(key)")
            } else if let additional = schema["additionalProperties"] {
                if additional == .bool(false) {
                    problems.append("\(path): \(key) is not allowed")
                } else if case .object = additional {
                    problems += validate(member, against: additional, at: "\(path).\(key)")
                }
            } else if schema["properties"] != nil {
                // The API's schemas list every member: one the document does not name is drift.
                problems.append("\(path): \(key) is not documented")
            }
        }
        return problems
    }

    private static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("null", .null): true
        case ("number", .number): true
        case ("integer", .number(let number)): number == number.rounded()
        default: false
        }
    }
}
