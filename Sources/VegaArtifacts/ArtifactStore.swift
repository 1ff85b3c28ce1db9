import Foundation

/// Where a scan's files are kept — its reports, SBOM and logs: a folder (the data folder's
/// `artifacts` by default) or an S3-compatible bucket. Keys are `<tenant>/<scan>/<kind>`
/// (`ArtifactKey`); every implementation refuses a key `ArtifactKey.validate` refuses.
/// `description` says where, for logs: never a credential.
public protocol ArtifactStore: Sendable, CustomStringConvertible {
    func put(_ key: String, data: Data, contentType: String) async throws
    /// nil when nothing is stored under the key.
    func get(_ key: String) async throws -> Data?
    /// Removing what is not there is not an error: retention may run again after a crash.
    func delete(_ key: String) async throws
    /// Every key that starts with `prefix` (text, not only whole folders), sorted.
    func list(prefix: String) async throws -> [String]
    /// Throws unless the store can take a file now (what `/readyz` asks).
    func checkReady() async throws
}

/// The one shape of a key, so a key can never name a file outside the store's folder or a
/// surprising object: segments of ASCII letters, digits, `-`, `_` and `.`, joined by `/`,
/// none empty or starting with a dot (so no `.`, `..` or hidden file), no leading `/`.
public enum ArtifactKey {
    static let maxLength = 1_024

    public static func make(tenant: String, scan: String, kind: String) throws -> String {
        try validate("\(tenant)/\(scan)/\(kind)")
    }

    @discardableResult
    public static func validate(_ key: String) throws -> String {
        guard !key.isEmpty, key.utf8.count <= maxLength else {
            throw ArtifactStoreError("an artifact key must be 1 to \(maxLength) bytes")
        }
        guard !key.hasPrefix("/") else { throw ArtifactStoreError("an artifact key cannot be an absolute path") }
        for segment in key.split(separator: "/", omittingEmptySubsequences: false) {
            guard let first = segment.first else { throw ArtifactStoreError("an artifact key cannot have an empty segment") }
            guard first != "." else { throw ArtifactStoreError("an artifact key's segments cannot start with a dot (no `.` or `..`)") }
            guard segment.unicodeScalars.allSatisfy(allowed) else {
                throw ArtifactStoreError("an artifact key may hold only letters, digits, '-', '_', '.' and '/'")
            }
        }
        return key
    }

    /// A list prefix: empty, or the start of a valid key (it may end in `/`).
    static func validatePrefix(_ prefix: String) throws {
        guard !prefix.isEmpty else { return }
        try validate(prefix.hasSuffix("/") ? prefix + "x" : prefix)
    }

    private static func allowed(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar {
        case "a"..."z", "A"..."Z", "0"..."9", "-", "_", ".": true
        default: false
        }
    }
}

/// What went wrong in an artifact store, said so an operator can act on it: it names the
/// store, the key and what the server answered, never a credential.
public struct ArtifactStoreError: Error, CustomStringConvertible, Sendable {
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
