//! Which redirects a fetch follows: at most [`MAX_REDIRECTS`], only to http(s), and never from a
//! public address to a private, loopback or link-local one (a feed must not be able to make
//! feedmerge fetch from the machine's own network) unless `[poll] allow_private_redirects`.
//! Sources the person configured on such addresses directly are allowed.
//!
//! Literal addresses and `localhost` are refused by [`refuse`] before any request. A host
//! *name* is checked when the connection is made: hops after a public origin go through a
//! client whose resolver is [`PublicOnly`], which hands the connector only the public addresses
//! a name resolves to. The addresses checked are the ones connected to, so a name that answers
//! public to one lookup and private to the next (DNS rebinding) gains nothing.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
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

/// Whether a fetch of `url` that connected to `remote` (when known) went to this machine or a
/// private network: the configured address, or the one its name resolved to.
pub fn origin_is_private(url: &Url, remote: Option<SocketAddr>) -> bool {
    private(url) || remote.is_some_and(|a| private_ip(a.ip()))
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

/// Why a redirect from the configured URL (private or not, see [`origin_is_private`]) through
/// `hops` earlier redirects to `to` is refused, if it is. A host name in `to` is checked later,
/// when it is connected to ([`PublicOnly`]).
pub fn refuse(origin_private: bool, hops: usize, to: &Url, allow_private: bool) -> Option<String> {
    if hops >= MAX_REDIRECTS {
        return Some(format!("more than {MAX_REDIRECTS} redirects"));
    }
    if !matches!(to.scheme(), "http" | "https") {
        return Some(format!("a redirect to a {}: URL", to.scheme()));
    }
    if !allow_private && !origin_private && private(to) {
        return Some(refusal(to.as_str()));
    }
    None
}

/// Whether hops after the first request must connect to public addresses only.
pub fn guard_hops(origin_private: bool, allow_private: bool) -> bool {
    !origin_private && !allow_private
}

fn refusal(what: &str) -> String {
    format!(
        "a redirect from a public address to a private one ({what}) was refused; set [poll] allow_private_redirects = true to allow it"
    )
}

/// The reason to log when the connection for a redirect to `to` failed because its name
/// resolved to private addresses only, else `None`.
pub fn refused_by_resolver(to: &Url, error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let private = find_private_name(error)?;
    Some(refusal(&format!("{to}: {private}")))
}

/// Walks an error's causes for [`PrivateName`]. `io::Error` hides a wrapped error from
/// `source()`, so it is looked into as well.
fn find_private_name<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a PrivateName> {
    let mut cause = Some(error);
    while let Some(e) = cause {
        if let Some(found) = e.downcast_ref::<PrivateName>() {
            return Some(found);
        }
        if let Some(found) = e
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|inner| inner.downcast_ref::<PrivateName>())
        {
            return Some(found);
        }
        cause = e.source();
    }
    None
}

/// A name that resolved to private, loopback or link-local addresses only.
#[derive(Debug, thiserror::Error)]
#[error("{host} resolves to {addresses} only")]
pub struct PrivateName {
    host: String,
    addresses: String,
}

/// The system's resolver (`getaddrinfo`, on tokio's blocking pool), as reqwest uses by default.
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// A resolver that passes on only the public addresses of what `inner` resolves, and fails
/// naming the host when none is left. The connector connects to what it returns, nothing else.
pub struct PublicOnly {
    inner: Arc<dyn Resolve>,
}

impl PublicOnly {
    pub fn new(inner: Arc<dyn Resolve>) -> PublicOnly {
        PublicOnly { inner }
    }
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let resolving = self.inner.resolve(name);
        Box::pin(async move {
            let (public, private): (Vec<SocketAddr>, Vec<SocketAddr>) =
                resolving.await?.partition(|a| !private_ip(a.ip()));
            if public.is_empty() && !private.is_empty() {
                let mut addresses: Vec<String> =
                    private.iter().map(|a| a.ip().to_string()).collect();
                addresses.dedup();
                let refused: Box<dyn std::error::Error + Send + Sync> = Box::new(PrivateName {
                    host,
                    addresses: addresses.join(", "),
                });
                return Err(refused);
            }
            Ok(Box::new(public.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn public_to_private_schemes_and_loops_are_refused() {
        let public = origin_is_private(&u("https://news.example.com/feed"), None);
        assert!(!public);
        assert!(refuse(public, 0, &u("https://cdn.example.net/feed"), false).is_none());
        for private in [
            "http://127.0.0.1/x",
            "http://10.1.2.3/x",
            "http://192.168.0.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/",
            "http://localhost:8080/",
            "http://[fd00::1]/",
        ] {
            assert!(refuse(public, 0, &u(private), false).is_some(), "{private}");
            assert!(
                refuse(public, 0, &u(private), true).is_none(),
                "{private} allowed by config"
            );
        }
        assert!(
            refuse(
                origin_is_private(&u("http://127.0.0.1/feed"), None),
                0,
                &u("http://127.0.0.1/other"),
                false
            )
            .is_none(),
            "configured on loopback"
        );
        assert!(refuse(public, 0, &u("file:///etc/passwd"), true)
            .unwrap()
            .contains("file:"));
        assert!(refuse(public, 0, &u("ftp://example.com/feed"), true).is_some());
        assert!(refuse(public, 5, &u("https://news.example.com/feed"), true)
            .unwrap()
            .contains("more than 5"));
    }

    #[test]
    fn an_origin_is_private_by_its_address_or_the_one_its_name_reached() {
        let named = u("http://intranet.corp/feed.xml");
        let at = |ip: &str| Some(SocketAddr::new(ip.parse().unwrap(), 80));
        assert!(!origin_is_private(&named, None));
        assert!(!origin_is_private(&named, at("93.184.216.34")));
        assert!(origin_is_private(&named, at("10.0.0.5")));
        assert!(origin_is_private(&named, at("fe80::1")));
        assert!(origin_is_private(&named, at("::ffff:192.168.1.1")));
        assert!(guard_hops(false, false));
        assert!(!guard_hops(true, false), "configured on a private address");
        assert!(!guard_hops(false, true), "allow_private_redirects");
    }

    /// Answers each name from a fixed table, as a DNS server (or an attacker's) would.
    struct Fixed(Vec<(&'static str, Vec<&'static str>)>);

    impl Resolve for Fixed {
        fn resolve(&self, name: Name) -> Resolving {
            let addrs: Vec<SocketAddr> = self
                .0
                .iter()
                .filter(|(host, _)| *host == name.as_str())
                .flat_map(|(_, ips)| ips.iter())
                .map(|ip| SocketAddr::new(ip.parse().unwrap(), 0))
                .collect();
            Box::pin(async move { Ok(Box::new(addrs.into_iter()) as Addrs) })
        }
    }

    fn public_only() -> PublicOnly {
        PublicOnly::new(Arc::new(Fixed(vec![
            ("loopback.test", vec!["127.0.0.1"]),
            ("private.test", vec!["10.20.30.40"]),
            ("link-local.test", vec!["fe80::1", "169.254.169.254"]),
            ("ula.test", vec!["fd12:3456::1"]),
            ("cgnat.test", vec!["100.64.1.1"]),
            ("unspecified.test", vec!["0.0.0.0"]),
            ("public.test", vec!["93.184.216.34", "2606:2800:220:1::1"]),
            ("mixed.test", vec!["127.0.0.1", "93.184.216.34", "10.0.0.1"]),
        ])))
    }

    async fn resolve(name: &str) -> Result<Vec<IpAddr>, String> {
        let name: Name = name.parse().unwrap();
        match public_only().resolve(name).await {
            Ok(addrs) => Ok(addrs.map(|a| a.ip()).collect()),
            Err(e) => {
                assert!(
                    find_private_name(&*e).is_some(),
                    "the refusal is recognisable: {e}"
                );
                Err(e.to_string())
            }
        }
    }

    #[tokio::test]
    async fn names_of_private_addresses_are_refused_naming_the_host() {
        assert_eq!(
            resolve("loopback.test").await.unwrap_err(),
            "loopback.test resolves to 127.0.0.1 only"
        );
        assert_eq!(
            resolve("private.test").await.unwrap_err(),
            "private.test resolves to 10.20.30.40 only"
        );
        assert_eq!(
            resolve("link-local.test").await.unwrap_err(),
            "link-local.test resolves to fe80::1, 169.254.169.254 only"
        );
        for name in ["ula.test", "cgnat.test", "unspecified.test"] {
            assert!(resolve(name).await.is_err(), "{name}");
        }
    }

    #[tokio::test]
    async fn only_the_public_addresses_of_a_name_are_connected_to() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(
            resolve("public.test").await.unwrap(),
            vec![ip("93.184.216.34"), ip("2606:2800:220:1::1")]
        );
        assert_eq!(
            resolve("mixed.test").await.unwrap(),
            vec![ip("93.184.216.34")],
            "a name that mixes in private addresses never reaches them"
        );
    }

    #[test]
    fn a_refusal_is_found_through_io_errors_and_named_with_the_redirect() {
        let refused = PrivateName {
            host: "private.test".into(),
            addresses: "10.0.0.1".into(),
        };
        let wrapped = std::io::Error::other(refused);
        let why = refused_by_resolver(&u("http://private.test/feed"), &wrapped).unwrap();
        assert!(
            why.contains("(http://private.test/feed: private.test resolves to 10.0.0.1 only)")
                && why.contains("allow_private_redirects"),
            "{why}"
        );
        let other = std::io::Error::other("connection refused");
        assert!(refused_by_resolver(&u("http://x.test/"), &other).is_none());
    }

    /// Through reqwest itself: the refusal comes back from `send()` recognisable, before any
    /// connection (nothing listens on the addresses used).
    #[tokio::test]
    async fn the_guarded_client_refuses_a_private_name_and_says_why() {
        super::super::install_tls_provider();
        let limits = super::super::Limits::from(&crate::config::Poll::default());
        let client = super::super::build_client(&limits, Some(public_only())).unwrap();
        let to = u("http://private.test:9/feed.xml");
        let error = client.get(to.clone()).send().await.unwrap_err();
        let why = refused_by_resolver(&to, &error).unwrap_or_else(|| panic!("{error:?}"));
        assert!(
            why.contains("private.test resolves to 10.20.30.40 only"),
            "{why}"
        );
    }

    /// Carrier-grade NAT is 100.64.0.0/10 exactly: its neighbours in 100.0.0.0/8, and other
    /// networks whose second octet falls in 64-127, are public.
    #[test]
    fn carrier_grade_nat_is_100_64_0_0_slash_10_and_no_wider() {
        let private = |s: &str| origin_is_private(&u(s), None);
        assert!(private("http://100.64.0.1/"));
        assert!(private("http://100.127.255.254/"));
        assert!(!private("http://100.63.255.254/"));
        assert!(!private("http://100.128.0.1/"));
        assert!(!private("http://8.64.0.1/"));
    }
}
