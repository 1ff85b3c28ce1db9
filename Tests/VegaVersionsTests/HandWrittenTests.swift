import Testing
import VegaModel
import VegaVersions

/// Asserts that `versions` is strictly increasing in `ecosystem`, checking every pair both ways.
private func expectAscending(_ versions: [String], in ecosystem: Ecosystem, sourceLocation: SourceLocation = #_sourceLocation) {
    for i in versions.indices {
        for j in versions.indices {
            let expected = i < j ? -1 : (i == j ? 0 : 1)
            let actual = VersionOrder.compare(versions[i], versions[j], in: ecosystem).map { $0.signum() }
            #expect(actual == expected, "\(versions[i]) vs \(versions[j]) in \(ecosystem)", sourceLocation: sourceLocation)
        }
    }
}

private func expectEqual(_ pairs: [(String, String)], in ecosystem: Ecosystem, sourceLocation: SourceLocation = #_sourceLocation) {
    for (a, b) in pairs {
        #expect(VersionOrder.compare(a, b, in: ecosystem) == 0, "\(a) = \(b) in \(ecosystem)", sourceLocation: sourceLocation)
        #expect(VersionOrder.compare(b, a, in: ecosystem) == 0, "\(b) = \(a) in \(ecosystem)", sourceLocation: sourceLocation)
    }
}

struct SemVerEcosystemTests {
    @Test func npmFollowsSemVerPrecedence() {
        // SemVer 2.0.0 §11's own example, then the usual traps.
        expectAscending(
            ["1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta", "1.0.0-beta.2", "1.0.0-beta.11",
             "1.0.0-rc.1", "1.0.0", "1.0.1", "1.1.0", "1.10.0", "2.0.0-0", "2.0.0"],
            in: .npm)
        expectEqual([("v1.2.3", "1.2.3"), ("=1.2.3", "1.2.3"), ("1.2.3+build.5", "1.2.3"), ("1.2.3-rc.1+a", "1.2.3-rc.1+b"), (" 1.2.3 ", "1.2.3")], in: .npm)
    }

    @Test func npmRejectsWhatIsNotAVersion() {
        for junk in ["", "latest", "*", "next", "x"] {
            #expect(VersionOrder.compare(junk, "1.0.0", in: .npm) == nil, "\(junk)")
        }
    }

    @Test func goPseudoVersionsOrderAsPrereleases() {
        expectAscending(
            ["v0.0.0-20191109021931-daa7c04131f5", "v0.0.0-20200101000000-0123456789ab", "v0.1.0",
             "v1.2.3", "v1.2.4-0.20191109021931-daa7c04131f5", "v1.2.4-0.20211231235959-fedcba987654",
             "v1.2.4-pre", "v1.2.4-pre.0.20220101000000-abcdefabcdef", "v1.2.4", "v1.10.0"],
            in: .go)
    }

    @Test func goIgnoresIncompatible() {
        expectEqual([("v2.0.0+incompatible", "v2.0.0"), ("v3.1.0+incompatible", "3.1.0")], in: .go)
        expectAscending(["v2.0.0+incompatible", "v2.0.1+incompatible", "v2.1.0"], in: .go)
    }

    @Test func cratesIOFollowsSemVer() {
        expectAscending(["0.1.0", "0.1.10", "0.2.0-alpha.0", "0.2.0-alpha.1", "0.2.0", "0.10.0", "1.0.0-rc.1", "1.0.0"], in: .cratesIO)
        expectEqual([("1.0.0+20230101", "1.0.0"), ("0.3.0", "0.3.0+x")], in: .cratesIO)
    }

    @Test func hexFollowsSemVer() {
        expectAscending(["0.9.9", "0.10.0-dev", "0.10.0-rc.0", "0.10.0-rc.10", "0.10.0", "1.0.0"], in: .hex)
        expectEqual([("1.14.0+build", "1.14.0")], in: .hex)
    }

    @Test func nugetHasFourPartsAndCaseInsensitiveLabels() {
        expectAscending(["1.0.0", "1.0.0.1-beta", "1.0.0.1", "1.0.1", "4.5.0-preview.1", "4.5.0"], in: .nuget)
        expectEqual([("1.0", "1.0.0.0"), ("1.0.0-BETA", "1.0.0-beta"), ("1.0.0+meta", "1.0.0")], in: .nuget)
    }

    @Test func pubOrdersBuildMetadata() {
        expectAscending(["1.0.0-dev", "1.0.0", "1.0.0+1", "1.0.0+2", "1.0.0+10", "1.0.0+a", "1.0.1"], in: .pub)
    }
}

struct OtherEcosystemTests {
    @Test func pypiNormalisesSpellings() {
        expectEqual([("1.0.0a1", "1.0.0-alpha.1"), ("1.0rc1", "1.0c1"), ("1.0.post1", "1.0-1"), ("1.0.dev0", "1.0-dev"), ("1!1.0", "v1!1.0.0"), ("1.0+Local.7", "1.0+local-7")], in: .pypi)
        expectAscending(["trunk", "0.1", "1.0.dev0", "1.0a1", "1.0b2.post1", "1.0rc1", "1.0", "1.0+local", "1.0.post1", "1!0.1"], in: .pypi)
    }

    @Test func mavenQualifiers() {
        expectAscending(["1.0-alpha-1", "1.0-beta-1", "1.0-milestone-1", "1.0-rc-1", "1.0-SNAPSHOT", "1.0", "1.0-sp-1", "1.0-abc", "1.0-1", "1.0.1"], in: .maven)
        expectEqual([("5.3.18.RELEASE", "5.3.18"), ("1.0.Final", "1"), ("1.0-cr1", "1.0-RC1"), ("1a1", "1-alpha-1")], in: .maven)
    }

    @Test func rubyGemsPrereleases() {
        expectAscending(["1.0.0.pre", "1.0.0.rc1", "1.0.0", "1.0.0.1", "1.0.1", "1.10"], in: .rubyGems)
        expectEqual([("1.0", "1.0.0"), ("1.0.0-rc1", "1.0.0.pre.rc1")], in: .rubyGems)
        #expect(VersionOrder.compare("abc", "1.0", in: .rubyGems) == nil)
    }

    @Test func packagistSpecialForms() {
        expectAscending(["1.0.0-dev", "1.0.0-alpha1", "1.0.0-beta2", "1.0.0-RC1", "1.0.0", "1.0.0-pl1", "1.0.1"], in: .packagist)
        expectEqual([("v2.4.1", "2.4.1"), ("1.0.0-rc1", "1.0.0RC1")], in: .packagist)
    }

    @Test func distributions() {
        expectAscending(["1.0~rc1-1", "1.0-1", "1.0-1ubuntu1", "1.0-2", "1:0.5-1"], in: .debian)
        expectAscending(["1.0~rc1-1.el9", "1.0-1.el9", "1.0-1.el9_1", "1.0^git1-1.el9", "1:0.5-1"], in: .redHat)
        expectAscending(["1.2.3_rc1-r0", "1.2.3-r0", "1.2.3-r1", "1.2.3_p1-r0", "1.2.4-r0"], in: .alpine)
        #expect(VersionOrder.compare("1.0-", "1.0", in: .debian) == nil)
        #expect(VersionOrder.compare("x:1.0", "1.0", in: .debian) == nil)
    }

    @Test func numericEcosystems() {
        expectAscending(["0.9", "0.75", "1.0", "1.0-0", "1.0.1"], in: .cran)
        expectAscending(["0.1", "1.0", "1.0.0", "1.0.0.1", "1.2"], in: .hackage)
        #expect(VersionOrder.compare("1.0-beta", "1.0", in: .hackage) == nil)
        #expect(VersionOrder.compare("1.a", "1.0", in: .cran) == nil)
    }
}

struct DispatchTests {
    @Test func supportedEcosystems() {
        let supported: [Ecosystem] = [.npm, .pypi, .go, .cratesIO, .rubyGems, .packagist, .maven, .nuget, .hex, .pub,
                                      .cran, .hackage, .debian, .alpine, .redHat, .swiftURL, .conanCenter]
        for ecosystem in supported { #expect(VersionOrder.supports(ecosystem), "\(ecosystem)") }
        for ecosystem in [Ecosystem.cocoaPods, Ecosystem("GIT"), Ecosystem("Unknown")] {
            #expect(!VersionOrder.supports(ecosystem), "\(ecosystem)")
            #expect(VersionOrder.compare("1.0", "2.0", in: ecosystem) == nil)
        }
    }

    @Test func releaseQualifiedEcosystemsUseTheirFamily() {
        #expect(VersionOrder.compare("1.0~rc1", "1.0", in: Ecosystem("Debian:12")) == -1)
        #expect(VersionOrder.compare("1.0~rc1", "1.0", in: Ecosystem("Ubuntu:22.04:LTS")) == -1)
        #expect(VersionOrder.compare("1.0_rc1-r0", "1.0-r0", in: Ecosystem("Alpine:v3.19")) == -1)
        #expect(!VersionOrder.supports(Ecosystem(":12")))
    }

    @Test func emptyVersionsAreUnparseable() {
        for ecosystem: Ecosystem in [.npm, .pypi, .maven, .rubyGems, .packagist, .debian, .redHat, .alpine, .cran, .hackage, .nuget, .pub] {
            #expect(VersionOrder.compare("", "1.0", in: ecosystem) == nil, "\(ecosystem)")
        }
    }
}
