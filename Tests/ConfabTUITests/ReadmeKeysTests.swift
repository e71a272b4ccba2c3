// README.md is where users look up what `[keys]` can rebind: it must name
// every action with its default keys, and nothing that is not an action.

import ConfabTUI
import ConfabTestSupport
import Foundation
import Testing

@Suite("README's [keys] list")
struct ReadmeKeysTests {
    @Test("README names every key action with its default keys")
    func everyAction() throws {
        let readme = try RepositoryFile.text("README.md")
        let start = try #require(readme.range(of: "The actions `[keys]` can rebind")).lowerBound
        let paragraph = String(readme[start...]).components(separatedBy: "\n\n").first ?? ""
        for action in KeyAction.allCases {
            let keys = KeyMap.standard.keys(for: action).map { $0 == "Space" ? "Space" : "`\($0)`" }
            #expect(paragraph.contains("`\(action.rawValue)` ("), "README lacks \(action.rawValue)")
            for key in keys {
                #expect(paragraph.contains(key), "README lacks \(key) for \(action.rawValue)")
            }
        }
    }
}
