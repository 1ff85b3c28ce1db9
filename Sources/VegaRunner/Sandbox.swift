import Foundation

/// bubblewrap's command line for a runner: no network, no other processes visible, no
/// capabilities, the host's files read-only, the data folder and home directories hidden
/// (the database, artifacts and credentials live there), and only the workspace writable.
struct Sandbox: Sendable {
    let bubblewrap: String

    /// bubblewrap on PATH, if installed.
    static func find(path: String? = ProcessInfo.processInfo.environment["PATH"]) -> Sandbox? {
        for directory in (path ?? "/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/bwrap"
            if FileManager.default.isExecutableFile(atPath: candidate) { return Sandbox(bubblewrap: candidate) }
        }
        return nil
    }

    func command(
        _ runner: [String], executable: String, workspace: String, dataDirectory: String, advisories: String
    ) -> [String] {
        var arguments = [
            bubblewrap, "--unshare-all", "--die-with-parent", "--cap-drop", "ALL",
            "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc",
        ]
        // Mounts apply in order: hide, show again what the runner needs, then hide the data
        // folder, which must stay hidden even when it lies inside the executable's folder.
        let hidden = ["/tmp", "/root", "/home"].filter { FileManager.default.fileExists(atPath: $0) }
        for folder in hidden { arguments += ["--tmpfs", folder] }
        // The executable's folder (the binary and its resource bundles), when one of those hid it.
        let executableFolder = (executable as NSString).deletingLastPathComponent
        if hidden.contains(where: { Self.contains($0, executable) }) { arguments += ["--ro-bind", executableFolder, executableFolder] }
        arguments += ["--tmpfs", dataDirectory]
        if FileManager.default.fileExists(atPath: advisories) { arguments += ["--ro-bind", advisories, advisories] }
        arguments += ["--bind", workspace, workspace, "--chdir", workspace, "--"]
        return arguments + runner
    }

    static func contains(_ folder: String, _ path: String) -> Bool {
        let folder = folder.hasSuffix("/") ? folder : folder + "/"
        return path.hasPrefix(folder)
    }
}
