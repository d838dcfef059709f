//! Opening many TCP connections from one machine: the open-files limit raised to the hard limit,
//! and loopback connections spread over several source addresses (127.0.0.1, .2, …) because one
//! source address runs out of ephemeral ports at about 28,000 connections to one port.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::ops::Range;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, stream};

use tokio::net::{TcpSocket, TcpStream};

/// Connections per source address before the next one is used: below the ~28,000 ephemeral
/// ports, with room for the other connections of the machine.
const PER_SOURCE_ADDRESS: usize = 20_000;

/// Raises this process's soft open-files limit to the hard limit and returns the new soft limit.
/// Children (a spawned server) inherit it.
pub fn raise_open_files_limit() -> u64 {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local rlimit.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}

/// How the bench's connections reach a server.
#[derive(Clone, Copy, Debug)]
pub struct Dialer {
    pub server: SocketAddr,
}

impl Dialer {
    /// The source address of connection number `index`: spread only on loopback, where every
    /// 127.x address is local without setup.
    pub fn source_for(&self, index: usize) -> Option<IpAddr> {
        match self.server.ip() {
            IpAddr::V4(ip) if ip.is_loopback() => {
                let block = (index / PER_SOURCE_ADDRESS) as u8;
                Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + block)))
            }
            _ => None,
        }
    }

    /// A TCP connection to the server with Nagle off (frames are small and latency-sensitive).
    pub async fn connect(&self, index: usize) -> std::io::Result<TcpStream> {
        let socket = if self.server.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
        if let Some(source) = self.source_for(index) {
            bind_without_port(&socket);
            socket.bind(SocketAddr::new(source, 0))?;
        }
        let stream = socket.connect(self.server).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    }
}

/// `IP_BIND_ADDRESS_NO_PORT`: the port is picked at connect time, per destination, instead of at
/// bind time from the one pool shared by every destination.
fn bind_without_port(socket: &TcpSocket) {
    let on: libc::c_int = 1;
    // SAFETY: setsockopt on a socket we own, with a pointer to a c_int of the stated size.
    // Failing is harmless: bind then picks the port itself.
    unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
    }
}

/// Opens connection `i` of `range` with `open`, at most `concurrency` at a time: the ones that
/// opened, in order, failures counted by kind, and the time it took.
pub async fn open_all<C, F, Fut>(
    range: Range<usize>,
    concurrency: usize,
    open: F,
) -> (Vec<C>, BTreeMap<String, u64>, Duration)
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<C, String>>,
{
    let started = Instant::now();
    let mut results: Vec<(usize, Result<C, String>)> = stream::iter(range)
        .map(|i| {
            let opening = open(i);
            async move { (i, opening.await) }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    results.sort_by_key(|(i, _)| *i);
    let mut failures = BTreeMap::new();
    let opened = results
        .into_iter()
        .filter_map(|(_, r)| r.map_err(|kind| *failures.entry(kind).or_insert(0) += 1).ok())
        .collect();
    (opened, failures, started.elapsed())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_connections_spread_over_source_addresses() {
        let dialer = Dialer { server: "127.0.0.1:8080".parse().unwrap() };
        assert_eq!(dialer.source_for(0), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(dialer.source_for(PER_SOURCE_ADDRESS - 1), Some("127.0.0.1".parse().unwrap()));
        assert_eq!(dialer.source_for(PER_SOURCE_ADDRESS), Some("127.0.0.2".parse().unwrap()));
        let remote = Dialer { server: "10.0.0.5:8080".parse().unwrap() };
        assert_eq!(remote.source_for(50_000), None);
    }
}
