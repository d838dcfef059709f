//! Derived images: the thumbnail and blurhash shown before a picture loads, and avatars.
//!
//! Both decode the first frame under the caller's [`Limits`] (see `decode_first_frame`) and scale
//! down *before* applying the orientation: the boxes are square, so the result is the same and the
//! full-size frame is never copied to be turned.

use super::{Header, ImageError, Limits, decode_first_frame, orientation};
use image::{DynamicImage, imageops};

const THUMBNAIL_JPEG_QUALITY: u8 = 80;
const AVATAR_JPEG_QUALITY: u8 = 85;
/// The blurhash is computed from a copy this small: it only keeps 4×3 cosine components.
const BLURHASH_SOURCE_SIDE: u32 = 32;
const BLURHASH_COMPONENTS: (u32, u32) = (4, 3);

/// An image the server made, ready to store: no metadata, since the encoders write none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Preview {
    /// `None` when the image (a still) already fits in the box: clients show it as it is.
    pub thumbnail: Option<Encoded>,
    pub blurhash: String,
}

/// The thumbnail (fit in `side`×`side`, upright, JPEG q80 or PNG when it has transparency; for an
/// animation, a still of its first frame) and the blurhash of an image. `header` must describe
/// `bytes`: after [`super::clean`], that is [`super::Cleaned::header`].
pub fn preview(bytes: &[u8], header: &Header, limits: &Limits, side: u32) -> Result<Preview, ImageError> {
    let side = side.clamp(1, limits.max_side);
    let picture = decode_first_frame(bytes, header, limits)?;
    let turn = orientation(header);

    let mut small = picture.thumbnail(BLURHASH_SOURCE_SIDE, BLURHASH_SOURCE_SIDE);
    small.apply_orientation(turn);
    let small = small.to_rgba8();
    let (x_components, y_components) = BLURHASH_COMPONENTS;
    let blurhash = blurhash::encode(x_components, y_components, small.width(), small.height(), small.as_raw())
        .map_err(|err| ImageError::Decode(err.to_string()))?;

    let (width, height) = header.upright_size();
    let thumbnail = if width <= side && height <= side && !header.is_animated() {
        None
    } else {
        let mut scaled =
            if picture.width() <= side && picture.height() <= side { picture } else { picture.thumbnail(side, side) };
        scaled.apply_orientation(turn);
        Some(encode(scaled, THUMBNAIL_JPEG_QUALITY)?)
    };
    Ok(Preview { thumbnail, blurhash })
}

/// A square avatar: the centre square of the upright image, scaled to `side`×`side`, JPEG q85
/// (PNG when it has transparency).
pub fn avatar(bytes: &[u8], header: &Header, limits: &Limits, side: u32) -> Result<Encoded, ImageError> {
    let side = side.clamp(1, limits.max_side);
    let picture = decode_first_frame(bytes, header, limits)?;
    let crop = picture.width().min(picture.height());
    let left = (picture.width() - crop) / 2;
    let top = (picture.height() - crop) / 2;
    let centre = imageops::crop_imm(&picture, left, top, crop, crop);
    let square = if crop > side {
        imageops::thumbnail(&*centre, side, side)
    } else {
        imageops::resize(&*centre, side, side, imageops::FilterType::Triangle)
    };
    let mut square = DynamicImage::ImageRgba8(square);
    // The centre square of a turned image is the turned centre square.
    square.apply_orientation(orientation(header));
    encode(square, AVATAR_JPEG_QUALITY)
}

/// PNG if any pixel is not opaque, else JPEG at `quality`.
fn encode(picture: DynamicImage, quality: u8) -> Result<Encoded, ImageError> {
    let (width, height) = (picture.width(), picture.height());
    let mut bytes = Vec::new();
    let transparent = picture.color().has_alpha() && picture.to_rgba8().pixels().any(|pixel| pixel[3] < u8::MAX);
    let written = if transparent {
        DynamicImage::ImageRgba8(picture.into_rgba8())
            .write_with_encoder(image::codecs::png::PngEncoder::new(&mut bytes))
            .map(|()| "image/png")
    } else {
        DynamicImage::ImageRgb8(picture.into_rgb8())
            .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality))
            .map(|()| "image/jpeg")
    };
    let mime = written.map_err(|err| ImageError::Decode(err.to_string()))?;
    Ok(Encoded { bytes, mime, width, height })
}

#[cfg(test)]
mod tests {
    use super::super::{Format, clean, inspect, jpeg::tests::encode_jpeg, png::tests::encode_png};
    use super::*;

    fn solid(width: u32, height: u32, colour: [u8; 3]) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_pixel(width, height, image::Rgb(colour)))
    }

    fn decode(encoded: &Encoded) -> DynamicImage {
        image::load_from_memory(&encoded.bytes).unwrap()
    }

    fn inspected(bytes: &[u8], format: Format) -> Header {
        inspect(bytes, format, &Limits::default()).unwrap()
    }

    #[test]
    fn blurhash_decodes_to_the_average_colour() {
        // Two colours whose average is (100, 120, 140).
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(120, 80, |x, _| {
            if x % 2 == 0 { image::Rgb([60, 100, 180]) } else { image::Rgb([140, 140, 100]) }
        }));
        let png = encode_png(&img);
        let preview = preview(&png, &inspected(&png, Format::Png), &Limits::default(), 256).unwrap();
        let pixels = blurhash::decode(&preview.blurhash, 8, 8, 1.0).unwrap();
        let count = (pixels.len() / 4) as u64;
        let mean = |channel: usize| pixels.chunks(4).map(|p| u64::from(p[channel])).sum::<u64>() / count;
        for (channel, expected) in [(0, 100i64), (1, 120), (2, 140)] {
            let got = mean(channel) as i64;
            assert!((got - expected).abs() <= 12, "channel {channel}: {got} vs {expected}");
        }
    }

    #[test]
    fn a_large_image_gets_a_jpeg_thumbnail_that_fits() {
        let png = encode_png(&solid(400, 200, [10, 200, 30]));
        let preview = preview(&png, &inspected(&png, Format::Png), &Limits::default(), 100).unwrap();
        let thumbnail = preview.thumbnail.unwrap();
        assert_eq!((thumbnail.mime, thumbnail.width, thumbnail.height), ("image/jpeg", 100, 50));
        assert_eq!(decode(&thumbnail).to_rgb8().dimensions(), (100, 50));
    }

    #[test]
    fn a_small_still_needs_no_thumbnail_but_a_small_animation_gets_a_still() {
        let png = encode_png(&solid(50, 40, [1, 2, 3]));
        assert_eq!(preview(&png, &inspected(&png, Format::Png), &Limits::default(), 100).unwrap().thumbnail, None);

        let mut gif = Vec::new();
        {
            let mut encoder = image::codecs::gif::GifEncoder::new(&mut gif);
            for colour in [[255, 0, 0, 255], [0, 0, 255, 255]] {
                let frame = image::RgbaImage::from_pixel(20, 10, image::Rgba(colour));
                encoder.encode_frame(image::Frame::new(frame)).unwrap();
            }
        }
        let header = inspected(&gif, Format::Gif);
        assert_eq!(header.frames, 2);
        let still = preview(&gif, &header, &Limits::default(), 100).unwrap().thumbnail.unwrap();
        assert_eq!((still.width, still.height), (20, 10));
        let first = decode(&still).to_rgb8();
        assert!(first.get_pixel(5, 5)[0] > 200, "the first frame is red");
    }

    #[test]
    fn transparency_gives_png_thumbnails_and_avatars() {
        let img = DynamicImage::ImageRgba8(image::RgbaImage::from_fn(300, 300, |x, _| {
            image::Rgba([200, 0, 0, if x < 150 { 0 } else { 255 }])
        }));
        let png = encode_png(&img);
        let header = inspected(&png, Format::Png);
        let thumbnail = preview(&png, &header, &Limits::default(), 64).unwrap().thumbnail.unwrap();
        assert_eq!(thumbnail.mime, "image/png");
        assert_eq!(avatar(&png, &header, &Limits::default(), 32).unwrap().mime, "image/png");
        // Opaque RGBA is still a photo: JPEG.
        let opaque =
            encode_png(&DynamicImage::ImageRgba8(image::RgbaImage::from_pixel(300, 300, image::Rgba([9, 9, 9, 255]))));
        let opaque_header = inspected(&opaque, Format::Png);
        assert_eq!(
            preview(&opaque, &opaque_header, &Limits::default(), 64).unwrap().thumbnail.unwrap().mime,
            "image/jpeg"
        );
    }

    #[test]
    fn avatar_is_the_centre_square_at_the_requested_size() {
        // Thirds: red, green, blue. The centre square is the green third.
        let img = DynamicImage::ImageRgb8(image::RgbImage::from_fn(300, 100, |x, _| match x {
            0..100 => image::Rgb([255, 0, 0]),
            100..200 => image::Rgb([0, 255, 0]),
            _ => image::Rgb([0, 0, 255]),
        }));
        let jpeg = encode_jpeg(&img);
        let header = inspected(&jpeg, Format::Jpeg);
        for side in [64, 256] {
            let avatar = avatar(&jpeg, &header, &Limits::default(), side).unwrap();
            assert_eq!((avatar.mime, avatar.width, avatar.height), ("image/jpeg", side, side));
            let decoded = decode(&avatar).to_rgb8();
            assert_eq!(decoded.dimensions(), (side, side));
            let centre = decoded.get_pixel(side / 2, side / 2);
            assert!(centre[1] > 200 && centre[0] < 60 && centre[2] < 60, "{centre:?}");
            assert!(!avatar.bytes.windows(4).any(|w| w == b"Exif"));
        }
    }

    #[test]
    fn previews_of_an_original_and_its_cleaned_copy_are_both_upright() {
        // 64×32, EXIF orientation 6: upright it is 32×64.
        let plain = encode_jpeg(&solid(64, 32, [90, 90, 90]));
        let tiff = b"MM\0\x2a\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0";
        let mut app1 = vec![0xff, 0xe1];
        app1.extend_from_slice(&((tiff.len() + 8) as u16).to_be_bytes());
        app1.extend_from_slice(b"Exif\0\0");
        app1.extend_from_slice(tiff);
        let original = [&plain[..2], &app1, &plain[2..]].concat();
        let header = inspected(&original, Format::Jpeg);
        assert_eq!(header.orientation, 6);
        let cleaned = clean(&original, &header, &Limits::default()).unwrap();

        for (bytes, header) in [(&original, header), (&cleaned.bytes, cleaned.header)] {
            let thumbnail = preview(bytes, &header, &Limits::default(), 16).unwrap().thumbnail.unwrap();
            assert_eq!((thumbnail.width, thumbnail.height), (8, 16));
        }
    }

    #[test]
    fn previews_refuse_garbage_without_panicking() {
        let limits = Limits::default();
        let header = Header { format: Format::Jpeg, width: 10, height: 10, frames: 1, orientation: 1 };
        for bytes in [&b""[..], b"\xff\xd8\xff", &[0u8; 100]] {
            assert!(preview(bytes, &header, &limits, 64).is_err());
            assert!(avatar(bytes, &header, &limits, 64).is_err());
        }
        let too_big = Header { width: 100_000, height: 100_000, ..header };
        assert!(matches!(preview(b"", &too_big, &limits, 64), Err(ImageError::TooLarge { .. })));
    }
}
