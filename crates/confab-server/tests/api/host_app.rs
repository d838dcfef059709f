//! A stand-in for the host app: it receives Confab's webhooks on a random port, verifies every
//! signature with the SDK's `webhooks::verify`, records what it got, and answers as told.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use serde_json::{Value, json};

pub const SECRET: &str = "activity secret, 32 bytes long!!";
pub const NOTIFY_SECRET: &str = "notification secret, 32 bytes!!";

#[derive(Clone, Debug)]
pub enum Mode {
    Answer(Value),
    Fail(u16),
    Slow(Duration),
}

#[derive(Clone)]
pub struct HostApp {
    pub url: String,
    pub mode: Arc<Mutex<Mode>>,
    /// Verified requests: (event header, body).
    pub received: Arc<Mutex<Vec<(String, Value)>>>,
    /// Requests refused for a bad signature or timestamp.
    pub refused: Arc<Mutex<usize>>,
    /// The raw last request (headers, body), to try replaying it.
    pub last_raw: Arc<Mutex<Option<(HeaderMap, Bytes)>>>,
}

pub async fn start() -> HostApp {
    let app = HostApp {
        url: String::new(),
        mode: Arc::new(Mutex::new(Mode::Answer(json!({"join_url": "https://game.example/match/42"})))),
        received: Arc::default(),
        refused: Arc::default(),
        last_raw: Arc::default(),
    };
    let router =
        Router::new().route("/hooks/pong", post(receive)).route("/hooks/notify", post(receive)).with_state(app.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await });
    HostApp { url: format!("http://{addr}"), ..app }
}

async fn receive(
    State(app): State<HostApp>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, axum::Json<Value>) {
    let secret = if uri.path().ends_with("notify") { NOTIFY_SECRET } else { SECRET };
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let verdict = confab_client::webhooks::verify(
        secret.as_bytes(),
        &header("x-confab-timestamp"),
        &body,
        &header("x-confab-signature"),
        now,
        300,
    );
    if verdict.is_err() {
        *app.refused.lock().unwrap() += 1;
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "bad signature"})));
    }
    *app.last_raw.lock().unwrap() = Some((headers.clone(), body.clone()));
    let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    app.received.lock().unwrap().push((header("x-confab-event"), value));
    let mode = app.mode.lock().unwrap().clone();
    match mode {
        Mode::Answer(answer) => (StatusCode::OK, axum::Json(answer)),
        Mode::Fail(status) => (StatusCode::from_u16(status).unwrap(), axum::Json(json!({"error": "no match server"}))),
        Mode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            (StatusCode::OK, axum::Json(json!({"join_url": "https://game.example/match/slow"})))
        }
    }
}

impl HostApp {
    pub fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn received(&self) -> Vec<(String, Value)> {
        self.received.lock().unwrap().clone()
    }

    pub fn refused(&self) -> usize {
        *self.refused.lock().unwrap()
    }
}
