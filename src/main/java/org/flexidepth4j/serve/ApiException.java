package org.flexidepth4j.serve;

/** A request the server refuses: the HTTP status and OpenAI's error type and code to answer with. */
final class ApiException extends RuntimeException {
    final int status;
    final String type;
    final String code;
    /** Seconds the client should wait before retrying (429/503), or 0. */
    final int retryAfter;

    ApiException(int status, String type, String code, String message, int retryAfter) {
        super(message);
        this.status = status;
        this.type = type;
        this.code = code;
        this.retryAfter = retryAfter;
    }

    static ApiException badRequest(String message) {
        return new ApiException(400, "invalid_request_error", null, message, 0);
    }

    static ApiException badRequest(String code, String message) {
        return new ApiException(400, "invalid_request_error", code, message, 0);
    }
}
