// `/metrics` of a cluster's node: every sample carries the node's id.

@testable import ConfabServer
import Testing

@Suite("/metrics node label")
struct MetricsNodeLabelTests {
    @Test("every sample gets node=\"ID\", labelled or not; comments and a single server's text are untouched")
    func labels() {
        let text = """
            # TYPE confab_joins_total counter
            confab_joins_total 3
            confab_errors_total{code="2004"} 1
            confab_empty{} 0

            """
        #expect(
            ServerMetrics.labelled(text, node: "a") == """
                # TYPE confab_joins_total counter
                confab_joins_total{node="a"} 3
                confab_errors_total{node="a",code="2004"} 1
                confab_empty{node="a"} 0

                """)
        #expect(ServerMetrics.labelled(text, node: nil) == text)
        #expect(ServerMetrics.labelled("x 1", node: #"we"ird\"#) == #"x{node="we\"ird\\"} 1"#)
    }
}
