// Owned by the other-ecosystems lockfile helper.
extension Lockfiles {
    static let otherParsers: [any LockfileParser] = [
        GoModParser(),
        CargoLockParser(),
        GemfileLockParser(),
        ComposerLockParser(),
        MavenPomParser(),
        GradleLockfileParser(),
        GradleVerificationMetadataParser(),
        NuGetPackagesLockParser(),
        MixLockParser(),
        PubspecLockParser(),
        ConanLockParser(),
        SwiftPackageResolvedParser(),
        PodfileLockParser(),
        RenvLockParser(),
    ]
}
