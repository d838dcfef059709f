//! A serialized server frame as the hub queues it: UTF-8 JSON, serialized once per event and
//! shared by every recipient (a clone is a reference-count bump, not a copy). The hub's own type
//! so that the hub does not depend on the HTTP framework; the gateway turns it into a WebSocket
//! text message without copying (`into_bytes`).

use bytes::Bytes;

/// Always valid UTF-8: it can only be built from a `String` or a `&'static str`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Frame(Bytes);

impl Frame {
    pub const fn from_static(text: &'static str) -> Frame {
        Frame(Bytes::from_static(text.as_bytes()))
    }

    pub fn as_str(&self) -> &str {
        // Cannot fail: see the type's invariant.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    pub fn into_bytes(self) -> Bytes {
        self.0
    }
}

impl From<String> for Frame {
    fn from(text: String) -> Frame {
        Frame(Bytes::from(text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_shares_its_bytes_between_recipients() {
        let frame = Frame::from(String::from(r#"{"type":"pong"}"#));
        let copy = frame.clone();
        assert_eq!(frame.as_str(), r#"{"type":"pong"}"#);
        assert_eq!(frame.into_bytes().as_ptr(), copy.into_bytes().as_ptr());
    }
}
