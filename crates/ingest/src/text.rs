//! Text helpers: header normalization, trimming and header-row detection.

use crate::IngestError;

/// Normalizes a column title for comparison: lower case, accents removed
/// (`á`→`a`, `ñ`→`n`, `ü`→`u`, `º`→`o`), and every run of spaces,
/// underscores, dots, parentheses or other punctuation turned into a single
/// space, trimmed at both ends.
///
/// `"CORREO  ELECTRÓNICO"`, `"correo_electronico"` and `"Correo electrónico:"`
/// all give `"correo electronico"`. Initials joined by single dots are
/// rejoined (`"C.U.R.P."` → `"curp"`), while `"H. Ayuntamiento"` gives
/// `"h ayuntamiento"`. A title made only of symbols (`"#"`) is kept as
/// written (whitespace collapsed), so it can still be matched.
pub fn normalize_header(s: &str) -> String {
    let chars: Vec<char> = s
        .chars()
        .filter(|c| !is_combining_mark(*c))
        .flat_map(char::to_lowercase)
        .map(fold)
        .collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    // Length (in chars) of the word written last.
    let mut last_word_len = 0;
    while i < chars.len() {
        let start = i;
        if chars[i].is_alphanumeric() {
            while i < chars.len() && chars[i].is_alphanumeric() {
                out.push(chars[i]);
                i += 1;
            }
            last_word_len = i - start;
        } else {
            while i < chars.len() && !chars[i].is_alphanumeric() {
                i += 1;
            }
            if out.is_empty() || i == chars.len() {
                continue;
            }
            // Rejoin initials: one letter, one dot, one letter ("c.u.r.p").
            let single_dot = i - start == 1 && chars[start] == '.';
            let next_is_initial = i + 1 == chars.len() || !chars[i + 1].is_alphanumeric();
            if !(single_dot && last_word_len == 1 && next_is_initial) {
                out.push(' ');
            }
        }
    }
    if out.is_empty() {
        return collapse_whitespace(s);
    }
    out
}

/// Lower-case letter without its accent. Only Latin letters used in Spanish
/// and its neighbours are folded; anything else is returned as is.
fn fold(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ª' => 'a',
        'è' | 'é' | 'ê' | 'ë' => 'e',
        'ì' | 'í' | 'î' | 'ï' => 'i',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'º' => 'o',
        'ù' | 'ú' | 'û' | 'ü' => 'u',
        'ñ' => 'n',
        'ç' => 'c',
        'ý' | 'ÿ' => 'y',
        _ => c,
    }
}

/// Combining diacritical marks (text in decomposed form, "a" + U+0301).
fn is_combining_mark(c: char) -> bool {
    ('\u{0300}'..='\u{036F}').contains(&c)
}

/// Trims whitespace (including no-break spaces), byte-order marks and
/// zero-width spaces from both ends.
pub(crate) fn trim(s: &str) -> &str {
    s.trim_matches(|c: char| c.is_whitespace() || c == '\u{feff}' || c == '\u{200b}')
}

/// Trims and collapses inner whitespace runs (line breaks included) to one space.
pub(crate) fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for word in trim(s).split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Whether normalized `hay` contains normalized `needle` as whole words.
pub(crate) fn contains_words(hay: &str, needle: &str) -> bool {
    if needle.is_empty() {
        return false;
    }
    hay.match_indices(needle).any(|(i, _)| {
        let before = i == 0 || hay.as_bytes()[i - 1] == b' ';
        let end = i + needle.len();
        let after = end == hay.len() || hay.as_bytes()[end] == b' ';
        before && after
    })
}

/// How well a candidate header row matches the expected names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Score {
    /// Expected names found (each in a different cell).
    pub matched: usize,
    /// Of those, how many matched exactly (not by containment).
    pub exact: usize,
    /// Non-empty cells in the row (a tie-breaker between delimiters).
    pub filled: usize,
}

/// The column names the caller hopes to find.
pub(crate) struct Expected {
    original: Vec<String>,
    keys: Vec<String>,
}

/// Longest header (in words) that may match an expected name by containment.
/// Keeps a title such as "Registro de CURP y nombre de participantes" from
/// passing for a header row.
const MAX_WORDS_FOR_CONTAINMENT: usize = 6;

impl Expected {
    pub(crate) fn new(names: &[&str]) -> Expected {
        Expected {
            original: names.iter().map(|s| (*s).to_owned()).collect(),
            keys: names
                .iter()
                .map(|s| normalize_header(s))
                .filter(|k| !k.is_empty())
                .collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn min_matches(&self) -> usize {
        if self.keys.len() <= 1 { 1 } else { 2 }
    }

    pub(crate) fn not_found(&self, searched_rows: usize) -> IngestError {
        IngestError::HeaderNotFound {
            expected: self.original.clone(),
            searched_rows,
        }
    }

    /// Scores one row (cells dense by column).
    pub(crate) fn score(&self, cells: &[String]) -> Score {
        let norm: Vec<String> = cells
            .iter()
            .filter(|c| !c.is_empty())
            .map(|c| normalize_header(c))
            .collect();
        let mut score = Score {
            filled: norm.len(),
            ..Score::default()
        };
        let mut used = vec![false; norm.len()];
        let mut found = vec![false; self.keys.len()];
        for (k, key) in self.keys.iter().enumerate() {
            if let Some(i) = (0..norm.len()).find(|&i| !used[i] && norm[i] == *key) {
                used[i] = true;
                found[k] = true;
                score.matched += 1;
                score.exact += 1;
            }
        }
        for (k, key) in self.keys.iter().enumerate() {
            if found[k] {
                continue;
            }
            let hit = (0..norm.len()).find(|&i| {
                !used[i]
                    && norm[i].split(' ').count() <= MAX_WORDS_FOR_CONTAINMENT
                    && contains_words(&norm[i], key)
            });
            if let Some(i) = hit {
                used[i] = true;
                score.matched += 1;
            }
        }
        score
    }

    /// Picks the header row among `rows` (non-blank rows, dense by column):
    /// the one matching the most expected names, the upper one on ties.
    /// Returns its index in `rows` and its score.
    pub(crate) fn find_header(&self, rows: &[(usize, Vec<String>)]) -> Option<(usize, Score)> {
        if self.keys.is_empty() {
            return rows.first().map(|(_, cells)| {
                let filled = cells.iter().filter(|c| !c.is_empty()).count();
                (
                    0,
                    Score {
                        filled,
                        ..Score::default()
                    },
                )
            });
        }
        let mut best: Option<(usize, Score)> = None;
        for (i, (_, cells)) in rows.iter().enumerate() {
            let s = self.score(cells);
            if s.matched < self.min_matches() {
                continue;
            }
            let better = match best {
                None => true,
                Some((_, b)) => (s.matched, s.exact) > (b.matched, b.exact),
            };
            if better {
                best = Some((i, s));
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_headers() {
        assert_eq!(
            normalize_header("  CORREO  ELECTRÓNICO "),
            "correo electronico"
        );
        assert_eq!(normalize_header("correo_electronico"), "correo electronico");
        assert_eq!(
            normalize_header("Correo electrónico:"),
            "correo electronico"
        );
        assert_eq!(normalize_header("INSTITUCIÓN"), "institucion");
        assert_eq!(normalize_header("Año"), "ano");
        assert_eq!(normalize_header("Nombre(s)"), "nombre s");
        assert_eq!(normalize_header("APELLIDO\nPATERNO"), "apellido paterno");
        assert_eq!(normalize_header("Género"), "genero");
        assert_eq!(normalize_header("Institucio\u{301}n"), "institucion");
        assert_eq!(normalize_header("C.U.R.P."), "curp");
        assert_eq!(normalize_header("R.F.C"), "rfc");
        assert_eq!(normalize_header("No."), "no");
        assert_eq!(normalize_header("Nº"), "no");
        assert_eq!(normalize_header("ID number"), "id number");
        assert_eq!(normalize_header("Teléfono 1"), "telefono 1");
        assert_eq!(normalize_header("H. Ayuntamiento"), "h ayuntamiento");
        assert_eq!(normalize_header("#"), "#");
        assert_eq!(normalize_header(" "), "");
    }

    #[test]
    fn word_containment() {
        assert!(contains_words("nombre completo", "nombre"));
        assert!(contains_words("apellido paterno", "paterno"));
        assert!(contains_words("nombre s", "nombre"));
        assert!(!contains_words("nombres", "nombre"));
        assert!(!contains_words("curp", ""));
    }

    #[test]
    fn header_detection_prefers_most_matches() {
        let row = |cells: &[&str]| cells.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let rows = vec![
            (
                1,
                row(&["REGISTRO DE CURP Y NOMBRE DE PARTICIPANTES DEL CURSO"]),
            ),
            (2, row(&["CURP", "Nombre"])),
            (3, row(&["CURP", "Nombre completo", "Sexo"])),
        ];
        let e = Expected::new(&["curp", "nombre", "sexo", "institución"]);
        let (i, s) = e.find_header(&rows).unwrap();
        assert_eq!((i, s.matched, s.exact), (2, 3, 2));
        assert!(
            Expected::new(&["curp", "correo"])
                .find_header(&rows[..1])
                .is_none()
        );
        assert_eq!(Expected::new(&[]).find_header(&rows).unwrap().0, 0);
    }
}
