//! WebP: header reading and metadata stripping by walking the RIFF chunks.
//!
//! Kept: VP8, VP8L, ALPH, ANIM, ANMF (rebuilt with only their ALPH/VP8/VP8L) and VP8X, whose ICC,
//! EXIF and XMP flags are cleared. Dropped: ICCP, EXIF, XMP, unknown chunks, and everything after
//! the end the RIFF size declares; the RIFF size is rewritten.

use super::{Format, Header, ImageError, Limits, check_frames, check_size, slice, u16_le, u24_le, u32_le};

const TRUNCATED: ImageError = ImageError::Malformed("WebP chunk runs past the end of the file");

/// VP8X flag bits (WebP container spec: Rsv Rsv I L E X A R). ICC (0x20), EXIF (0x08) and XMP
/// (0x04) are the ones cleared.
const FLAG_ALPHA: u8 = 0x10;
const FLAG_ANIMATION: u8 = 0x02;

struct Chunk<'a> {
    fourcc: [u8; 4],
    data: &'a [u8],
}

/// The chunks of `body` (a RIFF payload after "WEBP", or an ANMF's frame data).
fn chunks(body: &[u8]) -> impl Iterator<Item = Result<Chunk<'_>, ImageError>> {
    let mut at = 0usize;
    std::iter::from_fn(move || {
        if at >= body.len() {
            return None;
        }
        let read = || {
            let fourcc = slice(body, at, 4).ok_or(TRUNCATED)?;
            let len = usize::try_from(u32_le(body, at + 4).ok_or(TRUNCATED)?).map_err(|_| TRUNCATED)?;
            let data = slice(body, at + 8, len).ok_or(TRUNCATED)?;
            Ok((Chunk { fourcc: [fourcc[0], fourcc[1], fourcc[2], fourcc[3]], data }, len))
        };
        match read() {
            Ok((chunk, len)) => {
                // Chunks are padded to an even length; a missing last pad byte is tolerated.
                at = at.saturating_add(8).saturating_add(len).saturating_add(len & 1);
                Some(Ok(chunk))
            }
            Err(err) => {
                at = body.len();
                Some(Err(err))
            }
        }
    })
}

/// The chunks inside the RIFF: from "WEBP" to the end its size declares (later bytes ignored).
fn riff_body(bytes: &[u8]) -> Result<&[u8], ImageError> {
    if bytes.get(..4) != Some(b"RIFF") || bytes.get(8..12) != Some(b"WEBP") {
        return Err(ImageError::Malformed("not a WebP RIFF header"));
    }
    let size = usize::try_from(u32_le(bytes, 4).ok_or(TRUNCATED)?).map_err(|_| TRUNCATED)?;
    let body_len = size.checked_sub(4).ok_or(ImageError::Malformed("WebP RIFF size too small"))?;
    slice(bytes, 12, body_len).ok_or(TRUNCATED)
}

/// The size a VP8 (lossy) or VP8L (lossless) bitstream declares.
fn bitstream_size(chunk: &Chunk<'_>) -> Result<(u32, u32), ImageError> {
    let short = ImageError::Malformed("WebP bitstream header too short");
    match &chunk.fourcc {
        b"VP8 " => {
            let tag = *chunk.data.first().ok_or(short.clone())?;
            if tag & 1 != 0 || chunk.data.get(3..6) != Some(&[0x9d, 0x01, 0x2a]) {
                return Err(ImageError::Malformed("WebP VP8 data is not a key frame"));
            }
            let width = u16_le(chunk.data, 6).ok_or(short.clone())? & 0x3fff;
            let height = u16_le(chunk.data, 8).ok_or(short)? & 0x3fff;
            Ok((u32::from(width), u32::from(height)))
        }
        b"VP8L" => {
            if chunk.data.first() != Some(&0x2f) {
                return Err(ImageError::Malformed("WebP VP8L signature missing"));
            }
            let bits = u32_le(chunk.data, 1).ok_or(short)?;
            Ok(((bits & 0x3fff) + 1, ((bits >> 14) & 0x3fff) + 1))
        }
        _ => Err(ImageError::Malformed("WebP image data is neither VP8 nor VP8L")),
    }
}

pub(super) fn inspect(bytes: &[u8], limits: &Limits) -> Result<Header, ImageError> {
    let mut body = chunks(riff_body(bytes)?);
    let first = body.next().ok_or(ImageError::Malformed("WebP has no chunks"))??;
    if &first.fourcc != b"VP8X" {
        let (width, height) = bitstream_size(&first)?;
        check_size(width, height, limits)?;
        return Ok(Header { format: Format::Webp, width, height, frames: 1, orientation: 1 });
    }

    let flags = *first.data.first().ok_or(TRUNCATED)?;
    let width = u24_le(first.data, 4).ok_or(TRUNCATED)? + 1;
    let height = u24_le(first.data, 7).ok_or(TRUNCATED)? + 1;
    check_size(width, height, limits)?;
    let animated = flags & FLAG_ANIMATION != 0;
    let mut frames: u32 = 0;
    for chunk in body {
        let chunk = chunk?;
        match &chunk.fourcc {
            b"ANMF" if animated => {
                let frame_width = u24_le(chunk.data, 6).ok_or(TRUNCATED)? + 1;
                let frame_height = u24_le(chunk.data, 9).ok_or(TRUNCATED)? + 1;
                check_size(frame_width, frame_height, limits)?;
                frames = frames.saturating_add(1);
                check_frames(frames, width, height, limits)?;
            }
            b"VP8 " | b"VP8L" if !animated => {
                let (frame_width, frame_height) = bitstream_size(&chunk)?;
                check_size(frame_width, frame_height, limits)?;
                frames = 1;
            }
            _ => {}
        }
    }
    if frames == 0 {
        return Err(ImageError::Malformed("WebP has no image"));
    }
    Ok(Header { format: Format::Webp, width, height, frames, orientation: 1 })
}

pub(super) fn clean(bytes: &[u8]) -> Result<Vec<u8>, ImageError> {
    let mut body = chunks(riff_body(bytes)?);
    let first = body.next().ok_or(ImageError::Malformed("WebP has no chunks"))??;
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(b"RIFF\0\0\0\0WEBP");
    if &first.fourcc != b"VP8X" {
        // Simple format: one bitstream chunk is the whole image.
        bitstream_size(&first)?;
        write_chunk(&mut out, &first.fourcc, first.data)?;
    } else {
        let mut vp8x = first.data.get(..10).ok_or(TRUNCATED)?.to_vec();
        // Only the flags that describe kept chunks; ICC, EXIF, XMP and the reserved bits go.
        vp8x[0] &= FLAG_ALPHA | FLAG_ANIMATION;
        write_chunk(&mut out, b"VP8X", &vp8x)?;
        let mut images = 0u32;
        for chunk in body {
            let chunk = chunk?;
            match &chunk.fourcc {
                b"ANIM" | b"ALPH" => write_chunk(&mut out, &chunk.fourcc, chunk.data)?,
                b"VP8 " | b"VP8L" => {
                    write_chunk(&mut out, &chunk.fourcc, chunk.data)?;
                    images += 1;
                }
                b"ANMF" => {
                    write_chunk(&mut out, b"ANMF", &clean_frame(chunk.data)?)?;
                    images += 1;
                }
                _ => {}
            }
        }
        if images == 0 {
            return Err(ImageError::Malformed("WebP has no image"));
        }
    }
    let riff_size = u32::try_from(out.len() - 8).map_err(|_| ImageError::Malformed("WebP over 4 GiB"))?;
    out[4..8].copy_from_slice(&riff_size.to_le_bytes());
    Ok(out)
}

/// An ANMF payload: its 16-byte frame header, then only the ALPH and bitstream chunks.
fn clean_frame(data: &[u8]) -> Result<Vec<u8>, ImageError> {
    let mut frame = data.get(..16).ok_or(TRUNCATED)?.to_vec();
    let mut bitstreams = 0;
    for chunk in chunks(&data[16..]) {
        let chunk = chunk?;
        match &chunk.fourcc {
            b"ALPH" => write_chunk(&mut frame, b"ALPH", chunk.data)?,
            b"VP8 " | b"VP8L" => {
                bitstream_size(&chunk)?;
                write_chunk(&mut frame, &chunk.fourcc, chunk.data)?;
                bitstreams += 1;
            }
            _ => {}
        }
    }
    if bitstreams != 1 {
        return Err(ImageError::Malformed("WebP animation frame without exactly one bitstream"));
    }
    Ok(frame)
}

fn write_chunk(out: &mut Vec<u8>, fourcc: &[u8; 4], data: &[u8]) -> Result<(), ImageError> {
    let len = u32::try_from(data.len()).map_err(|_| ImageError::Malformed("WebP chunk over 4 GiB"))?;
    out.extend_from_slice(fourcc);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(data);
    if data.len() % 2 == 1 {
        out.push(0);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{clean as clean_any, inspect as inspect_any};
    use super::*;
    use std::time::{Duration, Instant};

    const FLAG_ICC: u8 = 0x20;
    const FLAG_EXIF: u8 = 0x08;
    const FLAG_XMP: u8 = 0x04;

    fn encode_lossless(img: &image::RgbaImage) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut out)).unwrap();
        out
    }

    fn chunk(fourcc: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        write_chunk(&mut out, fourcc, data).unwrap();
        out
    }

    fn riff(chunks: &[Vec<u8>]) -> Vec<u8> {
        let body: Vec<u8> = chunks.concat();
        let mut out = b"RIFF".to_vec();
        out.extend_from_slice(&(body.len() as u32 + 4).to_le_bytes());
        out.extend_from_slice(b"WEBP");
        out.extend(body);
        out
    }

    fn vp8x(flags: u8, width: u32, height: u32) -> Vec<u8> {
        let mut data = vec![flags, 0, 0, 0];
        data.extend_from_slice(&(width - 1).to_le_bytes()[..3]);
        data.extend_from_slice(&(height - 1).to_le_bytes()[..3]);
        chunk(b"VP8X", &data)
    }

    /// The VP8L chunk of a simple-format file from the encoder.
    fn vp8l_chunk(webp: &[u8]) -> Vec<u8> {
        let body = riff_body(webp).unwrap();
        let first = chunks(body).next().unwrap().unwrap();
        assert_eq!(&first.fourcc, b"VP8L");
        chunk(b"VP8L", first.data)
    }

    fn fourccs(webp: &[u8]) -> Vec<[u8; 4]> {
        chunks(riff_body(webp).unwrap()).map(|c| c.unwrap().fourcc).collect()
    }

    fn pattern(width: u32, height: u32) -> image::RgbaImage {
        image::RgbaImage::from_fn(width, height, |x, y| image::Rgba([(x * 20) as u8, (y * 30) as u8, 90, 255]))
    }

    #[test]
    fn a_canvas_declaring_60000_squared_is_refused_quickly() {
        let small = vp8l_chunk(&encode_lossless(&pattern(2, 2)));
        let bomb = riff(&[vp8x(0, 60_000, 60_000), small]);
        let started = Instant::now();
        assert_eq!(
            inspect_any(&bomb, Format::Webp, &Limits::default()),
            Err(ImageError::TooLarge { width: 60_000, height: 60_000 })
        );
        assert!(started.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn an_animation_with_too_many_frames_is_refused() {
        let small = vp8l_chunk(&encode_lossless(&pattern(1, 1)));
        let mut frame = vec![0u8; 16];
        frame.extend_from_slice(&small);
        let mut parts = vec![vp8x(FLAG_ANIMATION, 1, 1), chunk(b"ANIM", &[0; 6])];
        parts.extend(std::iter::repeat_n(chunk(b"ANMF", &frame), 1_000));
        let animation = riff(&parts);
        assert_eq!(inspect_any(&animation, Format::Webp, &Limits::default()), Err(ImageError::TooManyFrames(501)));

        let short = riff(&parts[..5]);
        let header = inspect_any(&short, Format::Webp, &Limits::default()).unwrap();
        assert_eq!((header.width, header.height, header.frames), (1, 1, 3));
        let cleaned = clean_any(&short, &header, &Limits::default()).unwrap();
        assert_eq!(fourccs(&cleaned.bytes), [*b"VP8X", *b"ANIM", *b"ANMF", *b"ANMF", *b"ANMF"]);
    }

    #[test]
    fn clean_drops_exif_and_xmp_clears_their_flags_and_fixes_the_size() {
        let img = pattern(9, 7);
        let simple = encode_lossless(&img);
        let header_of_simple = inspect_any(&simple, Format::Webp, &Limits::default()).unwrap();
        assert_eq!((header_of_simple.width, header_of_simple.height), (9, 7));

        let mut webp = riff(&[
            vp8x(FLAG_EXIF | FLAG_XMP | FLAG_ICC, 9, 7),
            chunk(b"ICCP", b"not really a profile"),
            vp8l_chunk(&simple),
            chunk(b"EXIF", b"MM\0*\0\0\0\x08GPS 48N 2E"),
            chunk(b"XMP ", b"<x:xmpmeta>secret</x:xmpmeta>"),
        ]);
        webp.extend_from_slice(b"bytes after the RIFF end");
        let header = inspect_any(&webp, Format::Webp, &Limits::default()).unwrap();
        let cleaned = clean_any(&webp, &header, &Limits::default()).unwrap().bytes;

        assert_eq!(fourccs(&cleaned), [*b"VP8X", *b"VP8L"]);
        assert_eq!(cleaned[20] & (FLAG_EXIF | FLAG_XMP | FLAG_ICC), 0);
        assert_eq!(u32_le(&cleaned, 4), Some(cleaned.len() as u32 - 8));
        assert!(!cleaned.windows(6).any(|w| w == b"secret"));
        let decoded = image::load_from_memory_with_format(&cleaned, image::ImageFormat::WebP).unwrap();
        assert_eq!(decoded.to_rgba8(), img);
    }

    #[test]
    fn simple_files_keep_only_their_bitstream() {
        let mut webp = encode_lossless(&pattern(4, 4));
        let original_len = webp.len();
        webp.extend_from_slice(&[7; 100]);
        let header = inspect_any(&webp, Format::Webp, &Limits::default()).unwrap();
        let cleaned = clean_any(&webp, &header, &Limits::default()).unwrap().bytes;
        assert_eq!(cleaned, webp[..original_len]);
    }

    #[test]
    fn every_prefix_and_garbage_is_an_error_not_a_panic() {
        let limits = Limits::default();
        let simple = encode_lossless(&pattern(6, 5));
        let webp = riff(&[vp8x(FLAG_EXIF, 6, 5), vp8l_chunk(&simple), chunk(b"EXIF", b"x")]);
        let header = inspect_any(&webp, Format::Webp, &limits).unwrap();
        for len in 0..webp.len() {
            assert!(inspect_any(&webp[..len], Format::Webp, &limits).is_err(), "prefix {len}");
            assert!(clean_any(&webp[..len], &header, &limits).is_err(), "prefix {len}");
        }
        let huge_chunk = riff(&[b"VP8L\xff\xff\xff\xff".to_vec()]);
        for garbage in [&b""[..], b"RIFF\x04\0\0\0WEBP", b"RIFF\0\0\0\0WEBP", &huge_chunk, b"RIFF\xff\xff\xff\xffWEBP"]
        {
            assert!(inspect_any(garbage, Format::Webp, &limits).is_err());
            assert!(clean_any(garbage, &header, &limits).is_err());
        }
    }
}
