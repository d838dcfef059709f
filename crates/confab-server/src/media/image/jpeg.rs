//! JPEG: header reading and metadata stripping by walking the marker segments.
//!
//! Kept: SOI, DQT, DHT, DRI, SOF0–SOF2, SOS and its entropy-coded data (restart markers included),
//! APP0 JFIF (rewritten without its thumbnail, which can show the uncropped picture), APP14 Adobe
//! (it says how to read the colours), EOI. Dropped: APP1 (EXIF, XMP), every other APPn (ICC
//! profiles too), COM, and everything after EOI.

use super::{Format, Header, ImageError, Limits, check_size, slice, u16_be, u32_be};

const SOI: u8 = 0xd8;
const EOI: u8 = 0xd9;
const SOS: u8 = 0xda;
const DQT: u8 = 0xdb;
const DHT: u8 = 0xc4;
const DRI: u8 = 0xdd;
const APP0: u8 = 0xe0;
const APP1: u8 = 0xe1;
const APP14: u8 = 0xee;

/// Start-of-frame markers: C0..=CF less DHT (C4), JPG (C8) and DAC (CC).
fn is_sof(marker: u8) -> bool {
    matches!(marker, 0xc0..=0xcf) && !matches!(marker, 0xc4 | 0xc8 | 0xcc)
}

/// Baseline, extended and progressive Huffman: what the decoder (and every browser) handles.
fn is_supported_sof(marker: u8) -> bool {
    matches!(marker, 0xc0..=0xc2)
}

/// Markers that stand alone, without a length: TEM and the restart markers.
fn is_standalone(marker: u8) -> bool {
    marker == 0x01 || (0xd0..=0xd7).contains(&marker)
}

/// A marker segment, from its 0xFF to the end of its payload.
struct Segment<'a> {
    marker: u8,
    /// Without the marker and the length.
    data: &'a [u8],
    raw: &'a [u8],
}

/// The marker at `at` (fill bytes 0xFF before it skipped) and the offset of its 0xFF.
fn marker_at(bytes: &[u8], mut at: usize) -> Result<(u8, usize), ImageError> {
    if bytes.get(at) != Some(&0xff) {
        return Err(ImageError::Malformed("JPEG has bytes between segments"));
    }
    while bytes.get(at + 1) == Some(&0xff) {
        at += 1;
    }
    match bytes.get(at + 1) {
        Some(&marker) if marker != 0 => Ok((marker, at)),
        Some(_) => Err(ImageError::Malformed("JPEG has a stuffed byte outside a scan")),
        None => Err(ImageError::Malformed("JPEG ends before its end marker")),
    }
}

/// The segment whose marker is at `at`; `marker` has a length field.
fn segment_at(bytes: &[u8], at: usize, marker: u8) -> Result<Segment<'_>, ImageError> {
    let truncated = ImageError::Malformed("JPEG segment runs past the end of the file");
    let len = usize::from(u16_be(bytes, at + 2).ok_or(truncated.clone())?);
    if len < 2 {
        return Err(ImageError::Malformed("JPEG segment length under 2"));
    }
    let raw = slice(bytes, at, len + 2).ok_or(truncated)?;
    Ok(Segment { marker, data: &raw[4..], raw })
}

/// The end of the entropy-coded data that starts at `at`: the offset of the first marker that is
/// neither a stuffed 0xFF00 nor a restart marker.
fn scan_end(bytes: &[u8], mut at: usize) -> Result<usize, ImageError> {
    loop {
        let ff = bytes
            .get(at..)
            .and_then(|rest| rest.iter().position(|&b| b == 0xff))
            .ok_or(ImageError::Malformed("JPEG scan runs past the end of the file"))?;
        let ff = at + ff;
        match bytes.get(ff + 1) {
            Some(0x00 | 0xd0..=0xd7) => at = ff + 2,
            Some(_) => return Ok(ff),
            None => return Err(ImageError::Malformed("JPEG scan runs past the end of the file")),
        }
    }
}

pub(super) fn inspect(bytes: &[u8], limits: &Limits) -> Result<Header, ImageError> {
    if !bytes.starts_with(&[0xff, SOI]) {
        return Err(ImageError::Malformed("not a JPEG start of image"));
    }
    let mut at = 2;
    let mut frame: Option<(u32, u32)> = None;
    let mut orientation = None;
    loop {
        let (marker, start) = marker_at(bytes, at)?;
        if is_standalone(marker) {
            at = start + 2;
            continue;
        }
        match marker {
            SOI | EOI => return Err(ImageError::Malformed("JPEG has no scan")),
            SOS => break,
            _ => {}
        }
        let segment = segment_at(bytes, start, marker)?;
        at = start + segment.raw.len();
        if is_sof(marker) {
            if frame.is_some() {
                return Err(ImageError::Malformed("JPEG has two frames"));
            }
            if !is_supported_sof(marker) {
                return Err(ImageError::Unsupported);
            }
            let height = u16_be(segment.data, 1).ok_or(ImageError::Malformed("JPEG frame header too short"))?;
            let width = u16_be(segment.data, 3).ok_or(ImageError::Malformed("JPEG frame header too short"))?;
            if height == 0 {
                // The height would come in a DNL segment after the first scan: nobody writes these.
                return Err(ImageError::Unsupported);
            }
            check_size(u32::from(width), u32::from(height), limits)?;
            frame = Some((u32::from(width), u32::from(height)));
        } else if marker == APP1 && orientation.is_none() {
            orientation = segment.data.strip_prefix(b"Exif\0\0").map(exif_orientation);
        }
    }
    let (width, height) = frame.ok_or(ImageError::Malformed("JPEG scan before its frame header"))?;
    Ok(Header { format: Format::Jpeg, width, height, frames: 1, orientation: orientation.flatten().unwrap_or(1) })
}

/// The Orientation tag (0x0112) of IFD0 in a TIFF structure, if present and valid.
fn exif_orientation(tiff: &[u8]) -> Option<u8> {
    let big_endian = match tiff.get(..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    let u16_at = |at: usize| {
        let b = slice(tiff, at, 2)?;
        Some(if big_endian { u16::from_be_bytes([b[0], b[1]]) } else { u16::from_le_bytes([b[0], b[1]]) })
    };
    let u32_at = |at: usize| {
        let b = slice(tiff, at, 4)?;
        Some(if big_endian { u32_be(b, 0)? } else { u32::from_le_bytes([b[0], b[1], b[2], b[3]]) })
    };
    if u16_at(2)? != 42 {
        return None;
    }
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let entries = u16_at(ifd)?;
    for index in 0..usize::from(entries) {
        let entry = ifd.checked_add(2)?.checked_add(index.checked_mul(12)?)?;
        if u16_at(entry)? != 0x0112 {
            continue;
        }
        // SHORT, count 1: the value sits in the first two bytes of the value field.
        let value = if u16_at(entry + 2)? == 3 { u16_at(entry + 8)? } else { return None };
        return u8::try_from(value).ok().filter(|v| (1..=8).contains(v));
    }
    None
}

pub(super) fn clean(bytes: &[u8]) -> Result<Vec<u8>, ImageError> {
    if !bytes.starts_with(&[0xff, SOI]) {
        return Err(ImageError::Malformed("not a JPEG start of image"));
    }
    let mut out = Vec::with_capacity(bytes.len());
    out.extend_from_slice(&[0xff, SOI]);
    let mut at = 2;
    let mut wrote_jfif = false;
    loop {
        let (marker, start) = marker_at(bytes, at)?;
        if is_standalone(marker) {
            // A restart marker outside a scan carries nothing.
            at = start + 2;
            continue;
        }
        match marker {
            EOI => {
                out.extend_from_slice(&[0xff, EOI]);
                return Ok(out);
            }
            SOI => return Err(ImageError::Malformed("JPEG has a second start of image")),
            _ => {}
        }
        let segment = segment_at(bytes, start, marker)?;
        at = start + segment.raw.len();
        match segment.marker {
            DQT | DHT | DRI => out.extend_from_slice(segment.raw),
            m if is_sof(m) => out.extend_from_slice(segment.raw),
            SOS => {
                let end = scan_end(bytes, at)?;
                out.extend_from_slice(segment.raw);
                out.extend_from_slice(&bytes[at..end]);
                at = end;
            }
            APP0 if !wrote_jfif => {
                if let Some(jfif) = canonical_jfif(segment.data) {
                    out.extend_from_slice(&jfif);
                    wrote_jfif = true;
                }
            }
            APP14 => {
                if let Some(adobe) = canonical_adobe(segment.data) {
                    out.extend_from_slice(&adobe);
                }
            }
            _ => {}
        }
    }
}

/// APP0 JFIF with its version, units and density, and no thumbnail.
fn canonical_jfif(data: &[u8]) -> Option<Vec<u8>> {
    let fields = data.strip_prefix(b"JFIF\0")?.get(..7)?;
    let mut out = vec![0xff, APP0, 0, 16];
    out.extend_from_slice(b"JFIF\0");
    out.extend_from_slice(fields);
    out.extend_from_slice(&[0, 0]);
    Some(out)
}

/// APP14 Adobe with its version, flags and colour transform, nothing more.
fn canonical_adobe(data: &[u8]) -> Option<Vec<u8>> {
    let fields = data.strip_prefix(b"Adobe")?.get(..7)?;
    let mut out = vec![0xff, APP14, 0, 14];
    out.extend_from_slice(b"Adobe");
    out.extend_from_slice(fields);
    Some(out)
}

/// A JPEG with EXIF orientation ≠ 1, decoded, turned upright and re-encoded at quality 90: the
/// cleaned file has no EXIF to turn it, so the pixels must be turned. Peak memory is about twice
/// the decoded image (the decoded frame and its rotated copy).
pub(super) fn reencode_upright(bytes: &[u8], header: &Header, limits: &Limits) -> Result<super::Cleaned, ImageError> {
    let mut picture = super::decode_first_frame(bytes, header, limits)?;
    picture.apply_orientation(super::orientation(header));
    let picture = image::DynamicImage::ImageRgb8(picture.into_rgb8());
    let (width, height) = (picture.width(), picture.height());
    let mut out = Vec::new();
    picture
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90))
        .map_err(|err| super::decode_error(err, header))?;
    Ok(super::Cleaned { bytes: out, header: Header { width, height, orientation: 1, ..*header } })
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::{clean as clean_any, inspect as inspect_any};
    use super::*;
    use std::time::{Duration, Instant};

    pub(crate) fn encode_jpeg(img: &image::DynamicImage) -> Vec<u8> {
        let mut out = Vec::new();
        img.to_rgb8().write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95)).unwrap();
        out
    }

    fn segment(marker: u8, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0xff, marker];
        out.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(data);
        out
    }

    /// EXIF APP1 payload: IFD0 with Orientation and a GPS IFD pointer; the GPS IFD holds
    /// latitude N 48° 51' 29".
    fn exif_with_gps(orientation: u16) -> Vec<u8> {
        let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
        let entry = |tag: u16, kind: u16, count: u32, value: [u8; 4]| {
            let mut e = tag.to_be_bytes().to_vec();
            e.extend_from_slice(&kind.to_be_bytes());
            e.extend_from_slice(&count.to_be_bytes());
            e.extend_from_slice(&value);
            e
        };
        // IFD0 at 8: 2 entries (2 + 24 bytes) + next-IFD 0 → GPS IFD at 8 + 2 + 24 + 4 = 38.
        tiff.extend_from_slice(&2u16.to_be_bytes());
        let mut orientation_value = [0u8; 4];
        orientation_value[..2].copy_from_slice(&orientation.to_be_bytes());
        tiff.extend(entry(0x0112, 3, 1, orientation_value));
        tiff.extend(entry(0x8825, 4, 1, 38u32.to_be_bytes()));
        tiff.extend_from_slice(&0u32.to_be_bytes());
        // GPS IFD at 38: 2 entries + next 0 → rationals at 38 + 2 + 24 + 4 = 68.
        tiff.extend_from_slice(&2u16.to_be_bytes());
        tiff.extend(entry(0x0001, 2, 2, *b"N\0\0\0"));
        tiff.extend(entry(0x0002, 5, 3, 68u32.to_be_bytes()));
        tiff.extend_from_slice(&0u32.to_be_bytes());
        for (num, den) in [(48u32, 1u32), (51, 1), (29, 1)] {
            tiff.extend_from_slice(&num.to_be_bytes());
            tiff.extend_from_slice(&den.to_be_bytes());
        }
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend(tiff);
        app1
    }

    /// The encoder's JPEG with `extra` segments after SOI and `trailer` after EOI.
    fn jpeg_with(img: &image::DynamicImage, extra: &[Vec<u8>], trailer: &[u8]) -> Vec<u8> {
        let plain = encode_jpeg(img);
        let mut out = plain[..2].to_vec();
        for s in extra {
            out.extend_from_slice(s);
        }
        out.extend_from_slice(&plain[2..]);
        out.extend_from_slice(trailer);
        out
    }

    /// The markers of a cleaned file's segments, up to and including SOS (after which is data).
    fn markers(jpeg: &[u8]) -> Vec<u8> {
        let mut found = Vec::new();
        let mut at = 2;
        loop {
            let (marker, start) = marker_at(jpeg, at).unwrap();
            found.push(marker);
            if marker == EOI {
                return found;
            }
            let seg = segment_at(jpeg, start, marker).unwrap();
            at = start + seg.raw.len();
            if marker == SOS {
                at = scan_end(jpeg, at).unwrap();
            }
        }
    }

    /// Left half red, right half blue: where red ends up tells which way the pixels turned.
    fn halves(width: u32, height: u32) -> image::DynamicImage {
        image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, _| {
            if x < width / 2 { image::Rgb([250, 0, 0]) } else { image::Rgb([0, 0, 250]) }
        }))
    }

    #[test]
    fn a_frame_header_declaring_60000_squared_is_refused_quickly() {
        let mut sof = vec![8];
        sof.extend_from_slice(&60_000u16.to_be_bytes());
        sof.extend_from_slice(&60_000u16.to_be_bytes());
        sof.extend_from_slice(&[1, 1, 0x11, 0]);
        let mut bomb = vec![0xff, SOI];
        bomb.extend(segment(0xc0, &sof));
        bomb.extend(segment(SOS, &[1, 1, 0, 0, 63, 0]));
        bomb.extend_from_slice(&[0; 16]);
        bomb.extend_from_slice(&[0xff, EOI]);

        let started = Instant::now();
        let refused = inspect_any(&bomb, Format::Jpeg, &Limits::default());
        assert_eq!(refused, Err(ImageError::TooLarge { width: 60_000, height: 60_000 }));
        assert!(started.elapsed() < Duration::from_millis(50));
    }

    #[test]
    fn arithmetic_coding_is_unsupported() {
        let plain = encode_jpeg(&halves(8, 8));
        let mut arithmetic = plain.clone();
        let sof = arithmetic.windows(2).position(|w| w == [0xff, 0xc0]).unwrap();
        arithmetic[sof + 1] = 0xc9;
        assert_eq!(inspect_any(&arithmetic, Format::Jpeg, &Limits::default()), Err(ImageError::Unsupported));
    }

    #[test]
    fn clean_drops_exif_gps_comments_and_trailing_bytes() {
        let img = halves(40, 24);
        let extra = [segment(APP1, &exif_with_gps(1)), segment(0xfe, b"shot on my phone at home")];
        let jpeg = jpeg_with(&img, &extra, b"\0\0secret trailer after EOI");
        let header = inspect_any(&jpeg, Format::Jpeg, &Limits::default()).unwrap();
        assert_eq!((header.width, header.height, header.orientation), (40, 24, 1));

        let cleaned = clean_any(&jpeg, &header, &Limits::default()).unwrap();
        let found = markers(&cleaned.bytes);
        assert!(!found.contains(&APP1) && !found.contains(&0xfe), "{found:x?}");
        assert!(cleaned.bytes.ends_with(&[0xff, EOI]));
        assert!(!cleaned.bytes.windows(4).any(|w| w == b"Exif"));
        // Lossless: the entropy-coded data is byte for byte the original's.
        let original_scan = &jpeg[jpeg.windows(2).position(|w| w == [0xff, SOS]).unwrap()..];
        let cleaned_scan = &cleaned.bytes[cleaned.bytes.windows(2).position(|w| w == [0xff, SOS]).unwrap()..];
        assert!(original_scan.starts_with(cleaned_scan));

        let decoded = image::load_from_memory_with_format(&cleaned.bytes, image::ImageFormat::Jpeg).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (40, 24));
    }

    #[test]
    fn orientation_6_is_baked_into_the_pixels() {
        let jpeg = jpeg_with(&halves(64, 32), &[segment(APP1, &exif_with_gps(6))], &[]);
        let header = inspect_any(&jpeg, Format::Jpeg, &Limits::default()).unwrap();
        assert_eq!(header.orientation, 6);

        let cleaned = clean_any(&jpeg, &header, &Limits::default()).unwrap();
        assert!(!markers(&cleaned.bytes).contains(&APP1));
        assert_eq!((cleaned.header.width, cleaned.header.height, cleaned.header.orientation), (32, 64, 1));
        let decoded = image::load_from_memory_with_format(&cleaned.bytes, image::ImageFormat::Jpeg).unwrap().to_rgb8();
        assert_eq!(decoded.dimensions(), (32, 64));
        // A quarter turn clockwise puts the left (red) half on top.
        let top = decoded.get_pixel(16, 8);
        let bottom = decoded.get_pixel(16, 56);
        assert!(top[0] > 200 && top[2] < 60, "{top:?}");
        assert!(bottom[2] > 200 && bottom[0] < 60, "{bottom:?}");
        assert_eq!(inspect_any(&cleaned.bytes, Format::Jpeg, &Limits::default()).unwrap(), cleaned.header);
    }

    #[test]
    fn jfif_thumbnail_is_dropped() {
        let mut app0 = b"JFIF\0\x01\x02\0\0\x01\0\x01".to_vec();
        app0.extend_from_slice(&[2, 2]);
        app0.extend_from_slice(&[0xab; 12]);
        let plain = encode_jpeg(&halves(8, 8));
        // Replace the encoder's own APP0 with one that carries a 2×2 thumbnail.
        let app0_len = usize::from(u16::from_be_bytes([plain[4], plain[5]]));
        let mut jpeg = plain[..2].to_vec();
        jpeg.extend(segment(APP0, &app0));
        jpeg.extend_from_slice(&plain[4 + app0_len..]);
        let header = inspect_any(&jpeg, Format::Jpeg, &Limits::default()).unwrap();
        let cleaned = clean_any(&jpeg, &header, &Limits::default()).unwrap();
        assert_eq!(&cleaned.bytes[2..20], &segment(APP0, b"JFIF\0\x01\x02\0\0\x01\0\x01\0\0")[..]);
        assert!(!cleaned.bytes.windows(3).any(|w| w == [0xab; 3]));
    }

    #[test]
    fn exif_orientation_parser_survives_hostile_offsets() {
        assert_eq!(exif_orientation(b"MM\0\x2a\xff\xff\xff\xff"), None);
        assert_eq!(exif_orientation(b"II\x2a\0\x08\0\0\0\xff\xff"), None);
        assert_eq!(exif_orientation(b"XX"), None);
        assert_eq!(exif_orientation(&exif_with_gps(9)[6..]), None);
        assert_eq!(exif_orientation(&exif_with_gps(8)[6..]), Some(8));
    }

    #[test]
    fn every_prefix_and_garbage_is_an_error_not_a_panic() {
        let limits = Limits::default();
        let jpeg = jpeg_with(&halves(16, 8), &[segment(APP1, &exif_with_gps(3))], &[]);
        let header = inspect_any(&jpeg, Format::Jpeg, &limits).unwrap();
        for len in 0..jpeg.len() {
            let prefix = &jpeg[..len];
            let _ = inspect_any(prefix, Format::Jpeg, &limits);
            assert!(clean_any(prefix, &header, &limits).is_err(), "prefix {len}");
        }
        for garbage in
            [&b""[..], b"\xff\xd8", b"\xff\xd8\xff\xda\x00\x01", b"\xff\xd8\xff\xc0\x00\x05\x08", &[0xff; 64]]
        {
            assert!(inspect_any(garbage, Format::Jpeg, &limits).is_err());
            assert!(clean_any(garbage, &header, &limits).is_err());
        }
    }
}
