//! The test harness: a real server on a random port with its own data directory, driven over
//! real sockets through the Rust SDK (so every test also exercises `confab-client`).

use confab_client::{Client, Connection};
use confab_proto::rest::{AuthResponse, Conversation, RegisterRequest};
use confab_server::startup::RunningServer;
use confab_server::{Application, Config};

pub const PASSWORD: &str = "correct horse battery";

pub struct TestApp {
    pub server: RunningServer,
    pub base_url: String,
    pub data_dir: tempfile::TempDir,
    /// The PostgreSQL database of this test, when the suite runs against PostgreSQL.
    pub database: Option<TestDatabase>,
}

/// A server with the default configuration (and generous rate limits).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server whose configuration the test adjusts first.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    let data_dir = tempfile::tempdir().expect("temp dir");
    let database = fresh_database().await;
    let mut config = test_config(data_dir.path(), database.as_ref().map(|d| d.url.clone()));
    configure(&mut config);
    start(config, data_dir, database).await
}

/// With `CONFAB_TEST_DATABASE_URL` set (a PostgreSQL server URL), each test gets a database of
/// its own there; otherwise it uses SQLite in its temporary directory. A set variable with an
/// unreachable server fails the test loudly rather than falling back.
async fn fresh_database() -> Option<TestDatabase> {
    use sqlx::Connection;
    let admin_url = std::env::var("CONFAB_TEST_DATABASE_URL").ok().filter(|u| !u.is_empty())?;
    let name = format!("confab_test_{}", rand::random::<u64>());
    let mut admin = sqlx::PgConnection::connect(&admin_url)
        .await
        .unwrap_or_else(|e| panic!("CONFAB_TEST_DATABASE_URL is set but PostgreSQL is unreachable: {e}"));
    sqlx::Executor::execute(&mut admin, sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await
        .expect("create the test database");
    let base = admin_url.rsplit_once('/').map_or(admin_url.as_str(), |(base, _)| base);
    Some(TestDatabase { url: format!("{base}/{name}"), admin_url: admin_url.clone(), name })
}

pub fn test_config(data_dir: &std::path::Path, database_url: Option<String>) -> Config {
    let mut config = Config {
        listen: "127.0.0.1:0".parse().expect("address"),
        data_dir: data_dir.to_path_buf(),
        database_url,
        node_id: Some(1),
        ..Config::default()
    };
    config.auth.login_attempts_per_ip_per_minute = 10_000;
    config.auth.registrations_per_ip_per_hour = 10_000;
    config
}

async fn start(mut config: Config, data_dir: tempfile::TempDir, database: Option<TestDatabase>) -> TestApp {
    config.validate().expect("valid test config");
    let application = Application::build(config).await.unwrap_or_else(|e| panic!("server does not start: {e}"));
    let server = application.spawn();
    let base_url = server.base_url();
    TestApp { server, base_url, data_dir, database }
}

/// A PostgreSQL database made for one test, dropped with it so that runs do not pile up databases.
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        // Drop cannot await; a short-lived runtime on its own thread does the work.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                use sqlx::Connection;
                let mut admin = sqlx::PgConnection::connect(&admin_url).await.ok()?;
                sqlx::Executor::execute(&mut admin, sqlx::AssertSqlSafe(statement)).await.ok()
            })
        })
        .join();
    }
}

/// Several nodes sharing one PostgreSQL database and one Redis, as a cluster. `None` (the test
/// is skipped) unless both `CONFAB_TEST_DATABASE_URL` and `CONFAB_TEST_REDIS_URL` are set; set
/// but unreachable is a failure.
pub async fn spawn_cluster(nodes: u16) -> Option<Vec<TestApp>> {
    let redis = std::env::var("CONFAB_TEST_REDIS_URL").ok().filter(|u| !u.is_empty());
    let Some(redis) = redis else {
        eprintln!("cluster test skipped: set CONFAB_TEST_DATABASE_URL and CONFAB_TEST_REDIS_URL to run it");
        return None;
    };
    spawn_cluster_on(nodes, &redis).await
}

/// [`spawn_cluster`] with every node's configuration adjusted first.
pub async fn spawn_cluster_with(nodes: u16, configure: impl Fn(&mut Config)) -> Option<Vec<TestApp>> {
    let redis = std::env::var("CONFAB_TEST_REDIS_URL").ok().filter(|u| !u.is_empty());
    let Some(redis) = redis else {
        eprintln!("cluster test skipped: set CONFAB_TEST_DATABASE_URL and CONFAB_TEST_REDIS_URL to run it");
        return None;
    };
    spawn_cluster_on_with(nodes, &redis, configure).await
}

/// A cluster on the given Redis (a test's own, when it restarts it).
pub async fn spawn_cluster_on(nodes: u16, redis: &str) -> Option<Vec<TestApp>> {
    spawn_cluster_on_with(nodes, redis, |_| {}).await
}

async fn spawn_cluster_on_with(nodes: u16, redis: &str, configure: impl Fn(&mut Config)) -> Option<Vec<TestApp>> {
    let redis = redis.to_owned();
    let Some(database) = fresh_database().await else {
        eprintln!("cluster test skipped: CONFAB_TEST_DATABASE_URL is not set");
        return None;
    };
    let url = database.url.clone();
    // A channel per cluster, so that concurrent tests sharing the Redis do not hear each other.
    let channel = format!("confab:test:{}", rand::random::<u64>());
    let mut database = Some(database);
    let mut apps = Vec::new();
    for node in 1..=nodes {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let mut config = test_config(data_dir.path(), Some(url.clone()));
        config.redis_url = Some(redis.clone());
        config.redis_channel = channel.clone();
        config.node_id = Some(node);
        config.presence.grace_ms = 200;
        config.presence.node_ttl_secs = 2;
        configure(&mut config);
        // The first node owns the database and drops it at the end.
        apps.push(start(config, data_dir, database.take()).await);
    }
    Some(apps)
}

impl TestApp {
    /// Stops this server and starts a new one on the same data directory, as after a crash or
    /// a restart.
    pub async fn restart(self) -> TestApp {
        let TestApp { server, data_dir, database, .. } = self;
        server.stop().await;
        let url = database.as_ref().map(|d| d.url.clone());
        start(test_config(data_dir.path(), url), data_dir, database).await
    }

    pub fn anonymous(&self) -> Client {
        Client::new(&self.base_url).expect("client")
    }

    /// Registers `username` and returns a signed-in client.
    pub async fn user(&self, username: &str) -> TestUser {
        let auth = self
            .anonymous()
            .register(&RegisterRequest { username: username.into(), password: PASSWORD.into(), display_name: None })
            .await
            .expect("registration");
        let client = self.anonymous().with_token(&auth.access_token);
        TestUser { client, auth }
    }

    /// Signs `username` in on this node, registering them first if needed (users are shared by
    /// the nodes of a cluster).
    pub async fn login_or_register(&self, username: &str) -> TestUser {
        let req = RegisterRequest { username: username.into(), password: PASSWORD.into(), display_name: None };
        match self.anonymous().register(&req).await {
            Ok(auth) => TestUser { client: self.anonymous().with_token(&auth.access_token), auth },
            Err(_) => self.login(username).await,
        }
    }

    /// Another session (device) of an existing user.
    pub async fn login(&self, username: &str) -> TestUser {
        let auth = self
            .anonymous()
            .login(&confab_proto::rest::LoginRequest { username: username.into(), password: PASSWORD.into() })
            .await
            .expect("login");
        let client = self.anonymous().with_token(&auth.access_token);
        TestUser { client, auth }
    }
}

pub struct TestUser {
    pub client: Client,
    pub auth: AuthResponse,
}

impl TestUser {
    pub fn id(&self) -> confab_proto::UserId {
        self.auth.user.id
    }

    pub fn token(&self) -> &str {
        &self.auth.access_token
    }

    pub async fn connect(&self) -> Connection {
        self.client.connect().await.expect("websocket connects")
    }

    pub async fn dm_with(&self, other: &TestUser) -> Conversation {
        self.client.open_direct(other.id()).await.expect("direct conversation")
    }

    pub async fn dm_with_id(&self, other: confab_proto::UserId) -> confab_proto::ConversationId {
        self.client.open_direct(other).await.expect("direct conversation").id
    }
}

/// Asserts that a client error is an API error with this status and code.
#[track_caller]
pub fn assert_api_error<T: std::fmt::Debug>(
    result: Result<T, confab_client::ClientError>,
    status: u16,
    code: confab_proto::ErrorCode,
) -> confab_proto::ApiError {
    match result {
        Err(confab_client::ClientError::Api { status: got_status, error }) => {
            assert_eq!((got_status, error.code), (status, code), "message: {}", error.message);
            error
        }
        other => panic!("expected {status} {code:?}, got {other:?}"),
    }
}

/// The next frame that is not a presence update (presence arrives whenever people connect, and
/// most tests are about something else).
pub async fn next_frame(
    ws: &mut confab_client::Connection,
    timeout: std::time::Duration,
) -> Result<confab_proto::frames::ServerFrame, confab_client::ClientError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = ws.next_event_timeout(left).await?;
        if !matches!(frame.event, confab_proto::frames::Event::PresenceUpdated(_)) {
            return Ok(frame);
        }
    }
}

/// The first event within `within` that `pick` turns into a value, skipping the others;
/// `None` if none came in time.
pub async fn first_event<T>(
    ws: &mut Connection,
    within: std::time::Duration,
    mut pick: impl FnMut(confab_proto::frames::Event) -> Option<T>,
) -> Option<T> {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let frame = ws.next_event_timeout(left).await.ok()?;
        if let Some(value) = pick(frame.event) {
            return Some(value);
        }
    }
}

/// A text message.
pub fn text(body: &str) -> confab_proto::rest::SendMessageRequest {
    confab_proto::rest::SendMessageRequest { body: body.into(), ..Default::default() }
}

/// Presence events for `user` within `within`, in order.
pub async fn presence_of(
    ws: &mut Connection,
    user: confab_proto::UserId,
    within: std::time::Duration,
) -> Vec<confab_proto::rest::PresenceStatus> {
    let deadline = tokio::time::Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        match ws.next_event_timeout(left).await {
            Ok(frame) => {
                if let confab_proto::frames::Event::PresenceUpdated(p) = frame.event
                    && p.user_id == user
                {
                    seen.push(p.status);
                }
            }
            Err(confab_client::ClientError::Timeout) => return seen,
            Err(e) => panic!("{e}"),
        }
    }
}

/// The node's `/metrics` exposition.
pub async fn scrape(app: &TestApp) -> String {
    let response = reqwest::get(format!("{}/metrics", app.base_url)).await.expect("metrics");
    assert_eq!(response.status(), 200);
    response.text().await.expect("metrics text")
}

/// The value of one series (its name and labels exactly as rendered, `node` first) in a
/// Prometheus exposition.
#[track_caller]
pub fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{series} is not in the exposition:\n{text}"))
        .parse()
        .expect("a number")
}

/// Waits until `url` (a released file's) answers 404: the media sweep, woken by the release,
/// deletes unreferenced files in the background.
pub async fn until_gone(url: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        if reqwest::get(url).await.unwrap().status() == 404 {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "{url} is still served");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}
