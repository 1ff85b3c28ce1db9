// Owned by the JavaScript/Python lockfile helper.
extension Lockfiles {
    static let javaScriptAndPythonParsers: [any LockfileParser] = [
        PackageLockParser(),
        YarnLockParser(),
        PnpmLockParser(),
        BunLockParser(),
        RequirementsTxtParser(),
        PipfileLockParser(),
        PoetryLockParser(),
        UvLockParser(),
        PdmLockParser(),
        PylockParser(),
    ]
}
