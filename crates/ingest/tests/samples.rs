//! Reads the real sample files in /work/shared/samples.

use violeta_ingest::{Format, IngestError, Table, read_file, read_table};

const XLSX: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/samples/asistencia/lista-asistencia-ejemplo.xlsx"
);
const CSV_1252: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/samples/asistencia/lista-asistencia-ejemplo-excel-windows.csv"
);
const MOODLE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/samples/moodle/course-completion-report.csv"
);

/// What an attendance importer would look for.
const ATTENDANCE: &[&str] = &["curp", "nombre", "sexo", "institución"];

const ATTENDANCE_HEADERS: [&str; 9] = [
    "#",
    "NOMBRE COMPLETO",
    "CURP",
    "GÉNERO",
    "INSTITUCIÓN",
    "PUESTO",
    "MUNICIPIO",
    "TELÉFONO",
    "CORREO ELECTRÓNICO",
];

fn read(path: &str, expected: &[&str]) -> Table {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let format = Format::from_path(path.as_ref()).unwrap();
    read_table(&bytes, format, expected).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn names(t: &Table) -> Vec<&str> {
    t.headers.iter().map(|h| h.name.as_str()).collect()
}

#[test]
fn attendance_xlsx() {
    let t = read(XLSX, ATTENDANCE);
    assert_eq!(t.sheet.as_deref(), Some("Asistencia"));
    // Three title rows (merged across A:I) sit above the header.
    assert_eq!(t.header_line, 4);
    assert_eq!(names(&t), ATTENDANCE_HEADERS);
    assert_eq!(t.headers[0].column, 0);
    assert_eq!(t.headers[8].column, 8);
    assert_eq!(t.rows.len(), 25);
    assert_eq!(t.data_rows().count(), 25);

    let first = &t.rows[0];
    assert_eq!(first.line, 5, "first data row is Excel row 5");
    assert_eq!(t.rows[24].line, 29);
    let name = t.column(&["nombre completo", "nombre"]).unwrap();
    let curp = t.column(&["curp"]).unwrap();
    let sex = t.column(&["sexo", "género"]).unwrap();
    let institution = t.column(&["institución", "dependencia"]).unwrap();
    let phone = t.column(&["teléfono"]).unwrap();
    assert_eq!((name, curp, sex, institution, phone), (1, 2, 3, 4, 7));
    // Numbers come out without ".0".
    assert_eq!(first.get(0), "1");
    assert_eq!(first.get(name), "Leticia Ibáñez Domínguez");
    assert_eq!(first.get(curp), "MABQ890928MMCYKV26");
    assert_eq!(first.get(sex), "Femenino");
    assert_eq!(
        first.get(institution),
        "Secretaría de Salud del Estado de México"
    );
    assert_eq!(first.get(phone), "7225705098");
    assert_eq!(t.cell_ref(first, curp), "C5");
    assert_eq!(t.rows[24].get(name), "Nayeli Álvarez Romero");
}

#[test]
fn attendance_csv_windows_1252() {
    let t = read(CSV_1252, ATTENDANCE);
    assert_eq!(t.sheet, None);
    // The CSV has no title rows: the header is the first line.
    assert_eq!(t.header_line, 1);
    assert_eq!(names(&t), ATTENDANCE_HEADERS);
    assert_eq!(t.rows.len(), 25);
    assert_eq!(t.rows[0].line, 2);
    assert_eq!(t.rows[24].line, 26);
    // Accents only come out right if Windows-1252 was decoded.
    assert_eq!(t.rows[0].get(1), "Leticia Ibáñez Domínguez");
    assert_eq!(t.rows[0].get(4), "Secretaría de Salud del Estado de México");
    assert_eq!(t.rows[15].get(1), "Ángel Gabriel Mendoza Vargas");
    assert_eq!(t.rows[2].get(6), "Nezahualcóyotl");
}

#[test]
fn csv_and_xlsx_agree() {
    let x = read(XLSX, ATTENDANCE);
    let c = read(CSV_1252, ATTENDANCE);
    assert_eq!(x.headers.len(), c.headers.len());
    let name = x.column(&["nombre completo"]).unwrap();
    let x_names: Vec<&str> = x.rows.iter().map(|r| r.get(name)).collect();
    let c_names: Vec<&str> = c
        .rows
        .iter()
        .map(|r| r.get(c.column(&["nombre completo"]).unwrap()))
        .collect();
    assert_eq!(x_names, c_names);
    // Every cell, not just the names, is the same text.
    let x_cells: Vec<&Vec<String>> = x.rows.iter().map(|r| &r.cells).collect();
    let c_cells: Vec<&Vec<String>> = c.rows.iter().map(|r| &r.cells).collect();
    assert_eq!(x_cells, c_cells);
}

#[test]
fn moodle_completion_report() {
    let t = read(MOODLE, &["id number", "email address", "course complete"]);
    assert_eq!(t.header_line, 1);
    assert_eq!(t.headers.len(), 29);
    assert_eq!(
        names(&t)[..6],
        [
            "ID",
            "Name",
            "ID number",
            "Email address",
            "Small files",
            "Small files - Completion date"
        ]
    );
    assert_eq!(t.headers[28].name, "Course complete");
    assert_eq!(t.rows.len(), 100);
    assert_eq!(t.rows[0].line, 2);
    assert_eq!(t.rows[99].line, 101);

    let curp = t.column(&["id number", "número de id"]).unwrap();
    let name = t.column(&["name", "nombre"]).unwrap();
    let complete = t.column(&["course complete", "curso completado"]).unwrap();
    assert_eq!((curp, name, complete), (2, 1, 28));
    // `column` prefers exact matches: "ID" is not taken for "ID number".
    assert_eq!(t.column(&["id"]), Some(0));
    assert_eq!(t.rows[0].get(curp), "DOFL710326MOCVYF34");
    assert_eq!(t.rows[1].get(name), "Itzel Cruz Hernández");
    // The completion column holds a date-time, or nothing when not completed.
    assert_eq!(t.rows[1].get(complete), "2026-11-25 12:53:12");
    assert_eq!(t.rows[0].get(complete), "");
    assert_eq!(
        t.rows
            .iter()
            .filter(|r| !r.get(complete).is_empty())
            .count(),
        67
    );
    assert_eq!(t.rows[0].get(14), "Not completed");
    assert_eq!(t.headers[14].name, "Page 11");
}

#[test]
fn read_file_works_on_samples() {
    let t = read_file(XLSX.as_ref(), &["curp", "nombre completo"]).unwrap();
    assert_eq!(t.rows.len(), 25);
}

#[test]
fn no_header_in_sample() {
    let bytes = std::fs::read(XLSX).unwrap();
    let err = read_table(&bytes, Format::Xlsx, &["folio", "matrícula", "grupo"]).unwrap_err();
    assert!(matches!(err, IngestError::HeaderNotFound { .. }));
    assert_eq!(
        err.to_string(),
        "No se encontró la fila de encabezados. Se buscaron las columnas «folio», «matrícula» y «grupo» \
         en las primeras 29 filas con datos. Revise que el archivo tenga una fila con esos títulos."
    );
}

// ---- Small synthetic files ----

#[test]
fn utf8_bom_csv() {
    let csv = "\u{feff}CURP,Nombre,Sexo\r\nmabq890928mmcykv26 , José Pérez ,H\r\n";
    let t = read_table(csv.as_bytes(), Format::Csv, &["curp", "nombre"]).unwrap();
    assert_eq!(
        t.headers[0].name, "CURP",
        "the BOM is not part of the first header"
    );
    assert_eq!(t.column(&["curp"]), Some(0));
    assert_eq!(t.rows[0].cells, ["mabq890928mmcykv26", "José Pérez", "H"]);
    assert_eq!(t.rows[0].line, 2);
}

#[test]
fn semicolon_csv_with_title_rows() {
    let csv = "SECRETARÍA DE LAS MUJERES;;;\n\
               Lista de asistencia, 12 de agosto de 2025;;;\n\
               ;;;\n\
               No.;Nombre(s);Apellido paterno;CURP;Institución\n\
               1;Ana;López;MABQ890928MMCYKV26;DIF\n\
               2;Luis;Pérez\n\
               ;;;\n\
               Total: 2;;;\n";
    let t = read_table(
        csv.as_bytes(),
        Format::Csv,
        &["curp", "nombre", "institución"],
    )
    .unwrap();
    assert_eq!(t.header_line, 4);
    assert_eq!(
        names(&t),
        [
            "No.",
            "Nombre(s)",
            "Apellido paterno",
            "CURP",
            "Institución"
        ]
    );
    assert_eq!(
        t.rows.len(),
        3,
        "the blank row is skipped, the totals row kept"
    );
    assert_eq!(t.rows[0].line, 5);
    assert_eq!(
        t.rows[0].cells,
        ["1", "Ana", "López", "MABQ890928MMCYKV26", "DIF"]
    );
    assert_eq!(
        t.rows[1].cells,
        ["2", "Luis", "Pérez", "", ""],
        "short rows are padded"
    );
    assert_eq!(t.rows[2].line, 8);
    assert_eq!(t.rows[2].filled(), 1);
    assert_eq!(t.column(&["nombre"]), Some(1));
    assert_eq!(t.column(&["paterno"]), Some(2));
}

#[test]
fn tab_and_windows_1252() {
    let bytes = b"Nombre\tCURP\tG\xC9NERO\r\nMar\xEDa Nu\xF1ez\tX\tMujer\r\n";
    let t = read_table(bytes, Format::Csv, &["curp", "nombre", "genero"]).unwrap();
    assert_eq!(t.headers[2].name, "GÉNERO");
    assert_eq!(t.rows[0].cells, ["María Nuñez", "X", "Mujer"]);
}

#[test]
fn no_header_error_in_spanish() {
    let csv = "hola,mundo\n1,2\n";
    let err = read_table(
        csv.as_bytes(),
        Format::Csv,
        &["curp", "nombre", "sexo", "institución"],
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "No se encontró la fila de encabezados. Se buscaron las columnas «curp», «nombre», «sexo» e «institución» \
         en las primeras 2 filas con datos. Revise que el archivo tenga una fila con esos títulos."
    );
    // One header is enough when only one is expected.
    let t = read_table(b"titulo\nCURP\nX\n", Format::Csv, &["curp"]).unwrap();
    assert_eq!(t.header_line, 2);
    // Blank files.
    assert!(matches!(
        read_table(b" \r\n,,,\r\n", Format::Csv, &["curp"]),
        Err(IngestError::Empty)
    ));
    assert_eq!(
        IngestError::Empty.to_string(),
        "El archivo está vacío: no contiene datos."
    );
}

#[test]
fn corrupt_xlsx() {
    let mut bytes = std::fs::read(XLSX).unwrap();
    bytes.truncate(bytes.len() / 2);
    let err = read_table(&bytes, Format::Xlsx, ATTENDANCE).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("El archivo no es un libro de Excel válido (.xlsx): "),
        "{err}"
    );
}

#[test]
fn zipped_workbook_named_csv_is_read_as_xlsx() {
    let bytes = std::fs::read(XLSX).unwrap();
    let t = read_table(&bytes, Format::Csv, ATTENDANCE).unwrap();
    assert_eq!(t.header_line, 4);
}

/// Throughput check: `cargo test -p violeta-ingest --release -- --ignored --nocapture`.
#[test]
#[ignore]
fn throughput_csv() {
    let mut csv = String::from(
        "LISTA DE ASISTENCIA\n#,NOMBRE COMPLETO,CURP,GÉNERO,INSTITUCIÓN,PUESTO,MUNICIPIO,TELÉFONO,CORREO ELECTRÓNICO\n",
    );
    let rows = 300_000;
    for i in 0..rows {
        csv.push_str(&format!(
            "{i},Leticia Ibáñez Domínguez,MABQ890928MMCYKV26,Femenino,\"Secretaría de Salud, Estado de México\",Psicóloga,Toluca,7225705098,persona{i}@ejemplo.gob.mx\r\n"
        ));
    }
    let start = std::time::Instant::now();
    let t = read_table(csv.as_bytes(), Format::Csv, ATTENDANCE).unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert_eq!(t.rows.len(), rows);
    println!(
        "CSV: {rows} rows in {secs:.3} s = {:.0} rows/s",
        rows as f64 / secs
    );
}
