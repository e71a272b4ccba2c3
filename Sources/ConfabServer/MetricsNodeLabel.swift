// `/metrics` on a cluster's node: every series carries `node="ID"`, so one
// Prometheus scraping every node tells their figures apart (and sums them by
// dropping the label). A single server's series stay unlabelled.

import Foundation

extension ServerMetrics {
    /// `text` (the Prometheus text exposition format) with `node="ID"` added
    /// to every sample line; comment lines (`# HELP`, `# TYPE`) are kept as they are.
    static func labelled(_ text: String, node: String?) -> String {
        guard let node else { return text }
        let label = "node=\"" + escapedLabelValue(node) + "\""
        var lines: [String] = []
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            guard !line.isEmpty, !line.hasPrefix("#"),
                let nameEnd = line.firstIndex(where: { $0 == "{" || $0 == " " })
            else {
                lines.append(String(line))
                continue
            }
            let name = String(line[..<nameEnd])
            if line[nameEnd] == "{" {
                let rest = String(line[line.index(after: nameEnd)...])
                lines.append(name + "{" + label + (rest.hasPrefix("}") ? "" : ",") + rest)
            } else {
                lines.append(name + "{" + label + "}" + String(line[nameEnd...]))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// A label value's `\`, `"` and line feeds escaped (the text format's rules).
    static func escapedLabelValue(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
