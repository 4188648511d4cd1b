/// Every error Strata returns to an S3 client: an AWS error code, its HTTP status and a message.
public struct S3Error: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: S3ErrorCode
    public var message: String
    /// The bucket or `bucket/key` the error is about; filled in by the server when empty.
    public var resource: String?
    /// Extra elements AWS adds to some errors (e.g. `Key`, `BucketName`, `Condition`, `ActualObjectSize`).
    public var details: [(String, String)]
    /// Extra response headers (e.g. `Content-Range: bytes */size` on InvalidRange).
    public var headers: [(String, String)]

    public init(_ code: S3ErrorCode, _ message: String? = nil, resource: String? = nil, details: [(String, String)] = []) {
        self.code = code
        self.message = message ?? code.defaultMessage
        self.resource = resource
        self.details = details
        self.headers = []
    }

    public var status: Int { code.status }
    public var description: String { "\(code.rawValue): \(message)" }

    public static func == (lhs: S3Error, rhs: S3Error) -> Bool {
        lhs.code == rhs.code && lhs.message == rhs.message && lhs.resource == rhs.resource
    }

    public func with(header name: String, _ value: String) -> S3Error {
        var copy = self
        copy.headers.append((name, value))
        return copy
    }
}

/// S3 error codes with AWS's HTTP status and default message.
public enum S3ErrorCode: String, Sendable, CaseIterable {
    case accessDenied = "AccessDenied"
    case authorizationQueryParametersError = "AuthorizationQueryParametersError"
    case invalidAccessKeyId = "InvalidAccessKeyId"
    case signatureDoesNotMatch = "SignatureDoesNotMatch"
    case requestTimeTooSkewed = "RequestTimeTooSkewed"
    case authorizationHeaderMalformed = "AuthorizationHeaderMalformed"
    case badDigest = "BadDigest"
    case bucketAlreadyExists = "BucketAlreadyExists"
    case bucketAlreadyOwnedByYou = "BucketAlreadyOwnedByYou"
    case bucketNotEmpty = "BucketNotEmpty"
    case entityTooLarge = "EntityTooLarge"
    case entityTooSmall = "EntityTooSmall"
    case existingObjectIsDirectory = "ExistingObjectIsDirectory"
    case directoryObjectContainsData = "DirectoryObjectContainsData"
    case incompleteBody = "IncompleteBody"
    case internalError = "InternalError"
    case invalidArgument = "InvalidArgument"
    case invalidBucketName = "InvalidBucketName"
    case invalidDigest = "InvalidDigest"
    case invalidLocationConstraint = "InvalidLocationConstraint"
    case invalidPart = "InvalidPart"
    case invalidPartOrder = "InvalidPartOrder"
    case invalidPartNumber = "InvalidPartNumber"
    case invalidRange = "InvalidRange"
    case invalidRequest = "InvalidRequest"
    case invalidTag = "InvalidTag"
    case invalidURI = "InvalidURI"
    case keyTooLong = "KeyTooLongError"
    case malformedXML = "MalformedXML"
    case malformedPOSTRequest = "MalformedPOSTRequest"
    case invalidPolicyDocument = "InvalidPolicyDocument"
    case incorrectNumberOfFilesInPostRequest = "IncorrectNumberOfFilesInPostRequest"
    case maxPostPreDataLengthExceeded = "MaxPostPreDataLengthExceededError"
    case metadataTooLarge = "MetadataTooLarge"
    case methodNotAllowed = "MethodNotAllowed"
    case missingContentLength = "MissingContentLength"
    case missingRequestBody = "MissingRequestBodyError"
    case noSuchBucket = "NoSuchBucket"
    case noSuchKey = "NoSuchKey"
    case noSuchVersion = "NoSuchVersion"
    case illegalVersioningConfiguration = "IllegalVersioningConfigurationException"
    case noSuchTagSet = "NoSuchTagSet"
    case noSuchCORSConfiguration = "NoSuchCORSConfiguration"
    case noSuchWebsiteConfiguration = "NoSuchWebsiteConfiguration"
    case badRequest = "BadRequest"
    /// A browser's CORS preflight (or request) that no rule of the bucket allows.
    case corsForbidden = "AccessForbidden"
    case noSuchUpload = "NoSuchUpload"
    case notImplemented = "NotImplemented"
    case notModified = "NotModified"
    case objectParentIsFile = "ObjectParentIsFile"
    case preconditionFailed = "PreconditionFailed"
    case requestTimeout = "RequestTimeout"
    case serviceUnavailable = "ServiceUnavailable"
    case slowDown = "SlowDown"
    case xAmzContentSHA256Mismatch = "XAmzContentSHA256Mismatch"
    case invalidToken = "InvalidToken"
    case expiredToken = "ExpiredToken"
    case insufficientStorage = "InsufficientStorage"

    public var status: Int {
        switch self {
        case .accessDenied, .invalidAccessKeyId, .signatureDoesNotMatch, .requestTimeTooSkewed, .corsForbidden: 403
        case .noSuchBucket, .noSuchKey, .noSuchVersion, .noSuchTagSet, .noSuchUpload, .noSuchCORSConfiguration, .noSuchWebsiteConfiguration: 404
        case .methodNotAllowed: 405
        case .bucketAlreadyExists, .bucketAlreadyOwnedByYou, .bucketNotEmpty, .existingObjectIsDirectory,
            .objectParentIsFile:
            409
        case .missingContentLength: 411
        case .preconditionFailed: 412
        case .invalidRange, .invalidPartNumber: 416
        case .internalError: 500
        case .notImplemented: 501
        case .serviceUnavailable, .slowDown: 503
        case .insufficientStorage: 507
        case .notModified: 304
        default: 400
        }
    }

    public var defaultMessage: String {
        switch self {
        case .accessDenied: "Access Denied"
        case .authorizationQueryParametersError: "Error parsing the X-Amz-Credential parameter."
        case .invalidAccessKeyId: "The AWS Access Key Id you provided does not exist in our records."
        case .signatureDoesNotMatch:
            "The request signature we calculated does not match the signature you provided. Check your key and signing method."
        case .requestTimeTooSkewed: "The difference between the request time and the current time is too large."
        case .authorizationHeaderMalformed: "The authorization header you provided is invalid."
        case .badDigest: "The Content-MD5 you specified did not match what we received."
        case .bucketAlreadyExists:
            "The requested bucket name is not available. The bucket namespace is shared by all users of the system. Please select a "
                + "different name and try again."
        case .bucketAlreadyOwnedByYou: "Your previous request to create the named bucket succeeded and you already own it."
        case .bucketNotEmpty: "The bucket you tried to delete is not empty"
        case .entityTooLarge: "Your proposed upload exceeds the maximum allowed object size."
        case .entityTooSmall: "Your proposed upload is smaller than the minimum allowed object size."
        case .existingObjectIsDirectory: "Existing Object is a directory."
        case .directoryObjectContainsData: "Directory object contains data payload."
        case .incompleteBody: "You did not provide the number of bytes specified by the Content-Length HTTP header."
        case .internalError: "We encountered an internal error. Please try again."
        case .invalidArgument: "Invalid Argument"
        case .invalidBucketName: "The specified bucket is not valid."
        case .invalidDigest: "The Content-MD5 you specified is not valid."
        case .invalidLocationConstraint: "The specified location-constraint is not valid."
        case .invalidPart:
            "One or more of the specified parts could not be found. The part might not have been uploaded, or the specified entity tag "
                + "might not have matched the part's entity tag."
        case .invalidPartOrder: "The list of parts was not in ascending order. The parts list must be specified in order by part number."
        case .invalidRange: "The requested range is not satisfiable"
        case .invalidPartNumber: "The requested partnumber is not satisfiable"
        case .invalidRequest: "Invalid Request"
        case .invalidTag: "The tag provided was not a valid tag."
        case .invalidURI: "Couldn't parse the specified URI."
        case .keyTooLong: "Your key is too long"
        case .malformedXML: "The XML you provided was not well-formed or did not validate against our published schema"
        case .malformedPOSTRequest: "The body of your POST request is not well-formed multipart/form-data."
        case .invalidPolicyDocument: "The content of the form does not meet the conditions specified in the policy document."
        case .incorrectNumberOfFilesInPostRequest: "POST requires exactly one file upload per request."
        case .maxPostPreDataLengthExceeded: "Your POST request fields preceding the upload file were too large."
        case .metadataTooLarge: "Your metadata headers exceed the maximum allowed metadata size"
        case .methodNotAllowed: "The specified method is not allowed against this resource."
        case .missingContentLength: "You must provide the Content-Length HTTP header."
        case .missingRequestBody: "Request Body is empty"
        case .noSuchBucket: "The specified bucket does not exist"
        case .noSuchKey: "The specified key does not exist."
        case .noSuchTagSet: "The TagSet does not exist"
        case .noSuchCORSConfiguration: "The CORS configuration does not exist"
        case .noSuchWebsiteConfiguration: "The specified bucket does not have a website configuration"
        case .badRequest: "Bad Request"
        case .corsForbidden:
            "CORSResponse: This CORS request is not allowed. This is usually because the evaluation of Origin, request method / Access-Control-Request-Method or Access-Control-Request-Headers are not whitelisted by the resource's CORS spec."
        case .noSuchVersion: "The specified version does not exist."
        case .illegalVersioningConfiguration: "The versioning configuration specified in the request is invalid."
        case .noSuchUpload:
            "The specified upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed."
        case .notImplemented: "A header you provided implies functionality that is not implemented"
        case .notModified: "Not Modified"
        case .objectParentIsFile: "Object parent already exists as a file."
        case .preconditionFailed: "At least one of the pre-conditions you specified did not hold"
        case .requestTimeout: "Your socket connection to the server was not read from or written to within the timeout period."
        case .serviceUnavailable: "Please reduce your request rate."
        case .slowDown: "Please reduce your request rate."
        case .xAmzContentSHA256Mismatch: "The provided 'x-amz-content-sha256' header does not match what was computed."
        case .invalidToken: "The provided token is malformed or otherwise invalid."
        case .expiredToken: "The provided token has expired."
        case .insufficientStorage: "There is not enough free space on the server to store the object."
        }
    }
}
