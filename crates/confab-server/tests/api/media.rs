//! Files and images: resumable uploads (tus), attachments, safe serving, avatars, limits.

use std::io::Cursor;
use std::time::{Duration, Instant};

use bytes::Bytes;
use confab_client::{NewUpload, RawBody};
use confab_proto::ErrorCode;
use confab_proto::frames::Event;
use confab_proto::media::{Upload, UploadPurpose, UploadState};
use confab_proto::rest::SendMessageRequest;
use reqwest::Method;
use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::helpers::*;

fn named(name: &str) -> NewUpload {
    NewUpload { name: name.into(), ..NewUpload::default() }
}

fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Pseudo-random bytes (incompressible, so nothing along the way can shortcut them).
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// A PNG of `width` × `height` with a gradient (so that it compresses as a picture does).
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| image::Rgb([(x % 256) as u8, (y % 256) as u8, 128]));
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A JPEG carrying an EXIF segment with GPS coordinates and a comment, and bytes after its end.
fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, _| image::Rgb([(x % 256) as u8, 90, 200]));
    let mut plain = Cursor::new(Vec::new());
    image.write_to(&mut plain, image::ImageFormat::Jpeg).unwrap();
    let plain = plain.into_inner();
    // TIFF header (little endian), IFD0 with one entry: GPSInfo (0x8825) → an IFD with GPSLatitudeRef "N".
    let mut tiff = b"II*\0\x08\0\0\0".to_vec();
    tiff.extend_from_slice(&[1, 0, 0x25, 0x88, 4, 0, 1, 0, 0, 0, 26, 0, 0, 0, 0, 0, 0, 0]);
    tiff.extend_from_slice(&[1, 0, 1, 0, 2, 0, 2, 0, 0, 0, b'N', 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    app1.extend_from_slice(b"GPS 48.8584 N 2.2945 E");
    let mut out = plain[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    let comment = b"shot at home";
    out.extend_from_slice(&[0xFF, 0xFE]);
    out.extend_from_slice(&((comment.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(comment);
    out.extend_from_slice(&plain[2..]);
    out.extend_from_slice(b"TRAILING SECRET AFTER EOI");
    out
}

/// A valid 1 KB-ish PNG whose header declares 100,000 × 100,000 pixels.
fn pixel_flood() -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc_input = kind.to_vec();
        crc_input.extend_from_slice(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc32(&crc_input).to_be_bytes());
    }
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&100_000u32.to_be_bytes());
    ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &[0x78, 0x9c, 0x63, 0, 0, 0, 1, 0, 1]);
    chunk(&mut out, b"IEND", &[]);
    out.resize(out.len().max(1024), 0);
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for byte in bytes {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// A GIF of `frames` 1×1 frames.
pub fn many_frames(frames: usize) -> Vec<u8> {
    let mut out = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff".to_vec();
    for _ in 0..frames {
        out.extend_from_slice(b"\x21\xf9\x04\x00\x01\x00\x00\x00");
        out.extend_from_slice(b"\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00");
    }
    out.push(0x3b);
    out
}

pub async fn upload(user: &TestUser, bytes: &[u8], name: &str) -> Upload {
    user.client.upload(Bytes::copy_from_slice(bytes), &named(name)).await.expect("upload")
}

/// `bytes` attached to a message from `from` in `dm`; returns the message as sent.
async fn attach(
    from: &TestUser,
    dm: confab_proto::ConversationId,
    bytes: &[u8],
    name: &str,
) -> confab_proto::rest::Message {
    let up = upload(from, bytes, name).await;
    let req = SendMessageRequest { body: String::new(), attachments: vec![up.id], ..Default::default() };
    from.client.send_message(dm, &req).await.expect("send with attachment")
}

#[tokio::test]
async fn a_file_travels_as_an_attachment_to_members_only() {
    let app = spawn_app().await;
    let (alice, bob, eve) = (app.user("alice").await, app.user("bob").await, app.user("eve").await);
    let dm = alice.dm_with(&bob).await.id;
    let mut bob_ws = bob.connect().await;
    let bytes = noise(300_000, 7);
    let up = upload(&alice, &bytes, "report.bin").await;
    assert_eq!(up.state, UploadState::Complete);
    let file = up.file.clone().unwrap();
    assert_eq!(
        (file.size, file.sha256.as_str(), file.mime.as_str()),
        (300_000, sha256_hex(&bytes).as_str(), "application/octet-stream")
    );

    let req = SendMessageRequest { body: "the report".into(), attachments: vec![up.id], ..Default::default() };
    let sent = alice.client.send_message(dm, &req).await.unwrap();
    assert_eq!(sent.attachments.len(), 1);
    let attachment = &sent.attachments[0];
    assert_eq!(attachment.file.name, "report.bin");
    let live = first_event(&mut bob_ws, Duration::from_secs(5), |e| match e {
        Event::MessageCreated(m) if m.id == sent.id => Some(m),
        _ => None,
    })
    .await
    .expect("bob gets the message");
    assert_eq!(live.attachments, sent.attachments, "members get the attachment live");
    let history = bob.client.history(dm, &Default::default()).await.unwrap();
    assert_eq!(history.messages.last().unwrap().attachments, sent.attachments, "and in history");

    // The URL is the capability: no token needed, and the bytes are the same.
    let downloaded = app.anonymous().download(&attachment.url).await.unwrap();
    assert_eq!(sha256_hex(&downloaded), sha256_hex(&bytes));
    // Members get it as JSON; others cannot tell it exists; a wrong key is not found either.
    assert_eq!(bob.client.attachment(attachment.id).await.unwrap().url, attachment.url);
    assert_api_error(eve.client.attachment(attachment.id).await, 404, ErrorCode::NotFound);
    let forged = format!("/api/v1/media/{}/AAAAAAAAAAAAAAAAAAAAAA", attachment.id);
    assert_eq!(app.anonymous().raw(Method::GET, &forged, None).await.unwrap().status, 404);
    // An upload is attached once; someone else's upload never.
    let again = alice.client.send_message(dm, &req).await;
    assert_api_error(again, 400, ErrorCode::InvalidAttachment);
    let theirs = upload(&eve, b"eve's", "e.txt").await;
    let steal = SendMessageRequest { body: "x".into(), attachments: vec![theirs.id], ..Default::default() };
    assert_api_error(alice.client.send_message(dm, &steal).await, 400, ErrorCode::InvalidAttachment);
    let empty = SendMessageRequest { body: String::new(), ..Default::default() };
    assert_api_error(alice.client.send_message(dm, &empty).await, 400, ErrorCode::EmptyMessage);

    // Deleting the message deletes its file: the URL stops working.
    alice.client.delete_message(dm, sent.id).await.unwrap();
    let tombstone = bob.client.history(dm, &Default::default()).await.unwrap();
    assert!(tombstone.messages.last().unwrap().attachments.is_empty());
    // At once the URL is dead; the sweep then deletes the bytes, leaving only eve's unused upload.
    let status = app.anonymous().raw(Method::GET, &attachment.url, None).await.unwrap().status;
    assert_eq!(status, 404, "the file is not served once its message is deleted");
    let stored = || std::fs::read_dir(app.data_dir.path().join("media/files")).map(|d| d.count()).unwrap_or(0);
    let deadline = Instant::now() + Duration::from_secs(10);
    while stored() != 1 {
        assert!(Instant::now() < deadline, "{} files on disk, not only eve's", stored());
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn unattached_uploads_expire_with_their_bytes_and_attached_ones_stay() {
    let app = spawn_app_with(|c| c.media.upload_expiry_secs = 3).await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let kept = attach(&alice, dm, &noise(20_000, 11), "kept.bin").await;
    let finished = upload(&alice, &noise(20_000, 12), "never-sent.bin").await;
    let half = alice.client.create_upload(10_000, &named("half.bin")).await.unwrap();
    alice.client.upload_chunk(half.id, 0, Bytes::from(noise(4_000, 13))).await.unwrap();
    let parts = app.data_dir.path().join(format!("media/uploads/{}", half.id));
    assert!(parts.exists(), "the first part is stored");

    tokio::time::sleep(Duration::from_millis(3_500)).await;
    // Ending any upload wakes the sweep at once (else it runs every minute).
    let nudge = alice.client.create_upload(1, &named("nudge")).await.unwrap();
    alice.client.delete_upload(nudge.id).await.unwrap();
    let files = || std::fs::read_dir(app.data_dir.path().join("media/files")).unwrap().count();
    let gone = |r: Result<Upload, confab_client::ClientError>| r.is_err_and(|e| e.status() == Some(404));
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let uploads_gone =
            gone(alice.client.upload_status(finished.id).await) && gone(alice.client.upload_status(half.id).await);
        // The parts of the half upload, and the file only the unsent upload held, go with them.
        if uploads_gone && !parts.exists() && files() == 1 {
            break;
        }
        assert!(Instant::now() < deadline, "expired uploads or their bytes are still there");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let still = app.anonymous().download(&kept.attachments[0].url).await.unwrap();
    assert_eq!(still.len(), 20_000, "an attachment never expires");
}

#[tokio::test]
async fn shared_files_are_stored_once_and_outlive_one_of_their_messages() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let bytes = noise(50_000, 3);
    let first = attach(&alice, dm, &bytes, "a.bin").await;
    let second = attach(&bob, dm, &bytes, "b.bin").await;
    let files = std::fs::read_dir(app.data_dir.path().join("media/files")).unwrap().count();
    assert_eq!(files, 1, "content-addressed: the same bytes are stored once");
    alice.client.delete_message(dm, first.id).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let still = app.anonymous().download(&second.attachments[0].url).await.unwrap();
    assert_eq!(still.len(), bytes.len(), "bob's message still has the file");
}

#[tokio::test]
async fn an_upload_cut_halfway_resumes_and_ends_with_the_same_sha256() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bytes = Bytes::from(noise(100 << 20, 11));
    let sha256 = sha256_hex(&bytes);
    let new = NewUpload { sha256: Some(sha256.clone()), ..named("big.bin") };
    let created = alice.client.create_upload(bytes.len() as u64, &new).await.unwrap();

    // Half of the body on a raw socket, then the connection drops.
    let address = app.base_url.trim_start_matches("http://").to_owned();
    let mut socket = tokio::net::TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "PATCH /api/v1/uploads/{} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\nTus-Resumable: 1.0.0\r\n\
         Upload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\nContent-Length: {}\r\n\r\n",
        created.id,
        alice.token(),
        bytes.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&bytes[..50 << 20]).await.unwrap();
    socket.flush().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    drop(socket);

    // The server kept what arrived; the client resumes from there.
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut offset = 0;
    while Instant::now() < deadline {
        offset = alice.client.upload_offset(created.id).await.unwrap();
        if offset > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(offset > 0 && offset <= 50 << 20, "kept {offset} bytes of the cut request");
    let done = alice.client.resume_upload(created.id, bytes.clone(), 16 << 20).await.unwrap();
    let file = done.file.unwrap();
    assert_eq!(
        (done.state, file.size, file.sha256.as_str()),
        (UploadState::Complete, bytes.len() as u64, sha256.as_str())
    );
}

#[tokio::test]
async fn an_upload_resumes_after_a_restart_and_a_wrong_checksum_is_refused() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let bytes = Bytes::from(noise(3 << 20, 5));
    let created = alice.client.create_upload(bytes.len() as u64, &named("r.bin")).await.unwrap();
    let offset = alice.client.upload_chunk(created.id, 0, bytes.slice(..1 << 20)).await.unwrap();
    assert_eq!(offset, 1 << 20);

    let app = app.restart().await;
    let alice = app.login("alice").await;
    assert_eq!(alice.client.upload_offset(created.id).await.unwrap(), 1 << 20, "the offset survived the restart");
    // A chunk at a stale offset is refused and changes nothing.
    let stale = alice.client.upload_chunk(created.id, 0, bytes.slice(..10)).await;
    assert_api_error(stale, 409, ErrorCode::OffsetMismatch);
    let done = alice.client.resume_upload(created.id, bytes.clone(), 1 << 20).await.unwrap();
    assert_eq!(done.file.unwrap().sha256, sha256_hex(&bytes));

    // A declared SHA-256 that the bytes do not have: refused on the last byte, upload gone.
    let wrong = NewUpload { sha256: Some("0".repeat(64)), ..named("w.bin") };
    let refused = alice.client.upload(Bytes::from_static(b"not what was declared"), &wrong).await;
    assert_api_error(refused, 400, ErrorCode::ChecksumMismatch);
}

#[tokio::test]
async fn images_come_back_without_metadata_with_a_thumbnail_and_safe_headers() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let original = jpeg_with_gps(1200, 800);
    let sent = attach(&alice, dm, &original, "holiday.jpg").await;
    let attachment = &sent.attachments[0];
    assert_eq!(attachment.file.mime, "image/jpeg");
    assert_eq!((attachment.file.width, attachment.file.height), (Some(1200), Some(800)));
    assert!(attachment.file.blurhash.as_ref().is_some_and(|b| b.len() >= 6));

    let served = app.anonymous().raw(Method::GET, &attachment.url, None).await.unwrap();
    assert_eq!(served.status, 200);
    let body = &served.body;
    assert!(!body.windows(2).any(|w| w == [0xFF, 0xE1]), "no APP1 (EXIF) segment");
    assert!(!body.windows(4).any(|w| w == b"Exif") && !body.windows(3).any(|w| w == b"GPS"));
    assert!(!body.windows(12).any(|w| w == b"shot at home"), "no comment");
    assert!(body.ends_with(&[0xFF, 0xD9]), "nothing after EOI");
    assert_eq!(image::load_from_memory(body).unwrap().width(), 1200);
    assert_eq!(served.content_type(), "image/jpeg");
    assert!(served.header("content-disposition").unwrap().starts_with("inline;"));
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    assert!(served.header("content-security-policy").unwrap().starts_with("sandbox"));
    assert_eq!(served.header("cross-origin-resource-policy"), Some("same-origin"));
    let etag = served.header("etag").unwrap().to_owned();
    assert_eq!(etag, format!("\"{}\"", attachment.file.sha256));

    let thumbnail = app.anonymous().download(attachment.thumbnail_url.as_ref().expect("a thumbnail")).await.unwrap();
    let small = image::load_from_memory(&thumbnail).unwrap();
    assert!(
        small.width() <= 480 && small.height() <= 480 && small.width() >= 400,
        "{}×{}",
        small.width(),
        small.height()
    );

    // Range and conditional requests.
    let client = reqwest::Client::new();
    let url = format!("{}{}", app.base_url, attachment.url);
    let part = client.get(&url).header("range", "bytes=0-9").send().await.unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"].to_str().unwrap(), format!("bytes 0-9/{}", body.len()));
    assert_eq!(part.bytes().await.unwrap().as_ref(), &body[..10]);
    let beyond = client.get(&url).header("range", format!("bytes={}-", body.len() + 5)).send().await.unwrap();
    assert_eq!(beyond.status(), 416);
    let unchanged = client.get(&url).header("if-none-match", &etag).send().await.unwrap();
    assert_eq!(unchanged.status(), 304);
}

#[tokio::test]
async fn decompression_bombs_are_refused_at_once() {
    let app = spawn_app().await;
    let alice = app.user("alice").await;
    let started = Instant::now();
    let flood = alice.client.upload(Bytes::from(pixel_flood()), &named("flood.png")).await;
    assert_api_error(flood, 413, ErrorCode::ImageTooLarge);
    let frames = alice.client.upload(Bytes::from(many_frames(10_000)), &named("frames.gif")).await;
    assert_api_error(frames, 413, ErrorCode::ImageTooLarge);
    // Refused from their headers: nothing was decoded (a decode of 10^10 pixels would not end).
    assert!(started.elapsed() < Duration::from_secs(5), "took {:?}", started.elapsed());

    // A zip of zeros is a file like any other: stored as sent, never unpacked, served as a download.
    let mut zip = b"PK\x03\x04\x14\x00\x00\x00\x08\x00".to_vec();
    zip.resize(2048, 0);
    let stored = upload(&alice, &zip, "zeros.zip").await;
    assert_eq!(stored.file.unwrap().mime, "application/zip");
}

/// The most memory the process `pid` ever held (`VmHWM`), in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the server's /proc status");
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).expect("a VmHWM line");
    line.split_whitespace().nth(1).and_then(|n| n.parse().ok()).expect("VmHWM in kB")
}

/// The bombs again, against a server process of its own whose peak memory is read before and
/// after: refusing them must not cost what decoding them would (gigabytes).
#[cfg(target_os = "linux")]
#[tokio::test]
async fn decompression_bombs_leave_the_servers_peak_memory_where_it_was() {
    use confab_proto::rest::RegisterRequest;
    use tokio::io::AsyncBufReadExt;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("confab.toml");
    std::fs::write(&config, format!("listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n", dir.path().display().to_string()))
        .unwrap();
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_confab"))
        .arg("--config")
        .arg(&config)
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the confab binary starts");
    let pid = child.id().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let base = loop {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await.unwrap().unwrap().unwrap();
        if let Some(at) = line.find("http://") {
            break line[at..].trim().to_owned();
        }
    };
    let anonymous = confab_client::Client::new(&base).unwrap();
    let register = RegisterRequest { username: "alice".into(), password: PASSWORD.into(), display_name: None };
    let alice = anonymous.with_token(&anonymous.register(&register).await.unwrap().access_token);
    // Warm up the image path with a real picture, so that what follows measures only the bombs.
    alice.upload(Bytes::from(png(800, 600)), &named("warm.png")).await.unwrap();
    let before = peak_rss_kib(pid);
    for round in 0..3 {
        let flood = alice.upload(Bytes::from(pixel_flood()), &named(&format!("flood{round}.png"))).await;
        assert_eq!(flood.unwrap_err().code(), Some(ErrorCode::ImageTooLarge));
        let frames = alice.upload(Bytes::from(many_frames(10_000 + round)), &named("frames.gif")).await;
        assert_eq!(frames.unwrap_err().code(), Some(ErrorCode::ImageTooLarge));
    }
    let grown = peak_rss_kib(pid).saturating_sub(before);
    // 100,000² RGB pixels would be 30 GB; the refusal reads a few headers.
    assert!(grown < 16 * 1024, "the server's peak memory grew by {grown} KiB");
}

#[tokio::test]
async fn html_svg_and_hostile_names_are_served_as_inert_downloads() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    let dm = alice.dm_with(&bob).await.id;
    let html = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>";
    let svg = br#"<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>"#;
    for (bytes, name, mime) in [
        (&html[..], "cat.png", "text/html"),
        (&svg[..], "logo.svg", "image/svg+xml"),
        (&html[..], "../../etc/passwd\r\nSet-Cookie: a=b", "text/html"),
    ] {
        let sent = attach(&alice, dm, bytes, name).await;
        let attachment = &sent.attachments[0];
        assert_eq!(attachment.file.mime, mime, "sniffed from the bytes, not the name");
        assert!(attachment.thumbnail_url.is_none());
        assert!(!attachment.file.name.contains('/') && !attachment.file.name.contains('\r'));
        let served = app.anonymous().raw(Method::GET, &attachment.url, None).await.unwrap();
        assert_eq!(served.status, 200);
        assert_eq!(served.content_type(), "application/octet-stream");
        let disposition = served.header("content-disposition").unwrap();
        assert!(disposition.starts_with("attachment;"), "{disposition}");
        assert!(served.header("set-cookie").is_none());
        assert!(served.header("content-security-policy").unwrap().starts_with("sandbox"));
    }

    // A polyglot: a real PNG with a page after IEND. It is shown as the image it is, and the
    // page is gone from the bytes served.
    let mut polyglot = png(40, 30);
    polyglot.extend_from_slice(&html[..]);
    let sent = attach(&alice, dm, &polyglot, "both.png").await;
    let served = bob.client.raw(Method::GET, &sent.attachments[0].url, None).await.unwrap();
    assert_eq!(served.header("content-type"), Some("image/png"));
    assert_eq!(served.header("x-content-type-options"), Some("nosniff"));
    let body = app.anonymous().download(&sent.attachments[0].url).await.unwrap();
    assert!(!body.windows(7).any(|w| w == b"<script"), "nothing after IEND is served");
    assert!(body.ends_with(b"IEND\xae\x42\x60\x82"), "the PNG ends at its IEND chunk");
}

#[tokio::test]
async fn the_tus_protocol_and_its_refusals() {
    let app = spawn_app_with(|c| {
        c.media.max_file_bytes = 1 << 20;
        c.media.quota_bytes = 3 << 20;
    })
    .await;
    let alice = app.user("alice").await;
    let options = app.anonymous().raw(Method::OPTIONS, "/api/v1/uploads", None).await.unwrap();
    assert_eq!(options.status, 204);
    assert_eq!(options.header("tus-version"), Some("1.0.0"));
    assert_eq!(options.header("tus-resumable"), Some("1.0.0"), "every tus answer says its version");
    assert_eq!(options.header("tus-extension"), Some("creation,expiration,termination"));
    assert_eq!(options.header("tus-max-size"), Some("1048576"));

    let too_big = alice.client.create_upload(2 << 20, &named("x")).await;
    assert_api_error(too_big, 413, ErrorCode::FileTooLarge);
    let mut kept = Vec::new();
    for _ in 0..3 {
        kept.push(alice.client.create_upload(1 << 20, &named("x")).await.unwrap());
    }
    assert_api_error(alice.client.create_upload(1, &named("x")).await, 413, ErrorCode::QuotaExceeded);
    alice.client.delete_upload(kept[0].id).await.unwrap();
    // HEAD answers carry no body, so only the status says why.
    let gone = alice.client.upload_offset(kept[0].id).await.unwrap_err();
    assert_eq!(gone.status(), Some(404), "{gone}");
    let up = alice.client.create_upload(10, &named("x")).await.unwrap();

    // The raw protocol: version, content type, offset.
    let path = format!("/api/v1/uploads/{}", up.id);
    let no_version = alice
        .client
        .raw(Method::PATCH, &path, Some(RawBody::new("application/offset+octet-stream", b"abc".to_vec())))
        .await
        .unwrap();
    assert_eq!((no_version.status, no_version.error_code()), (412, Some("unsupported_tus_version")));
    assert_eq!(no_version.header("tus-resumable"), Some("1.0.0"));
    let too_much = alice.client.upload_chunk(up.id, 0, Bytes::from_static(b"eleven byte")).await;
    assert_api_error(too_much, 413, ErrorCode::FileTooLarge);
    assert_eq!(alice.client.upload_offset(up.id).await.unwrap(), 0, "a refused chunk stores nothing");
    // Someone else's upload does not exist for them.
    let bob = app.user("bob").await;
    assert_eq!(bob.client.upload_offset(up.id).await.unwrap_err().status(), Some(404));
    assert_api_error(bob.client.upload_chunk(up.id, 0, Bytes::from_static(b"x")).await, 404, ErrorCode::NotFound);
}

#[tokio::test]
async fn avatars_are_made_from_uploads_as_small_squares() {
    let app = spawn_app().await;
    let (alice, bob) = (app.user("alice").await, app.user("bob").await);
    alice.dm_with(&bob).await;
    let mut bob_ws = bob.connect().await;
    let avatar = NewUpload { purpose: UploadPurpose::Avatar, ..named("me.png") };
    let up = alice.client.upload(Bytes::from(png(600, 400)), &avatar).await.unwrap();
    let me = alice.client.set_avatar(up.id).await.unwrap();
    let url = me.avatar_url.clone().expect("an avatar url");
    let seen = first_event(&mut bob_ws, Duration::from_secs(5), |e| match e {
        Event::UserUpdated(user) if user.id == alice.id() => Some(user),
        _ => None,
    })
    .await
    .expect("bob sees the new picture live");
    assert_eq!(seen.avatar_url, Some(url.clone()));
    assert!(url.starts_with("/api/v1/avatars/"), "{url}");
    let square = image::load_from_memory(&app.anonymous().download(&url).await.unwrap()).unwrap();
    assert_eq!((square.width(), square.height()), (256, 256));
    assert_eq!(bob.client.user(alice.id()).await.unwrap().avatar_url, Some(url.clone()), "others see it");
    // The upload was used up; a text file is no avatar.
    assert_api_error(alice.client.set_avatar(up.id).await, 404, ErrorCode::NotFound);
    let text = alice
        .client
        .upload(Bytes::from_static(b"hello"), &NewUpload { purpose: UploadPurpose::Avatar, ..named("a.txt") })
        .await;
    assert_api_error(text, 400, ErrorCode::NotAnImage);

    // A group's avatar, as a change kept in its history.
    let group = alice
        .client
        .create_conversation(&confab_proto::rest::CreateConversationRequest::group("team", vec![bob.id()]))
        .await
        .unwrap();
    let up = alice.client.upload(Bytes::from(png(64, 64)), &avatar).await.unwrap();
    let updated = alice.client.set_group_avatar(group.id, up.id).await.unwrap();
    assert!(updated.avatar_url.as_deref().is_some_and(|u| u.starts_with("/api/v1/avatars/")));
    let bob_up = bob.client.upload(Bytes::from(png(64, 64)), &avatar).await.unwrap();
    assert_api_error(bob.client.set_group_avatar(group.id, bob_up.id).await, 403, ErrorCode::Forbidden);

    // Replacing an avatar frees the old picture.
    alice.client.remove_avatar().await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while app.anonymous().raw(Method::GET, &url, None).await.unwrap().status != 404 {
        assert!(Instant::now() < deadline, "the old avatar is still served");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn two_nodes_share_one_upload() {
    let shared = tempfile::tempdir().unwrap();
    let path = shared.path().to_path_buf();
    let Some(nodes) = spawn_cluster_with(2, |c| c.media.disk_path = Some(path.clone())).await else { return };
    let alice_a = nodes[0].user("alice").await;
    let alice_b = nodes[1].login("alice").await;
    let bytes = Bytes::from(noise(2 << 20, 9));
    let created = alice_a.client.create_upload(bytes.len() as u64, &named("n.bin")).await.unwrap();
    let offset = alice_a.client.upload_chunk(created.id, 0, bytes.slice(..1 << 20)).await.unwrap();
    assert_eq!(alice_b.client.upload_offset(created.id).await.unwrap(), offset, "node B sees node A's chunk");
    let done = alice_b.client.upload_chunk(created.id, offset, bytes.slice(1 << 20..)).await.unwrap();
    assert_eq!(done, bytes.len() as u64);
    let status = alice_a.client.upload_status(created.id).await.unwrap();
    assert_eq!(status.file.unwrap().sha256, sha256_hex(&bytes));
}
