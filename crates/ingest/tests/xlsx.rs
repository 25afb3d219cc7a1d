//! XLSX cases built in memory: offsets, dates, hidden and extra sheets.

use std::io::{Cursor, Write};

use violeta_ingest::{Format, IngestError, read_table};
use zip::write::SimpleFileOptions;

const STYLES: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<cellXfs count="4">
<xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/><xf numFmtId="20" applyNumberFormat="1"/><xf numFmtId="22" applyNumberFormat="1"/>
</cellXfs></styleSheet>"#;

/// A workbook with the given sheets: (name, state, `<sheetData>` content).
fn workbook(sheets: &[(&str, &str, &str)], shared: &[&str]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default();
    let mut put = |name: &str, body: String| {
        zip.start_file(name, opts).unwrap();
        zip.write_all(body.as_bytes()).unwrap();
    };
    let ns = r#"xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;
    let rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";
    let mut wb_sheets = String::new();
    let mut wb_rels = String::new();
    for (i, (name, state, _)) in sheets.iter().enumerate() {
        let n = i + 1;
        wb_sheets.push_str(&format!(
            r#"<sheet name="{name}" sheetId="{n}" state="{state}" r:id="rId{n}"/>"#
        ));
        wb_rels.push_str(&format!(
            r#"<Relationship Id="rId{n}" Type="{rel}/worksheet" Target="worksheets/sheet{n}.xml"/>"#
        ));
    }
    let k = sheets.len() + 1;
    wb_rels.push_str(&format!(
        r#"<Relationship Id="rId{k}" Type="{rel}/styles" Target="styles.xml"/>"#
    ));
    wb_rels.push_str(&format!(
        r#"<Relationship Id="rId{}" Type="{rel}/sharedStrings" Target="sharedStrings.xml"/>"#,
        k + 1
    ));
    put(
        "[Content_Types].xml",
        r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#.into(),
    );
    put(
        "_rels/.rels",
        format!(
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>"#
        ),
    );
    put(
        "xl/workbook.xml",
        format!(r#"<?xml version="1.0"?><workbook {ns}><sheets>{wb_sheets}</sheets></workbook>"#),
    );
    put(
        "xl/_rels/workbook.xml.rels",
        format!(
            r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{wb_rels}</Relationships>"#
        ),
    );
    put("xl/styles.xml", STYLES.into());
    let sst: String = shared
        .iter()
        .map(|s| format!("<si><t>{s}</t></si>"))
        .collect();
    put(
        "xl/sharedStrings.xml",
        format!(
            r#"<?xml version="1.0"?><sst {ns} count="{0}" uniqueCount="{0}">{sst}</sst>"#,
            shared.len()
        ),
    );
    for (i, (_, _, data)) in sheets.iter().enumerate() {
        put(
            &format!("xl/worksheets/sheet{}.xml", i + 1),
            format!(
                r#"<?xml version="1.0"?><worksheet {ns}><sheetData>{data}</sheetData></worksheet>"#
            ),
        );
    }
    zip.finish().unwrap().into_inner()
}

fn s(r: &str, text: &str) -> String {
    format!(r#"<c r="{r}" t="inlineStr"><is><t xml:space="preserve">{text}</t></is></c>"#)
}

fn n(r: &str, style: u8, v: &str) -> String {
    format!(r#"<c r="{r}" s="{style}"><v>{v}</v></c>"#)
}

fn row(r: usize, cells: &[String]) -> String {
    format!(r#"<row r="{r}">{}</row>"#, cells.concat())
}

#[test]
fn offset_range_dates_and_numbers() {
    let data = [
        row(2, &[s("B2", "LISTA DE ASISTENCIA")]),
        row(
            4,
            &[
                s("C4", "CURP"),
                s("D4", "Nombre"),
                s("E4", "Fecha de\nnacimiento"),
                s("F4", "Edad"),
                s("G4", "Hora"),
            ],
        ),
        row(
            5,
            &[
                s("C5", "  mabq890928mmcykv26 "),
                r#"<c r="D5" t="s"><v>0</v></c>"#.to_owned(),
                n("E5", 1, "32760"),
                n("F5", 0, "35"),
                n("G5", 2, "0.395833333333333"),
            ],
        ),
        // Styled but empty cells: a blank row.
        row(
            6,
            &[
                r#"<c r="C6" s="1"/>"#.to_owned(),
                r#"<c r="D6" s="1"/>"#.to_owned(),
            ],
        ),
        row(7, &[s("C7", "X"), n("F7", 0, "1.5"), n("G7", 3, "45881.5")]),
        // Only a cell outside the header columns: dropped as blank.
        row(8, &[s("Z8", "nota al margen")]),
        row(
            9,
            &[
                s("C9", "Total: 2"),
                r#"<c r="E9" t="b"><v>1</v></c>"#.to_owned(),
                r#"<c r="F9" t="e"><v>#N/A</v></c>"#.to_owned(),
            ],
        ),
        row(1_048_576, &[s("XFD1048576", "celda perdida")]),
    ]
    .concat();
    let bytes = workbook(&[("Hoja1", "visible", &data)], &["José Pérez"]);
    let t = read_table(&bytes, Format::Xlsx, &["curp", "nombre"]).unwrap();
    assert_eq!(t.header_line, 4);
    let names: Vec<&str> = t.headers.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(
        names,
        ["CURP", "Nombre", "Fecha de nacimiento", "Edad", "Hora"]
    );
    assert_eq!(t.headers[0].column, 2, "the header starts in column C");
    let lines: Vec<usize> = t.rows.iter().map(|r| r.line).collect();
    assert_eq!(lines, [5, 7, 9]);
    assert_eq!(
        t.rows[0].cells,
        [
            "mabq890928mmcykv26",
            "José Pérez",
            "1989-09-09",
            "35",
            "09:30:00"
        ]
    );
    assert_eq!(t.rows[1].cells, ["X", "", "", "1.5", "2025-08-12 12:00:00"]);
    assert_eq!(t.rows[2].cells, ["Total: 2", "", "VERDADERO", "#N/A", ""]);
    assert_eq!(t.cell_ref(&t.rows[0], 0), "C5");
    assert_eq!(t.column(&["fecha de nacimiento"]), Some(2));
}

#[test]
fn picks_the_sheet_with_the_header() {
    let instructions = row(
        1,
        &[s(
            "A1",
            "Llene la hoja «Datos». Campos: CURP, nombre, sexo.",
        )],
    );
    let catalog = [
        row(1, &[s("A1", "Sexo"), s("B1", "Clave")]),
        row(2, &[s("A2", "Mujer"), s("B2", "M")]),
    ]
    .concat();
    let data = [
        row(1, &[s("A1", "Nombre"), s("B1", "CURP"), s("C1", "Sexo")]),
        row(2, &[s("A2", "Ana"), s("B2", "X"), s("C2", "M")]),
    ]
    .concat();
    let bytes = workbook(
        &[
            ("Catálogos", "hidden", &catalog),
            ("Instrucciones", "visible", &instructions),
            ("Datos", "visible", &data),
        ],
        &[],
    );
    let t = read_table(&bytes, Format::Xlsx, &["curp", "nombre", "sexo"]).unwrap();
    assert_eq!(t.sheet.as_deref(), Some("Datos"));
    assert_eq!(t.rows[0].cells, ["Ana", "X", "M"]);
}

#[test]
fn empty_workbook_and_missing_header() {
    let bytes = workbook(&[("Hoja1", "visible", "")], &[]);
    assert!(matches!(
        read_table(&bytes, Format::Xlsx, &["curp"]),
        Err(IngestError::Empty)
    ));
    let bytes = workbook(&[("Hoja1", "visible", &row(3, &[s("A3", "hola")]))], &[]);
    let err = read_table(&bytes, Format::Xlsx, &["curp", "nombre"]).unwrap_err();
    assert!(
        matches!(
            err,
            IngestError::HeaderNotFound {
                searched_rows: 1,
                ..
            }
        ),
        "{err:?}"
    );
}

/// Throughput check: `cargo test -p violeta-ingest --release -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput_xlsx() {
    let rows = 100_000;
    let mut data = row(
        1,
        &[
            s("A1", "CURP"),
            s("B1", "Nombre"),
            s("C1", "Sexo"),
            s("D1", "Institución"),
            s("E1", "Teléfono"),
        ],
    );
    for i in 2..rows + 2 {
        data.push_str(&row(
            i,
            &[
                s(&format!("A{i}"), "MABQ890928MMCYKV26"),
                format!(r#"<c r="B{i}" t="s"><v>0</v></c>"#),
                format!(r#"<c r="C{i}" t="s"><v>1</v></c>"#),
                format!(r#"<c r="D{i}" t="s"><v>2</v></c>"#),
                n(&format!("E{i}"), 0, "7225705098"),
            ],
        ));
    }
    let bytes = workbook(
        &[("Hoja1", "visible", &data)],
        &["Leticia Ibáñez", "Femenino", "Secretaría de Salud"],
    );
    let start = std::time::Instant::now();
    let t = read_table(&bytes, Format::Xlsx, &["curp", "nombre"]).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(t.rows.len(), rows);
    assert_eq!(t.rows[rows - 1].cells[4], "7225705098");
    println!(
        "XLSX: {rows} rows in {secs:.3} s = {:.0} rows/s",
        rows as f64 / secs
    );
}
