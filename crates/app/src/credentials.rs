//! Passwords (Argon2id) and random bearer tokens.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine;

/// A fresh random token (256 bits), URL-safe.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).expect("el sistema operativo no dio aleatoriedad");
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Hashes a password with Argon2id and a random salt, as a PHC string.
pub fn hash_password(password: &str) -> Result<String, String> {
    Argon2::default().hash_password(password.as_bytes()).map(|h| h.to_string()).map_err(|e| format!("argon2: {e}"))
}

pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored).map(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok()).unwrap_or(false)
}

/// Rules for a new password; the message is for the user.
pub fn check_new_password(password: &str, confirmation: &str) -> Result<(), String> {
    if password != confirmation {
        return Err("las contraseñas no coinciden".into());
    }
    if password.chars().count() < 12 {
        return Err("la contraseña debe tener al menos 12 caracteres".into());
    }
    Ok(())
}

/// A holder's constancia document checked against this Violeta's published keys and its
/// revocation records: what it claims, and whether it stands (or why not).
pub struct DocumentCheck {
    pub claimed: violeta_domain::credential::Claimed,
    pub result: Result<(), violeta_domain::credential::Rejection>,
}

/// Checks a constancia's JSON as its holder presents it. A document edited after signing
/// fails with the reason; a revoked or replaced one says so.
pub async fn check_document(store: &violeta_store::Store, text: &str) -> Result<DocumentCheck, String> {
    use violeta_domain::credential::{claimed, parse_document, verify_against};
    let document = parse_document(text)?;
    let claimed = claimed(&document);
    let keys: Vec<_> = store.issuers().await.map_err(|e| e.to_string())?.iter().filter_map(|i| i.verifying_key().ok()).collect();
    let revocation = match &claimed.folio {
        Some(folio) => match store.credential(folio).await.map_err(|e| e.to_string())? {
            Some(record) if record.revoked_at.is_some() => Some(match &record.replaced_by_folio {
                Some(new) => format!("{} (la reemplaza la constancia {new})", record.revocation_reason),
                None => record.revocation_reason.clone(),
            }),
            _ => None,
        },
        None => None,
    };
    let result = verify_against(&document, &keys, revocation.as_deref(), chrono::Utc::now());
    Ok(DocumentCheck { claimed, result })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash_password("una frase larga y segura").unwrap();
        let b = hash_password("una frase larga y segura").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "random salt");
        assert!(verify_password("una frase larga y segura", &a));
        assert!(!verify_password("otra", &a));
        assert!(!verify_password("x", "no es un hash"));
    }

    #[test]
    fn tokens_are_long_and_unique() {
        assert_eq!(random_token().len(), 43);
        assert_ne!(random_token(), random_token());
    }
}
