/// A failure the user can act on; `description` is shown as is.
public struct WorkspaceError: Error, CustomStringConvertible, Sendable {
    public let description: String

    public init(_ description: String) {
        self.description = description
    }
}
