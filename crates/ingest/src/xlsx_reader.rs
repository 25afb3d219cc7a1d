//! XLSX: streams the cells of each worksheet with calamine (no dense grid,
//! so a stray cell in XFD1048576 costs nothing) and renders them as text.

use std::io::Cursor;

use calamine::{
    Cell, DataRef, ExcelDateTime, ExcelDateTimeType, Reader, SheetType, SheetVisible, Xlsx,
    XlsxCellReader, XlsxError,
};

use crate::text::{self, Expected};
use crate::{Builder, HEADER_SEARCH_ROWS, IngestError, Table, ZIP_MAGIC};

type Source<'b> = Cursor<&'b [u8]>;

enum SheetOutcome {
    Table(Table),
    /// No non-blank row at all.
    Empty,
    /// Data, but no header row; carries how many rows were searched.
    NoHeader(usize),
}

pub(crate) fn read(bytes: &[u8], expected: &Expected) -> Result<Table, IngestError> {
    if !bytes.starts_with(ZIP_MAGIC) {
        return Err(not_a_zip(bytes));
    }
    let mut workbook: Xlsx<Source<'_>> = Xlsx::new(Cursor::new(bytes)).map_err(invalid)?;
    let is_1904 = workbook.has_1904_epoch();

    // Worksheets in workbook order, visible ones first (hidden sheets
    // usually hold catalogs for drop-down lists).
    let mut sheets: Vec<(bool, String)> = workbook
        .sheets_metadata()
        .iter()
        .filter(|s| s.typ == SheetType::WorkSheet)
        .map(|s| (s.visible != SheetVisible::Visible, s.name.clone()))
        .collect();
    sheets.sort_by_key(|(hidden, _)| *hidden);

    let mut searched = None;
    for (_, name) in &sheets {
        match read_sheet(&mut workbook, name, expected, is_1904)? {
            SheetOutcome::Table(table) => return Ok(table),
            SheetOutcome::Empty => {}
            SheetOutcome::NoHeader(rows) => searched = Some(searched.unwrap_or(0).max(rows)),
        }
    }
    match searched {
        Some(rows) => Err(expected.not_found(rows)),
        None => Err(IngestError::Empty),
    }
}

fn read_sheet(
    workbook: &mut Xlsx<Source<'_>>,
    name: &str,
    expected: &Expected,
    is_1904: bool,
) -> Result<SheetOutcome, IngestError> {
    let reader = match workbook.worksheet_cells_reader(name) {
        Ok(reader) => reader,
        Err(XlsxError::NotAWorksheet(_)) => return Ok(SheetOutcome::Empty),
        Err(e) => return Err(invalid(e)),
    };
    let mut rows = SheetRows {
        reader,
        pending: None,
        done: false,
        is_1904,
    };
    let mut sparse: Vec<(usize, String)> = Vec::new();

    let mut head: Vec<(usize, Vec<String>)> = Vec::new();
    while head.len() < HEADER_SEARCH_ROWS {
        let Some(line) = rows.next_row(&mut sparse)? else {
            break;
        };
        if !sparse.is_empty() {
            head.push((line, to_dense(&mut sparse)));
        }
    }
    if head.is_empty() {
        return Ok(SheetOutcome::Empty);
    }
    let Some((h, _)) = expected.find_header(&head) else {
        return Ok(SheetOutcome::NoHeader(head.len()));
    };

    let mut below = head.drain(h..);
    let (header_line, header) = below.next().expect("the header row is in `head`");
    let mut builder = Builder::new(&header, header_line, Some(name.to_owned()));
    for (line, cells) in below {
        builder.push_dense(line, cells);
    }
    while let Some(line) = rows.next_row(&mut sparse)? {
        if !sparse.is_empty() {
            builder.push_sparse(line, &mut sparse);
        }
    }
    Ok(SheetOutcome::Table(builder.finish()))
}

/// `(column, text)` pairs → a vector indexed by column. Drains `sparse`.
fn to_dense(sparse: &mut Vec<(usize, String)>) -> Vec<String> {
    let width = sparse.iter().map(|(c, _)| c + 1).max().unwrap_or(0);
    let mut dense = vec![String::new(); width];
    for (col, value) in sparse.drain(..) {
        dense[col] = value;
    }
    dense
}

/// Groups the cell stream into rows.
struct SheetRows<'a, 'b> {
    reader: XlsxCellReader<'a, Source<'b>>,
    /// First cell of the next row, read ahead.
    pending: Option<Cell<DataRef<'a>>>,
    /// The reader reached `</sheetData>`; it must not be called again.
    done: bool,
    is_1904: bool,
}

impl<'a> SheetRows<'a, '_> {
    /// Fills `out` with the non-empty cells of the next row that has any
    /// cell in the file, and returns its Excel row number.
    fn next_row(&mut self, out: &mut Vec<(usize, String)>) -> Result<Option<usize>, IngestError> {
        out.clear();
        let first = match self.pending.take() {
            Some(cell) => cell,
            None => match self.next_cell()? {
                Some(cell) => cell,
                None => return Ok(None),
            },
        };
        let row = first.get_position().0;
        push_cell(out, &first, self.is_1904);
        while let Some(cell) = self.next_cell()? {
            if cell.get_position().0 != row {
                self.pending = Some(cell);
                break;
            }
            push_cell(out, &cell, self.is_1904);
        }
        Ok(Some(row as usize + 1))
    }

    fn next_cell(&mut self) -> Result<Option<Cell<DataRef<'a>>>, IngestError> {
        if self.done {
            return Ok(None);
        }
        let cell = self.reader.next_cell().map_err(invalid)?;
        self.done = cell.is_none();
        Ok(cell)
    }
}

fn push_cell(out: &mut Vec<(usize, String)>, cell: &Cell<DataRef<'_>>, is_1904: bool) {
    let text = match cell.get_value() {
        DataRef::Empty => return,
        DataRef::SharedString(s) => text::trim(s).to_owned(),
        DataRef::String(s) => text::trim(s).to_owned(),
        DataRef::Int(i) => i.to_string(),
        DataRef::Float(f) => format_number(*f),
        DataRef::Bool(b) => (if *b { "VERDADERO" } else { "FALSO" }).to_owned(),
        DataRef::DateTime(dt) => format_datetime(dt, is_1904),
        DataRef::DateTimeIso(s) => format_iso_datetime(s),
        DataRef::DurationIso(s) => s.clone(),
        DataRef::Error(e) => e.to_string(),
    };
    if !text.is_empty() {
        out.push((cell.get_position().1 as usize, text));
    }
}

/// A number as Excel shows it in "General" format: integers without
/// decimals, at most 15 significant digits (so `0.1 + 0.2` is `0.3`).
pub(crate) fn format_number(f: f64) -> String {
    if !f.is_finite() {
        return f.to_string();
    }
    if f == f.trunc() && f.abs() < 1e15 {
        return (f as i64).to_string();
    }
    let magnitude = f.abs().log10().floor() as i32;
    let decimals = (14 - magnitude).clamp(0, 40) as usize;
    let mut s = format!("{f:.decimals$}");
    if s.contains('.') {
        let kept = s.trim_end_matches('0').trim_end_matches('.').len();
        s.truncate(kept);
    }
    if s == "-0" {
        s = "0".to_owned();
    }
    s
}

/// Dates as `YYYY-MM-DD`; with a time of day, `YYYY-MM-DD HH:MM:SS`; a time
/// alone (serial below 1) as `HH:MM:SS`; durations as `H:MM:SS`.
fn format_datetime(dt: &ExcelDateTime, is_1904: bool) -> String {
    // Round to the second first, so 09:29:59.9997 reads 09:30:00.
    let serial = (dt.as_f64() * 86_400.0).round() / 86_400.0;
    if dt.is_duration() {
        let total = (serial * 86_400.0).round() as i64;
        let sign = if total < 0 { "-" } else { "" };
        let t = total.abs();
        return format!("{sign}{}:{:02}:{:02}", t / 3600, t / 60 % 60, t % 60);
    }
    let (y, mo, d, h, mi, s, _) =
        ExcelDateTime::new(serial, ExcelDateTimeType::DateTime, is_1904).to_ymd_hms_milli();
    if serial < 1.0 {
        format!("{h:02}:{mi:02}:{s:02}")
    } else if (h, mi, s) == (0, 0, 0) {
        format!("{y:04}-{mo:02}-{d:02}")
    } else {
        format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
    }
}

/// `2025-08-12T00:00:00` → `2025-08-12`; `2025-08-12T09:30:00` →
/// `2025-08-12 09:30:00`.
fn format_iso_datetime(s: &str) -> String {
    let s = text::trim(s);
    match s.split_once('T') {
        Some((date, "00:00:00" | "00:00:00.000" | "00:00")) => date.to_owned(),
        Some((date, time)) if date.len() == 10 => format!("{date} {time}"),
        _ => s.to_owned(),
    }
}

fn invalid(e: XlsxError) -> IngestError {
    let reason = match &e {
        XlsxError::Zip(_) | XlsxError::Io(_) => {
            "no se pudo abrir; el archivo está dañado o incompleto"
        }
        XlsxError::FileNotFound(_)
        | XlsxError::RelationshipNotFound
        | XlsxError::WorksheetNotFound(_) => {
            "le faltan partes internas; puede estar dañado o haber sido generado por otro programa"
        }
        XlsxError::Password => "está protegido con contraseña",
        _ => "su contenido está dañado o no se reconoce",
    };
    IngestError::InvalidXlsx {
        reason,
        detail: e.to_string(),
    }
}

/// Explains what the bytes are instead, when they are not a ZIP package.
fn not_a_zip(bytes: &[u8]) -> IngestError {
    let start = &bytes[..bytes.len().min(1024)];
    let lower = String::from_utf8_lossy(start).to_ascii_lowercase();
    let reason = if lower.contains("<html")
        || lower.contains("<table")
        || lower.contains("<!doctype")
    {
        "es una página web (HTML) con extensión de Excel; ábrala en Excel y guárdela como «Libro de Excel (.xlsx)»"
    } else if !start.contains(&0) && std::str::from_utf8(start).is_ok() {
        "parece un archivo de texto; si es un CSV, cambie su extensión a .csv"
    } else {
        "el contenido no corresponde a un libro de Excel; puede estar dañado"
    };
    IngestError::InvalidXlsx {
        reason,
        detail: "missing ZIP signature".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(format_number(1.0), "1");
        assert_eq!(format_number(7225705098.0), "7225705098");
        assert_eq!(format_number(-3.0), "-3");
        assert_eq!(format_number(1.5), "1.5");
        assert_eq!(format_number(0.1 + 0.2), "0.3");
        assert_eq!(format_number(0.000123), "0.000123");
        assert_eq!(format_number(1e20), "100000000000000000000");
        assert_eq!(format_number(-0.5), "-0.5");
    }

    #[test]
    fn dates() {
        let dt = |v: f64| {
            format_datetime(
                &ExcelDateTime::new(v, ExcelDateTimeType::DateTime, false),
                false,
            )
        };
        assert_eq!(dt(45881.0), "2025-08-12");
        assert_eq!(dt(45881.5), "2025-08-12 12:00:00");
        assert_eq!(dt(0.395833333), "09:30:00");
        assert_eq!(dt(45881.0 + 0.395833333), "2025-08-12 09:30:00");
        let dur = ExcelDateTime::new(1.5, ExcelDateTimeType::TimeDelta, false);
        assert_eq!(format_datetime(&dur, false), "36:00:00");
        assert_eq!(format_iso_datetime("2025-08-12T00:00:00"), "2025-08-12");
        assert_eq!(
            format_iso_datetime("2025-08-12T09:30:00"),
            "2025-08-12 09:30:00"
        );
    }

    #[test]
    fn not_xlsx() {
        let err = crate::read_table(b"curp,nombre\n", crate::Format::Xlsx, &["curp"]).unwrap_err();
        assert!(err.to_string().starts_with(
            "El archivo no es un libro de Excel válido (.xlsx): parece un archivo de texto"
        ));
        let err = crate::read_table(b"<html><table>", crate::Format::Xlsx, &["curp"]).unwrap_err();
        assert!(err.to_string().contains("página web"), "{err}");
        let err =
            crate::read_table(b"PK\x03\x04garbage", crate::Format::Xlsx, &["curp"]).unwrap_err();
        assert!(matches!(err, IngestError::InvalidXlsx { .. }), "{err:?}");
        assert!(
            err.to_string()
                .starts_with("El archivo no es un libro de Excel válido (.xlsx): "),
            "{err}"
        );
    }
}
