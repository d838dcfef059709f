//! Servers on loopback that stand in for the outside world: a site with pages and pictures, an
//! oEmbed provider, a GIF provider. Each keeps a log of what it was asked.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::Request;
use axum::http::{StatusCode, header};
use tokio::io::AsyncReadExt;

/// A request a double received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub query: String,
    pub user_agent: String,
    /// Whatever could tell the site who is looking: a referer, a cookie, a forwarded address.
    pub identifying: Vec<String>,
}

/// What a double answers.
pub struct Answer {
    pub status: u16,
    pub content_type: String,
    pub body: Vec<u8>,
}

impl Answer {
    pub fn ok(content_type: &str, body: impl Into<Vec<u8>>) -> Answer {
        Answer { status: 200, content_type: content_type.into(), body: body.into() }
    }

    pub fn html(body: &str) -> Answer {
        Answer::ok("text/html; charset=utf-8", body)
    }

    pub fn not_found() -> Answer {
        Answer { status: 404, content_type: "text/plain".into(), body: b"no".to_vec() }
    }
}

pub struct Double {
    pub port: u16,
    log: Arc<Mutex<Vec<Seen>>>,
}

impl Double {
    pub fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn host_port(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.log.lock().unwrap().clone()
    }

    /// How many requests asked for `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.seen().iter().filter(|s| s.path == path).count()
    }
}

/// Serves `respond(path, query)` on a free loopback port.
pub async fn double(respond: impl Fn(&str, &str) -> Answer + Send + Sync + 'static) -> Double {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let log = Arc::new(Mutex::new(Vec::new()));
    let respond = Arc::new(respond);
    let kept = log.clone();
    let app = axum::Router::new().fallback(move |req: Request| {
        let (log, respond) = (kept.clone(), respond.clone());
        async move {
            let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let identifying = ["referer", "cookie", "x-forwarded-for", "forwarded", "authorization"]
                .iter()
                .filter_map(|n| header(n).map(|v| format!("{n}: {v}")))
                .collect();
            let seen = Seen {
                path: req.uri().path().to_owned(),
                query: req.uri().query().unwrap_or_default().to_owned(),
                user_agent: header("user-agent").unwrap_or_default(),
                identifying,
            };
            let answer = respond(&seen.path, &seen.query);
            log.lock().unwrap().push(seen);
            (StatusCode::from_u16(answer.status).unwrap(), [(header::CONTENT_TYPE, answer.content_type)], answer.body)
        }
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Double { port, log }
}

/// Counts every connection (and byte) that reaches it.
pub async fn canary() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hits = Arc::new(AtomicUsize::new(0));
    let counted = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            counted.fetch_add(1, Ordering::SeqCst);
            let mut buf = [0u8; 1024];
            let _ = socket.read(&mut buf).await;
        }
    });
    (port, hits)
}
