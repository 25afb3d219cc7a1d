//! Turns the spreadsheet files people really bring (Excel `.xlsx`, CSV saved
//! by Excel on Windows, Moodle exports…) into a clean grid of text cells that
//! remembers where each cell came from, so importers can report problems as
//! "fila 7, columna C".
//!
//! The crate knows nothing about people or databases. The entry point is
//! [`read_table`]: give it the bytes, the [`Format`] and the column names you
//! hope to find; it locates the header row (skipping title rows above it),
//! drops fully blank rows and hands back a [`Table`].
//!
//! ```
//! use violeta_ingest::{read_table, Format};
//!
//! let csv = "LISTA DE ASISTENCIA\n\nCURP;Nombre completo;Sexo\nMABQ890928MMCYKV26;Leticia Ibáñez;F\n";
//! let table = read_table(csv.as_bytes(), Format::Csv, &["curp", "nombre", "sexo"]).unwrap();
//! let curp = table.column(&["curp"]).unwrap();
//! let name = table.column(&["nombre completo", "nombre"]).unwrap();
//! assert_eq!(table.header_line, 3);
//! assert_eq!(table.rows[0].line, 4);
//! assert_eq!(table.rows[0].get(curp), "MABQ890928MMCYKV26");
//! assert_eq!(table.rows[0].get(name), "Leticia Ibáñez");
//! assert_eq!(table.cell_ref(&table.rows[0], name), "B4");
//! ```

mod csv_reader;
mod error;
mod text;
mod xlsx_reader;

use std::path::Path;

pub use error::IngestError;
pub use text::normalize_header;

/// Largest file accepted by [`read_table`] and [`read_file`]: 200 MiB.
pub const MAX_FILE_BYTES: usize = 200 * 1024 * 1024;

/// How many non-blank rows (from the top of the file or sheet) are examined
/// when looking for the header row.
pub const HEADER_SEARCH_ROWS: usize = 30;

/// File formats understood by [`read_table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Delimited text: comma, semicolon, tab or `|`; UTF-8 (with or without
    /// BOM), UTF-16 with BOM, or Windows-1252.
    Csv,
    /// Office Open XML workbook (`.xlsx`, `.xlsm`).
    Xlsx,
}

impl Format {
    /// Chooses the format from the file name's extension, case-insensitively:
    /// `.csv`/`.txt`/`.tsv` → [`Format::Csv`], `.xlsx`/`.xlsm` → [`Format::Xlsx`].
    ///
    /// Any other extension (including `.xls`) gives
    /// [`IngestError::UnsupportedFormat`], whose message tells the user what
    /// to do.
    pub fn from_path(path: &Path) -> Result<Format, IngestError> {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        match ext.as_str() {
            "csv" | "txt" | "tsv" => Ok(Format::Csv),
            "xlsx" | "xlsm" => Ok(Format::Xlsx),
            _ => Err(IngestError::UnsupportedFormat { extension: ext }),
        }
    }
}

/// A grid of trimmed text cells under a header row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The header row, from its first to its last non-empty cell. Cells in
    /// between without a title are kept with an empty `name`.
    pub headers: Vec<Header>,
    /// The rows below the header, in file order, without fully blank rows.
    /// Title, totals, signature and repeated header rows are *kept*; see
    /// [`Table::data_rows`].
    pub rows: Vec<Row>,
    /// Row number (as Excel shows it) of the header row.
    pub header_line: usize,
    /// Name of the worksheet the table was read from (`None` for CSV).
    pub sheet: Option<String>,
}

/// One column title.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// The title as written, trimmed, inner whitespace (line breaks
    /// included) collapsed to single spaces. Use it in messages.
    pub name: String,
    /// 0-based column in the source file (0 = column A). For XLSX this is
    /// the real sheet column; see [`column_letter`].
    pub column: usize,
    /// [`normalize_header`] of `name`, used for matching.
    pub normalized: String,
}

/// One row of cells.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// 1-based row number as the user sees it: the Excel row number for
    /// XLSX; for CSV, the row Excel shows when it opens the file (which is
    /// also the line in a text editor unless a quoted cell spans lines).
    pub line: usize,
    /// Trimmed cell texts, exactly one per header (`cells[i]` is under
    /// `headers[i]`); missing cells are `""`.
    pub cells: Vec<String>,
}

impl Row {
    /// The text of cell `col` (an index into [`Table::headers`]), or `""`
    /// when out of range.
    pub fn get(&self, col: usize) -> &str {
        self.cells.get(col).map_or("", String::as_str)
    }

    /// Like [`Row::get`] for an optional column (as returned by
    /// [`Table::column`]): `""` when the column is absent.
    pub fn get_opt(&self, col: Option<usize>) -> &str {
        col.map_or("", |c| self.get(c))
    }

    /// True when every cell is empty.
    pub fn is_blank(&self) -> bool {
        self.cells.iter().all(String::is_empty)
    }

    /// How many cells are not empty. Handy to spot signature or totals lines
    /// ("Total: 25", "Firma del responsable"), which fill one or two cells.
    pub fn filled(&self) -> usize {
        self.cells.iter().filter(|c| !c.is_empty()).count()
    }
}

impl Table {
    /// Finds a column by any of its possible names; returns its index into
    /// [`Table::headers`] (and [`Row::cells`]).
    ///
    /// Names are compared with [`normalize_header`] (case, accents, spaces,
    /// underscores and punctuation do not matter). First every alias is
    /// tried for an exact match, in the order given; only if none matches,
    /// a header that *contains* an alias as whole words is accepted
    /// (`"nombre"` finds `"NOMBRE(S)"` or `"Nombre completo"`). So put the
    /// most specific aliases first: `&["nombre completo", "nombre"]`.
    pub fn column(&self, aliases: &[&str]) -> Option<usize> {
        let keys: Vec<String> = aliases.iter().map(|a| normalize_header(a)).collect();
        for key in &keys {
            if let Some(i) = self
                .headers
                .iter()
                .position(|h| !key.is_empty() && h.normalized == *key)
            {
                return Some(i);
            }
        }
        for key in &keys {
            if let Some(i) = self
                .headers
                .iter()
                .position(|h| text::contains_words(&h.normalized, key))
            {
                return Some(i);
            }
        }
        None
    }

    /// Like [`Table::column`], but a missing column is an
    /// [`IngestError::MissingColumn`] naming `label` (e.g. `"CURP"`).
    pub fn require(&self, label: &str, aliases: &[&str]) -> Result<usize, IngestError> {
        self.column(aliases)
            .ok_or_else(|| IngestError::MissingColumn {
                name: label.to_owned(),
                found: self
                    .headers
                    .iter()
                    .filter(|h| !h.name.is_empty())
                    .map(|h| h.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
            })
    }

    /// The rows that look like data: skips blank rows and rows that repeat
    /// the header (lists printed over several pages and pasted together
    /// carry the header again on every page). Totals and signature lines
    /// are still returned; the importer decides about those.
    pub fn data_rows(&self) -> impl Iterator<Item = &Row> + '_ {
        self.rows
            .iter()
            .filter(|r| !r.is_blank() && !self.is_header_repeat(r))
    }

    /// True when every non-empty cell of `row` equals its column's title
    /// (after normalization), with at least two such cells (one if the
    /// table has a single named column).
    pub fn is_header_repeat(&self, row: &Row) -> bool {
        let named = self
            .headers
            .iter()
            .filter(|h| !h.normalized.is_empty())
            .count();
        let mut same = 0;
        for (cell, header) in row.cells.iter().zip(&self.headers) {
            if cell.is_empty() {
                continue;
            }
            if header.normalized.is_empty() || normalize_header(cell) != header.normalized {
                return false;
            }
            same += 1;
        }
        same >= named.clamp(1, 2)
    }

    /// Excel-style reference of a cell, e.g. `"C7"`: the column letter of
    /// `headers[col]` and the row's line.
    pub fn cell_ref(&self, row: &Row, col: usize) -> String {
        let column = self.headers.get(col).map_or(col, |h| h.column);
        format!("{}{}", column_letter(column), row.line)
    }
}

/// Excel column name of a 0-based column index: 0 → `"A"`, 25 → `"Z"`,
/// 26 → `"AA"`, 701 → `"ZZ"`, 702 → `"AAA"`.
pub fn column_letter(col: usize) -> String {
    let mut n = col + 1;
    let mut buf = [0u8; 16];
    let mut i = buf.len();
    while n > 0 {
        n -= 1;
        i -= 1;
        buf[i] = b'A' + (n % 26) as u8;
        n /= 26;
    }
    String::from_utf8_lossy(&buf[i..]).into_owned()
}

/// Reads a CSV or XLSX file held in memory.
///
/// `expected` lists column names the caller hopes to find (any spelling
/// that [`normalize_header`] reconciles, e.g. `["curp", "nombre", "sexo",
/// "institución"]`). The header row is the one, among the first
/// [`HEADER_SEARCH_ROWS`] non-blank rows, that matches the most of them
/// (ties go to the upper row); it must match at least two, or one when
/// `expected` has a single name. With an empty `expected`, the first
/// non-blank row is the header.
///
/// For XLSX, worksheets are tried in order (visible ones first) and the
/// first one with such a header row is used. The format is trusted except
/// when the bytes say otherwise: a `.csv` that is really a zipped workbook
/// is read as XLSX, and `.xls`/encrypted files get their own errors.
pub fn read_table(bytes: &[u8], format: Format, expected: &[&str]) -> Result<Table, IngestError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(IngestError::TooLarge {
            size: bytes.len() as u64,
            max: MAX_FILE_BYTES as u64,
        });
    }
    if bytes.is_empty() {
        return Err(IngestError::Empty);
    }
    if bytes.starts_with(OLE_MAGIC) {
        return Err(if is_encrypted_ooxml(bytes) {
            IngestError::Encrypted
        } else {
            IngestError::LegacyXls
        });
    }
    let expected = text::Expected::new(expected);
    if format == Format::Xlsx || bytes.starts_with(ZIP_MAGIC) {
        xlsx_reader::read(bytes, &expected)
    } else {
        csv_reader::read(bytes, &expected)
    }
}

/// Reads a file from disk: the format comes from the extension
/// ([`Format::from_path`]) and the size is checked before reading.
pub fn read_file(path: &Path, expected: &[&str]) -> Result<Table, IngestError> {
    let format = Format::from_path(path)?;
    let io = |source| IngestError::Io {
        path: path.to_owned(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    if size > MAX_FILE_BYTES as u64 {
        return Err(IngestError::TooLarge {
            size,
            max: MAX_FILE_BYTES as u64,
        });
    }
    let bytes = std::fs::read(path).map_err(io)?;
    read_table(&bytes, format, expected)
}

/// Compound File Binary (OLE2) signature: `.xls`, and also password-protected
/// `.xlsx` files, which Office wraps in such a container.
const OLE_MAGIC: &[u8] = &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
const ZIP_MAGIC: &[u8] = b"PK\x03\x04";

/// An encrypted OOXML package is an OLE container with an `EncryptionInfo`
/// stream; its name is stored in UTF-16LE in the directory.
fn is_encrypted_ooxml(bytes: &[u8]) -> bool {
    const NAME: &[u8] = b"E\0n\0c\0r\0y\0p\0t\0i\0o\0n\0I\0n\0f\0o\0";
    bytes.windows(NAME.len()).any(|w| w == NAME)
}

/// Turns rows of raw cells into a [`Table`] once the header row is known.
pub(crate) struct Builder {
    /// First source column kept (that of `headers[0]`).
    first: usize,
    width: usize,
    table: Table,
}

impl Builder {
    /// `header` is the header row, dense by source column.
    pub(crate) fn new(header: &[String], header_line: usize, sheet: Option<String>) -> Builder {
        let first = header.iter().position(|c| !c.is_empty()).unwrap_or(0);
        let last = header.iter().rposition(|c| !c.is_empty()).unwrap_or(0);
        let headers: Vec<Header> = header
            .get(first..=last)
            .unwrap_or(&[])
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let name = text::collapse_whitespace(cell);
                Header {
                    normalized: normalize_header(&name),
                    name,
                    column: first + i,
                }
            })
            .collect();
        Builder {
            first,
            width: headers.len(),
            table: Table {
                headers,
                rows: Vec::new(),
                header_line,
                sheet,
            },
        }
    }

    /// Adds a row given dense by source column (strings already trimmed).
    pub(crate) fn push_dense(&mut self, line: usize, mut cells: Vec<String>) {
        if cells.len() > self.first + self.width {
            cells.truncate(self.first + self.width);
        }
        if self.first > 0 {
            cells.drain(..self.first.min(cells.len()));
        }
        cells.resize(self.width, String::new());
        self.push(line, cells);
    }

    /// Adds a row given as untrimmed fields in source column order (CSV).
    pub(crate) fn push_fields<'a>(&mut self, line: usize, fields: impl Iterator<Item = &'a str>) {
        let mut cells = Vec::with_capacity(self.width);
        cells.extend(
            fields
                .skip(self.first)
                .take(self.width)
                .map(|f| text::trim(f).to_owned()),
        );
        cells.resize(self.width, String::new());
        self.push(line, cells);
    }

    /// Adds a row given as `(source column, trimmed text)` pairs, ascending
    /// by column (XLSX). Drains `sparse`.
    pub(crate) fn push_sparse(&mut self, line: usize, sparse: &mut Vec<(usize, String)>) {
        let mut cells = vec![String::new(); self.width];
        let mut any = false;
        for (col, value) in sparse.drain(..) {
            if let Some(slot) = col.checked_sub(self.first).and_then(|i| cells.get_mut(i)) {
                *slot = value;
                any = true;
            }
        }
        if any {
            self.push(line, cells);
        }
    }

    fn push(&mut self, line: usize, cells: Vec<String>) {
        if cells.iter().any(|c| !c.is_empty()) {
            self.table.rows.push(Row { line, cells });
        }
    }

    pub(crate) fn finish(self) -> Table {
        self.table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
        assert_eq!(column_letter(27), "AB");
        assert_eq!(column_letter(51), "AZ");
        assert_eq!(column_letter(52), "BA");
        assert_eq!(column_letter(701), "ZZ");
        assert_eq!(column_letter(702), "AAA");
        assert_eq!(column_letter(16_383), "XFD");
    }

    #[test]
    fn format_from_path() {
        assert_eq!(
            Format::from_path(Path::new("Lista.CSV")).unwrap(),
            Format::Csv
        );
        assert_eq!(
            Format::from_path(Path::new("a/b.txt")).unwrap(),
            Format::Csv
        );
        assert_eq!(
            Format::from_path(Path::new("Asistencia.XLSX")).unwrap(),
            Format::Xlsx
        );
        assert_eq!(
            Format::from_path(Path::new("macros.xlsm")).unwrap(),
            Format::Xlsx
        );
        let err = Format::from_path(Path::new("viejo.xls")).unwrap_err();
        assert!(matches!(&err, IngestError::UnsupportedFormat { extension } if extension == "xls"));
        assert!(err.to_string().contains("Libro de Excel (.xlsx)"), "{err}");
        let err = Format::from_path(Path::new("sin_extension")).unwrap_err();
        assert!(err.to_string().contains("no tiene extensión"), "{err}");
    }

    #[test]
    fn legacy_and_encrypted() {
        let mut xls = OLE_MAGIC.to_vec();
        xls.extend_from_slice(&[0; 600]);
        assert!(matches!(
            read_table(&xls, Format::Xlsx, &[]),
            Err(IngestError::LegacyXls)
        ));
        xls.extend_from_slice(b"E\0n\0c\0r\0y\0p\0t\0i\0o\0n\0I\0n\0f\0o\0");
        let err = read_table(&xls, Format::Xlsx, &[]).unwrap_err();
        assert!(matches!(err, IngestError::Encrypted));
        assert!(err.to_string().contains("contraseña"));
    }

    #[test]
    fn empty_and_too_large() {
        assert!(matches!(
            read_table(b"", Format::Csv, &["curp"]),
            Err(IngestError::Empty)
        ));
        let err = IngestError::TooLarge {
            size: 250 * 1024 * 1024,
            max: MAX_FILE_BYTES as u64,
        };
        assert_eq!(
            err.to_string(),
            "El archivo pesa 250 MB y el máximo permitido es 200 MB. Divídalo en archivos más pequeños."
        );
    }

    fn table(headers: &[&str]) -> Table {
        let raw: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
        Builder::new(&raw, 1, None).finish()
    }

    #[test]
    fn column_matching() {
        let t = table(&[
            "#",
            "Nombre(s)",
            "Apellido_Paterno",
            "C.U.R.P.",
            "Institución de adscripción",
            "SEXO (F/M)",
        ]);
        assert_eq!(t.column(&["curp"]), Some(3));
        assert_eq!(t.column(&["apellido paterno", "paterno"]), Some(2));
        assert_eq!(t.column(&["nombre completo", "nombre"]), Some(1));
        assert_eq!(t.column(&["institucion"]), Some(4));
        assert_eq!(t.column(&["sexo", "genero"]), Some(5));
        assert_eq!(t.column(&["#", "no"]), Some(0));
        assert_eq!(t.column(&["correo"]), None);
        let err = t.require("Correo electrónico", &["correo"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Falta la columna «Correo electrónico» en el archivo. Columnas encontradas: #, Nombre(s), \
             Apellido_Paterno, C.U.R.P., Institución de adscripción, SEXO (F/M)."
        );
        // Exact matches win over word containment, whatever the column order.
        let t = table(&["Nombre de la institución", "Nombre"]);
        assert_eq!(t.column(&["nombre"]), Some(1));
    }

    #[test]
    fn header_repeats_and_blank_rows() {
        let mut b = Builder::new(
            &["CURP".into(), "Nombre".into(), "".into(), "Sexo".into()],
            4,
            None,
        );
        b.push_fields(5, ["A", " Ana ", "", "F"].into_iter());
        b.push_fields(6, [" ", "", ""].into_iter());
        b.push_fields(7, ["curp", "NOMBRE", "", "sexo"].into_iter());
        b.push_fields(8, ["Total: 1"].into_iter());
        let t = b.finish();
        assert_eq!(t.rows.len(), 3, "the blank row is dropped");
        assert_eq!(t.rows[0].cells, ["A", "Ana", "", "F"]);
        assert_eq!(t.rows[2].cells, ["Total: 1", "", "", ""]);
        assert_eq!(t.rows[2].filled(), 1);
        let data: Vec<usize> = t.data_rows().map(|r| r.line).collect();
        assert_eq!(data, [5, 8]);
        assert_eq!(t.headers[2].name, "");
        assert_eq!(t.cell_ref(&t.rows[0], 3), "D5");
    }
}
