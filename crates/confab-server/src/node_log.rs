//! Log lines tagged with the node they come from, so that the logs of a cluster can be told
//! apart: `node=7 …` in text, a `"node":7` field in JSON.

use std::io::{self, Write};

use tracing_subscriber::fmt::MakeWriter;

/// Writes each formatted event to stdout with the node id in front (text) or as the first field
/// (JSON). The formatter hands over one whole event per `write`.
#[derive(Clone, Copy)]
pub struct NodeTagged {
    /// Read at every line: a cluster node learns its id only once it has leased one.
    pub node: &'static std::sync::atomic::AtomicU16,
    pub json: bool,
}

pub struct Line {
    node: u16,
    json: bool,
}

impl Write for Line {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut out = io::stdout().lock();
        match (self.json, buf.first()) {
            (true, Some(b'{')) => {
                write!(out, "{{\"node\":{},", self.node)?;
                out.write_all(&buf[1..])?;
            }
            _ => {
                write!(out, "node={} ", self.node)?;
                out.write_all(buf)?;
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush()
    }
}

impl<'a> MakeWriter<'a> for NodeTagged {
    type Writer = Line;

    fn make_writer(&'a self) -> Line {
        Line { node: self.node.load(std::sync::atomic::Ordering::Relaxed), json: self.json }
    }
}
