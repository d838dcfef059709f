//! Image safety: what an uploaded file is, whether it is small enough to touch, and a copy of it
//! that carries no metadata.
//!
//! The media service calls these in order, on the blocking pool:
//! [`sniff`] (the type, from the bytes alone) → [`inspect`] (container headers only, refusing what
//! exceeds [`Limits`] before anything is decoded) → [`clean`] (the stored copy: metadata and
//! anything after the end marker dropped, pixels untouched unless a JPEG must be turned upright) →
//! [`preview`] / [`avatar`] (decoded with the image crate under the same limits).
//!
//! Pure and synchronous: no I/O, no async, nothing from the rest of the server. Every function
//! takes hostile bytes; none panics on them and none allocates according to a size read from them
//! before that size has been checked against [`Limits`].
//!
//! Orientation: only JPEG's EXIF orientation is honoured (it is the one cameras write, and
//! [`clean`] bakes it into the pixels). PNG `eXIf` and WebP `EXIF` are dropped like any other
//! metadata and the image is shown as stored, which is also what [`preview`] does.

mod gif;
mod jpeg;
mod png;
mod preview;
mod sniff;
mod webp;

use std::fmt;

pub use preview::{Encoded, Preview, avatar, preview};
pub use sniff::{Sniffed, sniff};

/// What the server agrees to decode. Checked from the headers by [`inspect`] and again against the
/// decoder's own view by [`preview`] and [`avatar`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Width × height of one frame.
    pub max_pixels: u64,
    /// Width or height alone.
    pub max_side: u32,
    /// Frames of an animation.
    pub max_frames: u32,
    /// Bytes the decoder may allocate for one decoded frame.
    pub max_alloc: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_pixels: 40_000_000, max_side: 16_384, max_frames: 500, max_alloc: 128 * 1024 * 1024 }
    }
}

impl Limits {
    /// Pixels summed over every frame of an animation: what a browser decodes to play it once.
    pub fn animation_pixel_budget(&self) -> u64 {
        self.max_pixels.saturating_mul(ANIMATION_BUDGET_FRAMES)
    }
}

/// An animation may decode to as many pixels as this many full-size stills.
const ANIMATION_BUDGET_FRAMES: u64 = 20;

/// The image formats the server stores as images (anything else is a plain download).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Png,
    Jpeg,
    Gif,
    Webp,
}

impl Format {
    pub fn mime(&self) -> &'static str {
        match self {
            Format::Png => "image/png",
            Format::Jpeg => "image/jpeg",
            Format::Gif => "image/gif",
            Format::Webp => "image/webp",
        }
    }

    fn codec(self) -> image::ImageFormat {
        match self {
            Format::Png => image::ImageFormat::Png,
            Format::Jpeg => image::ImageFormat::Jpeg,
            Format::Gif => image::ImageFormat::Gif,
            Format::Webp => image::ImageFormat::WebP,
        }
    }
}

/// What the container headers say, within [`Limits`] (that is how one is obtained).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub format: Format,
    /// As stored, before orientation.
    pub width: u32,
    pub height: u32,
    /// 1 for a still image.
    pub frames: u32,
    /// EXIF orientation 1..=8 (JPEG only; 1 when absent or for other formats).
    pub orientation: u8,
}

impl Header {
    /// Width and height as the picture is meant to be seen (orientations 5..=8 turn it a quarter).
    pub fn upright_size(&self) -> (u32, u32) {
        if self.orientation >= 5 { (self.height, self.width) } else { (self.width, self.height) }
    }

    pub fn is_animated(&self) -> bool {
        self.frames > 1
    }
}

/// Why an image was refused. `Display` is for people and never repeats bytes from the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageError {
    /// Over `max_side` or `max_pixels` (or the animation budget, or the decoder's allocation cap).
    TooLarge {
        width: u32,
        height: u32,
    },
    TooManyFrames(u32),
    /// The bytes are not a well-formed file of the format; the text says which rule was broken.
    Malformed(&'static str),
    /// Well-formed, but a variant the server does not handle (e.g. arithmetic-coded JPEG).
    Unsupported,
    /// The image crate refused the pixel data; the text is its message, for logs.
    Decode(String),
}

impl fmt::Display for ImageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ImageError::TooLarge { width, height } => write!(f, "image too large ({width}×{height})"),
            ImageError::TooManyFrames(frames) => write!(f, "animation has too many frames ({frames})"),
            ImageError::Malformed(rule) => write!(f, "malformed image: {rule}"),
            ImageError::Unsupported => f.write_str("unsupported image variant"),
            // The decoder's message may quote parts of the file: keep it for logs (Debug) only.
            ImageError::Decode(_) => f.write_str("the image could not be decoded"),
        }
    }
}

impl std::error::Error for ImageError {}

/// The stored copy of an image and the header that describes *it* (a JPEG turned upright has its
/// width and height swapped and orientation 1): pass this header, not the original's, to
/// [`preview`] and [`avatar`] when they are given the cleaned bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned {
    pub bytes: Vec<u8>,
    pub header: Header,
}

/// Reads only the container headers: dimensions, frame count, orientation. Allocates nothing in
/// proportion to the declared sizes and refuses what exceeds `limits` (a side over `max_side`,
/// width × height over `max_pixels`, more than `max_frames` frames, or an animation whose frames
/// add up to more than [`Limits::animation_pixel_budget`]).
pub fn inspect(bytes: &[u8], format: Format, limits: &Limits) -> Result<Header, ImageError> {
    match format {
        Format::Png => png::inspect(bytes, limits),
        Format::Jpeg => jpeg::inspect(bytes, limits),
        Format::Gif => gif::inspect(bytes, limits),
        Format::Webp => webp::inspect(bytes, limits),
    }
}

/// The image without any metadata and without anything after its end marker (the aCropalypse,
/// CVE-2023-21036, fix). Lossless — the same pixel data bytes — except for a JPEG whose orientation
/// is not 1, which is decoded, turned upright and re-encoded (quality 90) so that it looks the same
/// without its EXIF. What each format keeps is listed in its module.
pub fn clean(bytes: &[u8], header: &Header, limits: &Limits) -> Result<Cleaned, ImageError> {
    let cleaned = match header.format {
        Format::Png => png::clean(bytes)?,
        // Structure first: the decoder would happily fill in a truncated file.
        Format::Jpeg if header.orientation != 1 => return jpeg::reencode_upright(&jpeg::clean(bytes)?, header, limits),
        Format::Jpeg => jpeg::clean(bytes)?,
        Format::Gif => gif::clean(bytes)?,
        Format::Webp => webp::clean(bytes)?,
    };
    Ok(Cleaned { bytes: cleaned, header: Header { orientation: 1, ..*header } })
}

/// The size checks shared by every format, on a frame's (or canvas's) declared size.
fn check_size(width: u32, height: u32, limits: &Limits) -> Result<(), ImageError> {
    if width == 0 || height == 0 {
        return Err(ImageError::Malformed("zero width or height"));
    }
    let pixels = u64::from(width) * u64::from(height);
    if width > limits.max_side || height > limits.max_side || pixels > limits.max_pixels {
        return Err(ImageError::TooLarge { width, height });
    }
    Ok(())
}

/// The frame-count checks shared by every format, once the count is known.
fn check_frames(frames: u32, width: u32, height: u32, limits: &Limits) -> Result<(), ImageError> {
    if frames > limits.max_frames {
        return Err(ImageError::TooManyFrames(frames));
    }
    let total = u64::from(frames).saturating_mul(u64::from(width)).saturating_mul(u64::from(height));
    if total > limits.animation_pixel_budget() {
        return Err(ImageError::TooLarge { width, height });
    }
    Ok(())
}

/// Bounds-checked reads: every offset in these parsers comes from the file.
fn u16_be(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_be_bytes([b[0], b[1]]))
}

fn u16_le(bytes: &[u8], at: usize) -> Option<u16> {
    let b = bytes.get(at..at.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

fn u24_le(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(3)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], 0]))
}

fn u32_be(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

fn u32_le(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at.checked_add(4)?)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// `len` bytes at `at`, or `None` when the file ends first.
fn slice(bytes: &[u8], at: usize, len: usize) -> Option<&[u8]> {
    bytes.get(at..at.checked_add(len)?)
}

/// Decoder limits for the image crate: its defaults have no dimension cap and 512 MiB.
fn codec_limits(limits: &Limits) -> image::Limits {
    let mut codec = image::Limits::default();
    codec.max_image_width = Some(limits.max_side);
    codec.max_image_height = Some(limits.max_side);
    codec.max_alloc = Some(limits.max_alloc);
    codec
}

/// The image crate's error, as ours: its limit errors mean the image is too large for us.
fn decode_error(err: image::ImageError, header: &Header) -> ImageError {
    match err {
        image::ImageError::Limits(_) => ImageError::TooLarge { width: header.width, height: header.height },
        image::ImageError::Unsupported(_) => ImageError::Unsupported,
        other => ImageError::Decode(other.to_string()),
    }
}

/// The first frame, decoded under `limits`, after checking that the decoder sees the size
/// [`inspect`] read and that the output buffer fits in `max_alloc`.
fn decode_first_frame(bytes: &[u8], header: &Header, limits: &Limits) -> Result<image::DynamicImage, ImageError> {
    use image::ImageDecoder;

    check_size(header.width, header.height, limits)?;
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), header.format.codec());
    reader.limits(codec_limits(limits));
    let decoder = reader.into_decoder().map_err(|err| decode_error(err, header))?;
    let (width, height) = decoder.dimensions();
    if (width, height) != (header.width, header.height) {
        return Err(ImageError::Malformed("decoder and headers disagree on the size"));
    }
    check_size(width, height, limits)?;
    if decoder.total_bytes() > limits.max_alloc {
        return Err(ImageError::TooLarge { width, height });
    }
    image::DynamicImage::from_decoder(decoder).map_err(|err| decode_error(err, header))
}

fn orientation(header: &Header) -> image::metadata::Orientation {
    image::metadata::Orientation::from_exif(header.orientation).unwrap_or(image::metadata::Orientation::NoTransforms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_limits_are_the_documented_ones() {
        let limits = Limits::default();
        assert_eq!(limits.max_pixels, 40_000_000);
        assert_eq!(limits.max_side, 16_384);
        assert_eq!(limits.max_frames, 500);
        assert_eq!(limits.max_alloc, 128 * 1024 * 1024);
        assert_eq!(limits.animation_pixel_budget(), 800_000_000);
    }

    #[test]
    fn size_checks_refuse_each_limit() {
        let limits = Limits::default();
        assert!(check_size(16_384, 2_000, &limits).is_ok());
        assert_eq!(check_size(16_385, 1, &limits), Err(ImageError::TooLarge { width: 16_385, height: 1 }));
        assert_eq!(check_size(10_000, 10_000, &limits), Err(ImageError::TooLarge { width: 10_000, height: 10_000 }));
        assert!(matches!(check_size(0, 5, &limits), Err(ImageError::Malformed(_))));
        assert_eq!(check_frames(501, 1, 1, &limits), Err(ImageError::TooManyFrames(501)));
        // 400 frames of 4 MP each is 1.6 G pixels: over the 800 M budget.
        assert!(matches!(check_frames(400, 2_000, 2_000, &limits), Err(ImageError::TooLarge { .. })));
        assert!(check_frames(100, 2_000, 2_000, &limits).is_ok());
    }

    #[test]
    fn error_text_does_not_quote_the_decoder() {
        let err = ImageError::Decode("chunk <script>".into());
        assert_eq!(err.to_string(), "the image could not be decoded");
    }

    #[test]
    fn upright_size_swaps_for_quarter_turns() {
        let header = Header { format: Format::Jpeg, width: 40, height: 30, frames: 1, orientation: 6 };
        assert_eq!(header.upright_size(), (30, 40));
        assert_eq!(Header { orientation: 3, ..header }.upright_size(), (40, 30));
    }
}
