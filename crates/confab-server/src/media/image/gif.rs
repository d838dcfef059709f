//! GIF: header reading and metadata stripping by walking the block stream.
//!
//! Kept: the header, the logical screen descriptor, colour tables, graphic control extensions
//! (rewritten to their 4 bytes), image descriptors with their data, and the NETSCAPE2.0 loop count
//! (rewritten to its 3 bytes). Dropped: comments, plain text (and the graphic control extension
//! that belonged to it), every other application extension, and everything after the trailer.

use super::{Format, Header, ImageError, Limits, check_frames, check_size, slice, u16_le};

const EXTENSION: u8 = 0x21;
const IMAGE: u8 = 0x2c;
const TRAILER: u8 = 0x3b;
const GRAPHIC_CONTROL: u8 = 0xf9;
const PLAIN_TEXT: u8 = 0x01;
const APPLICATION: u8 = 0xff;

const TRUNCATED: ImageError = ImageError::Malformed("GIF block runs past the end of the file");

/// One block of the stream after the screen descriptor and global colour table.
enum Block<'a> {
    /// The whole image: descriptor, local colour table, LZW code size, data sub-blocks.
    Image {
        raw: &'a [u8],
        width: u32,
        height: u32,
    },
    /// An extension: its label and the bytes of its first sub-block (the fixed part).
    Extension {
        label: u8,
        first: &'a [u8],
        raw: &'a [u8],
    },
    Trailer,
}

/// The blocks of a GIF, each bounds-checked.
struct Blocks<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Blocks<'a> {
    /// Checks the header and returns the screen size, the bytes up to the first block, and the
    /// blocks.
    fn new(bytes: &'a [u8]) -> Result<(u32, u32, &'a [u8], Self), ImageError> {
        if !(bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a")) {
            return Err(ImageError::Malformed("not a GIF signature"));
        }
        let width = u16_le(bytes, 6).ok_or(TRUNCATED)?;
        let height = u16_le(bytes, 8).ok_or(TRUNCATED)?;
        let packed = *bytes.get(10).ok_or(TRUNCATED)?;
        let start = 13 + colour_table_len(packed);
        let head = slice(bytes, 0, start).ok_or(TRUNCATED)?;
        Ok((u32::from(width), u32::from(height), head, Blocks { bytes, at: start }))
    }

    fn next(&mut self) -> Result<Block<'a>, ImageError> {
        let start = self.at;
        let block = match *self.bytes.get(start).ok_or(ImageError::Malformed("GIF has no trailer"))? {
            TRAILER => {
                self.at += 1;
                return Ok(Block::Trailer);
            }
            IMAGE => {
                let descriptor = slice(self.bytes, start, 10).ok_or(TRUNCATED)?;
                let width = u32::from(u16_le(descriptor, 5).ok_or(TRUNCATED)?);
                let height = u32::from(u16_le(descriptor, 7).ok_or(TRUNCATED)?);
                let code_size_at = start + 10 + colour_table_len(descriptor[9]);
                let code_size = *self.bytes.get(code_size_at).ok_or(TRUNCATED)?;
                if !(1..=11).contains(&code_size) {
                    return Err(ImageError::Malformed("GIF LZW code size out of range"));
                }
                let end = sub_blocks_end(self.bytes, code_size_at + 1)?;
                Block::Image { raw: &self.bytes[start..end], width, height }
            }
            EXTENSION => {
                let label = *self.bytes.get(start + 1).ok_or(TRUNCATED)?;
                let first_len = usize::from(*self.bytes.get(start + 2).ok_or(TRUNCATED)?);
                let first = slice(self.bytes, start + 3, first_len).ok_or(TRUNCATED)?;
                let end = sub_blocks_end(self.bytes, start + 2)?;
                Block::Extension { label, first, raw: &self.bytes[start..end] }
            }
            _ => return Err(ImageError::Malformed("GIF has an unknown block")),
        };
        self.at = match &block {
            Block::Image { raw, .. } | Block::Extension { raw, .. } => start + raw.len(),
            Block::Trailer => start + 1,
        };
        Ok(block)
    }
}

/// Bytes of the colour table a packed field announces (3 × 2^(n+1)), 0 when there is none.
fn colour_table_len(packed: u8) -> usize {
    if packed & 0x80 == 0 { 0 } else { 3 << ((packed & 0x07) + 1) }
}

/// The offset just past the sub-block chain starting at `at` (size bytes, ending with a 0).
fn sub_blocks_end(bytes: &[u8], mut at: usize) -> Result<usize, ImageError> {
    loop {
        let size = usize::from(*bytes.get(at).ok_or(TRUNCATED)?);
        at += 1;
        if size == 0 {
            return Ok(at);
        }
        at = at.checked_add(size).filter(|&end| end <= bytes.len()).ok_or(TRUNCATED)?;
    }
}

pub(super) fn inspect(bytes: &[u8], limits: &Limits) -> Result<Header, ImageError> {
    let (width, height, _, mut blocks) = Blocks::new(bytes)?;
    check_size(width, height, limits)?;
    let mut frames: u32 = 0;
    loop {
        match blocks.next()? {
            Block::Image { width: frame_width, height: frame_height, .. } => {
                check_size(frame_width, frame_height, limits)?;
                frames = frames.saturating_add(1);
                // Stop counting as soon as the answer is no: a crafted file may hold millions.
                check_frames(frames, width, height, limits)?;
            }
            Block::Extension { .. } => {}
            Block::Trailer => break,
        }
    }
    if frames == 0 {
        return Err(ImageError::Malformed("GIF has no image"));
    }
    Ok(Header { format: Format::Gif, width, height, frames, orientation: 1 })
}

pub(super) fn clean(bytes: &[u8]) -> Result<Vec<u8>, ImageError> {
    let (_, _, head, mut blocks) = Blocks::new(bytes)?;
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(head);
    // A graphic control extension applies to the next graphic block: held back until we know
    // whether that is an image (kept) or plain text (dropped with it).
    let mut control: Option<[u8; 8]> = None;
    let mut wrote_loop = false;
    let mut images = 0u32;
    loop {
        match blocks.next()? {
            Block::Image { raw, .. } => {
                if let Some(control) = control.take() {
                    out.extend_from_slice(&control);
                }
                out.extend_from_slice(raw);
                images += 1;
            }
            Block::Extension { label: GRAPHIC_CONTROL, first, .. } => {
                let fields: &[u8; 4] =
                    first.try_into().map_err(|_| ImageError::Malformed("GIF graphic control is not 4 bytes"))?;
                control = Some([EXTENSION, GRAPHIC_CONTROL, 4, fields[0], fields[1], fields[2], fields[3], 0]);
            }
            Block::Extension { label: PLAIN_TEXT, .. } => control = None,
            Block::Extension { label: APPLICATION, first, raw } if first == b"NETSCAPE2.0" && !wrote_loop => {
                // The loop sub-block: size 3, id 1, count (u16 LE); anything else is dropped.
                if let Some([3, 1, low, high]) = raw.get(14..18) {
                    out.extend_from_slice(&[EXTENSION, APPLICATION, 11]);
                    out.extend_from_slice(b"NETSCAPE2.0");
                    out.extend_from_slice(&[3, 1, *low, *high, 0]);
                    wrote_loop = true;
                }
            }
            Block::Extension { .. } => {}
            Block::Trailer => break,
        }
    }
    if images == 0 {
        return Err(ImageError::Malformed("GIF has no image"));
    }
    out.push(TRAILER);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::super::{clean as clean_any, inspect as inspect_any};
    use super::*;
    use image::AnimationDecoder;
    use std::time::{Duration, Instant};

    /// GIF89a with a 2-colour global table and the given screen size.
    fn head(width: u16, height: u16) -> Vec<u8> {
        let mut out = b"GIF89a".to_vec();
        out.extend_from_slice(&width.to_le_bytes());
        out.extend_from_slice(&height.to_le_bytes());
        out.extend_from_slice(&[0x80, 0, 0]);
        out.extend_from_slice(&[0, 0, 0, 255, 255, 255]);
        out
    }

    /// A 1×1 frame of colour 0: descriptor, LZW code size 2, codes clear-0-end in one sub-block.
    const ONE_PIXEL_FRAME: [u8; 15] = [IMAGE, 0, 0, 0, 0, 1, 0, 1, 0, 0, 2, 2, 0x44, 0x01, 0];

    fn encode_gif(frames: &[image::RgbaImage]) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = image::codecs::gif::GifEncoder::new(&mut out);
            encoder.set_repeat(image::codecs::gif::Repeat::Infinite).unwrap();
            for frame in frames {
                encoder.encode_frame(image::Frame::new(frame.clone())).unwrap();
            }
        }
        out
    }

    fn decode_frames(gif: &[u8]) -> Vec<image::RgbaImage> {
        let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(gif)).unwrap();
        decoder.into_frames().map(|f| f.unwrap().into_buffer()).collect()
    }

    fn labels(gif: &[u8]) -> Vec<u8> {
        let (_, _, _, mut blocks) = Blocks::new(gif).unwrap();
        let mut found = Vec::new();
        loop {
            match blocks.next().unwrap() {
                Block::Image { .. } => found.push(IMAGE),
                Block::Extension { label, .. } => found.push(label),
                Block::Trailer => return found,
            }
        }
    }

    #[test]
    fn a_screen_declaring_60000_squared_is_refused_quickly() {
        let mut bomb = head(60_000, 60_000);
        bomb.extend_from_slice(&ONE_PIXEL_FRAME);
        bomb.push(TRAILER);
        let started = Instant::now();
        assert_eq!(
            inspect_any(&bomb, Format::Gif, &Limits::default()),
            Err(ImageError::TooLarge { width: 60_000, height: 60_000 })
        );
        assert!(started.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn ten_thousand_frames_are_refused_quickly() {
        let mut bomb = head(1, 1);
        for _ in 0..10_000 {
            bomb.extend_from_slice(&ONE_PIXEL_FRAME);
        }
        bomb.push(TRAILER);
        let started = Instant::now();
        assert_eq!(inspect_any(&bomb, Format::Gif, &Limits::default()), Err(ImageError::TooManyFrames(501)));
        assert!(started.elapsed() < Duration::from_millis(50));

        let mut fine = head(1, 1);
        fine.extend_from_slice(&ONE_PIXEL_FRAME.repeat(3));
        fine.push(TRAILER);
        assert_eq!(inspect_any(&fine, Format::Gif, &Limits::default()).unwrap().frames, 3);
    }

    #[test]
    fn frames_that_add_up_past_the_budget_are_refused() {
        // 4 MP screen: 201 frames would be 804 M pixels, over 20 × 40 M.
        let mut gif = head(2_000, 2_000);
        gif.extend_from_slice(&ONE_PIXEL_FRAME.repeat(201));
        gif.push(TRAILER);
        assert!(matches!(inspect_any(&gif, Format::Gif, &Limits::default()), Err(ImageError::TooLarge { .. })));
    }

    #[test]
    fn clean_drops_comments_text_other_apps_and_trailing_bytes() {
        let red = image::RgbaImage::from_pixel(6, 4, image::Rgba([255, 0, 0, 255]));
        let blue = image::RgbaImage::from_pixel(6, 4, image::Rgba([0, 0, 255, 255]));
        let plain = encode_gif(&[red, blue]);
        let (_, _, head, _) = Blocks::new(&plain).unwrap();
        let mut gif = head.to_vec();
        gif.extend_from_slice(b"\x21\xfe\x0bmy location\x00");
        gif.extend_from_slice(b"\x21\xff\x0bXMP DataXMP\x04<x/>\x00");
        // Plain text with its own graphic control: both must go, or the delay moves to a frame.
        gif.extend_from_slice(b"\x21\xf9\x04\x00\x10\x27\x00\x00");
        gif.extend_from_slice(b"\x21\x01\x0c\0\0\0\0\x08\0\x08\0\x08\x08\x00\x01\x02hi\x00");
        gif.extend_from_slice(&plain[head.len()..]);
        gif.extend_from_slice(b"trailing junk after the trailer");

        let header = inspect_any(&gif, Format::Gif, &Limits::default()).unwrap();
        assert_eq!((header.width, header.height, header.frames), (6, 4, 2));
        let cleaned = clean_any(&gif, &header, &Limits::default()).unwrap();

        assert!(cleaned.bytes.ends_with(&[TRAILER]));
        assert!(!cleaned.bytes.windows(8).any(|w| w == b"location" || w == b"XMP Data"));
        assert!(!labels(&cleaned.bytes).iter().any(|&l| l == 0xfe || l == PLAIN_TEXT));
        assert!(cleaned.bytes.windows(11).any(|w| w == b"NETSCAPE2.0"));
        assert_eq!(decode_frames(&cleaned.bytes), decode_frames(&plain));
        let delay = |gif: &[u8]| {
            let decoder = image::codecs::gif::GifDecoder::new(std::io::Cursor::new(gif)).unwrap();
            decoder.into_frames().next().unwrap().unwrap().delay()
        };
        assert_eq!(delay(&cleaned.bytes), delay(&plain));
    }

    #[test]
    fn every_prefix_and_garbage_is_an_error_not_a_panic() {
        let limits = Limits::default();
        let frame = image::RgbaImage::from_fn(5, 3, |x, y| image::Rgba([x as u8 * 40, y as u8 * 60, 0, 255]));
        let mut gif = encode_gif(&[frame.clone(), frame]);
        gif.extend_from_slice(b"junk");
        let header = inspect_any(&gif, Format::Gif, &limits).unwrap();
        for len in 0..gif.len() - 4 {
            assert!(inspect_any(&gif[..len], Format::Gif, &limits).is_err(), "prefix {len}");
            assert!(clean_any(&gif[..len], &header, &limits).is_err(), "prefix {len}");
        }
        let mut no_image = head(1, 1);
        no_image.push(TRAILER);
        for garbage in [&b""[..], b"GIF89a", b"GIF89a\x01\x00\x01\x00\xff\x00\x00", &no_image, &[0x21; 40]] {
            assert!(inspect_any(garbage, Format::Gif, &limits).is_err());
            assert!(clean_any(garbage, &header, &limits).is_err());
        }
    }
}
