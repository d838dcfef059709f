//! The NATS client protocol, the parts the bench speaks: `CONNECT`, `SUB`, `PUB`, `PING`/`PONG`
//! out; `INFO`, `MSG`, `PING`/`PONG`, `+OK`, `-ERR` in. Over WebSocket, operations may be split
//! across frames or several may share one, so the parser buffers bytes and yields whole ops.

/// An operation from the server.
#[derive(Debug, PartialEq, Eq)]
pub enum Op {
    Info,
    Msg { sid: u64, payload: Vec<u8> },
    Ping,
    Pong,
    Ok,
    Err(String),
}

#[derive(Debug, PartialEq, Eq)]
pub struct ProtocolError(pub String);

/// Longest control line accepted: INFO lines are a few hundred bytes.
const MAX_LINE: usize = 64 * 1024;

#[derive(Default)]
pub struct Parser {
    buf: Vec<u8>,
    /// Start of the unparsed part of `buf`.
    pos: usize,
}

impl Parser {
    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole operation, `Ok(None)` if more bytes are needed.
    pub fn next_op(&mut self) -> Result<Option<Op>, ProtocolError> {
        let rest = &self.buf[self.pos..];
        let Some(line_end) = find_crlf(rest) else {
            if rest.len() > MAX_LINE {
                return Err(ProtocolError("control line too long".into()));
            }
            return Ok(None);
        };
        let line = &rest[..line_end];
        let mut words = line.split(|b| *b == b' ' || *b == b'\t').filter(|w| !w.is_empty());
        let verb = words.next().unwrap_or_default().to_ascii_uppercase();
        let after_line = line_end + 2;
        let op = match verb.as_slice() {
            b"MSG" => {
                // MSG <subject> <sid> [reply-to] <#bytes>
                let args: Vec<&[u8]> = words.collect();
                let (sid, len) = match args.as_slice() {
                    [_, sid, len] | [_, sid, _, len] => (number(sid)?, number(len)? as usize),
                    _ => return Err(ProtocolError(format!("bad MSG line {:?}", String::from_utf8_lossy(line)))),
                };
                if rest.len() < after_line + len + 2 {
                    return Ok(None);
                }
                if &rest[after_line + len..after_line + len + 2] != b"\r\n" {
                    return Err(ProtocolError("MSG payload not followed by CRLF".into()));
                }
                let payload = rest[after_line..after_line + len].to_vec();
                self.pos += after_line + len + 2;
                return Ok(Some(Op::Msg { sid, payload }));
            }
            b"PING" => Op::Ping,
            b"PONG" => Op::Pong,
            b"INFO" => Op::Info,
            b"+OK" => Op::Ok,
            b"-ERR" => Op::Err(String::from_utf8_lossy(&line[4..]).trim().trim_matches('\'').to_owned()),
            _ => return Err(ProtocolError(format!("unknown operation {:?}", String::from_utf8_lossy(line)))),
        };
        self.pos += after_line;
        Ok(Some(op))
    }
}

fn find_crlf(bytes: &[u8]) -> Option<usize> {
    bytes.windows(2).position(|w| w == b"\r\n")
}

fn number(word: &[u8]) -> Result<u64, ProtocolError> {
    std::str::from_utf8(word)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ProtocolError(format!("not a number: {:?}", String::from_utf8_lossy(word))))
}

/// `CONNECT` without verbose `+OK`s or pedantic checks: the fast path a real client uses.
pub const CONNECT: &[u8] =
    b"CONNECT {\"verbose\":false,\"pedantic\":false,\"lang\":\"confab-bench\",\"version\":\"0.1\",\"protocol\":1}\r\n";
pub const PING: &[u8] = b"PING\r\n";
pub const PONG: &[u8] = b"PONG\r\n";

pub fn sub(out: &mut Vec<u8>, subject: &str, sid: u64) {
    out.extend_from_slice(format!("SUB {subject} {sid}\r\n").as_bytes());
}

pub fn publish(out: &mut Vec<u8>, subject: &str, payload: &[u8]) {
    out.extend_from_slice(format!("PUB {subject} {}\r\n", payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(parser: &mut Parser) -> Vec<Op> {
        std::iter::from_fn(|| parser.next_op().unwrap()).collect()
    }

    #[test]
    fn several_ops_in_one_frame_are_all_read() {
        let mut parser = Parser::default();
        parser.push(b"INFO {\"server_id\":\"x\"}\r\nPING\r\nMSG u.1 7 5\r\nhello\r\n+OK\r\n-ERR 'Slow Consumer'\r\n");
        assert_eq!(
            ops(&mut parser),
            vec![
                Op::Info,
                Op::Ping,
                Op::Msg { sid: 7, payload: b"hello".to_vec() },
                Op::Ok,
                Op::Err("Slow Consumer".into())
            ]
        );
    }

    #[test]
    fn an_op_split_across_frames_waits_for_its_end() {
        let mut parser = Parser::default();
        parser.push(b"MSG g.3 1 reply.to 10\r\nt=1 s=");
        assert_eq!(parser.next_op(), Ok(None));
        parser.push(b"2 xx\r");
        assert_eq!(parser.next_op(), Ok(None));
        parser.push(b"\nPO");
        assert_eq!(parser.next_op(), Ok(Some(Op::Msg { sid: 1, payload: b"t=1 s=2 xx".to_vec() })));
        parser.push(b"NG\r\n");
        assert_eq!(parser.next_op(), Ok(Some(Op::Pong)));
        assert_eq!(parser.next_op(), Ok(None));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut parser = Parser::default();
        parser.push(b"MSG a b c d e\r\n");
        assert!(parser.next_op().is_err());
        let mut parser = Parser::default();
        parser.push(b"HELLO\r\n");
        assert!(parser.next_op().is_err());
        let mut parser = Parser::default();
        parser.push(b"MSG a 1 2\r\nxyz\r\n");
        assert!(parser.next_op().is_err(), "payload longer than announced");
    }

    #[test]
    fn outgoing_ops_are_framed() {
        let mut out = Vec::new();
        sub(&mut out, "u.1", 1);
        publish(&mut out, "u.2", b"t=1 s=1");
        assert_eq!(out, b"SUB u.1 1\r\nPUB u.2 7\r\nt=1 s=1\r\n");
    }
}
