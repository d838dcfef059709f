//! Decoding a client frame and calling the domain service it names. Each command is one match
//! arm: decode → service → ack. Every executed command is counted and timed in the node's
//! metrics (`confab_gateway_commands_total{type}`, `confab_gateway_command_seconds`), and every
//! server fault it ends in is logged here, once, with its cause — the gateway's counterpart of
//! REST's `http/error.rs` (the client's `error` frame carries only the public message).

use std::sync::Arc;
use std::time::{Duration, Instant};

use confab_proto::frames::{Ack, Command, IncomingFrame, MAX_FRAME_ID_LEN};
use confab_proto::rest::{EditMessageRequest, Message, SendInvitationRequest, SendMessageRequest};
use confab_proto::{ApiError, ErrorCode};

use crate::app::App;
use crate::auth::Principal;
use crate::error::Error;

/// A frame that could not be read as a command: answered with an `error` and counted as abuse.
pub struct BadFrame {
    pub id: Option<String>,
    pub error: ApiError,
}

/// Parses a text frame into its id and command.
pub fn decode(text: &str) -> Result<(Option<String>, Command), BadFrame> {
    let frame: IncomingFrame = serde_json::from_str(text).map_err(|e| BadFrame {
        id: None,
        error: ApiError::new(ErrorCode::InvalidJson, format!("not a frame: {e}")),
    })?;
    let id = match frame.id {
        None => None,
        Some(serde_json::Value::String(id)) if (1..=MAX_FRAME_ID_LEN).contains(&id.len()) => Some(id),
        Some(_) => {
            return Err(BadFrame {
                id: None,
                error: ApiError::new(
                    ErrorCode::InvalidParameter,
                    format!("\"id\" must be a string of 1 to {MAX_FRAME_ID_LEN} bytes"),
                ),
            });
        }
    };
    match Command::decode(&frame.kind, frame.data) {
        Ok(command) => Ok((id, command)),
        Err(error) => Err(BadFrame { id, error }),
    }
}

/// Runs a command for `principal`, through the same services as REST, and records it.
///
/// Every command is answered within `gateway.command_timeout_secs`: past it, with `unavailable`
/// (a database that stalls must not leave the client waiting). A send cut off this way may
/// still commit; the client retries with the same `client_id` and gets the one message.
pub async fn execute(app: &Arc<App>, principal: Principal, command: Command) -> Result<Ack, Error> {
    let kind = command.kind();
    let started = Instant::now();
    let deadline = Duration::from_secs(app.config.gateway.command_timeout_secs);
    let result = match tokio::time::timeout(deadline, dispatch(app, principal, command)).await {
        Ok(result) => result,
        Err(_) => Err(Error::Unavailable(format!("no answer within {} s; retry shortly", deadline.as_secs()))),
    };
    if let Err(error) = &result
        && error.is_server_fault()
    {
        tracing::error!(error = %error, command = kind, "command failed");
    }
    app.metrics.gateway_command(kind, started.elapsed(), result.is_ok());
    if let Err(error) = &result {
        log_fault(kind, error);
    }
    result
}

/// Logs a failure of the server (not of the request) behind a command.
fn log_fault(kind: &'static str, error: &Error) {
    if error.is_server_fault() {
        tracing::error!(command = kind, error = %error, "command failed");
    }
}

async fn dispatch(app: &Arc<App>, principal: Principal, command: Command) -> Result<Ack, Error> {
    let messages = &app.messages;
    match command {
        Command::SendMessage(send) => {
            let req = SendMessageRequest {
                body: send.body,
                client_id: send.client_id,
                reply_to: send.reply_to,
                attachments: send.attachments,
                tones: send.tones,
                literal: send.literal,
                sticker_id: send.sticker_id,
            };
            let sent = messages.send(principal, send.conversation_id, req).await?;
            Ok(message(sent.message))
        }
        Command::EditMessage(e) => {
            let req = EditMessageRequest { body: e.body, tones: e.tones, literal: e.literal };
            messages.edit(principal, e.conversation_id, e.message_id, &req).await.map(message)
        }
        Command::DeleteMessage(m) => messages.delete(principal, m.conversation_id, m.message_id).await.map(message),
        Command::AddReaction(r) => {
            messages.react(principal, r.conversation_id, r.message_id, &r.emoji, true).await.map(message)
        }
        Command::RemoveReaction(r) => {
            messages.react(principal, r.conversation_id, r.message_id, &r.emoji, false).await.map(message)
        }
        Command::Typing(t) => app.conversations.typing(principal, t.conversation_id).await.map(|()| Ack::Empty {}),
        Command::Read(r) => {
            app.conversations.mark_read(principal, r.conversation_id, r.seq).await.map(|()| Ack::Empty {})
        }
        Command::Sync(request) => Ok(Ack::Sync(app.sync.sync(principal, request).await?)),
        Command::SendInvitation(i) => {
            let req = SendInvitationRequest { activity: i.activity, invitee: i.invitee };
            app.invitations.send(principal, i.conversation_id, req).await.map(message)
        }
        Command::AcceptInvitation(m) => {
            app.invitations.accept(principal, m.conversation_id, m.message_id).await.map(message)
        }
        Command::DeclineInvitation(m) => {
            app.invitations.decline(principal, m.conversation_id, m.message_id).await.map(message)
        }
        Command::CancelInvitation(m) => {
            app.invitations.cancel(principal, m.conversation_id, m.message_id).await.map(message)
        }
        Command::Ping => Ok(Ack::Empty {}),
    }
}

fn message(m: Message) -> Ack {
    Ack::Message(Box::new(m))
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;
    use crate::store::StoreError;

    /// Everything logged while `f` runs on this thread, as text.
    fn logged(f: impl FnOnce()) -> String {
        #[derive(Clone, Default)]
        struct Sink(Arc<Mutex<Vec<u8>>>);
        impl std::io::Write for Sink {
            fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
                self.0.lock().unwrap().extend_from_slice(buf);
                Ok(buf.len())
            }
            fn flush(&mut self) -> std::io::Result<()> {
                Ok(())
            }
        }
        let sink = Sink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::fmt().with_ansi(false).with_writer(move || writer.clone()).finish();
        tracing::subscriber::with_default(subscriber, f);
        String::from_utf8_lossy(&sink.0.lock().unwrap()).into_owned()
    }

    #[test]
    fn server_faults_behind_a_command_are_logged_with_their_cause() {
        let lost = Error::Store(StoreError::lost_in_batch(3));
        let log = logged(|| log_fault("message.send", &lost));
        assert!(log.contains("ERROR") && log.contains("message.send"), "{log}");
        assert!(log.contains("batch lost message 3"), "the cause is in the log: {log}");
        assert_eq!(lost.code(), ErrorCode::Internal, "a bug is not an unavailable database");
        assert_eq!(lost.to_api().message, "internal error", "and its cause is not in the answer");

        let refused = Error::NotFound("conversation");
        assert_eq!(logged(|| log_fault("message.send", &refused)), "", "refusals are not faults");
    }

    #[test]
    fn malformed_frames_name_their_fault() {
        let cases = [
            ("not json", None, ErrorCode::InvalidJson),
            (r#"{"data":{}}"#, None, ErrorCode::InvalidJson),
            (r#"{"type":"nope","id":"7"}"#, Some("7"), ErrorCode::UnknownCommand),
            (r#"{"type":"ping","id":7}"#, None, ErrorCode::InvalidParameter),
            (
                r#"{"type":"message.send","id":"a","data":{"conversation_id":"1","body":5}}"#,
                Some("a"),
                ErrorCode::InvalidJson,
            ),
            (
                r#"{"type":"message.send","id":"b","data":{"conversation_id":"x","body":"hi"}}"#,
                Some("b"),
                ErrorCode::InvalidJson,
            ),
            (r#"{"type":"message.send","id":"c"}"#, Some("c"), ErrorCode::InvalidJson),
        ];
        for (text, id, code) in cases {
            let Err(bad) = decode(text) else { panic!("{text} decoded") };
            assert_eq!((bad.id.as_deref(), bad.error.code), (id, code), "{text}");
        }
        let long_id = format!(r#"{{"type":"ping","id":"{}"}}"#, "x".repeat(65));
        assert!(decode(&long_id).is_err());
        assert!(matches!(decode(r#"{"type":"ping","id":"1"}"#), Ok((Some(_), Command::Ping))));
    }
}
