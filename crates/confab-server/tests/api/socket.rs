//! The gateway's socket at the byte level, with a hand-rolled client: the close handshake
//! (RFC 6455 §5.5.1, §7.4) and what happens to the TCP connection of a slow consumer.

use std::time::Duration;

use confab_proto::rest::SendMessageRequest;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::helpers::*;

/// Opens a TCP connection (with the given receive buffer, if any) and upgrades it as `user`.
async fn raw_socket(app: &TestApp, user: &TestUser, receive_buffer: Option<u32>) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    if let Some(bytes) = receive_buffer {
        socket.set_recv_buffer_size(bytes).unwrap();
    }
    let mut stream = socket.connect(app.server.addr).await.unwrap();
    let request = format!(
        "GET /api/v1/ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: confab.v1, bearer.{}\r\n\r\n",
        app.server.addr, user.auth.access_token
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    // Read the response head byte by byte, so that no frame after it is consumed.
    let mut head = Vec::new();
    while !head.ends_with(b"\r\n\r\n") {
        head.push(stream.read_u8().await.unwrap());
    }
    let head = String::from_utf8_lossy(&head);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    stream
}

/// A masked client frame (the mask is zero, so the payload travels as is).
fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut frame = vec![0x80 | opcode, 0x80 | payload.len() as u8, 0, 0, 0, 0];
    frame.extend_from_slice(payload);
    frame
}

/// Reads server frames until a Close and returns its code (`None` for an empty Close);
/// `Err` when the connection ends without one.
async fn next_close(stream: &mut TcpStream) -> Result<Option<u16>, String> {
    loop {
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).await.map_err(|e| format!("no Close frame: {e}"))?;
        let opcode = header[0] & 0x0f;
        let len = match header[1] & 0x7f {
            126 => u64::from(stream.read_u16().await.map_err(|e| e.to_string())?),
            127 => stream.read_u64().await.map_err(|e| e.to_string())?,
            n => u64::from(n),
        };
        let mut payload = vec![0; len as usize];
        stream.read_exact(&mut payload).await.map_err(|e| e.to_string())?;
        if opcode == 0x8 {
            return Ok((payload.len() >= 2).then(|| u16::from_be_bytes([payload[0], payload[1]])));
        }
    }
}

#[tokio::test]
async fn a_client_close_is_answered_with_a_close() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    // A valid code is echoed; 1005 and 999 may not appear on the wire and are a protocol error.
    for (sent, answered) in [(1000u16, 1000u16), (4000, 4000), (1005, 1002), (999, 1002)] {
        let mut stream = raw_socket(&app, &alice, None).await;
        stream.write_all(&client_frame(0x8, &sent.to_be_bytes())).await.unwrap();
        let close = tokio::time::timeout(Duration::from_secs(5), next_close(&mut stream)).await;
        assert_eq!(close.expect("answered in time"), Ok(Some(answered)), "client sent Close {sent}");
        // And then the server ends the TCP connection.
        let mut rest = Vec::new();
        let end = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut rest)).await;
        assert!(end.is_ok(), "the server closed the TCP connection after the handshake");
    }
}

/// The inode of the server's end of the TCP connection from `client_port` to `server_port`:
/// 0 once no process holds it (closed, the kernel finishing the send), `None` once it is gone.
#[cfg(target_os = "linux")]
fn server_socket_inode(server_port: u16, client_port: u16) -> Option<u64> {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let (local, remote) = (format!(":{server_port:04X}"), format!(":{client_port:04X}"));
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.len() > 9 && fields[1].ends_with(&local) && fields[2].ends_with(&remote))
            .then(|| fields[9].parse().unwrap_or(0))
    })
}

#[cfg(target_os = "linux")]
#[tokio::test]
async fn a_slow_consumer_loses_its_tcp_connection_not_only_its_session() {
    let app = spawn_app_with(|c| {
        c.gateway.outbound_queue = 8;
        c.limits.max_message_chars = 60_000;
    })
    .await;
    let alice = app.user("alice").await;
    let bob = app.user("bob").await;
    let dm = alice.dm_with(&bob).await;
    // Bob's client never reads: with a small receive buffer the server's send queue fills.
    let stalled = raw_socket(&app, &bob, Some(4096)).await;
    let client_port = stalled.local_addr().unwrap().port();
    let server_port = app.server.addr.port();
    assert!(server_socket_inode(server_port, client_port).is_some_and(|inode| inode != 0));

    let metrics = &app.server.app.metrics;
    let big = "x".repeat(50_000);
    for _ in 0..400 {
        if metrics.websocket_closed_slow_consumer.get() > 0 {
            break;
        }
        let req = SendMessageRequest { body: big.clone(), ..Default::default() };
        alice.client.send_message(dm.id, &req).await.unwrap();
    }
    assert_eq!(metrics.websocket_closed_slow_consumer.get(), 1, "closed as a slow consumer (4008)");

    // Within the close grace (2 s) and some slack, the server lets go of the socket although
    // the client still has not read a byte.
    let mut released = false;
    for _ in 0..40 {
        if server_socket_inode(server_port, client_port).is_none_or(|inode| inode == 0) {
            released = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(released, "the server still holds the slow consumer's socket 4 s after closing it");
    assert_eq!(app.server.app.hub.connection_count(), 0);
    drop(stalled);
}
