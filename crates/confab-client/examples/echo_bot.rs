//! An echo bot: answers every message in its conversations with the same text.
//!
//! Create it (`POST /api/v1/bots`), add it to a conversation, then:
//! `CONFAB_URL=http://127.0.0.1:8080 CONFAB_BOT_TOKEN=cfb_… cargo run -p confab-client --example echo_bot`

use confab_client::Client;
use confab_proto::frames::{Event, SendMessage};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bot = Client::new(&std::env::var("CONFAB_URL")?)?.with_token(&std::env::var("CONFAB_BOT_TOKEN")?);
    let me = bot.me().await?.id;
    let mut socket = bot.connect().await?;
    loop {
        if let Event::MessageCreated(message) = socket.next_event().await?.event
            && message.sender_id != me
            && !message.body.is_empty()
        {
            let echo = format!("echo: {}", message.body);
            socket.send_message(SendMessage::text(message.conversation_id, echo)).await?;
        }
    }
}
