import Glibc
import VegaModel

/// A directory still to be read.
struct DirectoryJob: Sendable {
    /// Match path of the directory with a trailing '/' (see `TreeWalk.rootPrefix`).
    let path: [UInt8]
    let rules: IgnoreStack
}

/// An admitted regular file. Paths in these records are match paths (see `TreeWalk`).
struct FoundFile: Sendable {
    let path: [UInt8]
    let size: Int
    let id: FileID
}

/// A symlink whose target resolves inside the root; followed once the real tree is known.
struct FoundLink: Sendable {
    let path: [UInt8]
    let target: FileID
    let size: Int
    let isDirectory: Bool
    let isReadable: Bool
    /// Rules in force where the link sits, for walking a linked directory.
    let rules: IgnoreStack
}

struct FoundSkip: Sendable {
    let path: [UInt8]
    let reason: SkipReason
}

/// What reading one directory found.
struct Listing: Sendable {
    var files: [FoundFile] = []
    var skipped: [FoundSkip] = []
    var subdirectories: [DirectoryJob] = []
    var links: [FoundLink] = []
}

extension TreeWalk {
    /// Reads one directory: loads its ignore files, then sorts each entry into admitted,
    /// skipped, ignored, subdirectory or symlink. Each directory is read at most once.
    func list(_ job: DirectoryJob) -> Listing {
        var listing = Listing()
        let fd = Posix.withCString(absolute(job.path)) { open($0, O_RDONLY | O_DIRECTORY | O_CLOEXEC) }
        guard fd >= 0 else {
            listing.skipped.append(FoundSkip(path: Array(job.path.dropLast()), reason: .unreadable))
            return listing
        }
        var info = stat()
        guard fstat(fd, &info) == 0, claim(FileID(info)), let directory = fdopendir(fd) else {
            close(fd)
            return listing
        }
        defer { closedir(directory) }

        let nameOffset = MemoryLayout<dirent>.offset(of: \.d_name)!
        var entries: [(name: [UInt8], type: UInt8)] = []
        errno = 0
        while let entry = readdir(directory) {
            let namePointer = UnsafeRawPointer(entry).advanced(by: nameOffset).assumingMemoryBound(to: UInt8.self)
            let name = Array(UnsafeBufferPointer(start: namePointer, count: strlen(namePointer)))
            if name == [0x2E] || name == [0x2E, 0x2E] { continue }
            entries.append((name, entry.pointee.d_type))
        }
        if errno != 0 {
            // A read error part way: keep what was listed, but say the directory was not fully covered.
            listing.skipped.append(FoundSkip(path: Array(job.path.dropLast()), reason: .unreadable))
        }

        let rules = TreeWalk.rulesAdding(ignoreFilesIn: fd, entries: entries, to: job.rules, basePath: job.path, options: options)
        for (name, type) in entries where name != gitDirectoryName {
            classify(name: name, type: type, in: fd, job: job, rules: rules, into: &listing)
        }
        return listing
    }

    private func classify(
        name: [UInt8], type: UInt8, in fd: Int32, job: DirectoryJob, rules: IgnoreStack, into listing: inout Listing
    ) {
        let path = job.path + name
        var kind = type
        var info = stat()
        if kind == UInt8(DT_UNKNOWN) || kind == UInt8(DT_REG) {
            // Regular files need their size anyway; unknown types need the mode.
            guard Posix.withCString(name, { fstatat(fd, $0, &info, AT_SYMLINK_NOFOLLOW) }) == 0 else {
                listing.skipped.append(FoundSkip(path: path, reason: .unreadable))
                return
            }
            kind = Posix.isDirectory(info) ? UInt8(DT_DIR)
                : Posix.isRegular(info) ? UInt8(DT_REG)
                : Posix.isSymlink(info) ? UInt8(DT_LNK) : UInt8(DT_UNKNOWN)
        }
        let isIgnored = { (isDirectory: Bool) in
            path.withUnsafeBufferPointer { rules.isIgnored(path: $0, nameStart: job.path.count, isDirectory: isDirectory) }
        }

        switch kind {
        case UInt8(DT_DIR):
            if isIgnored(true) { return }
            guard TreeWalk.isUTF8(name) else {
                // Paths are handed on as Strings; a name that is not UTF-8 cannot be opened again.
                listing.skipped.append(FoundSkip(path: path, reason: .unreadable))
                return
            }
            listing.subdirectories.append(DirectoryJob(path: path + [slash], rules: rules))
        case UInt8(DT_REG):
            if isIgnored(false) { return }
            if let reason = admissionProblem(info, name: name) {
                listing.skipped.append(FoundSkip(path: path, reason: reason))
            } else {
                listing.files.append(FoundFile(path: path, size: Int(info.st_size), id: FileID(info)))
            }
        case UInt8(DT_LNK):
            classifyLink(path: path, name: name, in: fd, isIgnored: isIgnored, rules: rules, into: &listing)
        default:
            // FIFOs, sockets and devices hold no source, and opening a FIFO would block.
            return
        }
    }

    private func classifyLink(
        path: [UInt8], name: [UInt8], in fd: Int32, isIgnored: (Bool) -> Bool, rules: IgnoreStack,
        into listing: inout Listing
    ) {
        var target = stat()
        let resolves = Posix.withCString(name, { fstatat(fd, $0, &target, 0) }) == 0
        if isIgnored(resolves && Posix.isDirectory(target)) { return }
        guard resolves, let real = Posix.realPath(absolute(path)) else {
            // Dangling or looping: there is nothing to read.
            listing.skipped.append(FoundSkip(path: path, reason: .unreadable))
            return
        }
        guard let inside = pathInsideRoot(real) else {
            listing.skipped.append(FoundSkip(path: path, reason: .symlinkOutsideRoot))
            return
        }
        if inside.split(separator: slash).contains(where: { $0.elementsEqual(gitDirectoryName) }) { return }
        guard TreeWalk.isUTF8(name) else {
            listing.skipped.append(FoundSkip(path: path, reason: .unreadable))
            return
        }
        if Posix.isDirectory(target) || Posix.isRegular(target) {
            listing.links.append(FoundLink(
                path: path, target: FileID(target), size: Int(target.st_size),
                isDirectory: Posix.isDirectory(target), isReadable: reader.mayRead(target), rules: rules
            ))
        }
    }

    /// Why a regular file cannot be admitted, if it cannot.
    private func admissionProblem(_ info: stat, name: [UInt8]) -> SkipReason? {
        if !TreeWalk.isUTF8(name) { return .unreadable }
        if Int(info.st_size) > options.maxFileSize { return .tooLarge }
        if !reader.mayRead(info) { return .unreadable }
        return nil
    }

    static func isUTF8(_ name: [UInt8]) -> Bool {
        name.allSatisfy { $0 < 0x80 } || String(validating: name, as: UTF8.self) != nil
    }

    /// The rules for a directory: `inherited` plus the ignore files among its entries.
    static func rulesAdding(
        ignoreFilesIn fd: Int32, entries: [(name: [UInt8], type: UInt8)], to inherited: IgnoreStack, basePath: [UInt8],
        options: WalkOptions
    ) -> IgnoreStack {
        func load(_ name: [UInt8]) -> IgnoreRuleSet? {
            guard entries.contains(where: { $0.name == name && ($0.type == UInt8(DT_REG) || $0.type == UInt8(DT_UNKNOWN)) }),
                  let contents = readIgnoreFile(name, relativeTo: fd, limit: options.maxFileSize)
            else { return nil }
            return IgnoreRuleSet(contents: contents, baseLength: basePath.count)
        }
        let gitignore = options.useGitignore ? load(Array(".gitignore".utf8)) : nil
        let custom = options.ignoreFileNames.compactMap { load(Array($0.utf8)) }
        if gitignore == nil && custom.isEmpty { return inherited }
        return inherited.adding(gitignore: gitignore, custom: custom)
    }

    /// Reads an ignore file; like git (since 2.32) it does not follow a symlinked one.
    static func readIgnoreFile(_ name: [UInt8], relativeTo fd: Int32, limit: Int) -> [UInt8]? {
        let file = Posix.withCString(name) { openat(fd, $0, O_RDONLY | O_NOFOLLOW | O_CLOEXEC) }
        guard file >= 0 else { return nil }
        defer { close(file) }
        var info = stat()
        guard fstat(file, &info) == 0, Posix.isRegular(info),
              case .bytes(let contents) = Posix.readToEnd(file, expectedSize: Int(info.st_size), limit: limit)
        else { return nil }
        return contents
    }
}

let gitDirectoryName = Array(".git".utf8)
