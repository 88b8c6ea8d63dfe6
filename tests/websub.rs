//! WebSub: feeds advertise the hub, and the daemon pings it for exactly the feeds that changed,
//! retrying when the hub fails.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::Router;

use crate::feeds::rss as rss_doc;
use crate::support::origin::Origin;
use crate::support::process::{write_config, Daemon};
use crate::support::{get, rss_titles, wait_for};

const BASE: &str = "https://news.example/";

/// One notification the hub received: when, the topic, what it answered.
#[derive(Debug, Clone)]
struct Ping {
    at: Instant,
    mode: String,
    topic: String,
    status: u16,
}

#[derive(Default)]
struct HubState {
    pings: Vec<Ping>,
    /// How many requests to refuse with 503 before accepting.
    refuse: usize,
}

/// A WebSub hub on 127.0.0.1:0 that records publish notifications.
struct Hub {
    url: String,
    state: Arc<Mutex<HubState>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn receive(State(state): State<Arc<Mutex<HubState>>>, body: String) -> StatusCode {
    let form: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let field = |k: &str| {
        form.iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let mut s = state.lock().unwrap();
    let status = if s.refuse > 0 {
        s.refuse -= 1;
        StatusCode::SERVICE_UNAVAILABLE
    } else {
        StatusCode::NO_CONTENT
    };
    s.pings.push(Ping {
        at: Instant::now(),
        mode: field("hub.mode"),
        topic: field("hub.url"),
        status: status.as_u16(),
    });
    status
}

impl Hub {
    fn start(refuse: usize) -> Hub {
        let state = Arc::new(Mutex::new(HubState {
            pings: Vec::new(),
            refuse,
        }));
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                addr_tx.send(listener.local_addr().unwrap()).unwrap();
                let app = Router::new()
                    .route("/hub", post(receive))
                    .with_state(shared);
                axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        let addr = addr_rx.recv().unwrap();
        Hub {
            url: format!("http://{addr}/hub"),
            state,
            _stop: stop_tx,
        }
    }

    fn pings(&self) -> Vec<Ping> {
        self.state.lock().unwrap().pings.clone()
    }
}

fn accepted_topics(pings: &[Ping]) -> Vec<String> {
    let mut t: Vec<String> = pings
        .iter()
        .filter(|p| p.status == 204)
        .map(|p| p.topic.strip_prefix(BASE).unwrap_or(&p.topic).to_string())
        .collect();
    t.sort();
    t
}

#[test]
fn feeds_advertise_the_hub_and_the_daemon_pings_it_for_changed_feeds_retrying_on_failure() {
    let hub = Hub::start(1);
    let origin = Origin::start();
    let item_a = (
        "a1",
        "Harbor council approves the new ferry terminal plan",
        "https://a.example/1",
        "2025-11-26T08:00:00Z",
    );
    let item_b = (
        "b1",
        "City library extends weekend opening hours again",
        "https://b.example/1",
        "2025-11-26T09:00:00Z",
    );
    origin.feed("a.xml", rss_doc("A", &[item_a]), "application/rss+xml");
    origin.feed("b.xml", rss_doc("B", &[item_b]), "application/rss+xml");
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(
        dir.path(),
        &[],
        "1s",
        &format!(
            "[publish]\nwebsub_hub = \"{}\"\n\
             [[source]]\nname = \"A\"\nurl = \"{}\"\ntags = [\"world\"]\n\
             [[source]]\nname = \"B\"\nurl = \"{}\"\ntags = [\"local\"]\n",
            hub.url,
            origin.url("a.xml"),
            origin.url("b.xml")
        ),
    );
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replacen(
            "[server]\n",
            &format!("[server]\nbase_url = \"{BASE}\"\n"),
            1,
        ),
    )
    .unwrap();
    let daemon = Daemon::start(&config);
    wait_for("both stories", Duration::from_secs(30), || {
        let (_, _, body) = get(&daemon.url("feed.xml"), &[])?;
        (rss_titles(&String::from_utf8(body).ok()?).len() == 2).then_some(())
    });

    // Advertised in headers and bodies of every feed.
    for path in [
        "feed.xml",
        "atom.xml",
        "feed.json",
        "tags/world.atom",
        "sources/A.xml",
    ] {
        let (_, headers, body) = get(&daemon.url(path), &[]).unwrap();
        assert_eq!(
            headers["link"],
            format!("<{}>; rel=\"hub\", <{BASE}{path}>; rel=\"self\"", hub.url).as_str(),
            "{path}"
        );
        let body = String::from_utf8(body).unwrap();
        if path.ends_with(".json") {
            let doc: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(
                doc["hubs"][0],
                serde_json::json!({"type": "WebSub", "url": hub.url})
            );
        } else {
            assert!(
                body.contains(&format!("href=\"{}\" rel=\"hub\"", hub.url)),
                "{path}: {body}"
            );
        }
    }

    // The first ping was refused; the same topic came again after a pause, and was accepted.
    let pings = wait_for(
        "the refused topic accepted",
        Duration::from_secs(30),
        || {
            let pings = hub.pings();
            let refused = pings.iter().find(|p| p.status == 503)?;
            pings
                .iter()
                .any(|p| p.status == 204 && p.topic == refused.topic)
                .then_some(pings)
        },
    );
    assert!(pings.iter().all(|p| p.mode == "publish"));
    let refused = pings.iter().find(|p| p.status == 503).expect("one refusal");
    let retried = pings
        .iter()
        .find(|p| p.status == 204 && p.topic == refused.topic)
        .expect("the refused topic retried");
    assert!(retried.at.duration_since(refused.at) >= Duration::from_millis(900));

    // Only B changes: the main feeds, B's tag and B's feed are pinged; A's are not.
    let seen = wait_for("every feed pinged once", Duration::from_secs(30), || {
        let pings = hub.pings();
        let mut distinct = accepted_topics(&pings);
        distinct.dedup();
        (distinct.len() == 3 + 6 + 2).then_some(pings.len())
    });
    origin.feed(
        "b.xml",
        rss_doc(
            "B",
            &[
                item_b,
                (
                    "b2",
                    "Chip maker unveils a low power laptop processor",
                    "https://b.example/2",
                    "2025-11-26T10:00:00Z",
                ),
            ],
        ),
        "application/rss+xml",
    );
    let after = wait_for("pings for B's change", Duration::from_secs(30), || {
        let pings = hub.pings();
        let new = accepted_topics(&pings[seen..]);
        new.contains(&"sources/B.xml".to_string())
            .then_some(new)
            .filter(|n| n.len() >= 7)
    });
    assert_eq!(
        after,
        [
            "atom.xml",
            "feed.json",
            "feed.xml",
            "sources/B.xml",
            "tags/local.atom",
            "tags/local.json",
            "tags/local.xml"
        ]
    );
}
