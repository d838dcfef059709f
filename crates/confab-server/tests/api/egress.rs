//! The egress guard: a matrix of server-side request forgery payloads, none of which may deliver
//! a byte to a canary server on loopback, and the caps on what an allowed fetch brings back.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use confab_server::egress::{Egress, EgressError, Limits, Lookup};
use futures_util::future::BoxFuture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::doubles::canary;

/// A host the operator allowed: `/?<url>` redirects there, `/loop` to itself, `/ok` is a small
/// page and `/big` two megabytes.
async fn allowed_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&request).lines().next().unwrap_or_default().to_owned();
                let target = line.split(' ').nth(1).unwrap_or("/").to_owned();
                let answer = if let Some(to) = target.strip_prefix("/?") {
                    format!("HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                } else if target == "/loop" {
                    "HTTP/1.1 302 Found\r\nLocation: /loop\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".into()
                } else if target == "/big" {
                    let body = "x".repeat(2 << 20);
                    format!("HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n{body}")
                } else {
                    "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello".into()
                };
                let _ = socket.write_all(answer.as_bytes()).await;
            });
        }
    });
    port
}

/// Names the test controls, as a resolver the attacker runs would answer them; `rebind.test`
/// answers a public address first and loopback after.
struct TestLookup {
    names: HashMap<&'static str, Vec<IpAddr>>,
    rebinds: AtomicUsize,
}

impl Lookup for TestLookup {
    fn lookup(&self, host: String) -> BoxFuture<'static, std::io::Result<Vec<IpAddr>>> {
        let answer = if host == "rebind.test" {
            let first = self.rebinds.fetch_add(1, Ordering::SeqCst) == 0;
            vec![if first { "93.184.216.34" } else { "127.0.0.1" }.parse().unwrap()]
        } else if host == "localhost" {
            vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()]
        } else {
            self.names.get(host.as_str()).cloned().unwrap_or_default()
        };
        Box::pin(async move { if answer.is_empty() { Err(std::io::Error::other("no such name")) } else { Ok(answer) } })
    }
}

fn lookup() -> Arc<TestLookup> {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    let names = HashMap::from([
        ("internal.test", vec![ip("127.0.0.1")]),
        ("mixed.test", vec![ip("10.0.0.1"), ip("127.0.0.1")]),
        ("v6only.test", vec![ip("::1")]),
        ("mapped.test", vec![ip("::ffff:127.0.0.1")]),
        ("metadata.test", vec![ip("169.254.169.254")]),
    ]);
    Arc::new(TestLookup { names, rebinds: AtomicUsize::new(0) })
}

#[tokio::test]
async fn no_forged_request_reaches_an_internal_address() {
    let (p, hits) = canary().await;
    let allowed = allowed_server().await;
    let egress = Egress::new(vec![format!("127.0.0.1:{allowed}")], lookup()).unwrap();
    let via = |to: String| format!("http://127.0.0.1:{allowed}/?{to}");
    let payloads = vec![
        format!("http://127.0.0.1:{p}/"),
        format!("http://127.0.0.1.:{p}/"),
        format!("http://127.1:{p}/"),
        format!("http://2130706433:{p}/"),
        format!("http://0177.0.0.1:{p}/"),
        format!("http://0x7f.0.0.1:{p}/"),
        format!("http://0:{p}/"),
        format!("http://0.0.0.0:{p}/"),
        format!("http://localhost:{p}/"),
        format!("http://localhost.:{p}/"),
        format!("http://LOCALHOST:{p}/"),
        format!("http://[::1]:{p}/"),
        format!("http://[::ffff:127.0.0.1]:{p}/"),
        format!("http://[::ffff:7f00:1]:{p}/"),
        format!("http://[0:0:0:0:0:ffff:127.0.0.1]:{p}/"),
        format!("http://[::127.0.0.1]:{p}/"),
        format!("http://[64:ff9b::7f00:1]:{p}/"),
        format!("http://[2002:7f00:1::]:{p}/"),
        format!("http://[2001:0:4136:e378:8000:63bf:80ff:fffe]:{p}/"),
        format!("http://internal.test:{p}/"),
        format!("http://mixed.test:{p}/"),
        format!("http://v6only.test:{p}/"),
        format!("http://mapped.test:{p}/"),
        format!("http://rebind.test:{p}/"),
        format!("http://rebind.test:{p}/again"),
        "http://metadata.test/latest/meta-data/".to_owned(),
        "http://169.254.169.254/latest/meta-data/".to_owned(),
        "http://10.0.0.1/".to_owned(),
        "http://192.168.1.1/".to_owned(),
        "http://100.64.0.1/".to_owned(),
        format!("gopher://127.0.0.1:{p}/"),
        "file:///etc/passwd".to_owned(),
        via(format!("http://127.0.0.1:{p}/")),
        via(format!("http://localhost:{p}/")),
        via(format!("http://[::1]:{p}/")),
        via(format!("http://internal.test:{p}/")),
        via(format!("http://2130706433:{p}/")),
        via("file:///etc/passwd".to_owned()),
        format!("http://127.0.0.1:{allowed}/loop"),
    ];
    assert!(payloads.len() >= 30);
    let limits = Limits { timeout: Duration::from_secs(4), ..Limits::default() };
    for payload in &payloads {
        let result = egress.get(payload, &limits).await;
        assert!(result.is_err(), "{payload} was fetched: {result:?}");
        assert_eq!(hits.load(Ordering::SeqCst), 0, "{payload} reached the canary");
    }
    // The loop ends at the redirect limit, not earlier and not never.
    let looped = egress.get(&format!("http://127.0.0.1:{allowed}/loop"), &limits).await;
    assert!(matches!(looped, Err(EgressError::Redirects)), "{looped:?}");
    assert!(matches!(egress.get(&format!("http://127.0.0.1:{p}/"), &limits).await, Err(EgressError::Internal(_))));
}

#[tokio::test]
async fn an_allowed_fetch_is_capped_in_size_and_type() {
    let allowed = allowed_server().await;
    let egress = Egress::new(vec![format!("127.0.0.1:{allowed}")], lookup()).unwrap();
    let page = Limits { content_types: vec!["text/html".into()], ..Limits::default() };
    let fetched = egress.get(&format!("http://127.0.0.1:{allowed}/ok"), &page).await.unwrap();
    assert_eq!(&fetched.body[..], b"hello");
    let big = egress.get(&format!("http://127.0.0.1:{allowed}/big"), &page).await;
    assert!(matches!(big, Err(EgressError::TooLarge(_))), "{big:?}");
    let images = Limits { content_types: vec!["image/".into()], ..Limits::default() };
    let wrong = egress.get(&format!("http://127.0.0.1:{allowed}/ok"), &images).await;
    assert!(matches!(wrong, Err(EgressError::ContentType(_))), "{wrong:?}");
}
