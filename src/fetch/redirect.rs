//! Which redirects a fetch follows: at most [`MAX_REDIRECTS`], only to http(s), and never from a
//! public address to a private, loopback or link-local one (a feed must not be able to make
//! feedmerge fetch from the machine's own network) unless `[poll] allow_private_redirects`.
//! Sources the person configured on such addresses directly are allowed.
//!
//! Only literal addresses and `localhost` are recognised here; a public name that resolves to a
//! private address is not caught (that needs a resolver hook, left for later).

use std::net::IpAddr;

use url::{Host, Url};

pub const MAX_REDIRECTS: usize = 5;

/// Whether `url` names this machine or a private network.
fn private(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => {
            let d = d.trim_end_matches('.').to_ascii_lowercase();
            d == "localhost" || d.ends_with(".localhost")
        }
        Some(Host::Ipv4(ip)) => private_ip(IpAddr::V4(ip)),
        Some(Host::Ipv6(ip)) => private_ip(IpAddr::V6(ip)),
        None => true,
    }
}

fn private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            v4.is_private() || v4.is_loopback() || v4.is_link_local() || v4.is_unspecified() || v4.is_broadcast()
                // 100.64.0.0/10, carrier-grade NAT
                || (v4.octets()[0] == 100 && (v4.octets()[1] & 0xC0) == 64)
        }
        IpAddr::V6(v6) => {
            let first = v6.segments()[0];
            v6.is_loopback()
                || v6.is_unspecified()
                || (first & 0xFE00) == 0xFC00 // unique local
                || (first & 0xFFC0) == 0xFE80 // link local
                || v6.to_ipv4_mapped().is_some_and(|v4| private_ip(IpAddr::V4(v4)))
        }
    }
}

/// Why a redirect from `origin` (the configured URL) through `hops` earlier redirects to `to`
/// is refused, if it is.
pub fn refuse(origin: &Url, hops: usize, to: &Url, allow_private: bool) -> Option<String> {
    if hops >= MAX_REDIRECTS {
        return Some(format!("more than {MAX_REDIRECTS} redirects"));
    }
    if !matches!(to.scheme(), "http" | "https") {
        return Some(format!("a redirect to a {}: URL", to.scheme()));
    }
    if !allow_private && !private(origin) && private(to) {
        return Some(format!(
            "a redirect from a public address to a private one ({to}) was refused; set [poll] allow_private_redirects = true to allow it"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn public_to_private_schemes_and_loops_are_refused() {
        let public = u("https://news.example.com/feed");
        assert!(refuse(&public, 0, &u("https://cdn.example.net/feed"), false).is_none());
        for private in [
            "http://127.0.0.1/x",
            "http://10.1.2.3/x",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://localhost:8080/",
            "http://[fd00::1]/",
        ] {
            assert!(
                refuse(&public, 0, &u(private), false).is_some(),
                "{private}"
            );
            assert!(
                refuse(&public, 0, &u(private), true).is_none(),
                "{private} allowed by config"
            );
        }
        assert!(
            refuse(
                &u("http://127.0.0.1/feed"),
                0,
                &u("http://127.0.0.1/other"),
                false
            )
            .is_none(),
            "configured on loopback"
        );
        assert!(refuse(&public, 0, &u("file:///etc/passwd"), true)
            .unwrap()
            .contains("file:"));
        assert!(refuse(&public, 0, &u("ftp://example.com/feed"), true).is_some());
        assert!(
            refuse(&public, 5, &u("https://news.example.com/feed"), true)
                .unwrap()
                .contains("more than 5")
        );
    }
}
