//! What is posted on the official social-media accounts when an alert is activated, updated
//! or concluded: the one place that writes those texts. Dissemination (the channels, the
//! outbox, the platform adapters: `violeta_store::dissemination`) takes this content as it
//! is, in the transaction of the step that makes it.
//!
//! Activation and updates carry the square ficha and a description of it for people who
//! use screen readers; the closing post carries nothing about her, only that the alert
//! concluded and a request to stop sharing the ficha.

use violeta_domain::alerta::{PublicFacts, long_local};
pub use violeta_domain::dissemination::PublicationKind as Kind;
use violeta_store::dissemination::Publication;

/// A post, ready to hand to dissemination.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Post {
    pub kind: Kind,
    pub text: String,
    /// The public page, `https://…/alertas/AR-2026-0001`.
    pub link: String,
    /// The square ficha (1080 × 1080).
    pub image_png: Option<Vec<u8>>,
    /// The image described for screen readers.
    pub image_alt: String,
}

impl Post {
    /// The publication dissemination stores for alert `alert_id`.
    pub fn publication(self, alert_id: i64) -> Publication {
        Publication { alert_id, kind: self.kind, text: self.text, link: self.link, image_png: self.image_png, image_alt: self.image_alt }
    }
}

/// The public page of a folio.
pub fn link(base_url: &str, folio: &str) -> String {
    format!("{}/alertas/{folio}", base_url.trim_end_matches('/'))
}

/// Alt text longer than this is cut: the strictest network takes 1,000 characters.
pub const MAX_ALT: usize = 1000;

fn alt(f: &PublicFacts) -> String {
    let text = format!(
        "Ficha de búsqueda de Alerta Rosa, folio {}. Fotografía de {}. {} Si tienes información, comunícate al {}.",
        f.folio,
        f.full_name,
        f.description(),
        f.hotline
    );
    if text.chars().count() <= MAX_ALT { text } else { format!("{}…", text.chars().take(MAX_ALT - 1).collect::<String>()) }
}

/// A short text that most networks take whole (about 280 characters); the ficha says the rest.
fn summary(prefix: &str, f: &PublicFacts, link: &str) -> String {
    format!(
        "{prefix} {}. Se busca a {}, {}. Vista por última vez el {} en {}, {}. Si tienes información: {}. {link}",
        f.folio,
        f.full_name,
        f.age_label(),
        long_local(f.last_seen_at),
        f.municipality,
        f.state,
        f.hotline
    )
}

/// The activation post.
pub fn activation(f: &PublicFacts, base_url: &str, ficha_png: Vec<u8>) -> Post {
    let link = link(base_url, &f.folio);
    Post { kind: Kind::Alerta, text: summary("ALERTA ROSA", f, &link), image_alt: alt(f), image_png: Some(ficha_png), link }
}

/// The post after her data or the ficha changed while the alert is active.
pub fn update(f: &PublicFacts, base_url: &str, ficha_png: Vec<u8>) -> Post {
    let link = link(base_url, &f.folio);
    Post { kind: Kind::Actualizacion, text: summary("ACTUALIZACIÓN · ALERTA ROSA", f, &link), image_alt: alt(f), image_png: Some(ficha_png), link }
}

/// The closing post: no name, no photo, no place, whether she was located or not.
pub fn closing(folio: &str, base_url: &str) -> Post {
    let link = link(base_url, folio);
    Post {
        kind: Kind::Retiro,
        text: format!(
            "ALERTA ROSA {folio}: la alerta concluyó. Gracias por tu apoyo. Por su seguridad y privacidad, por favor deja de compartir su ficha. {link}"
        ),
        link,
        image_png: None,
        image_alt: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn activation_post_is_short_with_the_folio_link_and_ficha() {
        let f = crate::alerta::ficha::tests::facts();
        let p = activation(&f, "https://violeta.example.gob.mx/", vec![1, 2, 3]);
        assert_eq!(p.kind, Kind::Alerta);
        assert_eq!(p.link, "https://violeta.example.gob.mx/alertas/AR-2026-0001");
        assert!(p.text.starts_with("ALERTA ROSA AR-2026-0001. Se busca a María Fernanda López Cruz, 16 años."), "{}", p.text);
        assert!(p.text.ends_with(&p.link));
        assert!(p.text.chars().count() <= 300, "{} characters", p.text.chars().count());
        assert!(p.image_alt.contains("Vestimenta: Sudadera gris"));
        assert!(p.image_alt.chars().count() <= MAX_ALT);
        assert_eq!(p.image_png.as_deref(), Some(&[1u8, 2, 3][..]));
    }

    #[test]
    fn closing_post_carries_nothing_about_her() {
        let p = closing("AR-2026-0001", "https://violeta.example.gob.mx");
        assert_eq!(p.kind, Kind::Retiro);
        assert!(p.image_png.is_none() && p.image_alt.is_empty());
        assert!(p.text.contains("AR-2026-0001") && p.text.contains("concluyó"));
        assert!(!p.text.contains("María") && !p.text.contains("localizada"), "{}", p.text);
    }
}
