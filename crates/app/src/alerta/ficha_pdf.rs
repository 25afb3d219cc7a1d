//! The *ficha de búsqueda* as a printable PDF (letter, portrait): the same content as the
//! PNG fichas, with her photo embedded as it is stored (JPEG), text that can be searched and
//! copied (DejaVu Sans, subset, with ToUnicode maps: shared with the constancias), and a QR
//! code to the public page for printed posters.

use crate::constancia::{BOLD, FontUse, Page, REGULAR, Weight, deflate};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, TextStr};
use violeta_domain::alerta::{CALL_TO_ACTION, HEADING, PublicFacts, Translation};

const WIDTH: f32 = 612.0;
const HEIGHT: f32 = 792.0;
const PINK: (f32, f32, f32) = (176.0 / 255.0, 18.0 / 255.0, 91.0 / 255.0);
const PALE_PINK: (f32, f32, f32) = (252.0 / 255.0, 228.0 / 255.0, 236.0 / 255.0);
const YELLOW: (f32, f32, f32) = (1.0, 214.0 / 255.0, 0.0);
const WHITE: (f32, f32, f32) = (1.0, 1.0, 1.0);
const INK: (f32, f32, f32) = (0.08, 0.08, 0.1);
const GREY: (f32, f32, f32) = (0.3, 0.3, 0.33);

/// What the PDF shows (the same as a PNG ficha).
pub struct FichaPdf<'a> {
    pub facts: &'a PublicFacts,
    /// The stored photo (JPEG), embedded as it is.
    pub photo_jpeg: Option<&'a [u8]>,
    pub translation: Option<&'a Translation>,
    pub link: &'a str,
    pub demo: bool,
}

fn fill(content: &mut Content, x: f32, y: f32, w: f32, h: f32, c: (f32, f32, f32)) {
    content.set_fill_rgb(c.0, c.1, c.2).rect(x, y, w, h).fill_nonzero();
}

/// Words with their weight, wrapped into lines no wider than `max`.
fn wrap_spans(page: &Page, spans: &[(String, Weight)], size: f32, max: f32) -> Vec<Vec<(String, Weight)>> {
    let space = page.font(Weight::Regular).width(" ", size);
    let mut lines = Vec::new();
    let mut line: Vec<(String, Weight)> = Vec::new();
    let mut used = 0.0;
    for (text, weight) in spans {
        for word in text.split_whitespace() {
            let w = page.font(*weight).width(word, size);
            let needed = if line.is_empty() { w } else { used + space + w };
            if !line.is_empty() && needed > max {
                lines.push(std::mem::take(&mut line));
                used = w;
            } else {
                used = needed;
            }
            line.push((word.to_string(), *weight));
        }
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

/// The PDF of a ficha.
pub fn pdf(c: &FichaPdf<'_>) -> Result<Vec<u8>, String> {
    let mut page = Page { content: Content::new(), regular: FontUse::new(REGULAR)?, bold: FontUse::new(BOLD)? };
    page.regular.remapper.remap(0);
    page.bold.remapper.remap(0);

    // Header: programme and folio.
    fill(&mut page.content, 0.0, HEIGHT - 70.0, WIDTH, 70.0, PINK);
    page.text(Weight::Bold, 30.0, 36.0, HEIGHT - 46.0, "ALERTA ROSA", WHITE);
    let folio_w = page.bold.width(&c.facts.folio, 18.0);
    page.text(Weight::Bold, 18.0, WIDTH - 36.0 - folio_w, HEIGHT - 44.0, &c.facts.folio, WHITE);
    let heading = c.translation.map(|t| t.heading.as_str()).unwrap_or(HEADING);
    let size = page.fitting(Weight::Bold, 28.0, heading, WIDTH - 72.0);
    page.centered_at(Weight::Bold, size, WIDTH / 2.0, HEIGHT - 112.0, heading, PINK);
    let mut top = HEIGHT - 130.0;
    let label = match (c.facts.drill, c.demo) {
        (true, true) => Some("SIMULACRO · DEMOSTRACIÓN · NO DIFUNDIR"),
        (true, false) => Some("SIMULACRO · NO DIFUNDIR"),
        (false, true) => Some("DEMOSTRACIÓN · DATOS FICTICIOS"),
        (false, false) => None,
    };
    if let Some(text) = label {
        fill(&mut page.content, 0.0, top - 24.0, WIDTH, 24.0, YELLOW);
        page.centered_at(Weight::Bold, 12.0, WIDTH / 2.0, top - 16.5, text, INK);
        top -= 24.0;
    }
    top -= 14.0;

    // Photo, cropped to fill its box.
    let (px, pw, ph) = (36.0, 230.0, 300.0);
    fill(&mut page.content, px - 3.0, top - ph - 3.0, pw + 6.0, ph + 6.0, PINK);
    let image = match c.photo_jpeg {
        Some(jpeg) => {
            let (iw, ih) = image::ImageReader::with_format(std::io::Cursor::new(jpeg), image::ImageFormat::Jpeg)
                .into_dimensions()
                .map_err(|e| format!("la fotografía guardada no se pudo leer: {e}"))?;
            let scale = (pw / iw as f32).max(ph / ih as f32);
            let (dw, dh) = (iw as f32 * scale, ih as f32 * scale);
            let content = &mut page.content;
            content.save_state();
            content.rect(px, top - ph, pw, ph).clip_nonzero().end_path();
            content.transform([dw, 0.0, 0.0, dh, px - (dw - pw) / 2.0, top - ph - (dh - ph) * 0.65]);
            content.x_object(Name(b"Im1"));
            content.restore_state();
            Some((jpeg, iw, ih))
        }
        None => {
            fill(&mut page.content, px, top - ph, pw, ph, PALE_PINK);
            page.centered_at(Weight::Regular, 14.0, px + pw / 2.0, top - ph / 2.0, "Sin fotografía", GREY);
            None
        }
    };

    // Name and description, beside the photo and down to the foot.
    let (tx, tw) = (290.0, WIDTH - 290.0 - 36.0);
    let bottom = 150.0;
    let name_size = page.fitting(Weight::Bold, 20.0, &c.facts.full_name, tw);
    let mut paragraphs: Vec<Vec<(String, Weight)>> = Vec::new();
    match c.translation {
        None => {
            for (label, value) in c.facts.fields() {
                paragraphs.push(vec![(format!("{label}:"), Weight::Bold), (value, Weight::Regular)]);
            }
        }
        Some(t) => {
            paragraphs.push(vec![(t.body.clone(), Weight::Regular)]);
            paragraphs.push(vec![(format!("({})", t.language_name), Weight::Regular)]);
        }
    }
    // The largest body size at which everything fits.
    let mut size = 12.0;
    let laid = loop {
        let laid: Vec<Vec<Vec<(String, Weight)>>> = paragraphs.iter().map(|p| wrap_spans(&page, p, size, tw)).collect();
        let lines: usize = laid.iter().map(Vec::len).sum();
        let needed = name_size * 1.6 + lines as f32 * size * 1.3 + laid.len() as f32 * size * 0.4;
        if needed <= top - bottom || size <= 7.0 {
            break laid;
        }
        size -= 0.5;
    };
    let mut y = top - name_size;
    page.text(Weight::Bold, name_size, tx, y, &c.facts.full_name, INK);
    y -= name_size * 0.6;
    let space = page.regular.width(" ", size);
    for para in laid {
        y -= size * 0.4;
        for line in para {
            y -= size * 1.3;
            if y < bottom {
                break;
            }
            let mut x = tx;
            for (word, weight) in line {
                let color = match weight {
                    Weight::Bold => INK,
                    Weight::Regular => GREY,
                };
                page.text(weight, size, x, y, &word, color);
                x += page.font(weight).width(&word, size) + space;
            }
        }
    }

    // Foot: whom to call, the public link and its QR code.
    fill(&mut page.content, 0.0, 0.0, WIDTH, 130.0, PALE_PINK);
    fill(&mut page.content, 0.0, 128.0, WIDTH, 3.0, PINK);
    let cta = c.translation.map(|t| t.call_to_action.as_str()).filter(|s| !s.is_empty()).unwrap_or(CALL_TO_ACTION);
    let foot_w = WIDTH - 36.0 - 140.0;
    let cta_size = page.fitting(Weight::Regular, 14.0, cta, foot_w);
    page.text(Weight::Regular, cta_size, 36.0, 96.0, cta, INK);
    let hotline_size = page.fitting(Weight::Bold, 20.0, &c.facts.hotline, foot_w);
    page.text(Weight::Bold, hotline_size, 36.0, 66.0, &c.facts.hotline, PINK);
    let link_size = page.fitting(Weight::Regular, 10.0, c.link, foot_w);
    page.text(Weight::Regular, link_size, 36.0, 34.0, c.link, GREY);
    page.qr(c.link, WIDTH - 130.0, 10.0, 110.0)?;

    // Assemble: the content stream comes before the image.
    let mut alloc = Ref::new(1);
    let (catalog, pages, page_id, contents, f1, f2, info, img) =
        (alloc.bump(), alloc.bump(), alloc.bump(), alloc.bump(), alloc.bump(), alloc.bump(), alloc.bump(), alloc.bump());
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(pages);
    pdf.pages(pages).kids([page_id]).count(1);
    let mut p = pdf.page(page_id);
    p.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT)).parent(pages).contents(contents);
    let mut resources = p.resources();
    resources.fonts().pair(Name(b"F1"), f1).pair(Name(b"F2"), f2);
    if image.is_some() {
        resources.x_objects().pair(Name(b"Im1"), img);
    }
    resources.finish();
    p.finish();
    let Page { content, regular, bold } = page;
    pdf.stream(contents, &deflate(content.finish().as_slice())).filter(Filter::FlateDecode);
    regular.write(&mut pdf, &mut alloc, f1, "VIOLTA+DejaVuSans")?;
    bold.write(&mut pdf, &mut alloc, f2, "VIOLTB+DejaVuSans-Bold")?;
    if let Some((jpeg, iw, ih)) = image {
        let mut x = pdf.image_xobject(img, jpeg);
        x.filter(Filter::DctDecode);
        x.width(iw as i32);
        x.height(ih as i32);
        x.color_space().device_rgb();
        x.bits_per_component(8);
        x.finish();
    }
    let title = format!("Ficha de búsqueda {}", c.facts.folio);
    pdf.document_info(info).title(TextStr(&title)).author(TextStr("Alerta Rosa")).creator(TextStr("Violeta"));
    pdf.set_file_id((c.facts.folio.as_bytes().to_vec(), c.facts.folio.as_bytes().to_vec()));
    Ok(pdf.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::constancia::tests::visible_text;

    #[test]
    fn shows_her_data_the_hotline_and_the_link_with_the_photo_embedded() {
        let facts = crate::alerta::ficha::tests::facts();
        let photo = crate::alerta::photo::demo_silhouette(2);
        let link = "https://violeta.example.gob.mx/alertas/AR-2026-0001";
        let bytes = pdf(&FichaPdf { facts: &facts, photo_jpeg: Some(&photo), translation: None, link, demo: true }).unwrap();
        assert!(bytes.starts_with(b"%PDF-"));
        assert!(bytes.windows(photo.len()).any(|w| w == photo.as_slice()), "the stored JPEG is embedded as it is");
        let text = visible_text(&bytes).replace('\n', " ");
        for part in [
            "ALERTA ROSA",
            "AR-2026-0001",
            "¡AYÚDANOS A LOCALIZARLA!",
            "DEMOSTRACIÓN · DATOS FICTICIOS",
            "María Fernanda López Cruz",
            "Edad: 16 años",
            "Vestimenta:",
            "3 de marzo de 2026, 18:40 h",
            "911 (emergencias) y 089 (denuncia anónima)",
            link,
        ] {
            assert!(text.contains(part), "«{part}» missing from:\n{text}");
        }
    }

    #[test]
    fn a_translation_in_the_same_layout() {
        let facts = crate::alerta::ficha::tests::facts();
        let t = Translation {
            language: "mix".into(),
            language_name: "Mixteco".into(),
            heading: "Encabezado traducido".into(),
            body: "Descripción traducida por el personal".into(),
            call_to_action: "Llamado traducido".into(),
        };
        let bytes = pdf(&FichaPdf { facts: &facts, photo_jpeg: None, translation: Some(&t), link: "http://x/alertas/AR-2026-0001", demo: false }).unwrap();
        let text = visible_text(&bytes).replace('\n', " ");
        for part in ["Encabezado traducido", "Descripción traducida por el personal", "(Mixteco)", "Llamado traducido", "María Fernanda López Cruz", "Sin fotografía"] {
            assert!(text.contains(part), "«{part}» missing from:\n{text}");
        }
        assert!(!text.contains("DEMOSTRACIÓN"));
    }
}
