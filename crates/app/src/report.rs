//! The report an import gives back when a file cannot be taken: every problem with its
//! row and column, in Spanish. Imports are all-or-nothing: a report means nothing was
//! written.

use serde::Serialize;
use std::fmt;

/// One problem in one cell (or row) of an imported file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Row number as the user sees it in Excel or the CSV file.
    pub row: usize,
    /// Column as the user sees it: letter and header, "C (CURP)"; empty for a whole row.
    pub column: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    /// A problem with the whole file (unreadable, missing column).
    pub file: Option<String>,
    pub problems: Vec<Problem>,
    /// Every row with a problem, also past the cut at [`MAX_PROBLEMS`].
    #[serde(skip)]
    pub bad_rows: std::collections::BTreeSet<usize>,
}

/// Reports are cut at this many problems: past it, the file needs fixing at its source.
pub const MAX_PROBLEMS: usize = 200;

impl ImportReport {
    pub fn file(message: impl Into<String>) -> ImportReport {
        ImportReport { file: Some(message.into()), ..Default::default() }
    }
    pub fn push(&mut self, row: usize, column: String, message: impl Into<String>) {
        self.bad_rows.insert(row);
        if self.problems.len() < MAX_PROBLEMS {
            self.problems.push(Problem { row, column, message: message.into() });
        }
    }
    pub fn is_empty(&self) -> bool {
        self.file.is_none() && self.problems.is_empty()
    }
}

impl fmt::Display for ImportReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "No se importó nada: ")?;
        if let Some(m) = &self.file {
            return write!(f, "{m}");
        }
        let n = self.bad_rows.len();
        write!(f, "{n} {} del archivo {} problemas", if n == 1 { "fila" } else { "filas" }, if n == 1 { "tiene" } else { "tienen" })?;
        if self.problems.len() >= MAX_PROBLEMS {
            write!(f, " (se muestran los primeros {MAX_PROBLEMS})")?;
        }
        writeln!(f, ".")?;
        for p in &self.problems {
            if p.column.is_empty() {
                writeln!(f, "  fila {}: {}", p.row, p.message)?;
            } else {
                writeln!(f, "  fila {}, columna {}: {}", p.row, p.column, p.message)?;
            }
        }
        Ok(())
    }
}

impl From<violeta_ingest::IngestError> for ImportReport {
    fn from(e: violeta_ingest::IngestError) -> ImportReport {
        ImportReport::file(e.to_string())
    }
}

impl From<violeta_store::StoreError> for ImportReport {
    fn from(e: violeta_store::StoreError) -> ImportReport {
        ImportReport::file(e.to_string())
    }
}

/// "C (CURP)": the column letter and its header, as users find it in their sheet.
pub fn column_name(table: &violeta_ingest::Table, col: usize) -> String {
    let letter = table.headers.get(col).map(|h| violeta_ingest::column_letter(h.column)).unwrap_or_default();
    match table.headers.get(col).map(|h| h.name.as_str()) {
        Some(name) if !name.is_empty() => format!("{letter} ({name})"),
        _ => letter,
    }
}
