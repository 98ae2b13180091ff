package http

import "fmt"

// Error is a protocol failure at the boundary, typed with the status a server
// answers it with (house rule 8): 400 for malformed syntax or ambiguous
// framing, 413 for a body over the limit, 414 for a request-target too long,
// 431 for a header block too large, 501 for an unknown transfer coding, 505
// for an unsupported HTTP version. After an Error the byte stream can no
// longer be trusted: answer, then close the connection.
type Error struct {
	// Status is the HTTP status code to answer with.
	Status int
	// Reason says what was wrong, for logs and the error page.
	Reason string
}

// Error formats the status and the reason.
func (e *Error) Error() string {
	return fmt.Sprintf("http: %d %s: %s", e.Status, StatusText(e.Status), e.Reason)
}

func errorf(status int, format string, args ...any) *Error {
	return &Error{Status: status, Reason: fmt.Sprintf(format, args...)}
}

func badRequest(reason string) *Error { return &Error{Status: StatusBadRequest, Reason: reason} }

// Status codes used by this package and its users.
const (
	StatusContinue                    = 100
	StatusOK                          = 200
	StatusNoContent                   = 204
	StatusPartialContent              = 206
	StatusMovedPermanently            = 301
	StatusNotModified                 = 304
	StatusBadRequest                  = 400
	StatusForbidden                   = 403
	StatusNotFound                    = 404
	StatusMethodNotAllowed            = 405
	StatusRequestTimeout              = 408
	StatusLengthRequired              = 411
	StatusPreconditionFailed          = 412
	StatusContentTooLarge             = 413
	StatusURITooLong                  = 414
	StatusRangeNotSatisfiable         = 416
	StatusRequestHeaderFieldsTooLarge = 431
	StatusInternalServerError         = 500
	StatusNotImplemented              = 501
	StatusBadGateway                  = 502
	StatusServiceUnavailable          = 503
	StatusGatewayTimeout              = 504
	StatusHTTPVersionNotSupported     = 505
)

// StatusText returns the reason phrase for code (RFC 9110 §15), or "Status"
// for codes it does not know.
func StatusText(code int) string {
	switch code {
	case 100:
		return "Continue"
	case 200:
		return "OK"
	case 201:
		return "Created"
	case 202:
		return "Accepted"
	case 204:
		return "No Content"
	case 206:
		return "Partial Content"
	case 301:
		return "Moved Permanently"
	case 302:
		return "Found"
	case 303:
		return "See Other"
	case 304:
		return "Not Modified"
	case 307:
		return "Temporary Redirect"
	case 308:
		return "Permanent Redirect"
	case 400:
		return "Bad Request"
	case 401:
		return "Unauthorized"
	case 403:
		return "Forbidden"
	case 404:
		return "Not Found"
	case 405:
		return "Method Not Allowed"
	case 406:
		return "Not Acceptable"
	case 408:
		return "Request Timeout"
	case 411:
		return "Length Required"
	case 412:
		return "Precondition Failed"
	case 413:
		return "Content Too Large"
	case 414:
		return "URI Too Long"
	case 416:
		return "Range Not Satisfiable"
	case 417:
		return "Expectation Failed"
	case 431:
		return "Request Header Fields Too Large"
	case 500:
		return "Internal Server Error"
	case 501:
		return "Not Implemented"
	case 502:
		return "Bad Gateway"
	case 503:
		return "Service Unavailable"
	case 504:
		return "Gateway Timeout"
	case 505:
		return "HTTP Version Not Supported"
	}
	return "Status"
}
