//! Alerta Rosa dissemination: the rules for spreading an alert over the unit's official
//! accounts. Platforms and what each allows, publication kinds, delivery states, the
//! text that fits each platform, retry timing, the marker that lets a post be found
//! again, and the webhook signature. No I/O: randomness comes in as numbers.

use hmac::{KeyInit, Mac};

crate::coded_enum!(
    /// Where a channel posts.
    Platform {
        Mastodon => ("mastodon", "Mastodon"),
        Telegram => ("telegram", "Telegram"),
        Facebook => ("facebook", "Facebook (página)"),
        X => ("x", "X"),
        Webhook => ("webhook", "Webhook (sistema propio)"),
        Manual => ("manual", "Manual (sin API)"),
    }
);

impl Platform {
    /// The real API's address, used when a channel does not name another one.
    /// Mastodon has none: each instance is its own.
    pub fn default_api_base(self) -> Option<&'static str> {
        match self {
            Platform::Telegram => Some("https://api.telegram.org"),
            Platform::Facebook => Some("https://graph.facebook.com"),
            Platform::X => Some("https://api.x.com"),
            Platform::Mastodon | Platform::Webhook | Platform::Manual => None,
        }
    }

    /// Whether Violeta posts by itself (everything but `manual`).
    pub fn automatic(self) -> bool {
        self != Platform::Manual
    }

    /// What the platform id of a channel is, for the form; `None` when it needs none.
    pub fn remote_id_label(self) -> Option<&'static str> {
        match self {
            Platform::Telegram => Some("chat_id del canal (por ejemplo @canal o -100…)"),
            Platform::Facebook => Some("Identificador de la página (page id)"),
            Platform::X => Some("Identificador numérico de la cuenta (user id)"),
            Platform::Mastodon => Some("Identificador de la cuenta (opcional: se obtiene con la credencial)"),
            Platform::Webhook | Platform::Manual => None,
        }
    }

    /// What the credential is, for the form; `None` when it needs none.
    pub fn credential_label(self) -> Option<&'static str> {
        match self {
            Platform::Mastodon => Some("Token de acceso de la aplicación (alcance write:statuses write:media read:statuses)"),
            Platform::Telegram => Some("Token del bot (administrador del canal)"),
            Platform::Facebook => Some("Token de acceso de la página"),
            Platform::X => Some("Token de acceso OAuth 2.0 de usuario (tweet.write, tweet.read, users.read, media.write)"),
            Platform::Webhook => Some("Secreto compartido para la firma HMAC-SHA256"),
            Platform::Manual => None,
        }
    }

    /// The platform guarantees a retried request is not posted twice (Mastodon's
    /// `Idempotency-Key`; the webhook receiver dedupes by the same header). The others
    /// are reconciled by reading the channel's recent posts back.
    pub fn has_idempotency(self) -> bool {
        matches!(self, Platform::Mastodon | Platform::Webhook)
    }

    /// Whether a post can be deleted through the API.
    pub fn can_delete(self) -> bool {
        self.automatic()
    }

    /// Whether a post's text can be edited through the API (X's API v2 has no edit).
    pub fn can_edit(self) -> bool {
        matches!(self, Platform::Mastodon | Platform::Telegram | Platform::Facebook | Platform::Webhook)
    }

    /// The longest text a post may carry, in the platform's own count, and how much a
    /// link counts (Mastodon and X count any URL as 23 characters).
    pub fn text_limit(self, with_image: bool) -> TextLimit {
        match self {
            Platform::Mastodon => TextLimit { max: 500, link_weight: Some(23) },
            Platform::X => TextLimit { max: 280, link_weight: Some(23) },
            // A photo's caption is limited to 1024 characters; a message to 4096.
            Platform::Telegram if with_image => TextLimit { max: 1024, link_weight: None },
            Platform::Telegram => TextLimit { max: 4096, link_weight: None },
            Platform::Facebook | Platform::Webhook | Platform::Manual => TextLimit { max: 10_000, link_weight: None },
        }
    }
}

/// How long a post's text may be on a platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextLimit {
    pub max: usize,
    /// How much a URL counts, when the platform counts links at a fixed length.
    pub link_weight: Option<usize>,
}

crate::coded_enum!(
    /// What a publication says.
    PublicationKind {
        Alerta => ("alerta", "Alerta"),
        Actualizacion => ("actualizacion", "Actualización"),
        Repeticion => ("repeticion", "Repetición"),
        Retiro => ("retiro", "Retiro"),
    }
);

impl PublicationKind {
    /// The alert itself (its first post and the scheduled repeats): what a closing
    /// cancels when still unsent, and deletes or edits once posted.
    pub fn spreads_alert(self) -> bool {
        matches!(self, PublicationKind::Alerta | PublicationKind::Repeticion)
    }
}

crate::coded_enum!(
    /// Where one delivery (a publication on one channel) stands.
    DeliveryStatus {
        Pendiente => ("pendiente", "Pendiente"),
        Enviando => ("enviando", "Enviando"),
        Publicada => ("publicada", "Publicada"),
        Fallida => ("fallida", "Fallida"),
        Cancelada => ("cancelada", "Cancelada"),
        Manual => ("manual", "Por publicar a mano"),
    }
);

crate::coded_enum!(
    /// What a delivery does on its channel.
    DeliveryAction {
        Publicar => ("publicar", "Publicar"),
        Borrar => ("borrar", "Borrar la publicación original"),
        Editar => ("editar", "Editar la publicación original"),
    }
);

crate::coded_enum!(
    /// What happens to an alert's posts once it closes (localizada or desactivada).
    Takedown {
        Borrar => ("borrar", "Borrar las publicaciones"),
        Editar => ("editar", "Editar las publicaciones con la actualización"),
        Conservar => ("conservar", "Conservar las publicaciones"),
    }
);

impl Takedown {
    /// The action on an original post of `platform`, if the platform allows it.
    /// Editing where a platform cannot edit falls back to deleting, so a closed alert
    /// never stays up as if it were active.
    pub fn action_on(self, platform: Platform) -> Option<DeliveryAction> {
        match self {
            Takedown::Conservar => None,
            Takedown::Editar if platform.can_edit() => Some(DeliveryAction::Editar),
            Takedown::Editar | Takedown::Borrar if platform.can_delete() => Some(DeliveryAction::Borrar),
            _ => None,
        }
    }
}

/// The marker that ends every post of one publication (`Ref. AR-12-7K3QX2MB`): it
/// lets a post whose outcome was uncertain be found again on the channel. `random`
/// comes from the caller.
pub fn marker(alert_id: i64, random: [u8; 5]) -> String {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bits: u64 = 0;
    for b in random {
        bits = (bits << 8) | b as u64;
    }
    let code: String = (0..8).rev().map(|i| ALPHABET[((bits >> (i * 5)) & 31) as usize] as char).collect();
    format!("Ref. AR-{alert_id}-{code}")
}

/// The text of a post: the publication's text, its link and its marker, shortened
/// (with "…") so it fits `limit`. The link and the marker are never cut.
pub fn compose(text: &str, link: &str, marker: &str, limit: TextLimit) -> String {
    let link = link.trim();
    let link_len = if link.is_empty() { 0 } else { limit.link_weight.unwrap_or_else(|| link.chars().count()) + 1 };
    let tail_len = link_len + marker.chars().count() + 2;
    let room = limit.max.saturating_sub(tail_len);
    let text = text.trim();
    let body: String = if text.chars().count() <= room {
        text.to_string()
    } else {
        let cut: String = text.chars().take(room.saturating_sub(1)).collect();
        format!("{}…", cut.trim_end())
    };
    let mut out = body;
    if !link.is_empty() {
        out.push('\n');
        out.push_str(link);
    }
    out.push_str("\n\n");
    out.push_str(marker);
    out
}

/// The platform's count of a composed text (links at their fixed weight).
pub fn weighted_len(text: &str, limit: TextLimit) -> usize {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let bare = word.trim_end();
            let is_link = bare.starts_with("http://") || bare.starts_with("https://");
            match (is_link, limit.link_weight) {
                (true, Some(w)) => w + (word.chars().count() - bare.chars().count()),
                _ => word.chars().count(),
            }
        })
        .sum()
}

/// Retry timing: exponential from `base`, capped at `cap`, with "equal jitter" (half
/// fixed, half random, from `unit` in [0, 1)) so channels that failed together do not
/// retry together. A platform's `Retry-After` wins when it asks for longer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub base: std::time::Duration,
    pub cap: std::time::Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff { base: std::time::Duration::from_secs(5), cap: std::time::Duration::from_secs(15 * 60) }
    }
}

impl Backoff {
    /// How long to wait after failed attempt number `attempts` (1 for the first).
    pub fn delay(&self, attempts: i64, retry_after: Option<std::time::Duration>, unit: f64) -> std::time::Duration {
        let exp = attempts.clamp(1, 30) as u32 - 1;
        let full = self.base.saturating_mul(2u32.saturating_pow(exp)).min(self.cap);
        let half = full / 2;
        let jittered = half + half.mul_f64(unit.clamp(0.0, 1.0));
        match retry_after {
            Some(asked) if asked > jittered => asked,
            _ => jittered,
        }
    }
}

/// The webhook's signature header value: `sha256=` and the hex HMAC-SHA256, keyed by
/// the channel's secret, of `timestamp.body` (the timestamp binds the body to its
/// moment, so a receiver can refuse replays).
pub fn webhook_signature(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC admite llaves de cualquier tamaño");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a webhook signature in constant time (for receivers, and the fakes).
pub fn verify_webhook_signature(secret: &[u8], timestamp: i64, body: &[u8], header: &str) -> bool {
    let Some(given) = header.strip_prefix("sha256=").and_then(|h| hex::decode(h).ok()) else { return false };
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret).expect("HMAC admite llaves de cualquier tamaño");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.verify_slice(&given).is_ok()
}

/// Repeat interval bounds, in hours.
pub const MIN_REPEAT_HOURS: i64 = 1;
pub const MAX_REPEAT_HOURS: i64 = 24 * 7;

/// Checks a repeat interval in hours.
pub fn check_repeat_hours(hours: i64) -> Result<i64, String> {
    if (MIN_REPEAT_HOURS..=MAX_REPEAT_HOURS).contains(&hours) {
        Ok(hours)
    } else {
        Err(format!("la repetición se indica en horas enteras, de {MIN_REPEAT_HOURS} a {MAX_REPEAT_HOURS}, o vacía para no repetir"))
    }
}

/// Checks a repeat interval typed by staff: empty (or 0) for none, else whole hours in range.
pub fn parse_repeat_hours(s: &str) -> Result<Option<i64>, String> {
    let s = s.trim();
    if s.is_empty() || s == "0" {
        return Ok(None);
    }
    s.parse::<i64>().map_err(|_| check_repeat_hours(0).unwrap_err()).and_then(check_repeat_hours).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn composed_text_fits_and_keeps_link_and_marker() {
        let long = "Se busca a Ana, de 15 años, vista por última vez en Oaxaca de Juárez. ".repeat(10);
        let link = "https://violeta.example.gob.mx/alerta-rosa/12";
        let m = marker(12, [1, 2, 3, 4, 5]);
        for p in Platform::ALL {
            let limit = p.text_limit(true);
            let t = compose(&long, link, &m, limit);
            assert!(weighted_len(&t, limit) <= limit.max, "{p:?}: {} > {}", weighted_len(&t, limit), limit.max);
            assert!(t.contains(link) && t.ends_with(&m), "{p:?}: {t}");
        }
        let x = compose(&long, link, &m, Platform::X.text_limit(false));
        assert!(x.contains('…'));
        let short = compose("Se busca a Ana.", "", &m, Platform::X.text_limit(false));
        assert_eq!(short, format!("Se busca a Ana.\n\n{m}"));
    }

    #[test]
    fn markers_differ_and_name_the_alert() {
        let a = marker(7, [0, 0, 0, 0, 1]);
        let b = marker(7, [0, 0, 0, 0, 2]);
        assert_ne!(a, b);
        assert!(a.starts_with("Ref. AR-7-") && a.len() == "Ref. AR-7-".len() + 8, "{a}");
    }

    #[test]
    fn backoff_grows_caps_and_honours_retry_after() {
        let b = Backoff { base: Duration::from_secs(2), cap: Duration::from_secs(60) };
        assert_eq!(b.delay(1, None, 0.0), Duration::from_secs(1));
        assert_eq!(b.delay(1, None, 1.0), Duration::from_secs(2));
        assert_eq!(b.delay(3, None, 1.0), Duration::from_secs(8));
        assert_eq!(b.delay(20, None, 1.0), Duration::from_secs(60));
        assert!(b.delay(20, None, 0.5) >= Duration::from_secs(30));
        assert_eq!(b.delay(1, Some(Duration::from_secs(30)), 0.3), Duration::from_secs(30));
        // A shorter Retry-After than the backoff does not hurry the retry.
        assert_eq!(b.delay(5, Some(Duration::from_secs(1)), 1.0), Duration::from_secs(32));
    }

    #[test]
    fn takedown_falls_back_to_deleting_where_editing_is_impossible() {
        assert_eq!(Takedown::Editar.action_on(Platform::X), Some(DeliveryAction::Borrar));
        assert_eq!(Takedown::Editar.action_on(Platform::Telegram), Some(DeliveryAction::Editar));
        assert_eq!(Takedown::Borrar.action_on(Platform::Manual), None);
        assert_eq!(Takedown::Conservar.action_on(Platform::Mastodon), None);
    }

    #[test]
    fn webhook_signatures_verify() {
        let s = webhook_signature(b"secreto", 1_700_000_000, b"{\"a\":1}");
        assert!(s.starts_with("sha256=") && s.len() == 7 + 64);
        assert!(verify_webhook_signature(b"secreto", 1_700_000_000, b"{\"a\":1}", &s));
        assert!(!verify_webhook_signature(b"otro", 1_700_000_000, b"{\"a\":1}", &s));
        assert!(!verify_webhook_signature(b"secreto", 1_700_000_001, b"{\"a\":1}", &s));
    }

    #[test]
    fn repeat_hours() {
        assert_eq!(parse_repeat_hours(""), Ok(None));
        assert_eq!(parse_repeat_hours("6"), Ok(Some(6)));
        assert!(parse_repeat_hours("0.5").is_err());
        assert!(parse_repeat_hours("1000").is_err());
    }
}
