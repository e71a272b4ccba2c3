// The SDK (issue 3). Placeholder until the first client files land.
import ConfabProtocol
