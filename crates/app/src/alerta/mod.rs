//! Alerta Rosa use cases and file formats: the photo, the ficha de búsqueda (PNG and PDF),
//! the CAP messages and the Atom index, the posts handed to dissemination, the report.
//!
//! The use cases that change what the public sees (activation, corrections and
//! translations while active, closing) render the fichas from the data they are about to
//! store and hand both to the store in one call, which keeps them in one transaction and
//! refuses them if the case changed meanwhile.

pub mod cap;
pub mod ficha;
pub mod ficha_pdf;
pub mod photo;
pub mod publication;
pub mod report;

use chrono::{DateTime, Utc};
use violeta_domain::alerta::{AlertDraft, AlertFolio, Closing, PublicFacts, Translation};
use violeta_domain::audit::Actor;
use violeta_domain::credential::MasterKey;
use violeta_domain::dissemination::Takedown;
use violeta_store::alerts::{AlertRecord, Document, cap_sender};
use violeta_store::{Store, StoreError};

/// How this server renders documents.
#[derive(Debug, Clone, Copy)]
pub struct Rendering<'a> {
    /// The public origin links point at, `https://violeta.example.gob.mx`.
    pub base_url: &'a str,
    /// A demonstration installation: every ficha says "DEMOSTRACIÓN".
    pub demo: bool,
}

pub const PNG: &str = "image/png";
pub const PDF: &str = "application/pdf";

/// `ficha-1080x1080.png`, or `ficha-1080x1080.zap.png` for a translation.
pub fn png_name(size: ficha::Size, language: Option<&str>) -> String {
    match language {
        None => format!("ficha-{}.png", size.slug()),
        Some(l) => format!("ficha-{}.{l}.png", size.slug()),
    }
}

/// `ficha.pdf`, or `ficha.zap.pdf`.
pub fn pdf_name(language: Option<&str>) -> String {
    match language {
        None => "ficha.pdf".into(),
        Some(l) => format!("ficha.{l}.pdf"),
    }
}

/// The square ficha in Spanish: the image posted to social networks.
pub fn square_name() -> String {
    png_name(ficha::Size::Cuadrada, None)
}

/// Renders every public document of an alert: the three PNG sizes and the PDF, in Spanish
/// and in each translation.
pub fn documents(facts: &PublicFacts, photo_jpeg: Option<&[u8]>, translations: &[Translation], r: Rendering<'_>) -> Result<Vec<Document>, String> {
    let photo = photo_jpeg.map(photo::decode).transpose()?;
    let link = publication::link(r.base_url, &facts.folio);
    let mut docs = Vec::new();
    for t in std::iter::once(None).chain(translations.iter().map(Some)) {
        let language = t.map(|t| t.language.as_str());
        for size in ficha::Size::ALL {
            let c = ficha::Content { facts, photo: photo.as_ref(), translation: t, link: &link, demo: r.demo };
            docs.push(Document { name: png_name(size, language), content_type: PNG.into(), bytes: ficha::png(size, &c)? });
        }
        let c = ficha_pdf::FichaPdf { facts, photo_jpeg, translation: t, link: &link, demo: r.demo };
        docs.push(Document { name: pdf_name(language), content_type: PDF.into(), bytes: ficha_pdf::pdf(&c)? });
    }
    Ok(docs)
}

fn rendering_failed(e: String) -> StoreError {
    StoreError::Invalid(format!("no se pudo generar la ficha de búsqueda: {e}"))
}

/// Her public facts as they will read once `draft` is stored.
async fn facts_of_draft(store: &Store, folio: &str, d: &AlertDraft) -> Result<PublicFacts, StoreError> {
    let m = store.municipality(&d.municipality).await?;
    Ok(PublicFacts {
        folio: folio.to_string(),
        full_name: d.full_name.clone(),
        age: d.age,
        sex: d.sex,
        gender_identity: d.gender_identity.clone(),
        height_cm: d.height_cm,
        complexion: d.complexion.clone(),
        skin: d.skin.clone(),
        hair: d.hair.clone(),
        eyes: d.eyes.clone(),
        marks: d.marks.clone(),
        clothing: d.clothing.clone(),
        last_seen_at: d.last_seen_at,
        last_seen_place: d.last_seen_place.clone(),
        municipality: m.name,
        state: m.state_name,
        circumstances: d.circumstances.clone(),
        hotline: d.hotline.clone(),
        drill: d.drill,
    })
}

async fn translations_of(store: &Store, id: i64) -> Result<Vec<Translation>, StoreError> {
    Ok(store.translations(id).await?.iter().map(|t| t.translation()).collect())
}

/// [`documents`] on a blocking thread: drawing and compressing images takes long enough
/// (tenths of a second) to hold up the requests that share a runtime thread with it.
async fn render(facts: PublicFacts, photo: Option<Vec<u8>>, translations: Vec<Translation>, r: Rendering<'_>) -> Result<Vec<Document>, StoreError> {
    let (base, demo) = (r.base_url.to_string(), r.demo);
    tokio::task::spawn_blocking(move || documents(&facts, photo.as_deref(), &translations, Rendering { base_url: &base, demo }))
        .await
        .map_err(|e| rendering_failed(e.to_string()))?
        .map_err(rendering_failed)
}

/// Renders all of a case's documents from its stored data.
pub async fn render_case(store: &Store, a: &AlertRecord, r: Rendering<'_>) -> Result<Vec<Document>, StoreError> {
    let photo = store.alert_photo(a.id).await?;
    let translations = translations_of(store, a.id).await?;
    render(a.facts(), photo, translations, r).await
}

/// One of a case's documents, rendered now from its stored data (a preview before
/// activation, or a copy for the file). `None`: no document has that name.
pub async fn render_one(store: &Store, a: &AlertRecord, name: &str, r: Rendering<'_>) -> Result<Option<Document>, StoreError> {
    let (size, language) = if let Some(rest) = name.strip_prefix("ficha").and_then(|n| n.strip_suffix(".pdf")) {
        (None, rest.strip_prefix('.'))
    } else if let Some(rest) = name.strip_prefix("ficha-").and_then(|n| n.strip_suffix(".png")) {
        let (slug, language) = match rest.split_once('.') {
            Some((s, l)) => (s, Some(l)),
            None => (rest, None),
        };
        match ficha::Size::ALL.into_iter().find(|s| s.slug() == slug) {
            Some(size) => (Some(size), language),
            None => return Ok(None),
        }
    } else {
        return Ok(None);
    };
    if language == Some("") {
        return Ok(None);
    }
    let translations = translations_of(store, a.id).await?;
    let translation = match language {
        None => None,
        Some(l) => match translations.iter().find(|t| t.language == l) {
            Some(t) => Some(t),
            None => return Ok(None),
        },
    };
    let translation = translation.cloned();
    let photo = store.alert_photo(a.id).await?;
    let facts = a.facts();
    let link = publication::link(r.base_url, &facts.folio);
    let (name, demo) = (name.to_string(), r.demo);
    let doc = tokio::task::spawn_blocking(move || render_named(&facts, photo.as_deref(), translation.as_ref(), size, &name, &link, demo))
        .await
        .map_err(|e| rendering_failed(e.to_string()))??;
    Ok(Some(doc))
}

fn render_named(
    facts: &PublicFacts,
    photo: Option<&[u8]>,
    translation: Option<&Translation>,
    size: Option<ficha::Size>,
    name: &str,
    link: &str,
    demo: bool,
) -> Result<Document, StoreError> {
    let doc = match size {
        Some(size) => {
            let decoded = photo.map(photo::decode).transpose().map_err(rendering_failed)?;
            let c = ficha::Content { facts, photo: decoded.as_ref(), translation, link, demo };
            Document { name: name.to_string(), content_type: PNG.into(), bytes: ficha::png(size, &c).map_err(rendering_failed)? }
        }
        None => {
            let c = ficha_pdf::FichaPdf { facts, photo_jpeg: photo, translation, link, demo };
            Document { name: name.to_string(), content_type: PDF.into(), bytes: ficha_pdf::pdf(&c).map_err(rendering_failed)? }
        }
    };
    Ok(doc)
}

/// Activates a case: renders its fichas and activates it in one transaction, which checks
/// again the risk check, consent, photo and the operator's explicit confirmation.
pub async fn activate(store: &Store, actor: &Actor, id: i64, confirmed: bool, r: Rendering<'_>) -> Result<(), StoreError> {
    let a = store.alert(id).await?;
    let risk = store.latest_risk_check(id).await?;
    // Refuse early, before rendering, with every reason at once.
    violeta_domain::alerta::check_activation(a.status(), risk.map(|r| r.check()).as_ref(), a.has_photo, confirmed)
        .map_err(|reasons| StoreError::Invalid(format!("no se puede activar la alerta: {}", reasons.join("; "))))?;
    let docs = render_case(store, &a, r).await?;
    // Every official channel gets the square ficha with the short text (a drill: none).
    let post = (!a.drill).then(|| publication::activation(&a.facts(), r.base_url, square(&docs)).publication(id));
    store.activate_alert(actor, id, a.updated_at, confirmed, &docs, &cap_sender(r.base_url), post.as_ref()).await
}

/// The square ficha's bytes among rendered documents.
fn square(docs: &[Document]) -> Vec<u8> {
    docs.iter().find(|d| d.name == square_name()).map(|d| d.bytes.clone()).unwrap_or_default()
}

/// Corrects a case. When it is public, its fichas are rendered from the corrected data and
/// replace the published ones in the same transaction (with a CAP Update).
#[allow(clippy::too_many_arguments)]
pub async fn update(
    store: &Store,
    actor: &Actor,
    id: i64,
    expected: DateTime<Utc>,
    draft: &AlertDraft,
    new_photo: Option<&[u8]>,
    master: Option<&MasterKey>,
    r: Rendering<'_>,
) -> Result<(), StoreError> {
    let a = store.alert(id).await?;
    let (docs, post) = if a.is_public() {
        let facts = facts_of_draft(store, &a.folio, draft).await?;
        let photo = match new_photo {
            Some(p) => Some(p.to_vec()),
            None => store.alert_photo(id).await?,
        };
        let docs = render(facts.clone(), photo, translations_of(store, id).await?, r).await?;
        let post = publication::update(&facts, r.base_url, square(&docs)).publication(id);
        (docs, Some(post))
    } else {
        (Vec::new(), None)
    };
    store.update_alert(actor, id, expected, draft, new_photo, master, &docs, &cap_sender(r.base_url), post.as_ref()).await
}

/// Adds or replaces a translation of the ficha; when the alert is public, its fichas in
/// every language are rendered again with it.
pub async fn save_translation(store: &Store, actor: &Actor, id: i64, expected: DateTime<Utc>, t: &Translation, r: Rendering<'_>) -> Result<(), StoreError> {
    let a = store.alert(id).await?;
    let docs = if a.is_public() {
        let mut all: Vec<Translation> = translations_of(store, id).await?.into_iter().filter(|x| x.language != t.language).collect();
        all.push(t.clone());
        let photo = store.alert_photo(id).await?;
        render(a.facts(), photo, all, r).await?
    } else {
        Vec::new()
    };
    store.save_translation(actor, id, expected, t, &docs, &cap_sender(r.base_url)).await
}

/// Concludes a case (located alive or not, or deactivated): her photo and data leave every
/// public page and feed at once; the channels that carried the alert post the closing and
/// take their earlier posts down by `takedown`; the record stays for the file.
pub async fn close(store: &Store, actor: &Actor, id: i64, closing: Closing, note: &str, takedown: Takedown, r: Rendering<'_>) -> Result<(), StoreError> {
    let a = store.alert(id).await?;
    let post = publication::closing(&a.folio, r.base_url).publication(id);
    store.conclude_alert(actor, id, closing, note, &cap_sender(r.base_url), Some(&post), takedown).await
}

/// The folio of a path segment, or "not found".
pub fn folio(raw: &str) -> Result<AlertFolio, StoreError> {
    AlertFolio::parse(raw).map_err(StoreError::NotFound)
}
