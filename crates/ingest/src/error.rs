//! Errors of the ingest crate. Every `Display` text is meant to be shown to
//! the person who uploaded the file, so it is written in Spanish (es-MX).

use std::path::PathBuf;

/// Why a file could not be turned into a [`Table`](crate::Table).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The file is bigger than [`MAX_FILE_BYTES`](crate::MAX_FILE_BYTES).
    #[error(
        "El archivo pesa {} y el máximo permitido es {}. Divídalo en archivos más pequeños.",
        megabytes(*.size),
        megabytes(*.max)
    )]
    TooLarge {
        /// Size of the file, in bytes.
        size: u64,
        /// Largest size accepted, in bytes.
        max: u64,
    },

    /// The file (or every sheet of the workbook) has no data at all.
    #[error("El archivo está vacío: no contiene datos.")]
    Empty,

    /// No row within the first [`HEADER_SEARCH_ROWS`](crate::HEADER_SEARCH_ROWS)
    /// non-blank rows carries enough of the expected column names.
    #[error(
        "No se encontró la fila de encabezados. Se buscaron las columnas {} en las primeras {searched_rows} filas con datos. \
         Revise que el archivo tenga una fila con esos títulos.",
        spanish_list(expected)
    )]
    HeaderNotFound {
        /// The names the caller looked for, as given.
        expected: Vec<String>,
        /// How many non-blank rows were examined (per sheet).
        searched_rows: usize,
    },

    /// A column the importer needs is not in the header row
    /// (see [`Table::require`](crate::Table::require)).
    #[error("Falta la columna «{name}» en el archivo. Columnas encontradas: {found}.")]
    MissingColumn {
        /// Human name of the missing column, as given by the caller.
        name: String,
        /// The header names that were found, separated by commas.
        found: String,
    },

    /// The bytes are not a readable `.xlsx` workbook.
    #[error("El archivo no es un libro de Excel válido (.xlsx): {reason}.")]
    InvalidXlsx {
        /// Spanish explanation, for the user.
        reason: &'static str,
        /// Technical detail (English, from the parser), for logs only.
        detail: String,
    },

    /// An Excel 97-2003 workbook (`.xls`), which is not supported.
    #[error(
        "El archivo es un libro de Excel 97-2003 (.xls), que no se puede leer. \
         Ábralo en Excel y guárdelo como «Libro de Excel (.xlsx)» o como «CSV (delimitado por comas)»."
    )]
    LegacyXls,

    /// A password-protected (encrypted) workbook.
    #[error(
        "El libro de Excel está protegido con contraseña. Ábralo en Excel, quite la contraseña \
         (Archivo › Información › Proteger libro) y vuelva a guardarlo."
    )]
    Encrypted,

    /// The file name has an extension that is neither CSV nor Excel.
    #[error(
        "Formato de archivo no admitido ({}). Use un libro de Excel (.xlsx) o un archivo CSV (.csv).",
        describe_extension(extension)
    )]
    UnsupportedFormat {
        /// The extension found, lower-cased, without the dot (may be empty).
        extension: String,
    },

    /// The CSV parser failed (in practice only on I/O problems).
    #[error("No se pudo leer el archivo CSV cerca de la fila {line}.")]
    Csv {
        /// Row (as Excel shows it) where the problem was found.
        line: usize,
        /// Technical detail (English), for logs only.
        detail: String,
    },

    /// The file could not be read from disk (see [`read_file`](crate::read_file)).
    #[error("No se pudo leer el archivo «{}».", path.display())]
    Io {
        /// The path that was being read.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

/// "1.5 MB" style size, with the decimal point used in Mexico.
fn megabytes(bytes: u64) -> String {
    let mb = bytes as f64 / (1024.0 * 1024.0);
    if mb >= 10.0 || mb.fract() == 0.0 {
        format!("{mb:.0} MB")
    } else {
        format!("{mb:.1} MB")
    }
}

fn describe_extension(ext: &str) -> String {
    match ext {
        "" => "el archivo no tiene extensión".to_owned(),
        "xls" => "«.xls»: guárdelo en Excel como «Libro de Excel (.xlsx)»".to_owned(),
        "ods" => "«.ods»: guárdelo como «Libro de Excel (.xlsx)»".to_owned(),
        "numbers" => "«.numbers»: expórtelo como «Excel (.xlsx)»".to_owned(),
        other => format!("«.{other}»"),
    }
}

/// «a», «b» y «c» — with "e" instead of "y" before a word that starts with
/// the sound /i/ ("«sexo» e «institución»"), as Spanish requires.
fn spanish_list(items: &[String]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("«{s}»")).collect();
    match quoted.len() {
        0 => "(ninguna)".to_owned(),
        1 => quoted[0].clone(),
        n => {
            let head = quoted[..n - 1].join(", ");
            let conj = if starts_with_i_sound(&items[n - 1]) {
                "e"
            } else {
                "y"
            };
            format!("{head} {conj} {}", quoted[n - 1])
        }
    }
}

fn starts_with_i_sound(word: &str) -> bool {
    let w = crate::normalize_header(word);
    let b = w.as_bytes();
    match b {
        [b'i', ..] => true,
        // "hi" + consonant ("hijo", "historia"), but not "hie"/"hia" ("hielo").
        [b'h', b'i', c, ..] => !matches!(c, b'a' | b'e' | b'o' | b'u'),
        [b'h', b'i'] => true,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_uses_e_before_i() {
        let l = |v: &[&str]| spanish_list(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(
            l(&["curp", "sexo", "institución"]),
            "«curp», «sexo» e «institución»"
        );
        assert_eq!(l(&["curp", "nombre"]), "«curp» y «nombre»");
        assert_eq!(l(&["curp", "hielo"]), "«curp» y «hielo»");
        assert_eq!(l(&["curp"]), "«curp»");
    }

    #[test]
    fn sizes() {
        assert_eq!(megabytes(200 * 1024 * 1024), "200 MB");
        assert_eq!(megabytes(1024 * 1024 * 3 / 2), "1.5 MB");
    }
}
