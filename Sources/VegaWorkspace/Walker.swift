import Foundation
import Glibc
import Synchronization
import VegaModel

public struct WalkOptions: Sendable {
    /// Larger files are reported as skipped (`tooLarge`) and never read.
    public var maxFileSize: Int
    /// Honour `.gitignore` files and `.git/info/exclude`.
    public var useGitignore: Bool
    /// Further ignore files in gitignore syntax, honoured at every level like `.gitignore`.
    public var ignoreFileNames: [String]
    /// Gitignore-syntax patterns anchored at the scan root (from config or the command line).
    public var excludes: [String]

    public init(
        maxFileSize: Int = 10 * 1024 * 1024, useGitignore: Bool = true,
        ignoreFileNames: [String] = [".vegaignore"], excludes: [String] = []
    ) {
        self.maxFileSize = maxFileSize
        self.useGitignore = useGitignore
        self.ignoreFileNames = ignoreFileNames
        self.excludes = excludes
    }
}

public struct WalkResult: Sendable {
    /// Sorted by path (byte order).
    public var files: [SourceFile]
    /// Sorted by path (byte order). Ignored files are left out, not listed here.
    public var skipped: [SkippedFile]

    public init(files: [SourceFile], skipped: [SkippedFile]) {
        self.files = files
        self.skipped = skipped
    }
}

public enum Walker {
    /// Lists the files under `root` that should be scanned. `.git` is never entered;
    /// ignore files and `options.excludes` prune the tree. Symlinks are followed only to
    /// targets inside the root, and each file and directory is taken once however many
    /// links reach it. Throws only when `root` itself cannot be read.
    public static func walk(root: String, options: WalkOptions) throws -> WalkResult {
        try TreeWalk(root: root, options: options).run()
    }
}

/// One walk. Paths are handled as bytes, as "match paths": relative to the top of the
/// git work tree holding the root (or to the root when there is none), so that ignore
/// files above the root apply as git applies them. `rootPrefix` is the root's own match
/// path; output paths drop it.
final class TreeWalk: Sendable {
    let root: [UInt8]
    let rootPrefix: [UInt8]
    let options: WalkOptions
    let reader = ReaderIdentity()
    private let rootRules: IgnoreStack
    private let visitedDirectories = Mutex<Set<FileID>>([])
    private let found = Mutex(Listing())

    init(root: String, options: WalkOptions) throws {
        guard let real = Posix.realPath(root) else {
            throw WorkspaceError("cannot read \(root): \(Posix.errorMessage())")
        }
        let fd = open(real, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else {
            throw WorkspaceError("cannot read directory \(root): \(Posix.errorMessage())")
        }
        close(fd)
        let rootBytes = Array(real.utf8)
        self.root = rootBytes
        self.options = options

        let top = TreeWalk.workTreeTop(containing: rootBytes)
        let prefix = top.map { Array(rootBytes.dropFirst($0.count == 1 ? 1 : $0.count + 1)) + [slash] } ?? []
        rootPrefix = prefix == [slash] ? [] : prefix

        let excludes = options.excludes.isEmpty ? nil : IgnoreRuleSet(patterns: options.excludes, baseLength: rootPrefix.count)
        var infoExclude: IgnoreRuleSet? = nil
        if options.useGitignore, let top {
            let path = top + Array("/.git/info/exclude".utf8)
            infoExclude = TreeWalk.readIgnoreFile(path, relativeTo: AT_FDCWD, limit: options.maxFileSize)
                .map { IgnoreRuleSet(contents: $0, baseLength: 0) }
        }
        var rules = IgnoreStack(excludes: excludes, infoExclude: infoExclude)
        if let top {
            // Ignore files between the work tree's top and the root apply as well.
            var directory: [UInt8] = []
            for component in rootPrefix.split(separator: slash) {
                let absolute = top + (top == [slash] ? [] : [slash]) + directory
                rules = TreeWalk.ancestorRules(absolute, matchPath: directory, rules: rules, options: options)
                let nameStart = directory.count
                directory += component
                let ignored = directory.withUnsafeBufferPointer {
                    rules.isIgnored(path: $0, nameStart: nameStart, isDirectory: true)
                }
                // A root the user named inside a directory its work tree ignores (a build
                // folder, pyenv's versions/) is scanned as a tree of its own: the enclosing
                // ignore files would hide every file in it.
                if ignored {
                    rules = IgnoreStack(excludes: excludes, infoExclude: nil)
                    break
                }
                directory += [slash]
            }
        }
        rootRules = rules
    }

    func run() -> WalkResult {
        // First the real tree, in parallel; symlinks only get recorded.
        let queue = WorkQueue([DirectoryJob(path: rootPrefix, rules: rootRules)])
        queue.drain(workers: TreeWalk.workerCount) { job in
            let listing = self.list(job)
            self.record(listing)
            return listing.subdirectories
        }

        // Then symlinked directories, one at a time in path order, so which path a tree
        // reachable by two links is reported under never depends on thread timing.
        // Directories already read (including every ancestor: a cycle) are passed over.
        var links = found.withLock { $0.links.filter(\.isDirectory) }.sorted(by: TreeWalk.pathOrder)
        var next = 0
        while next < links.count {
            let link = links[next]
            next += 1
            var jobs = [DirectoryJob(path: link.path + [slash], rules: link.rules)]
            var discovered: [FoundLink] = []
            while let job = jobs.popLast() {
                let listing = list(job)
                record(listing)
                jobs += listing.subdirectories
                discovered += listing.links.filter(\.isDirectory)
            }
            links += discovered.sorted(by: TreeWalk.pathOrder)
        }

        return found.withLock { assemble($0) }
    }

    /// Rules after loading the ignore files of an ancestor of the root.
    private static func ancestorRules(
        _ absolute: [UInt8], matchPath: [UInt8], rules: IgnoreStack, options: WalkOptions
    ) -> IgnoreStack {
        let fd = Posix.withCString(absolute) { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else { return rules }
        defer { close(fd) }
        let names = (options.useGitignore ? [".gitignore"] : []) + options.ignoreFileNames
        let entries = names.map { (name: Array($0.utf8), type: UInt8(DT_UNKNOWN)) }
        return rulesAdding(ignoreFilesIn: fd, entries: entries, to: rules, basePath: matchPath, options: options)
    }

    private func record(_ listing: Listing) {
        found.withLock { all in
            all.files += listing.files
            all.skipped += listing.skipped
            all.links += listing.links
        }
    }

    /// Claims a directory for reading; false when it was read already.
    func claim(_ id: FileID) -> Bool {
        visitedDirectories.withLock { $0.insert(id).inserted }
    }

    /// Symlinked files count only when their target was not admitted already.
    private func assemble(_ all: Listing) -> WalkResult {
        var files = all.files
        var skipped = all.skipped
        let fileLinks = all.links.filter { !$0.isDirectory }.sorted(by: TreeWalk.pathOrder)
        if !fileLinks.isEmpty {
            var admitted = Set(files.map(\.id))
            for link in fileLinks where admitted.insert(link.target).inserted {
                if link.size > options.maxFileSize {
                    skipped.append(FoundSkip(path: link.path, reason: .tooLarge))
                } else if !link.isReadable {
                    skipped.append(FoundSkip(path: link.path, reason: .unreadable))
                } else {
                    files.append(FoundFile(path: link.path, size: link.size, id: link.target))
                }
            }
        }

        files.sort { TreeWalk.precedes($0.path, $1.path) }
        skipped.sort { TreeWalk.precedes($0.path, $1.path) }
        let base = String(decoding: root, as: UTF8.self)
        let separator = base.hasSuffix("/") ? "" : "/"
        return WalkResult(
            files: files.map { file in
                let path = String(decoding: file.path[rootPrefix.count...], as: UTF8.self)
                return SourceFile(path: path, absolutePath: base + separator + path, size: file.size)
            },
            skipped: skipped.map {
                SkippedFile(path: String(decoding: $0.path[rootPrefix.count...], as: UTF8.self), reason: $0.reason)
            }
        )
    }

    /// Byte order, via memcmp: the generic comparison is a visible cost on big trees.
    private static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        let shared = min(a.count, b.count)
        let order = shared == 0 ? 0 : a.withUnsafeBytes { a in
            b.withUnsafeBytes { b in memcmp(a.baseAddress!, b.baseAddress!, shared) }
        }
        return order != 0 ? order < 0 : a.count < b.count
    }

    private static func pathOrder(_ a: FoundLink, _ b: FoundLink) -> Bool {
        precedes(a.path, b.path)
    }

    /// Absolute path of a match path under the root.
    func absolute(_ matchPath: [UInt8]) -> [UInt8] {
        var relative = matchPath.dropFirst(rootPrefix.count)
        if relative.last == slash { relative = relative.dropLast() }
        if relative.isEmpty { return root }
        return root + (root.last == slash ? [] : [slash]) + relative
    }

    /// `real` relative to the root, or nil when it lies outside.
    func pathInsideRoot(_ real: [UInt8]) -> ArraySlice<UInt8>? {
        if real == root { return [] }
        if root == [slash] { return real.dropFirst() }
        guard real.starts(with: root), real.count > root.count, real[root.count] == slash else { return nil }
        return real.dropFirst(root.count + 1)
    }

    /// The nearest directory at or above `directory` holding a `.git` entry.
    private static func workTreeTop(containing directory: [UInt8]) -> [UInt8]? {
        var candidate = directory
        while true {
            var info = stat()
            let marker = candidate + (candidate == [slash] ? [] : [slash]) + gitDirectoryName
            if Posix.withCString(marker, { lstat($0, &info) }) == 0 { return candidate }
            guard candidate != [slash], let last = candidate.lastIndex(of: slash) else { return nil }
            candidate = last == 0 ? [slash] : Array(candidate[..<last])
        }
    }

    /// Reading directories is mostly system-call latency, which overlaps well across threads.
    private static let workerCount = min(ProcessInfo.processInfo.activeProcessorCount, 8)
}
