//! `uploads`: files through the tus protocol. One client, then several at once, send files in
//! chunks (throughput); photographs are uploaded beside plain files of the same size (what
//! checking, stripping and thumbnailing costs); and one large file goes up while the server's
//! memory is sampled (it must stay flat: bytes are streamed to storage, never held).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use confab_client::{Client, NewUpload};
use confab_proto::media::UploadState;
use futures_util::future::try_join_all;
use serde_json::json;

use super::Ctx;
use crate::cli::UploadsArgs;
use crate::process;
use crate::report::Report;
use crate::server::Confab;
use crate::stats::Latency;

const MIB: u64 = 1 << 20;

pub async fn run(ctx: &Ctx, args: &UploadsArgs) -> anyhow::Result<()> {
    // The default limits (100 MiB a file, 2 GiB a user) are lifted for the large file, unless
    // the run brings its own config.
    let config = tempfile::NamedTempFile::new()?;
    let mut options = ctx.server_options();
    if options.server_config.is_none() {
        let bytes = (args.large_mib + args.size_mib) * MIB;
        let quota = bytes + args.size_mib * MIB * (args.clients as u64 + 1) * 2 + 64 * MIB * args.images as u64;
        std::fs::write(
            config.path(),
            format!("[media]\nmax_file_bytes = {bytes}\nquota_bytes = {quota}\nmax_image_bytes = {}\n", 64 * MIB),
        )?;
        options.server_config = Some(config.path().to_owned());
    }
    let confab = Confab::start(&options, &ctx.tag("uploads")).await?;
    let result = measure(ctx, args, &confab).await;
    let log = confab.stop().await;
    ctx.emit_with_log(result, log)
}

async fn measure(ctx: &Ctx, args: &UploadsArgs, confab: &Confab) -> anyhow::Result<Report> {
    let params = json!({
        "size_mib": args.size_mib, "clients": args.clients, "chunk_mib": args.chunk_mib,
        "images": args.images, "image_side": args.image_side, "large_mib": args.large_mib,
    });
    let mut report = Report::new("uploads", "confab", params, ctx.machine.clone(), confab.info.clone());
    let base = Client::new(&confab.base_url)?;
    let clients: Vec<Client> = (0..args.clients.max(1))
        .map(|i| Ok(base.with_token(&confab.minter.token(i)?)))
        .collect::<anyhow::Result<_>>()?;
    let chunk = (args.chunk_mib.max(1) * MIB) as usize;
    let size = args.size_mib * MIB;

    let started = Instant::now();
    send(&clients[0], size, chunk, 0).await.context("one client's upload")?;
    let secs = started.elapsed().as_secs_f64();
    report.metric("one_client_mib_per_sec", args.size_mib as f64 / secs, "MiB/s");
    eprintln!("uploads: one client, {} MiB in {secs:.2} s", args.size_mib);

    let started = Instant::now();
    try_join_all(clients.iter().enumerate().map(|(i, c)| send(c, size, chunk, 1 + i as u64)))
        .await
        .context("concurrent uploads")?;
    let secs = started.elapsed().as_secs_f64();
    report.metric("many_clients_mib_per_sec", (args.size_mib * clients.len() as u64) as f64 / secs, "MiB/s");
    eprintln!("uploads: {} clients, {} MiB each in {secs:.2} s", clients.len(), args.size_mib);

    if args.images > 0 {
        let (mut images, mut plain) = (Latency::default(), Latency::default());
        let mut image_bytes = 0;
        for i in 0..args.images {
            // A photograph of its own each time (made before the clock starts): the server
            // would share a repeated one.
            let photo = photograph(args.image_side, i as u64);
            image_bytes = photo.len();
            let started = Instant::now();
            let upload = one_shot(&clients[0], photo, "photo.jpg").await?;
            images.record(started.elapsed());
            let read = upload.file.as_ref().is_some_and(|f| f.width.is_some());
            anyhow::ensure!(read, "the photograph was not read as an image");
            let started = Instant::now();
            one_shot(&clients[0], noise(image_bytes, 1_000 + i as u64), "photo.bin").await?;
            plain.record(started.elapsed());
        }
        report.latency("image_upload", &images);
        report.latency("same_size_file_upload", &plain);
        report.metric("image_bytes", image_bytes as f64, "bytes");
    }

    if args.large_mib > 0 {
        let pid = confab.info.pid.context("the server's pid, to sample its memory")?;
        let before = process::rss_kib(pid).unwrap_or_default();
        let peak = Arc::new(AtomicU64::new(before));
        let done = Arc::new(AtomicBool::new(false));
        let sampler = tokio::spawn({
            let (peak, done) = (peak.clone(), done.clone());
            async move {
                while !done.load(Ordering::Relaxed) {
                    if let Some(rss) = process::rss_kib(pid) {
                        peak.fetch_max(rss, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        });
        let started = Instant::now();
        let sent = send(&clients[0], args.large_mib * MIB, chunk, 1_000_000).await;
        let secs = started.elapsed().as_secs_f64();
        done.store(true, Ordering::Relaxed);
        sampler.await?;
        sent.context("the large upload")?;
        let peak = peak.load(Ordering::Relaxed);
        report.metric("large_mib_per_sec", args.large_mib as f64 / secs, "MiB/s");
        report.metric("large_rss_before_mib", before as f64 / 1024.0, "MiB");
        report.metric("large_rss_peak_mib", peak as f64 / 1024.0, "MiB");
        report.metric("large_rss_growth_mib", peak.saturating_sub(before) as f64 / 1024.0, "MiB");
        eprintln!("uploads: {} MiB in {secs:.1} s, server RSS {before} → peak {peak} KiB", args.large_mib);
    }
    Ok(report)
}

/// Uploads `size` incompressible bytes in `chunk`-sized `PATCH`es; `seed` makes each file
/// distinct (the server would share identical files).
async fn send(client: &Client, size: u64, chunk: usize, seed: u64) -> anyhow::Result<()> {
    let mut block = noise(chunk, seed);
    let upload =
        client.create_upload(size, &NewUpload { name: format!("bench-{seed}.bin"), ..NewUpload::default() }).await?;
    let mut offset = 0u64;
    let mut index = 0u64;
    while offset < size {
        let n = chunk.min((size - offset) as usize);
        // A different first word per chunk: no two chunks of a file are the same either.
        block[..8].copy_from_slice(&index.to_le_bytes());
        offset = client.upload_chunk(upload.id, offset, bytes::Bytes::copy_from_slice(&block[..n])).await?;
        index += 1;
    }
    let done = client.upload_status(upload.id).await?;
    anyhow::ensure!(done.state == UploadState::Complete, "the upload ended {:?}", done.state);
    Ok(())
}

async fn one_shot(client: &Client, bytes: Vec<u8>, name: &str) -> anyhow::Result<confab_proto::media::Upload> {
    let upload =
        client.create_upload(bytes.len() as u64, &NewUpload { name: name.into(), ..NewUpload::default() }).await?;
    client.upload_chunk(upload.id, 0, bytes.into()).await?;
    Ok(client.upload_status(upload.id).await?)
}

/// A JPEG that compresses like a photograph (smooth gradients plus grain), `side` × ¾·`side`.
fn photograph(side: u32, seed: u64) -> Vec<u8> {
    let (width, height) = (side, side * 3 / 4);
    let grain = noise((width * height) as usize, seed);
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        let g = grain[(y * width + x) as usize] % 24;
        image::Rgb([(x * 255 / width) as u8 ^ g, (y * 255 / height) as u8, ((x + y) % 256) as u8 ^ g])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Jpeg).expect("encoding a JPEG in memory");
    out.into_inner()
}

/// Pseudo-random bytes (xorshift), so that nothing on the way can compress them.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}
