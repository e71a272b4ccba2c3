// The room server (issue 3). Placeholder until the first server files land.
import ConfabProtocol
