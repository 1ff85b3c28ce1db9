import Foundation
import Testing
@testable import VegaArtifacts

/// The signer against AWS's published expected values. A signature only matches when the
/// canonical request, the string to sign, the key derivation and the final HMAC are all
/// right, byte for byte.
@Suite struct SigV4Tests {
    /// AWS Signature Version 4 test suite (aws-sig-v4-test-suite, dated 2015-08-30, as shipped
    /// in AWS's docs and SDKs' test folders, e.g. awslabs/aws-c-auth
    /// tests/aws-signing-test-suite/v4/): these credentials, region us-east-1, service
    /// "service", host example.amazonaws.com, at 20150830T123600Z.
    static let suite = SigV4Signer(
        credentials: .init(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "service"
    )
    static let suiteDate = Date(timeIntervalSince1970: 1_440_938_160)  // 2015-08-30T12:36:00Z
    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static func authorization(_ signer: SigV4Signer, _ request: SigV4Signer.Request, at date: Date) -> String? {
        signer.sign(request, at: date).first { $0.name == "authorization" }?.value
    }

    static func signature(_ signer: SigV4Signer, _ request: SigV4Signer.Request, at date: Date) -> String? {
        authorization(signer, request, at: date)?.components(separatedBy: "Signature=").last
    }

    @Test func getVanilla() {
        // get-vanilla: GET / with only host and x-amz-date.
        let request = SigV4Signer.Request(method: "GET", path: "/", headers: [("Host", "example.amazonaws.com")], payloadSHA256: Self.emptySHA256)
        #expect(Self.authorization(Self.suite, request, at: Self.suiteDate) ==
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, "
            + "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
        // get-vanilla.creq and its SHA-256 in get-vanilla.sts.
        var dated = request
        dated.headers.append(("X-Amz-Date", "20150830T123600Z"))
        let canonical = Self.suite.canonicalRequest(dated)
        #expect(canonical == "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n\(Self.emptySHA256)")
        #expect(SigV4Signer.sha256Hex(Data(canonical.utf8)) == "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63")
    }

    @Test func otherSuiteCases() {
        let host = [(name: "Host", value: "example.amazonaws.com")]
        // get-vanilla-query-order-key-case: the query is sorted by name before signing.
        let query = SigV4Signer.Request(method: "GET", path: "/", query: [("Param2", "value2"), ("Param1", "value1")], headers: host,
                                        payloadSHA256: Self.emptySHA256)
        #expect(Self.signature(Self.suite, query, at: Self.suiteDate) == "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500")
        #expect(query.encodedPathAndQuery == "/?Param1=value1&Param2=value2")
        // post-vanilla: a POST without a body signs the empty string's hash.
        let post = SigV4Signer.Request(method: "POST", path: "/", headers: host, payloadSHA256: Self.emptySHA256)
        #expect(Self.signature(Self.suite, post, at: Self.suiteDate) == "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b")
        // get-utf8: the path's UTF-8 bytes are percent-encoded (ሴ → %E1%88%B4).
        let utf8 = SigV4Signer.Request(method: "GET", path: "/ሴ", headers: host, payloadSHA256: Self.emptySHA256)
        #expect(Self.signature(Self.suite, utf8, at: Self.suiteDate) == "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85")
    }

    /// Amazon S3 API Reference, "Signature Calculations for the Authorization Header:
    /// Transferring Payload in a Single Chunk (AWS Signature Version 4)" — its example
    /// requests to examplebucket at 20130524T000000Z, with these example credentials.
    static let s3Example = SigV4Signer(
        credentials: .init(accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1", service: "s3"
    )
    static let s3Date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z

    @Test func s3DocumentationExamples() {
        let host = ("host", "examplebucket.s3.amazonaws.com")
        // GET Object with a Range header.
        let get = SigV4Signer.Request(method: "GET", path: "/test.txt",
                                      headers: [host, ("range", "bytes=0-9"), ("x-amz-content-sha256", Self.emptySHA256)],
                                      payloadSHA256: Self.emptySHA256)
        #expect(Self.signature(Self.s3Example, get, at: Self.s3Date) == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
        // PUT Object: the payload's SHA-256 is signed, and `$` in the key is encoded as %24.
        let body = SigV4Signer.sha256Hex(Data("Welcome to Amazon S3.".utf8))
        #expect(body == "44ce7dd67c959e0d3524ffac1771dfbba87d2b6b4b4e99e42034a8b803f8b072")
        let put = SigV4Signer.Request(method: "PUT", path: "/test$file.text", headers: [
            ("Date", "Fri, 24 May 2013 00:00:00 GMT"), host, ("x-amz-content-sha256", body), ("x-amz-storage-class", "REDUCED_REDUNDANCY"),
        ], payloadSHA256: body)
        #expect(Self.authorization(Self.s3Example, put, at: Self.s3Date) ==
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
            + "SignedHeaders=date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class, "
            + "Signature=98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd")
        #expect(put.encodedPathAndQuery == "/test%24file.text")
        // GET Bucket (list objects) with a query.
        let list = SigV4Signer.Request(method: "GET", path: "/", query: [("max-keys", "2"), ("prefix", "J")],
                                       headers: [host, ("x-amz-content-sha256", Self.emptySHA256)], payloadSHA256: Self.emptySHA256)
        #expect(Self.signature(Self.s3Example, list, at: Self.s3Date) == "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    }

    @Test func sessionTokenIsSignedAndSecretsAreNotShown() {
        var credentials = SigV4Signer.Credentials(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
        credentials.sessionToken = "session-token-value"
        let signer = SigV4Signer(credentials: credentials, region: "us-east-1", service: "s3")
        let request = SigV4Signer.Request(method: "GET", path: "/", headers: [("host", "h.test")], payloadSHA256: Self.emptySHA256)
        let headers = signer.sign(request, at: Self.suiteDate)
        #expect(headers.contains { $0 == ("x-amz-security-token", "session-token-value") })
        #expect(headers.first { $0.name == "authorization" }?.value.contains("SignedHeaders=host;x-amz-date;x-amz-security-token,") == true)
        #expect("\(credentials)" == "access key AKIDEXAMPLE")
        #expect(headers.allSatisfy { !$0.value.contains(credentials.secretAccessKey) })
    }

    @Test func encodingFollowsSigV4() {
        #expect(SigV4Signer.encode("a b+c/d~e", keepingSlashes: false) == "a%20b%2Bc%2Fd~e")
        #expect(SigV4Signer.encode("ten_1/scn_2/report.sarif", keepingSlashes: true) == "ten_1/scn_2/report.sarif")
        #expect(SigV4Signer.canonicalQuery([("prefix", "a/"), ("list-type", "2")]) == "list-type=2&prefix=a%2F")
    }
}
