//! The *ficha de búsqueda* as a PNG in the sizes social networks recommend: square
//! 1080 × 1080 (Instagram and Facebook feed), vertical 1080 × 1350 (Instagram 4:5) and
//! horizontal 1200 × 630 (Facebook and link previews). Same layout in every language:
//! header with the folio, the heading, her photo, her name and description, and the
//! hotline with the public link at the foot.
//!
//! Text is set in DejaVu Sans (the fonts the PDFs use), so every name renders as written,
//! accents and ñ included; long descriptions shrink to fit instead of being cut.

use ab_glyph::{Font, FontRef, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage};
use std::sync::OnceLock;
use violeta_domain::alerta::{CALL_TO_ACTION, HEADING, PublicFacts, Translation};

const REGULAR: &[u8] = include_bytes!("../../fonts/DejaVuSans.ttf");
const BOLD: &[u8] = include_bytes!("../../fonts/DejaVuSans-Bold.ttf");

/// White on this pink has a contrast ratio above 6:1 (WCAG AA for any text size).
const PINK: [u8; 3] = [176, 18, 91];
const PALE_PINK: [u8; 3] = [252, 228, 236];
const WHITE: [u8; 3] = [255, 255, 255];
const INK: [u8; 3] = [20, 20, 24];
const GREY: [u8; 3] = [80, 80, 88];
const YELLOW: [u8; 3] = [255, 214, 0];

/// The sizes a ficha is made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Size {
    Cuadrada,
    Vertical,
    Horizontal,
}

impl Size {
    pub const ALL: [Size; 3] = [Size::Cuadrada, Size::Vertical, Size::Horizontal];

    pub fn dims(self) -> (u32, u32) {
        match self {
            Size::Cuadrada => (1080, 1080),
            Size::Vertical => (1080, 1350),
            Size::Horizontal => (1200, 630),
        }
    }

    /// `1080x1080`: part of the file name.
    pub fn slug(self) -> String {
        let (w, h) = self.dims();
        format!("{w}x{h}")
    }

    pub fn label(self) -> &'static str {
        match self {
            Size::Cuadrada => "Cuadrada, 1080 × 1080 (Instagram, Facebook)",
            Size::Vertical => "Vertical, 1080 × 1350 (Instagram 4:5)",
            Size::Horizontal => "Horizontal, 1200 × 630 (Facebook, vistas previas de enlaces)",
        }
    }
}

/// What a ficha shows.
pub struct Content<'a> {
    pub facts: &'a PublicFacts,
    pub photo: Option<&'a RgbImage>,
    /// `None`: the Spanish ficha.
    pub translation: Option<&'a Translation>,
    /// The public page, `https://…/alertas/AR-2026-0001`.
    pub link: &'a str,
    /// Labels the ficha "DEMOSTRACIÓN" (demo installations).
    pub demo: bool,
}

struct Fonts {
    regular: FontRef<'static>,
    bold: FontRef<'static>,
}

fn fonts() -> &'static Fonts {
    static FONTS: OnceLock<Fonts> = OnceLock::new();
    FONTS.get_or_init(|| Fonts {
        regular: FontRef::try_from_slice(REGULAR).expect("DejaVu Sans viene con Violeta"),
        bold: FontRef::try_from_slice(BOLD).expect("DejaVu Sans Bold viene con Violeta"),
    })
}

struct Canvas {
    img: RgbImage,
}

impl Canvas {
    fn fill(&mut self, x: i32, y: i32, w: i32, h: i32, color: [u8; 3]) {
        let (iw, ih) = (self.img.width() as i32, self.img.height() as i32);
        for py in y.max(0)..(y + h).min(ih) {
            for px in x.max(0)..(x + w).min(iw) {
                self.img.put_pixel(px as u32, py as u32, Rgb(color));
            }
        }
    }

    fn width(font: &FontRef<'static>, size: f32, text: &str) -> f32 {
        let scaled = font.as_scaled(PxScale::from(size));
        let mut w = 0.0;
        let mut prev = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                w += scaled.kern(p, id);
            }
            w += scaled.h_advance(id);
            prev = Some(id);
        }
        w
    }

    /// Draws `text` with its baseline at `baseline`; returns where the text ends.
    fn text(&mut self, font: &FontRef<'static>, size: f32, x: f32, baseline: f32, text: &str, color: [u8; 3]) -> f32 {
        let scaled = font.as_scaled(PxScale::from(size));
        let (iw, ih) = (self.img.width() as i32, self.img.height() as i32);
        let mut caret = x;
        let mut prev = None;
        for c in text.chars() {
            let id = scaled.glyph_id(c);
            if let Some(p) = prev {
                caret += scaled.kern(p, id);
            }
            let glyph = id.with_scale_and_position(PxScale::from(size), point(caret, baseline));
            caret += scaled.h_advance(id);
            prev = Some(id);
            let Some(outline) = font.outline_glyph(glyph) else { continue };
            let bounds = outline.px_bounds();
            outline.draw(|gx, gy, coverage| {
                let (px, py) = (bounds.min.x as i32 + gx as i32, bounds.min.y as i32 + gy as i32);
                if px < 0 || py < 0 || px >= iw || py >= ih || coverage <= 0.0 {
                    return;
                }
                let c = coverage.min(1.0);
                let p = self.img.get_pixel_mut(px as u32, py as u32);
                for (channel, ink) in p.0.iter_mut().zip(color) {
                    *channel = (f32::from(*channel) * (1.0 - c) + f32::from(ink) * c).round() as u8;
                }
            });
        }
        caret
    }

    /// Centred on `cx`, shrunk to fit `max` pixels.
    #[allow(clippy::too_many_arguments)]
    fn centered(&mut self, font: &FontRef<'static>, size: f32, cx: f32, baseline: f32, text: &str, max: f32, color: [u8; 3]) {
        let size = fitting(font, size, text, max);
        let w = Canvas::width(font, size, text);
        self.text(font, size, cx - w / 2.0, baseline, text, color);
    }

    /// The photo, cropped to fill the box (centred, a little above the middle: faces).
    fn photo(&mut self, photo: &RgbImage, x: i32, y: i32, w: u32, h: u32) {
        let (pw, ph) = (photo.width() as f32, photo.height() as f32);
        let scale = (w as f32 / pw).max(h as f32 / ph);
        let (sw, sh) = ((pw * scale).ceil() as u32, (ph * scale).ceil() as u32);
        let resized = image::imageops::resize(photo, sw.max(w), sh.max(h), image::imageops::FilterType::Triangle);
        let ox = (resized.width() - w) / 2;
        let oy = ((resized.height() - h) as f32 * 0.35) as u32;
        for py in 0..h {
            for px in 0..w {
                let (tx, ty) = (x + px as i32, y + py as i32);
                if tx >= 0 && ty >= 0 && (tx as u32) < self.img.width() && (ty as u32) < self.img.height() {
                    self.img.put_pixel(tx as u32, ty as u32, *resized.get_pixel(ox + px, oy + py));
                }
            }
        }
    }
}

/// The largest size up to `size` at which `text` fits in `max` pixels.
fn fitting(font: &FontRef<'static>, size: f32, text: &str, max: f32) -> f32 {
    let w = Canvas::width(font, size, text);
    if w <= max { size } else { (size * max / w).max(10.0) }
}

/// A run of text in one weight.
struct Span {
    text: String,
    bold: bool,
}

/// A paragraph: spans, and its size relative to the body text.
struct Para {
    spans: Vec<Span>,
    scale: f32,
}

/// One laid-out line: words with their weight, at a size.
struct Line {
    words: Vec<(String, bool)>,
    size: f32,
    gap_before: f32,
}

fn lay_out(paras: &[Para], width: f32, base: f32) -> Vec<Line> {
    let f = fonts();
    let mut lines = Vec::new();
    for (i, para) in paras.iter().enumerate() {
        let size = base * para.scale;
        let space = Canvas::width(&f.regular, size, " ");
        let mut current: Vec<(String, bool)> = Vec::new();
        let mut used = 0.0;
        let mut first = true;
        for span in &para.spans {
            for word in span.text.split_whitespace() {
                let font = if span.bold { &f.bold } else { &f.regular };
                let w = Canvas::width(font, size, word);
                let needed = if current.is_empty() { w } else { used + space + w };
                if !current.is_empty() && needed > width {
                    lines.push(Line { words: std::mem::take(&mut current), size, gap_before: if first && i > 0 { base * 0.45 } else { 0.0 } });
                    first = false;
                    used = w;
                } else {
                    used = needed;
                }
                current.push((word.to_string(), span.bold));
            }
        }
        if !current.is_empty() {
            lines.push(Line { words: current, size, gap_before: if first && i > 0 { base * 0.45 } else { 0.0 } });
        }
    }
    lines
}

fn height(lines: &[Line]) -> f32 {
    lines.iter().map(|l| l.gap_before + l.size * 1.28).sum()
}

/// Sets `paras` in the box, shrinking the text until it fits.
fn flow(canvas: &mut Canvas, paras: &[Para], x: f32, y: f32, w: f32, h: f32, start: f32) {
    let f = fonts();
    let mut base = start;
    let mut lines = lay_out(paras, w, base);
    while height(&lines) > h && base > 14.0 {
        base -= 1.0;
        lines = lay_out(paras, w, base);
    }
    let mut top = y;
    for line in &lines {
        top += line.gap_before;
        if top + line.size * 1.28 > y + h + 1.0 {
            break;
        }
        let baseline = top + line.size;
        let mut caret = x;
        let space = Canvas::width(&f.regular, line.size, " ");
        for (word, bold) in &line.words {
            let font = if *bold { &f.bold } else { &f.regular };
            caret = canvas.text(font, line.size, caret, baseline, word, if *bold { INK } else { GREY }) + space;
        }
        top += line.size * 1.28;
    }
}

/// Where things go on each size.
struct Geometry {
    header: i32,
    title: f32,
    heading: i32,
    heading_size: f32,
    band: i32,
    /// Photo box: x, width, height (its top is the body's top; no lower than the foot).
    photo: (i32, u32, u32),
    /// Text box: x, y offset from the body's top, width (it reaches down to the foot).
    text: (i32, i32, i32),
    body_size: f32,
    footer: i32,
}

fn geometry(size: Size, labelled: bool) -> Geometry {
    let band = if labelled { 44 } else { 0 };
    match size {
        Size::Cuadrada => Geometry {
            header: 120,
            title: 54.0,
            heading: 92,
            heading_size: 50.0,
            band,
            photo: (40, 440, 560),
            text: (510, 0, 530),
            body_size: 30.0,
            footer: 860,
        },
        Size::Vertical => Geometry {
            header: 120,
            title: 54.0,
            heading: 92,
            heading_size: 50.0,
            band,
            photo: (40, 470, 640),
            text: (540, 0, 500),
            body_size: 30.0,
            footer: 1130,
        },
        Size::Horizontal => Geometry {
            header: 72,
            title: 36.0,
            heading: 58,
            heading_size: 34.0,
            band,
            photo: (30, 300, 420),
            text: (360, 0, 810),
            body_size: 26.0,
            footer: 530,
        },
    }
}

/// The paragraphs of the text box: one per field, or (`inline`, for the wide and short
/// size) the fields run on in one paragraph.
fn paragraphs(c: &Content<'_>, inline: bool) -> Vec<Para> {
    let mut paras = vec![Para { spans: vec![Span { text: c.facts.full_name.clone(), bold: true }], scale: 1.45 }];
    match c.translation {
        None if inline => {
            let mut spans = Vec::new();
            for (i, (label, value)) in c.facts.fields().into_iter().enumerate() {
                let sep = if i == 0 { "" } else { "· " };
                spans.push(Span { text: format!("{sep}{label}:"), bold: true });
                spans.push(Span { text: value, bold: false });
            }
            paras.push(Para { spans, scale: 1.0 });
        }
        None => {
            for (label, value) in c.facts.fields() {
                paras.push(Para { spans: vec![Span { text: format!("{label}:"), bold: true }, Span { text: value, bold: false }], scale: 1.0 });
            }
        }
        Some(t) => {
            paras.push(Para { spans: vec![Span { text: t.body.clone(), bold: false }], scale: 1.0 });
            paras.push(Para { spans: vec![Span { text: format!("({})", t.language_name), bold: false }], scale: 0.8 });
        }
    }
    paras
}

/// Draws one ficha.
pub fn render(size: Size, c: &Content<'_>) -> RgbImage {
    let f = fonts();
    let (w, h) = size.dims();
    let label = match (c.facts.drill, c.demo) {
        (true, true) => Some("SIMULACRO · DEMOSTRACIÓN · NO DIFUNDIR"),
        (true, false) => Some("SIMULACRO · NO DIFUNDIR"),
        (false, true) => Some("DEMOSTRACIÓN · DATOS FICTICIOS"),
        (false, false) => None,
    };
    let g = geometry(size, label.is_some());
    let mut canvas = Canvas { img: RgbImage::from_pixel(w, h, Rgb(WHITE)) };
    let wf = w as f32;

    // Header: programme and folio.
    canvas.fill(0, 0, w as i32, g.header, PINK);
    let folio_w = Canvas::width(&f.bold, g.title * 0.62, &c.facts.folio);
    canvas.text(&f.bold, g.title, 40.0, g.header as f32 * 0.68, "ALERTA ROSA", WHITE);
    canvas.text(&f.bold, g.title * 0.62, wf - 40.0 - folio_w, g.header as f32 * 0.66, &c.facts.folio, WHITE);

    // Heading.
    let heading = c.translation.map(|t| t.heading.as_str()).unwrap_or(HEADING);
    canvas.centered(&f.bold, g.heading_size, wf / 2.0, g.header as f32 + g.heading as f32 * 0.72, heading, wf - 80.0, PINK);
    let mut top = g.header + g.heading;
    if let Some(text) = label {
        canvas.fill(0, top, w as i32, g.band, YELLOW);
        canvas.centered(&f.bold, g.band as f32 * 0.55, wf / 2.0, top as f32 + g.band as f32 * 0.72, text, wf - 40.0, INK);
        top += g.band;
    }
    top += 16;

    // Photo.
    let (px, pw, ph) = g.photo;
    let ph = ph.min((g.footer - 20 - top).max(0) as u32);
    canvas.fill(px - 4, top - 4, pw as i32 + 8, ph as i32 + 8, PINK);
    match c.photo {
        Some(photo) => canvas.photo(photo, px, top, pw, ph),
        None => {
            canvas.fill(px, top, pw as i32, ph as i32, PALE_PINK);
            canvas.centered(&f.regular, 28.0, px as f32 + pw as f32 / 2.0, top as f32 + ph as f32 / 2.0, "Sin fotografía", pw as f32 - 20.0, GREY);
        }
    }

    // Name and description.
    let (tx, ty, tw) = g.text;
    let th = g.footer - 14 - (top + ty);
    flow(&mut canvas, &paragraphs(c, size == Size::Horizontal), tx as f32, (top + ty) as f32, tw as f32, th as f32, g.body_size);

    // Foot: whom to call, and where to read more.
    canvas.fill(0, g.footer, w as i32, h as i32 - g.footer, PALE_PINK);
    canvas.fill(0, g.footer, w as i32, 6, PINK);
    let foot = (h as i32 - g.footer) as f32;
    let cta = c.translation.map(|t| t.call_to_action.as_str()).filter(|s| !s.is_empty()).unwrap_or(CALL_TO_ACTION);
    let link = c.link.split("://").nth(1).unwrap_or(c.link);
    canvas.centered(&f.regular, foot * 0.16, wf / 2.0, g.footer as f32 + foot * 0.30, cta, wf - 80.0, INK);
    canvas.centered(&f.bold, foot * 0.22, wf / 2.0, g.footer as f32 + foot * 0.60, &c.facts.hotline, wf - 80.0, PINK);
    canvas.centered(&f.regular, foot * 0.13, wf / 2.0, g.footer as f32 + foot * 0.86, link, wf - 80.0, GREY);
    canvas.img
}

/// The ficha as PNG bytes.
pub fn png(size: Size, c: &Content<'_>) -> Result<Vec<u8>, String> {
    use image::ImageEncoder;
    let img = render(size, c);
    let mut out = Vec::new();
    image::codecs::png::PngEncoder::new_with_quality(&mut out, image::codecs::png::CompressionType::Default, image::codecs::png::FilterType::Adaptive)
        .write_image(img.as_raw(), img.width(), img.height(), image::ExtendedColorType::Rgb8)
        .map_err(|e| format!("no se pudo generar la ficha: {e}"))?;
    Ok(out)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;
    use violeta_domain::alerta::RecordedSex;

    pub(crate) fn facts() -> PublicFacts {
        PublicFacts {
            folio: "AR-2026-0001".into(),
            full_name: "María Fernanda López Cruz".into(),
            age: 16,
            sex: RecordedSex::Mujer,
            gender_identity: String::new(),
            height_cm: Some(158),
            complexion: "Delgada".into(),
            skin: "Morena clara".into(),
            hair: "Negro, largo, lacio".into(),
            eyes: "Cafés oscuros".into(),
            marks: "Lunar en la mejilla izquierda; cicatriz en la rodilla derecha".into(),
            clothing: "Sudadera gris con capucha, pantalón de mezclilla azul y tenis blancos".into(),
            last_seen_at: chrono::Utc.with_ymd_and_hms(2026, 3, 4, 0, 40, 0).unwrap(),
            last_seen_place: "Calle Independencia esquina Macedonio Alcalá, Centro".into(),
            municipality: "Oaxaca de Juárez".into(),
            state: "Oaxaca".into(),
            circumstances: "Salió de la escuela rumbo a su casa y no llegó.".into(),
            hotline: violeta_domain::alerta::DEFAULT_HOTLINE.into(),
            drill: false,
        }
    }

    fn photo() -> RgbImage {
        crate::alerta::photo::decode(&crate::alerta::photo::demo_silhouette(1)).unwrap()
    }

    /// Share of pixels of `color` (±24 per channel) inside a box.
    fn share(img: &RgbImage, x: u32, y: u32, w: u32, h: u32, color: [u8; 3]) -> f64 {
        let mut n = 0;
        for py in y..y + h {
            for px in x..x + w {
                let p = img.get_pixel(px, py).0;
                if (0..3).all(|i| (i32::from(p[i]) - i32::from(color[i])).abs() <= 24) {
                    n += 1;
                }
            }
        }
        n as f64 / f64::from(w * h)
    }

    #[test]
    fn every_size_has_its_dimensions_header_photo_text_and_foot() {
        let (f, p) = (facts(), photo());
        for size in Size::ALL {
            let c = Content { facts: &f, photo: Some(&p), translation: None, link: "https://violeta.example.gob.mx/alertas/AR-2026-0001", demo: false };
            let img = render(size, &c);
            assert_eq!(img.dimensions(), size.dims());
            let (w, h) = size.dims();
            assert!(share(&img, 0, 0, w, 20, PINK) > 0.95, "{size:?}: pink header");
            let g = geometry(size, false);
            let (px, pw, ph) = g.photo;
            let photo_box = share(&img, px as u32, (g.header + g.heading + 16) as u32, pw, ph, [120, 104, 132]);
            assert!(photo_box > 0.15, "{size:?}: the photo is in its box ({photo_box})");
            let (tx, ty, tw) = g.text;
            let inked = 1.0 - share(&img, tx as u32, (g.header + g.heading + 16 + ty) as u32, tw as u32, 120, WHITE);
            assert!(inked > 0.03, "{size:?}: text was drawn ({inked})");
            assert!(share(&img, 0, g.footer as u32 + 10, w, (h as i32 - g.footer - 10) as u32, PALE_PINK) > 0.5, "{size:?}: foot");
            let bytes = png(size, &c).unwrap();
            assert!(bytes.starts_with(b"\x89PNG"));
            assert!(bytes.len() < 2_000_000, "{size:?}: {} bytes", bytes.len());
        }
    }

    #[test]
    fn demo_and_drill_are_labelled() {
        let mut f = facts();
        let p = photo();
        let plain = render(Size::Cuadrada, &Content { facts: &f, photo: Some(&p), translation: None, link: "x", demo: false });
        let demo = render(Size::Cuadrada, &Content { facts: &f, photo: Some(&p), translation: None, link: "x", demo: true });
        let band_y = 120 + 92;
        assert!(share(&plain, 0, band_y + 5, 1080, 30, YELLOW) < 0.01);
        assert!(share(&demo, 0, band_y + 5, 1080, 30, YELLOW) > 0.5, "a yellow DEMOSTRACIÓN band");
        f.drill = true;
        let drill = render(Size::Cuadrada, &Content { facts: &f, photo: Some(&p), translation: None, link: "x", demo: false });
        assert!(share(&drill, 0, band_y + 5, 1080, 30, YELLOW) > 0.5, "a yellow SIMULACRO band");
    }

    #[test]
    fn translations_and_long_text_render_in_the_same_layout() {
        let f = facts();
        let t = Translation {
            language: "zap".into(),
            language_name: "Zapoteco del Istmo".into(),
            heading: "¡Gacanenu guidxélanu laa!".into(),
            body: "Texto traducido por el personal. ".repeat(17),
            call_to_action: String::new(),
        };
        let img = render(Size::Horizontal, &Content { facts: &f, photo: None, translation: Some(&t), link: "x", demo: false });
        assert_eq!(img.dimensions(), (1200, 630));
        let mut long = facts();
        long.circumstances = "Una descripción muy larga de las circunstancias. ".repeat(8);
        let img = render(Size::Cuadrada, &Content { facts: &long, photo: None, translation: None, link: "x", demo: false });
        // Nothing runs over the foot.
        let g = geometry(Size::Cuadrada, false);
        assert!(share(&img, 0, g.footer as u32 + 8, 1080, 8, PALE_PINK) > 0.95);
    }
}
