//! The command line: options shared by every scenario, and one subcommand per scenario with
//! defaults that finish in well under a minute on a 2-core machine.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::shape::Shape;

#[derive(Debug, Parser)]
#[command(
    name = "confab-bench",
    version,
    about = "Load generator for the Confab chat server (and NATS and a Socket.IO app, for comparison)"
)]
pub struct Cli {
    #[command(flatten)]
    pub common: Common,
    #[command(subcommand)]
    pub scenario: Scenario,
}

#[derive(Debug, Clone, Args)]
pub struct Common {
    /// The `confab` binary to spawn [default: the release build in the target directory].
    #[arg(long, global = true, value_name = "PATH")]
    pub server_bin: Option<PathBuf>,
    /// A TOML config file passed to the spawned server (`--config`), e.g. to tune the gateway.
    #[arg(long, global = true, value_name = "FILE")]
    pub server_config: Option<PathBuf>,
    /// Use a running server (http://host:port) instead of spawning one; needs --hs256-secret.
    #[arg(long, global = true, value_name = "URL")]
    pub url: Option<String>,
    /// The running server's `auth.external.hs256_secret`, to mint users' tokens.
    #[arg(long, global = true, value_name = "SECRET", env = "CONFAB_BENCH_HS256_SECRET", hide_env_values = true)]
    pub hs256_secret: Option<String>,
    #[arg(long, global = true, default_value = "bench")]
    pub issuer: String,
    #[arg(long, global = true, default_value = "confab")]
    pub audience: String,
    /// Pid of a running server (--url), to report its memory and CPU.
    #[arg(long, global = true)]
    pub server_pid: Option<u32>,
    /// Directory under which the spawned server's temporary data directory is made (the
    /// filesystem decides the cost of each commit's fsync) [default: the system temp dir].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_parent: Option<PathBuf>,
    /// Where results (JSON, SVG, server logs) are written.
    #[arg(long, global = true, default_value = "bench-results", value_name = "DIR")]
    pub out: PathBuf,
    #[arg(long, global = true, default_value = "/usr/sbin/nats-server", value_name = "PATH")]
    pub nats_bin: PathBuf,
    /// The Node.js that runs the Socket.IO app.
    #[arg(long, global = true, default_value = "node", value_name = "PATH")]
    pub node_bin: PathBuf,
    /// The Socket.IO app's directory (`server.mjs`; `npm ci` installs its dependencies).
    #[arg(long, global = true, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/peers/socketio"), value_name = "DIR")]
    pub socketio_dir: PathBuf,
    /// WebSocket handshakes in flight at once while connecting users.
    #[arg(long, global = true, default_value_t = 64)]
    pub connect_concurrency: usize,
    /// Size of each message body in bytes (it carries the send timestamp).
    #[arg(long, global = true, default_value_t = 50)]
    pub body_bytes: usize,
    /// Seconds to keep reading after the last send, so that late deliveries are counted.
    #[arg(long, global = true, default_value_t = 5.0)]
    pub drain: f64,
}

#[derive(Debug, Subcommand)]
pub enum Scenario {
    /// Idle authenticated sessions: connect rate, server memory per session, failures.
    Connections(ConnectionsArgs),
    /// Pairs of users exchanging direct messages at a fixed total rate (open loop).
    Direct(DirectArgs),
    /// Groups whose members take turns writing: every message reaches all other members.
    Fanout(FanoutArgs),
    /// History pages per second, and catching up with `sync` after a reconnect.
    History(HistoryArgs),
    /// A mostly idle population with presence churn, typing, direct and group messages.
    Mixed(MixedArgs),
    /// Files through tus: throughput for one and many clients, image processing, memory.
    Uploads(UploadsArgs),
    /// The direct pattern through a NATS server's WebSocket listener.
    NatsDirect(DirectArgs),
    /// The fan-out pattern through a NATS server's WebSocket listener.
    NatsFanout(FanoutArgs),
    /// The direct pattern through a Socket.IO app (one Node.js process, rooms).
    SocketioDirect(DirectArgs),
    /// The fan-out pattern through a Socket.IO app.
    SocketioFanout(FanoutArgs),
    /// The same pattern on Confab, then on each peer, with the ratios.
    Compare {
        /// The peers to compare with, comma-separated.
        #[arg(long, value_enum, value_delimiter = ',', default_value = "nats")]
        peers: Vec<Peer>,
        #[command(subcommand)]
        pattern: Pattern,
    },
    /// One pattern at several offered rates: throughput and p99 against load.
    Sweep(SweepArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ConnectionsArgs {
    /// Sessions to open (one user each).
    #[arg(long, default_value_t = 1000)]
    pub count: usize,
    /// Seconds to hold the sessions open before measuring memory again.
    #[arg(long, default_value_t = 3.0)]
    pub hold: f64,
    /// Spawn this many cluster nodes (PostgreSQL + Redis, see --database-url and --redis-url)
    /// and spread the sessions over them, and over as many bench processes as the open-files
    /// limit needs. Needed past one process's limit (20,000 files here).
    #[arg(long, default_value_t = 1)]
    pub nodes: usize,
    /// PostgreSQL database the spawned nodes share (one the bench may fill), for --nodes.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
    /// Redis the spawned nodes share, for --nodes.
    #[arg(long, value_name = "URL")]
    pub redis_url: Option<String>,
    /// Hold the sessions until standard input closes rather than for --hold seconds: how the
    /// bench drives its own worker processes.
    #[arg(long, hide = true)]
    pub hold_until_stdin_closes: bool,
}

#[derive(Debug, Clone, Args)]
pub struct DirectArgs {
    /// Users, paired into users/2 direct conversations.
    #[arg(long, default_value_t = 200)]
    pub users: usize,
    /// Total messages per second, spread evenly over all users.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Seconds of sending.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
}

#[derive(Debug, Clone, Args)]
pub struct FanoutArgs {
    #[arg(long, default_value_t = 10)]
    pub groups: usize,
    /// Members per group (at most the server's `limits.max_group_members`, 1000 by default).
    #[arg(long, default_value_t = 20)]
    pub members: usize,
    /// Total messages per second over all groups (deliveries are rate × (members − 1)).
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
}

#[derive(Debug, Clone, Subcommand)]
pub enum Pattern {
    Direct(DirectArgs),
    Fanout(FanoutArgs),
}

impl Pattern {
    pub fn shape(&self) -> Shape {
        match self {
            Pattern::Direct(a) => Shape::Direct { users: a.users },
            Pattern::Fanout(a) => Shape::Fanout { groups: a.groups, members: a.members },
        }
    }

    pub fn rate(&self) -> f64 {
        match self {
            Pattern::Direct(a) => a.rate,
            Pattern::Fanout(a) => a.rate,
        }
    }

    pub fn duration(&self) -> f64 {
        match self {
            Pattern::Direct(a) => a.duration,
            Pattern::Fanout(a) => a.duration,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Peer {
    Nats,
    Socketio,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TargetChoice {
    Confab,
    Nats,
    Socketio,
    /// Confab and NATS.
    Both,
    /// Confab, NATS and Socket.IO.
    All,
}

#[derive(Debug, Clone, Args)]
pub struct SweepArgs {
    /// Offered rates in msg/s, comma-separated (the pattern's --rate is ignored).
    #[arg(long, value_delimiter = ',', default_value = "500,1000,2000,4000")]
    pub rates: Vec<f64>,
    #[arg(long, value_enum, default_value_t = TargetChoice::Confab)]
    pub target: TargetChoice,
    #[command(subcommand)]
    pub pattern: Pattern,
}

#[derive(Debug, Clone, Args)]
pub struct HistoryArgs {
    /// Messages written into the conversation first.
    #[arg(long, default_value_t = 2000)]
    pub messages: usize,
    /// Concurrent readers of history pages (closed loop: each waits for its page).
    #[arg(long, default_value_t = 4)]
    pub readers: usize,
    /// Seconds of reading pages.
    #[arg(long, default_value_t = 5.0)]
    pub duration: f64,
    /// Messages that arrive while the syncing client is offline.
    #[arg(long, default_value_t = 1000)]
    pub offline: usize,
    /// Reconnect-and-sync rounds.
    #[arg(long, default_value_t = 3)]
    pub rounds: usize,
}

#[derive(Debug, Clone, Args)]
pub struct MixedArgs {
    /// Connected users, mostly idle; each has a direct conversation with a partner.
    #[arg(long, default_value_t = 2000)]
    pub users: usize,
    /// Groups (made of the first users), and their size.
    #[arg(long, default_value_t = 10)]
    pub groups: usize,
    #[arg(long, default_value_t = 20)]
    pub group_size: usize,
    /// Direct messages per second, over all users.
    #[arg(long, default_value_t = 200.0)]
    pub dm_rate: f64,
    /// Group messages per second, over all groups.
    #[arg(long, default_value_t = 20.0)]
    pub group_rate: f64,
    /// Typing notices per second, over all users.
    #[arg(long, default_value_t = 100.0)]
    pub typing_rate: f64,
    /// Fraction of users that reconnect each second (presence churn).
    #[arg(long, default_value_t = 0.01)]
    pub churn: f64,
    #[arg(long, default_value_t = 15.0)]
    pub duration: f64,
}

#[derive(Debug, Clone, Args)]
pub struct UploadsArgs {
    /// Size of each file of the throughput runs, in MiB.
    #[arg(long, default_value_t = 64)]
    pub size_mib: u64,
    /// Clients uploading at once in the second run (one user each).
    #[arg(long, default_value_t = 4)]
    pub clients: usize,
    /// Bytes per `PATCH`, in MiB.
    #[arg(long, default_value_t = 8)]
    pub chunk_mib: u64,
    /// Photographs uploaded one after another (each beside a plain file of its size).
    #[arg(long, default_value_t = 10)]
    pub images: usize,
    /// Width of the photographs in pixels (height ¾ of it).
    #[arg(long, default_value_t = 4000)]
    pub image_side: u32,
    /// One large file, in MiB, during which the server's memory is sampled (0: none).
    #[arg(long, default_value_t = 1024)]
    pub large_mib: u64,
}
