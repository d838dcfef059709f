//! PNG (and APNG): header reading and metadata stripping by walking the chunk list.
//!
//! Kept: the critical chunks (IHDR, PLTE, IDAT, IEND), tRNS, gAMA, cHRM, sRGB, and APNG's acTL,
//! fcTL, fdAT. Everything else — tEXt, zTXt, iTXt, eXIf, iCCP, tIME, pHYs, private chunks — is
//! dropped, and so is every byte after IEND.

use super::{Format, Header, ImageError, Limits, check_frames, check_size, slice, u32_be};

const SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'];

/// Chunk lengths are at most 2^31 - 1 (PNG spec, 5.3).
const MAX_CHUNK_LEN: u32 = 0x7fff_ffff;

const KEPT: [&[u8; 4]; 11] =
    [b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"acTL", b"fcTL", b"fdAT"];

struct Chunk<'a> {
    kind: [u8; 4],
    data: &'a [u8],
    /// The whole chunk: length, type, data and CRC.
    raw: &'a [u8],
    crc: u32,
}

impl Chunk<'_> {
    fn crc_is_right(&self) -> bool {
        crc32(&self.raw[4..self.raw.len() - 4]) == self.crc
    }

    fn is_critical(&self) -> bool {
        self.kind[0].is_ascii_uppercase()
    }
}

/// The chunks after the signature, each one bounds-checked; stops with an error at the first
/// chunk that runs past the end of the file.
struct Chunks<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Iterator for Chunks<'a> {
    type Item = Result<Chunk<'a>, ImageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.bytes.len() {
            return None;
        }
        Some(self.read())
    }
}

impl<'a> Chunks<'a> {
    fn new(bytes: &'a [u8]) -> Result<Self, ImageError> {
        if !bytes.starts_with(&SIGNATURE) {
            return Err(ImageError::Malformed("not a PNG signature"));
        }
        Ok(Chunks { bytes, at: SIGNATURE.len() })
    }

    fn read(&mut self) -> Result<Chunk<'a>, ImageError> {
        let truncated = ImageError::Malformed("PNG chunk runs past the end of the file");
        let len = u32_be(self.bytes, self.at).ok_or(truncated.clone())?;
        if len > MAX_CHUNK_LEN {
            return Err(ImageError::Malformed("PNG chunk length over 2^31"));
        }
        // 4 length + 4 type + data + 4 CRC; len < 2^31 so this cannot overflow a usize on 64-bit,
        // and checked_add covers the rest.
        let total = (len as usize).checked_add(12).ok_or(truncated.clone())?;
        let raw = slice(self.bytes, self.at, total).ok_or(truncated)?;
        let kind = [raw[4], raw[5], raw[6], raw[7]];
        if !kind.iter().all(u8::is_ascii_alphabetic) {
            return Err(ImageError::Malformed("PNG chunk type is not four letters"));
        }
        let data = &raw[8..total - 4];
        let crc = u32::from_be_bytes([raw[total - 4], raw[total - 3], raw[total - 2], raw[total - 1]]);
        self.at += total;
        Ok(Chunk { kind, data, raw, crc })
    }
}

/// IHDR's width and height, refusing an IHDR that is not first, not 13 bytes or has a bad CRC.
fn read_ihdr(chunks: &mut Chunks<'_>) -> Result<(u32, u32), ImageError> {
    let ihdr = chunks.next().ok_or(ImageError::Malformed("PNG has no chunks"))??;
    if &ihdr.kind != b"IHDR" || ihdr.data.len() != 13 {
        return Err(ImageError::Malformed("PNG does not start with a 13-byte IHDR"));
    }
    if !ihdr.crc_is_right() {
        return Err(ImageError::Malformed("PNG IHDR checksum is wrong"));
    }
    let width = u32_be(ihdr.data, 0).unwrap_or(0);
    let height = u32_be(ihdr.data, 4).unwrap_or(0);
    if width > MAX_CHUNK_LEN || height > MAX_CHUNK_LEN {
        return Err(ImageError::Malformed("PNG dimension over 2^31"));
    }
    Ok((width, height))
}

pub(super) fn inspect(bytes: &[u8], limits: &Limits) -> Result<Header, ImageError> {
    let mut chunks = Chunks::new(bytes)?;
    let (width, height) = read_ihdr(&mut chunks)?;
    check_size(width, height, limits)?;

    // The size is acceptable: walk the rest (no allocation, no CRC over the pixel data) for the
    // animation's frame count and to refuse a file with no IDAT or no IEND.
    let mut declared_frames = None;
    // Frames as written (fcTL chunks), which a crafted file may make outnumber acTL's count.
    let mut frame_controls: u32 = 0;
    let mut seen_idat = false;
    for chunk in chunks {
        let chunk = chunk?;
        match &chunk.kind {
            b"acTL" if !seen_idat => {
                let declared = u32_be(chunk.data, 0).ok_or(ImageError::Malformed("PNG acTL too short"))?;
                if declared == 0 {
                    return Err(ImageError::Malformed("APNG with zero frames"));
                }
                check_frames(declared, width, height, limits)?;
                declared_frames = Some(declared);
            }
            b"fcTL" => {
                let short = ImageError::Malformed("PNG fcTL too short");
                let frame_width = u32_be(chunk.data, 4).ok_or(short.clone())?;
                let frame_height = u32_be(chunk.data, 8).ok_or(short)?;
                check_size(frame_width, frame_height, limits)?;
                frame_controls = frame_controls.saturating_add(1);
                check_frames(frame_controls, width, height, limits)?;
            }
            b"IHDR" => return Err(ImageError::Malformed("PNG has a second IHDR")),
            b"IDAT" => seen_idat = true,
            b"IEND" if seen_idat => {
                let frames = declared_frames.map_or(1, |declared| declared.max(frame_controls));
                return Ok(Header { format: Format::Png, width, height, frames, orientation: 1 });
            }
            b"IEND" => return Err(ImageError::Malformed("PNG has no IDAT")),
            _ => {}
        }
    }
    Err(ImageError::Malformed("PNG has no IEND"))
}

pub(super) fn clean(bytes: &[u8]) -> Result<Vec<u8>, ImageError> {
    let mut chunks = Chunks::new(bytes)?;
    read_ihdr(&mut chunks)?;
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&bytes[..SIGNATURE.len() + 25]);
    for chunk in chunks {
        let chunk = chunk?;
        if !KEPT.contains(&&chunk.kind) {
            // A decoder must refuse a critical chunk it does not know; so do we, rather than hand
            // browsers a file we cannot vouch for.
            if chunk.is_critical() {
                return Err(ImageError::Unsupported);
            }
            continue;
        }
        if !chunk.crc_is_right() {
            return Err(ImageError::Malformed("PNG chunk checksum is wrong"));
        }
        out.extend_from_slice(chunk.raw);
        if &chunk.kind == b"IEND" {
            return Ok(out);
        }
    }
    Err(ImageError::Malformed("PNG has no IEND"))
}

/// CRC-32 (ISO-HDLC, as PNG uses) with a table built at compile time.
pub(super) fn crc32(bytes: &[u8]) -> u32 {
    const TABLE: [u32; 256] = {
        let mut table = [0u32; 256];
        let mut n = 0;
        while n < 256 {
            let mut c = n as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { 0xedb8_8320 ^ (c >> 1) } else { c >> 1 };
                k += 1;
            }
            table[n] = c;
            n += 1;
        }
        table
    };
    let mut crc = 0xffff_ffffu32;
    for &byte in bytes {
        crc = TABLE[usize::from((crc as u8) ^ byte)] ^ (crc >> 8);
    }
    crc ^ 0xffff_ffff
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::{Format, clean as clean_any, inspect as inspect_any, preview};
    use super::*;
    use std::time::{Duration, Instant};

    /// A chunk with its length and CRC, as a test writes one by hand.
    pub(crate) fn chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let crc = crc32(&out[4..]);
        out.extend_from_slice(&crc.to_be_bytes());
        out
    }

    fn chunk_kinds(png: &[u8]) -> Vec<[u8; 4]> {
        Chunks::new(png).unwrap().map(|c| c.unwrap().kind).collect()
    }

    pub(crate) fn encode_png(img: &image::DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png).unwrap();
        out
    }

    fn gradient(width: u32, height: u32) -> image::DynamicImage {
        image::DynamicImage::ImageRgba8(image::RgbaImage::from_fn(width, height, |x, y| {
            image::Rgba([(x * 7) as u8, (y * 5) as u8, (x ^ y) as u8, 200])
        }))
    }

    /// The encoder's PNG with `extra` chunks inserted after IHDR and `trailer` after IEND.
    fn png_with(img: &image::DynamicImage, extra: &[Vec<u8>], trailer: &[u8]) -> Vec<u8> {
        let plain = encode_png(img);
        let mut out = plain[..33].to_vec();
        for c in extra {
            out.extend_from_slice(c);
        }
        out.extend_from_slice(&plain[33..]);
        out.extend_from_slice(trailer);
        out
    }

    #[test]
    fn crc_matches_the_known_iend_value() {
        assert_eq!(crc32(b"IEND"), 0xae42_6082);
    }

    #[test]
    fn a_tiny_file_declaring_100000_squared_is_refused_quickly() {
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 6, 0, 0, 0]);
        let mut bomb = SIGNATURE.to_vec();
        bomb.extend(chunk(b"IHDR", &ihdr));
        bomb.extend(chunk(b"IDAT", &[0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]));
        bomb.extend(chunk(b"tEXt", &[b'a'; 900]));
        bomb.extend(chunk(b"IEND", &[]));
        assert!(bomb.len() > 900 && bomb.len() < 1100);

        let started = Instant::now();
        let refused = inspect_any(&bomb, Format::Png, &Limits::default());
        assert_eq!(refused, Err(ImageError::TooLarge { width: 100_000, height: 100_000 }));
        assert!(started.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn inspect_reads_size_and_apng_frames() {
        let png = png_with(&gradient(30, 20), &[chunk(b"acTL", &[0, 0, 0, 3, 0, 0, 0, 0])], &[]);
        let header = inspect_any(&png, Format::Png, &Limits::default()).unwrap();
        assert_eq!((header.width, header.height, header.frames, header.orientation), (30, 20, 3, 1));

        let many = png_with(&gradient(2, 2), &[chunk(b"acTL", &10_000u32.to_be_bytes().repeat(2))], &[]);
        assert_eq!(inspect_any(&many, Format::Png, &Limits::default()), Err(ImageError::TooManyFrames(10_000)));

        // acTL says 1, but 600 frame controls follow: the written frames count.
        let mut frame_control = [0u8; 26];
        frame_control[4..8].copy_from_slice(&2u32.to_be_bytes());
        frame_control[8..12].copy_from_slice(&2u32.to_be_bytes());
        let mut lying = vec![chunk(b"acTL", &[0, 0, 0, 1, 0, 0, 0, 0])];
        lying.extend(std::iter::repeat_n(chunk(b"fcTL", &frame_control), 600));
        let lying = png_with(&gradient(2, 2), &lying, &[]);
        assert_eq!(inspect_any(&lying, Format::Png, &Limits::default()), Err(ImageError::TooManyFrames(501)));
    }

    #[test]
    fn a_wrong_ihdr_checksum_is_refused() {
        let mut png = encode_png(&gradient(4, 4));
        png[29] ^= 0xff;
        assert!(matches!(inspect_any(&png, Format::Png, &Limits::default()), Err(ImageError::Malformed(_))));
    }

    #[test]
    fn clean_drops_metadata_and_trailing_bytes_and_keeps_pixels() {
        let img = gradient(37, 23);
        let metadata = [
            chunk(b"tEXt", b"Comment\0taken at home"),
            chunk(b"iCCP", b"profile\0\0\x78\x9c\x03\x00\x00\x00\x00\x01"),
            chunk(b"eXIf", b"MM\0*\0\0\0\x08\0\0"),
            chunk(b"gAMA", &45_455u32.to_be_bytes()),
            chunk(b"prIv", b"secret"),
        ];
        // 1 KiB after IEND: what a cropping tool that did not truncate would leave behind.
        let png = png_with(&img, &metadata, &[0x42; 1024]);
        let header = inspect_any(&png, Format::Png, &Limits::default()).unwrap();
        let cleaned = clean_any(&png, &header, &Limits::default()).unwrap();

        let kinds = chunk_kinds(&cleaned.bytes);
        assert!(kinds.iter().all(|k| KEPT.contains(&k)), "{kinds:?}");
        assert!(kinds.contains(b"gAMA"));
        assert!(cleaned.bytes.ends_with(&chunk(b"IEND", &[])));
        assert_eq!(cleaned.header, header);

        let decoded = image::load_from_memory_with_format(&cleaned.bytes, image::ImageFormat::Png).unwrap();
        assert_eq!(decoded.to_rgba8(), img.to_rgba8());
    }

    #[test]
    fn an_unknown_critical_chunk_is_unsupported() {
        let png = png_with(&gradient(3, 3), &[chunk(b"ZZZZ", b"x")], &[]);
        assert_eq!(clean(&png), Err(ImageError::Unsupported));
    }

    #[test]
    fn preview_refuses_what_the_decoder_would_allocate_over_max_alloc() {
        let png = encode_png(&gradient(600, 600));
        let header = inspect_any(&png, Format::Png, &Limits::default()).unwrap();
        // 600×600 RGBA is 1.44 MB: within the pixel limits, over a 1 MiB allocation cap.
        let limits = Limits { max_alloc: 1024 * 1024, ..Limits::default() };
        assert_eq!(preview(&png, &header, &limits, 64).unwrap_err(), ImageError::TooLarge { width: 600, height: 600 });
    }

    #[test]
    fn a_header_that_lies_about_the_size_is_refused_by_preview() {
        let png = encode_png(&gradient(10, 10));
        let mut header = inspect_any(&png, Format::Png, &Limits::default()).unwrap();
        header.width = 5;
        assert!(matches!(preview(&png, &header, &Limits::default(), 64), Err(ImageError::Malformed(_))));
    }

    #[test]
    fn every_prefix_and_garbage_is_an_error_not_a_panic() {
        let limits = Limits::default();
        let png = png_with(&gradient(5, 4), &[chunk(b"tEXt", b"k\0v")], b"junk");
        let header = inspect_any(&png, Format::Png, &limits).unwrap();
        let end = png.len() - 4;
        for len in 0..end {
            assert!(inspect_any(&png[..len], Format::Png, &limits).is_err(), "prefix {len}");
            assert!(clean_any(&png[..len], &header, &limits).is_err(), "prefix {len}");
        }
        for garbage in [&b""[..], b"\x89PNG\r\n\x1a\n\xff\xff\xff\xff", &[0u8; 64]] {
            assert!(inspect_any(garbage, Format::Png, &limits).is_err());
            assert!(clean_any(garbage, &header, &limits).is_err());
        }
    }
}
