//! CSV: encoding and delimiter detection, then a streaming pass with the
//! `csv` crate.

use std::borrow::Cow;

use encoding_rs::{Encoding, WINDOWS_1252};

use crate::text::{self, Expected, Score};
use crate::{Builder, HEADER_SEARCH_ROWS, IngestError, Table};

/// Delimiters tried, in order of preference on ties.
const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

pub(crate) fn read(bytes: &[u8], expected: &Expected) -> Result<Table, IngestError> {
    let decoded = decode(bytes);
    let (body, forced) = strip_sep_line(&decoded);
    if text::trim(body).is_empty() {
        return Err(IngestError::Empty);
    }

    // Delimiter: the one under which the expected headers show up as
    // separate cells wins.
    let candidates: Vec<u8> = forced.map_or_else(|| DELIMITERS.to_vec(), |d| vec![d]);
    let mut best: Option<(u8, usize, Score)> = None;
    let mut searched = 0;
    // A file blank under some delimiter holds only delimiters and spaces.
    let mut blank = false;
    for &delimiter in &candidates {
        let head = head_rows(body, delimiter)?;
        blank |= head.is_empty();
        searched = searched.max(head.len());
        let Some((i, mut score)) = expected.find_header(&head) else {
            continue;
        };
        if expected.is_empty() {
            // No names to go by: prefer the delimiter that splits the most.
            score.filled = head
                .iter()
                .map(|(_, c)| c.iter().filter(|s| !s.is_empty()).count())
                .max()
                .unwrap_or(0);
        }
        if best.is_none_or(|(_, _, b)| score > b) {
            best = Some((delimiter, head[i].0, score));
        }
    }
    if blank {
        return Err(IngestError::Empty);
    }
    let (delimiter, header_line, _) = best.ok_or_else(|| expected.not_found(searched))?;

    let mut reader = reader(body, delimiter);
    let mut lines = LineCounter::new(body);
    let mut record = csv::StringRecord::new();
    let mut builder: Option<Builder> = None;
    while next_record(&mut reader, &mut record, &lines)? {
        let line = lines.advance(&record, reader.position().byte() as usize);
        match &mut builder {
            Some(b) => b.push_fields(line, record.iter()),
            None if line == header_line => {
                let header: Vec<String> = record.iter().map(|f| text::trim(f).to_owned()).collect();
                builder = Some(Builder::new(&header, line, None));
            }
            None => {}
        }
    }
    // The header was seen during detection, so the builder exists.
    builder
        .map(Builder::finish)
        .ok_or_else(|| expected.not_found(searched))
}

fn reader(body: &str, delimiter: u8) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(body.as_bytes())
}

fn next_record(
    reader: &mut csv::Reader<&[u8]>,
    record: &mut csv::StringRecord,
    lines: &LineCounter,
) -> Result<bool, IngestError> {
    reader.read_record(record).map_err(|e| IngestError::Csv {
        line: lines.next_line(),
        detail: e.to_string(),
    })
}

/// The first non-blank rows, split with `delimiter`, trimmed.
fn head_rows(body: &str, delimiter: u8) -> Result<Vec<(usize, Vec<String>)>, IngestError> {
    let mut reader = reader(body, delimiter);
    let mut lines = LineCounter::new(body);
    let mut record = csv::StringRecord::new();
    let mut rows = Vec::new();
    while rows.len() < HEADER_SEARCH_ROWS && next_record(&mut reader, &mut record, &lines)? {
        let line = lines.advance(&record, reader.position().byte() as usize);
        let cells: Vec<String> = record.iter().map(|f| text::trim(f).to_owned()).collect();
        if cells.iter().any(|c| !c.is_empty()) {
            rows.push((line, cells));
        }
    }
    Ok(rows)
}

/// Decodes the file: UTF-8/UTF-16 by byte-order mark; else UTF-8 when valid
/// (or nearly: a few stray bytes in an otherwise UTF-8 file); else
/// Windows-1252, which is what Excel on Windows writes for "CSV".
fn decode(bytes: &[u8]) -> Cow<'_, str> {
    if let Some((encoding, bom_len)) = Encoding::for_bom(bytes) {
        return encoding.decode_without_bom_handling(&bytes[bom_len..]).0;
    }
    match std::str::from_utf8(bytes) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) if mostly_utf8(bytes) => String::from_utf8_lossy(bytes),
        Err(_) => WINDOWS_1252.decode_without_bom_handling(bytes).0,
    }
}

/// Valid multi-byte UTF-8 characters outnumber invalid sequences. Text in
/// Windows-1252 practically never forms valid multi-byte sequences.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let (mut good, mut bad) = (0usize, 0usize);
    for chunk in bytes.utf8_chunks() {
        good += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        bad += usize::from(!chunk.invalid().is_empty());
    }
    good > bad
}

/// Excel honours a first line `sep=;` that names the delimiter, and does
/// not show it; so it is removed and row numbers start after it.
fn strip_sep_line(text: &str) -> (&str, Option<u8>) {
    let b = text.as_bytes();
    if b.len() >= 5
        && b[..4].eq_ignore_ascii_case(b"sep=")
        && b[4].is_ascii()
        && !matches!(b[4], b'\r' | b'\n')
    {
        let rest = &text[5..];
        let rest = rest
            .strip_prefix("\r\n")
            .or_else(|| rest.strip_prefix('\n'))
            .or_else(|| rest.strip_prefix('\r'));
        if let Some(rest) = rest {
            return (rest, Some(b[4]));
        }
    }
    (text, None)
}

/// Computes, for each record, the row number Excel shows when it opens the
/// file: blank lines count as rows, line breaks inside quoted cells do not.
/// Line breaks are `\r\n`, `\n` or a lone `\r`.
struct LineCounter<'a> {
    text: &'a [u8],
    /// Bytes of `text` already scanned for line breaks.
    scanned: usize,
    /// Line breaks in `text[..scanned]`.
    breaks: usize,
    /// Line breaks inside the cells of the records read so far.
    inside: usize,
    /// Row of the last record returned.
    last: usize,
}

impl<'a> LineCounter<'a> {
    fn new(text: &'a str) -> Self {
        LineCounter {
            text: text.as_bytes(),
            scanned: 0,
            breaks: 0,
            inside: 0,
            last: 0,
        }
    }

    /// Whether the byte at `i` ends a line (`\r\n` counts at its `\n`).
    fn is_break_at(&self, i: usize) -> bool {
        match self.text[i] {
            b'\n' => true,
            b'\r' => self.text.get(i + 1) != Some(&b'\n'),
            _ => false,
        }
    }

    /// Row of `record`, given the reader's byte offset after reading it.
    fn advance(&mut self, record: &csv::StringRecord, end: usize) -> usize {
        let end = end.min(self.text.len());
        for i in self.scanned..end {
            if matches!(self.text[i], b'\n' | b'\r') && self.is_break_at(i) {
                self.breaks += 1;
            }
        }
        self.scanned = end.max(self.scanned);
        // The reader may or may not have consumed this record's terminator.
        let own_terminator = end > 0 && self.is_break_at(end - 1);
        let inside = count_breaks(record.as_slice().as_bytes());
        let line = 1 + self.breaks - usize::from(own_terminator) - self.inside - inside;
        self.inside += inside;
        self.last = line;
        line
    }

    /// Best guess of the row being read (for error messages).
    fn next_line(&self) -> usize {
        self.last + 1
    }
}

fn count_breaks(bytes: &[u8]) -> usize {
    let mut n = 0;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n')) {
            n += 1;
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Format, read_table};

    fn lines(csv: &str) -> Vec<usize> {
        read_table(csv.as_bytes(), Format::Csv, &[])
            .unwrap()
            .rows
            .iter()
            .map(|r| r.line)
            .collect()
    }

    #[test]
    fn line_numbers_follow_excel() {
        assert_eq!(lines("a,b\n1,2\n3,4\n"), [2, 3]);
        assert_eq!(lines("a,b\r\n1,2\r\n\r\n\r\n3,4\r\n"), [2, 5]);
        assert_eq!(lines("a,b\n\n1,2\n,\n3,4"), [3, 5]);
        assert_eq!(lines("a,b\r1,2\r\r3,4\r"), [2, 4]);
        // A quoted cell spanning lines is a single Excel row.
        assert_eq!(lines("a,b\n\"uno\ndos\",2\n3,4\n"), [2, 3]);
        assert_eq!(
            lines("a,b\r\n\"uno\r\ndos\r\ntres\",2\r\n\r\n3,4\r\n"),
            [2, 4]
        );
        assert_eq!(lines("\n\na,b\n1,2\n"), [4]);
    }

    #[test]
    fn sep_line() {
        let t = read_table(
            b"sep=;\r\ncurp;nombre\r\nX;Y\r\n",
            Format::Csv,
            &["curp", "nombre"],
        )
        .unwrap();
        assert_eq!(t.header_line, 1);
        assert_eq!(t.rows[0].cells, ["X", "Y"]);
        assert_eq!(t.rows[0].line, 2);
    }

    #[test]
    fn decoding() {
        assert_eq!(decode(b"\xEF\xBB\xBFa\xC3\xB1o"), "año");
        assert_eq!(decode(b"a\xF1o"), "año");
        assert_eq!(decode(b"a\xC3\xB1o \xC3\xA1 \xE1"), "año á \u{FFFD}");
        assert_eq!(decode(b"\xFF\xFEa\0\xF1\0o\0"), "año");
    }
}
