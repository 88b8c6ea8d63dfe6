//! What every request is checked for before any route is looked at: its method and its
//! `Host` (RFC 9110 §9.1, RFC 9112 §3.2), answered the same on both paths (the live path asks
//! [`valid_host`] too).

use bytes::Bytes;

use super::FeedBody;

/// The answers given before any route is looked at, the same for every target:
///
/// - `400` to a request without exactly one valid `Host` (an HTTP/1.0 one may have none),
///   RFC 9112 §3.2; the connection is closed after it, as nothing it says can be trusted.
/// - `501` to a method RFC 9110 (or RFC 5789, PATCH) does not define (§9.1); the routes
///   answer `405` to those they define but do not allow.
/// - `200` to `OPTIONS *`, the server as a whole (§9.3.7).
pub(super) fn before_routing<B>(
    req: &axum::http::Request<B>,
) -> Option<axum::http::Response<FeedBody>> {
    use axum::http::{header, Method, StatusCode, Version};
    let answer = |status: StatusCode, text: &'static str| {
        let mut response = axum::http::Response::new(FeedBody::Bytes(
            (req.method() != Method::HEAD).then(|| Bytes::from_static(text.as_bytes())),
        ));
        *response.status_mut() = status;
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        headers.insert(header::CONTENT_LENGTH, text.len().into());
        response
    };
    let mut hosts = 0;
    let mut valid = true;
    for host in req.headers().get_all(header::HOST) {
        hosts += 1;
        valid &= valid_host(host.as_bytes());
    }
    if hosts > 1 || !valid || (hosts == 0 && req.version() == Version::HTTP_11) {
        let mut response = answer(
            StatusCode::BAD_REQUEST,
            "a request needs one valid Host header (RFC 9112 section 3.2)\n",
        );
        response.headers_mut().insert(
            header::CONNECTION,
            header::HeaderValue::from_static("close"),
        );
        return Some(response);
    }
    let method = req.method();
    if !KNOWN_METHODS.contains(method) {
        return Some(answer(
            StatusCode::NOT_IMPLEMENTED,
            "this server implements GET, HEAD and OPTIONS\n",
        ));
    }
    if method == Method::OPTIONS && req.uri().path() == "*" {
        let mut response = axum::http::Response::new(FeedBody::Bytes(None));
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static(ALLOW));
        response.headers_mut().insert(
            header::CONTENT_LENGTH,
            header::HeaderValue::from_static("0"),
        );
        return Some(response);
    }
    None
}

/// The methods RFC 9110 defines, and PATCH (RFC 5789): any other gets `501`.
const KNOWN_METHODS: [axum::http::Method; 9] = [
    axum::http::Method::GET,
    axum::http::Method::HEAD,
    axum::http::Method::POST,
    axum::http::Method::PUT,
    axum::http::Method::DELETE,
    axum::http::Method::CONNECT,
    axum::http::Method::OPTIONS,
    axum::http::Method::TRACE,
    axum::http::Method::PATCH,
];

/// The methods every resource here allows, as `Allow` lists them.
pub(super) const ALLOW: &str = "GET, HEAD, OPTIONS";

/// Whether `value` is a valid `Host` (RFC 9112 §3.2: `uri-host [ ":" port ]`, RFC 3986
/// §3.2.2): an IP literal in brackets, or a reg-name (which covers IPv4 addresses) of
/// unreserved characters, percent-escapes and sub-delims; empty is valid.
pub(super) fn valid_host(value: &[u8]) -> bool {
    let (host_ok, port) = match value.strip_prefix(b"[") {
        Some(literal) => {
            let Some(end) = literal.iter().position(|&b| b == b']') else {
                return false;
            };
            let port = match &literal[end + 1..] {
                [] => &[][..],
                [b':', port @ ..] => port,
                _ => return false,
            };
            (ip_literal(&literal[..end]), port)
        }
        None => {
            let (host, port) = match value.iter().position(|&b| b == b':') {
                Some(colon) => (&value[..colon], &value[colon + 1..]),
                None => (value, &[][..]),
            };
            (reg_name(host), port)
        }
    };
    host_ok && port.iter().all(u8::is_ascii_digit)
}

/// `IPv6address / IPvFuture` (RFC 3986 §3.2.2), without the brackets.
fn ip_literal(text: &[u8]) -> bool {
    if let [b'v' | b'V', rest @ ..] = text {
        let Some(dot) = rest.iter().position(|&b| b == b'.') else {
            return false;
        };
        return dot > 0
            && rest[..dot].iter().all(u8::is_ascii_hexdigit)
            && rest.len() > dot + 1
            && rest[dot + 1..]
                .iter()
                .all(|&b| unreserved(b) || sub_delim(b) || b == b':');
    }
    std::str::from_utf8(text).is_ok_and(|t| t.parse::<std::net::Ipv6Addr>().is_ok())
}

/// `*( unreserved / pct-encoded / sub-delims )`.
fn reg_name(text: &[u8]) -> bool {
    let mut i = 0;
    while i < text.len() {
        let b = text[i];
        if b == b'%' {
            if !text
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit))
            {
                return false;
            }
            i += 3;
            continue;
        }
        if !unreserved(b) && !sub_delim(b) {
            return false;
        }
        i += 1;
    }
    true
}

fn unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

#[cfg(test)]
mod tests {
    use super::valid_host;

    #[test]
    fn hosts() {
        for (host, valid) in [
            ("example.org", true),
            ("example.org:8080", true),
            ("127.0.0.1:80", true),
            ("[::1]:8080", true),
            ("[::1]", true),
            ("[v1.x]", true),
            ("", true),
            ("a%20b", true),
            ("exa mple.org", false),
            ("a@b", false),
            ("a:b", false),
            ("a:80:80", false),
            ("[::1", false),
            ("[::g]", false),
            ("[::1]x", false),
            ("a%2", false),
            ("a/b", false),
        ] {
            assert_eq!(valid_host(host.as_bytes()), valid, "{host:?}");
        }
    }
}
