//! The photo of a case, as uploaded: JPEG or PNG only, checked, turned upright, reduced and
//! re-encoded as JPEG. Re-encoding drops every piece of metadata the file carried (the
//! phone's GPS position of where the photo was taken, among others).

use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use std::io::Cursor;

/// Largest upload accepted.
pub const MAX_UPLOAD_BYTES: usize = 12 * 1024 * 1024;
/// Shortest side a photo needs for her to be recognisable on a ficha.
pub const MIN_SIDE: u32 = 200;
/// Longest side kept: enough for the largest ficha.
pub const MAX_SIDE: u32 = 1200;
const JPEG_QUALITY: u8 = 86;

/// Checks an uploaded photo and gives it back as a JPEG at most [`MAX_SIDE`] pixels on its
/// longest side. Errors in Spanish.
pub fn normalize(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.len() > MAX_UPLOAD_BYTES {
        return Err(format!("la fotografía pesa {:.1} MB: el máximo es {} MB", bytes.len() as f64 / 1_048_576.0, MAX_UPLOAD_BYTES / 1_048_576));
    }
    let format = match bytes {
        [0xFF, 0xD8, 0xFF, ..] => ImageFormat::Jpeg,
        [0x89, b'P', b'N', b'G', ..] => ImageFormat::Png,
        _ => return Err("la fotografía debe ser un archivo JPEG o PNG".into()),
    };
    let damaged = |e: image::ImageError| format!("no se pudo leer la fotografía (el archivo parece dañado): {e}");
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 * 1024 * 1024);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(damaged)?;
    // A damaged EXIF block is no reason to refuse the photo: it is dropped anyway.
    let orientation = decoder.orientation().unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(damaged)?;
    img.apply_orientation(orientation);
    let (w, h) = (img.width(), img.height());
    if w < MIN_SIDE || h < MIN_SIDE {
        return Err(format!("la fotografía es muy pequeña ({w}×{h} píxeles): se necesitan al menos {MIN_SIDE} píxeles por lado para reconocerla"));
    }
    if w.max(h) > MAX_SIDE {
        img = img.resize(MAX_SIDE, MAX_SIDE, image::imageops::FilterType::CatmullRom);
    }
    encode_jpeg(&img.to_rgb8())
}

pub(crate) fn encode_jpeg(img: &image::RgbImage) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(img)
        .map_err(|e| format!("no se pudo guardar la fotografía: {e}"))?;
    Ok(out)
}

/// Decodes a stored (normalized) photo.
pub(crate) fn decode(jpeg: &[u8]) -> Result<image::RgbImage, String> {
    image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg)
        .map(|i| i.to_rgb8())
        .map_err(|e| format!("la fotografía guardada no se pudo leer: {e}"))
}

/// A stand-in photo for the demonstration: a plain silhouette, never a real person.
pub fn demo_silhouette(seed: u32) -> Vec<u8> {
    let (w, h) = (600u32, 750u32);
    let tones = [[214, 196, 222], [200, 214, 226], [226, 210, 200], [208, 224, 208]];
    let bg = tones[(seed as usize) % tones.len()];
    let img = image::RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32, y as f32);
        let head = ((fx - 300.0) / 120.0).powi(2) + ((fy - 270.0) / 150.0).powi(2) <= 1.0;
        let shoulders = fy > 440.0 && ((fx - 300.0) / 260.0).powi(2) + ((fy - 760.0) / 320.0).powi(2) <= 1.0;
        if head || shoulders { image::Rgb([120, 104, 132]) } else { image::Rgb(bg) }
    });
    encode_jpeg(&img).expect("codificar en memoria no falla")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| image::Rgb([(x % 255) as u8, (y % 255) as u8, 90]));
        let mut out = Vec::new();
        image::DynamicImage::ImageRgb8(img).write_to(&mut Cursor::new(&mut out), ImageFormat::Png).unwrap();
        out
    }

    #[test]
    fn accepts_jpeg_and_png_and_reduces_them() {
        let out = normalize(&png(2400, 1600)).unwrap();
        assert_eq!(&out[..3], &[0xFF, 0xD8, 0xFF]);
        let img = decode(&out).unwrap();
        assert_eq!((img.width(), img.height()), (1200, 800));
        let again = normalize(&out).unwrap();
        assert_eq!(decode(&again).unwrap().dimensions(), (1200, 800), "a small enough JPEG keeps its size");
    }

    #[test]
    fn refuses_other_files_small_photos_and_damage() {
        assert!(normalize(b"GIF89a....").unwrap_err().contains("JPEG o PNG"));
        assert!(normalize(&png(120, 400)).unwrap_err().contains("muy pequeña (120×400"));
        let mut broken = png(400, 400);
        broken.truncate(60);
        assert!(normalize(&broken).unwrap_err().contains("dañado"));
    }

    #[test]
    fn drops_metadata() {
        // A JPEG with an EXIF segment carrying a marker string.
        let base = normalize(&png(400, 400)).unwrap();
        let mut exif = vec![0xFF, 0xD8, 0xFF, 0xE1];
        let payload = b"Exif\0\0GPS-SECRETO-17.06,-96.72";
        exif.extend_from_slice(&((payload.len() + 2) as u16).to_be_bytes());
        exif.extend_from_slice(payload);
        exif.extend_from_slice(&base[2..]);
        let out = normalize(&exif).unwrap();
        assert!(!out.windows(11).any(|w| w == b"GPS-SECRETO"), "metadata survived");
    }
}
