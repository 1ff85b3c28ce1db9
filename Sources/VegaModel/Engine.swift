/// A file the workspace admitted for scanning.
public struct SourceFile: Sendable, Hashable {
    /// Relative to the scan root, '/'-separated.
    public var path: String
    public var absolutePath: String
    public var size: Int

    public init(path: String, absolutePath: String, size: Int) {
        self.path = path
        self.absolutePath = absolutePath
        self.size = size
    }
}

/// Why a file was not scanned.
public enum SkipReason: String, Codable, Sendable {
    case binary
    case tooLarge = "too_large"
    case symlinkOutsideRoot = "symlink_outside_root"
    case unreadable
}

public struct SkippedFile: Codable, Sendable, Hashable {
    public var path: String
    public var reason: SkipReason

    public init(path: String, reason: SkipReason) {
        self.path = path
        self.reason = reason
    }
}

/// What an engine examined, so an empty result is never silently mistaken for a clean one.
public struct Coverage: Codable, Sendable, Hashable {
    public var filesScanned: Int
    public var bytesScanned: Int
    public var skipped: [SkippedFile]
    public var commitsScanned: Int?
    /// What limited the engine's view, in words (e.g. "no advisory database: …").
    public var notes: [String]?

    public init(
        filesScanned: Int = 0, bytesScanned: Int = 0, skipped: [SkippedFile] = [], commitsScanned: Int? = nil,
        notes: [String]? = nil
    ) {
        self.filesScanned = filesScanned
        self.bytesScanned = bytesScanned
        self.skipped = skipped
        self.commitsScanned = commitsScanned
        self.notes = notes
    }
}

/// What an engine is asked to scan.
public struct ScanTarget: Sendable {
    /// Absolute path of the scanned root.
    public var root: String
    /// Admitted files in path order.
    public var files: [SourceFile]
    /// Scan every commit's added lines instead of the working tree (secrets engine).
    public var history: Bool

    public init(root: String, files: [SourceFile], history: Bool = false) {
        self.root = root
        self.files = files
        self.history = history
    }
}

/// Progress an engine reports; the caller decides how (or whether) to render it.
public struct ProgressEvent: Sendable {
    public var files: Int
    public var bytes: Int

    public init(files: Int, bytes: Int) {
        self.files = files
        self.bytes = bytes
    }
}

public typealias ProgressHandler = @Sendable (ProgressEvent) -> Void

public struct EngineResult: Sendable {
    public var detections: [Detection]
    public var coverage: Coverage
    /// Rules known only once the scan ran (an advisory database has too many to list up front).
    public var rules: [RuleDescriptor]
    /// Lockfiles read, for SBOMs and the inventory.
    public var dependencies: [DependencyGraph]
    /// Inputs that could not be read in full; the scan went on without them.
    public var warnings: [ScanWarning]

    public init(
        detections: [Detection], coverage: Coverage, rules: [RuleDescriptor] = [],
        dependencies: [DependencyGraph] = [], warnings: [ScanWarning] = []
    ) {
        self.detections = detections
        self.coverage = coverage
        self.rules = rules
        self.dependencies = dependencies
        self.warnings = warnings
    }
}

/// Every scan engine sits behind this protocol; adding one touches one folder and the
/// engine registry. Engines never print and report secrets already redacted.
public protocol ScanEngine: Sendable {
    var id: String { get }
    var rules: [RuleDescriptor] { get }
    func scan(_ target: ScanTarget, progress: @escaping ProgressHandler) async throws -> EngineResult
}
