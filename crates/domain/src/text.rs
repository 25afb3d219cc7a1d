//! Text helpers shared by every part of the domain.

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// A search key: lower case, accents removed, spaces collapsed.
/// "Santa María Huatulco" and "SANTA MARIA  HUATULCO" give the same key, so search is
/// accent- and case-insensitive on SQLite and PostgreSQL alike.
pub fn search_key(s: &str) -> String {
    let folded: String = s
        .nfd()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .collect();
    folded.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Trims and collapses inner whitespace.
pub fn clean(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Names arrive in capitals from many sign-in lists ("MARÍA DE LOS ÁNGELES"). Written all
/// in capitals, a name is turned into title case, keeping Spanish particles in lower case;
/// a name already in mixed case is kept as the person wrote it.
pub fn normalize_name(s: &str) -> String {
    let s = clean(s);
    let has_lower = s.chars().any(char::is_lowercase);
    if has_lower {
        return s;
    }
    const PARTICLES: [&str; 8] = ["de", "del", "la", "las", "los", "y", "e", "van"];
    s.split(' ')
        .enumerate()
        .map(|(i, word)| {
            let lower = word.to_lowercase();
            if i > 0 && PARTICLES.contains(&lower.as_str()) {
                lower
            } else {
                let mut chars = lower.chars();
                match chars.next() {
                    Some(first) => first.to_uppercase().chain(chars).collect(),
                    None => String::new(),
                }
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_key_folds_accents_case_and_spaces() {
        assert_eq!(search_key("  Santa María   HUATULCO "), "santa maria huatulco");
        assert_eq!(search_key("Peñoles"), "penoles");
    }

    #[test]
    fn capitals_become_title_case() {
        assert_eq!(normalize_name("MARÍA DE LOS ÁNGELES"), "María de los Ángeles");
        assert_eq!(normalize_name("  ana  lucía "), "ana lucía");
        assert_eq!(normalize_name("McDonald"), "McDonald");
    }
}
