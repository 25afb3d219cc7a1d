//! Learning-centre use cases that read or write files: the portable course archive (a ZIP of
//! `curso.json`, Markdown lessons and `archivos/`), bulk enrolment from a CSV/XLSX people
//! list, and completions brought from a Moodle course-completion report. Each is all or
//! nothing, with a Spanish report giving row and column.

use crate::people_import;
use crate::report::{ImportReport, column_name};
use chrono::{DateTime, NaiveDateTime, Utc};
use std::io::{Cursor, Read, Write};
use violeta_domain::audit::Actor;
use violeta_domain::learning::{CourseDraft, EnrolmentSource, MANIFEST, Manifest};
use violeta_domain::person::{PersonInput, SexConvention};
use violeta_domain::text::search_key;
use violeta_ingest::Format;
use violeta_store::learning::{BulkEnrolment, EnrolmentRow};
use violeta_store::people::PersonRef;
use violeta_store::{Store, StoreError};

/// The largest archive accepted, unpacked (lessons, images and attachments).
const MAX_UNPACKED: u64 = 64 * 1024 * 1024;

// ----- the course archive -----

/// Writes a course as a ZIP: `curso.json`, `lecciones/NN.md`, `archivos/…`.
pub fn write_archive(draft: &CourseDraft, files: &[(String, Vec<u8>)]) -> Result<Vec<u8>, String> {
    let (manifest, lessons) = draft.manifest();
    let json = serde_json::to_string_pretty(&manifest).map_err(|e| e.to_string())?;
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    let mut put = |name: &str, bytes: &[u8]| -> Result<(), String> {
        zip.start_file(name, options).map_err(|e| e.to_string())?;
        zip.write_all(bytes).map_err(|e| e.to_string())
    };
    put(MANIFEST, json.as_bytes())?;
    for (path, body) in &lessons {
        put(path, body.as_bytes())?;
    }
    for (name, bytes) in files {
        put(&format!("archivos/{name}"), bytes)?;
    }
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}

/// Reads a course archive (ZIP). Every problem names the file inside the archive and, for
/// the manifest, the line and column.
pub fn read_archive(bytes: &[u8]) -> Result<(CourseDraft, Vec<(String, Vec<u8>)>), String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|_| "el archivo no es un ZIP de curso válido (se espera un .zip con curso.json)".to_string())?;
    let mut entries: Vec<(String, Vec<u8>)> = Vec::new();
    let mut total = 0u64;
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).map_err(|e| format!("no se pudo leer el archivo número {} del ZIP: {e}", i + 1))?;
        if f.is_dir() {
            continue;
        }
        // Names are used only as keys, never as paths on disk.
        let name = f.name().map_err(|e| format!("el archivo número {} del ZIP tiene un nombre ilegible: {e}", i + 1))?.trim_start_matches("./").to_string();
        total += f.size();
        if total > MAX_UNPACKED {
            return Err(format!("el curso descomprimido pasa de {} MB", MAX_UNPACKED / 1024 / 1024));
        }
        let mut buf = Vec::with_capacity(f.size() as usize);
        f.read_to_end(&mut buf).map_err(|e| format!("{name}: no se pudo descomprimir: {e}"))?;
        entries.push((name, buf));
    }
    read_entries(entries)
}

/// Reads a course folder from disk (the same layout as the archive).
pub fn read_folder(dir: &std::path::Path) -> Result<(CourseDraft, Vec<(String, Vec<u8>)>), String> {
    let mut entries = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let list = std::fs::read_dir(&d).map_err(|e| format!("no se pudo leer la carpeta {}: {e}", d.display()))?;
        for entry in list {
            let path = entry.map_err(|e| e.to_string())?.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(dir).map_err(|e| e.to_string())?.to_string_lossy().replace('\\', "/");
                let bytes = std::fs::read(&path).map_err(|e| format!("no se pudo leer {name}: {e}"))?;
                entries.push((name, bytes));
            }
        }
    }
    read_entries(entries)
}

/// Reads a course from its files: (path inside the course, bytes).
pub fn read_entries(entries: Vec<(String, Vec<u8>)>) -> Result<(CourseDraft, Vec<(String, Vec<u8>)>), String> {
    // A folder zipped whole puts everything under one top folder: look through it.
    let prefix = entries
        .iter()
        .find(|(n, _)| n == MANIFEST || n.ends_with(&format!("/{MANIFEST}")))
        .map(|(n, _)| n[..n.len() - MANIFEST.len()].to_string())
        .ok_or_else(|| format!("no se encontró {MANIFEST}: el curso debe traerlo en su carpeta principal"))?;
    let inside = |n: &str| n.strip_prefix(prefix.as_str()).map(str::to_string);
    let text_of = |entries: &[(String, Vec<u8>)], path: &str| -> Result<String, String> {
        let bytes = entries.iter().find(|(n, _)| inside(n).as_deref() == Some(path)).map(|(_, b)| b).ok_or_else(|| format!("falta el archivo «{path}» que nombra {MANIFEST}"))?;
        String::from_utf8(bytes.clone()).map_err(|e| format!("«{path}» no está en UTF-8 (byte {})", e.utf8_error().valid_up_to() + 1))
    };
    let manifest = Manifest::parse(&text_of(&entries, MANIFEST)?)?;
    let draft = manifest.into_draft(|path| text_of(&entries, path))?;
    let files = entries
        .iter()
        .filter_map(|(n, b)| inside(n).and_then(|n| n.strip_prefix("archivos/").map(str::to_string)).filter(|n| !n.is_empty()).map(|n| (n, b.clone())))
        .collect();
    Ok((draft, files))
}

/// Imports a course archive as a draft, all or nothing.
pub async fn import_archive(store: &Store, actor: &Actor, bytes: &[u8], programme_id: Option<i64>) -> Result<i64, String> {
    let (draft, files) = read_archive(bytes)?;
    store.import_course(actor, &draft, &files, programme_id).await.map_err(|e| e.to_string())
}

/// A course's archive, for download.
pub async fn export_archive(store: &Store, course_id: i64) -> Result<(String, Vec<u8>), StoreError> {
    let draft = store.course_draft(course_id).await?;
    let files = store.course_files(course_id).await?;
    let bytes = write_archive(&draft, &files).map_err(StoreError::Invalid)?;
    Ok((format!("curso-{}-v{}.zip", draft.info.code.to_lowercase(), draft.version), bytes))
}

// ----- bulk enrolment -----

/// Enrols everyone in a people list (CURP, names, email, institution, municipality). The
/// list is checked whole first: any problem, and nothing is written.
pub async fn enrol_file(
    store: &Store,
    actor: &Actor,
    course_id: i64,
    cohort_id: Option<i64>,
    file_name: &str,
    bytes: &[u8],
) -> Result<(BulkEnrolment, Vec<(usize, String)>), ImportReport> {
    let table = people_import::read(file_name, bytes)?;
    let parsed = people_import::parse(store, &table, None).await?;
    if !parsed.report.is_empty() {
        return Err(parsed.report);
    }
    if parsed.rows.is_empty() {
        return Err(ImportReport::file("el archivo no tiene ninguna persona"));
    }
    let rows: Vec<EnrolmentRow> = parsed.rows.into_iter().map(|r| EnrolmentRow { learner: PersonRef::Draft(Box::new(r.draft)), completed_at: None }).collect();
    let done = store.enrol_bulk(actor, course_id, cohort_id, EnrolmentSource::Masiva, &rows).await?;
    Ok((done, parsed.skipped))
}

// ----- Moodle history -----

/// What a Moodle import did, and the rows it left out on purpose.
#[derive(Debug, Clone)]
pub struct MoodleImport {
    pub result: BulkEnrolment,
    /// (row, reason): learners who had not completed the course in Moodle.
    pub skipped: Vec<(usize, String)>,
}

const MOODLE_COLUMNS: &[&str] = &["id number", "numero de id", "email address", "direccion de correo", "course complete", "curso completo", "nombre"];

/// Reads a Moodle course-completion report (`report/completion`, CSV, in English or Spanish,
/// with or without Excel's byte-order mark): the CURP from «ID number», the name, the email
/// and the «Course complete» date. Learners who completed are enrolled with their
/// completion date; the others are listed as skipped. All or nothing.
pub async fn import_moodle(store: &Store, actor: &Actor, course_id: i64, file_name: &str, bytes: &[u8]) -> Result<MoodleImport, ImportReport> {
    let format = Format::from_path(std::path::Path::new(file_name))?;
    let table = violeta_ingest::read_table(bytes, format, MOODLE_COLUMNS)?;
    let find = |names: &[&str]| table.headers.iter().position(|h| names.iter().any(|n| violeta_ingest::normalize_header(n) == h.normalized));
    let missing = |what: &str| ImportReport::file(format!("el archivo no tiene la columna «{what}»: ¿es el informe de finalización de curso de Moodle?"));
    let curp_col = find(&["id number", "numero de id", "numero de identificacion", "curp"]).ok_or_else(|| missing("ID number"))?;
    let name_col = find(&["name", "nombre", "nombre completo"]).ok_or_else(|| missing("Name"))?;
    let email_col = find(&["email address", "direccion de correo", "direccion email", "correo electronico"]);
    let done_col = find(&["course complete", "curso completo", "curso finalizado"]).ok_or_else(|| missing("Course complete"))?;

    let mut report = ImportReport::default();
    let mut rows = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = std::collections::HashMap::new();
    for row in table.data_rows() {
        if row.is_blank() {
            continue;
        }
        let line = row.line;
        let done = row.get(done_col).trim();
        if done.is_empty() || matches!(search_key(done).as_str(), "not completed" | "no completado" | "no finalizado") {
            skipped.push((line, format!("{}: no concluyó el curso en Moodle", row.get(name_col).trim())));
            continue;
        }
        let completed_at = match parse_moodle_date(done) {
            Some(d) => d,
            None => {
                report.push(line, column_name(&table, done_col), format!("«{done}» no es una fecha de conclusión (se espera como 2025-03-04 12:53:14)"));
                continue;
            }
        };
        let (given, first, second) = people_import::split_full_name(row.get(name_col));
        let input = PersonInput {
            curp: row.get(curp_col).to_string(),
            given_names: given,
            first_surname: first,
            second_surname: second,
            email: email_col.map(|c| row.get(c).to_string()).unwrap_or_default(),
            ..Default::default()
        };
        if input.curp.trim().is_empty() {
            report.push(line, column_name(&table, curp_col), "falta la CURP (Violeta la toma del campo «ID number» de Moodle)");
            continue;
        }
        match input.validate(SexConvention::MujerHombre) {
            Ok(draft) => {
                let key = draft.curp.as_ref().map(|c| c.as_str().to_string()).unwrap_or_default();
                if let Some(first) = seen.insert(key.clone(), line) {
                    report.push(line, column_name(&table, curp_col), format!("la CURP {key} ya aparece en la fila {first}"));
                    continue;
                }
                rows.push(EnrolmentRow { learner: PersonRef::Draft(Box::new(draft)), completed_at: Some(completed_at) });
            }
            Err(errors) => {
                for e in errors {
                    let col = match e.field {
                        "curp" => column_name(&table, curp_col),
                        "email" => email_col.map(|c| column_name(&table, c)).unwrap_or_default(),
                        _ => column_name(&table, name_col),
                    };
                    report.push(line, col, e.message);
                }
            }
        }
    }
    if !report.is_empty() {
        return Err(report);
    }
    if rows.is_empty() {
        return Err(ImportReport::file("el informe no tiene ninguna persona que haya concluido el curso"));
    }
    let result = store.enrol_bulk(actor, course_id, None, EnrolmentSource::Moodle, &rows).await?;
    Ok(MoodleImport { result, skipped })
}

/// Moodle writes completion dates as «2025-03-04 12:53:14» in the site's time zone (taken
/// here as central Mexico), or as a day alone.
fn parse_moodle_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    let local = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .ok()
        .or_else(|| crate::avgm::parse_date(s).and_then(|d| d.and_hms_opt(12, 0, 0)))?;
    Some((local + chrono::Duration::hours(6)).and_utc())
}

// ----- exports -----

const REPORT_HEADERS: [&str; 4] = ["Inscripciones", "Conclusiones", "Tasa de conclusión (%)", "Clave"];

/// The completion report as CSV (UTF-8 with a BOM, so Excel reads the accents).
pub fn report_csv(dimension: &str, rows: &[violeta_store::learning::ReportRow]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record([dimension, REPORT_HEADERS[0], REPORT_HEADERS[1], REPORT_HEADERS[2], REPORT_HEADERS[3]]);
    for r in rows {
        let _ = w.write_record([r.label.clone(), r.enrolled.to_string(), r.completed.to_string(), format!("{:.1}", r.rate()), r.key.clone()]);
    }
    let mut out = vec![0xEF, 0xBB, 0xBF];
    out.extend(w.into_inner().unwrap_or_default());
    out
}

/// The completion report as XLSX, with its title and the definitions of its figures.
pub fn report_xlsx(title: &str, dimension: &str, rows: &[violeta_store::learning::ReportRow]) -> Result<Vec<u8>, String> {
    use rust_xlsxwriter::{Format, Workbook};
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    let e = |e: rust_xlsxwriter::XlsxError| e.to_string();
    sheet.set_name("Conclusión de cursos").map_err(e)?;
    let bold = Format::new().set_bold();
    sheet.write_string_with_format(0, 0, title, &bold).map_err(e)?;
    sheet.write_string(1, 0, "Inscripciones: personas inscritas en un curso (una por curso). Conclusiones: de ellas, las que concluyeron. Tasa: conclusiones entre inscripciones.").map_err(e)?;
    sheet.write_string_with_format(3, 0, dimension, &bold).map_err(e)?;
    for (c, h) in REPORT_HEADERS.iter().enumerate() {
        sheet.write_string_with_format(3, c as u16 + 1, *h, &bold).map_err(e)?;
    }
    for (i, r) in rows.iter().enumerate() {
        let row = 4 + i as u32;
        sheet.write_string(row, 0, &r.label).map_err(e)?;
        sheet.write_number(row, 1, r.enrolled as f64).map_err(e)?;
        sheet.write_number(row, 2, r.completed as f64).map_err(e)?;
        sheet.write_number(row, 3, r.rate()).map_err(e)?;
        sheet.write_string(row, 4, &r.key).map_err(e)?;
    }
    sheet.autofit();
    book.save_to_buffer().map_err(e)
}

/// Every constancia PDF of a course (or cohort) in one ZIP, named by folio and person.
pub fn constancias_zip(records: &[violeta_store::credentials::CredentialRecord], base_url: &str) -> Result<Vec<u8>, String> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for c in records {
        let pdf = crate::constancia::pdf(c, base_url)?;
        let state = if c.revoked_at.is_some() { "-revocada" } else { "" };
        zip.start_file(format!("{}{state}.pdf", c.folio), options).map_err(|e| e.to_string())?;
        zip.write_all(&pdf).map_err(|e| e.to_string())?;
    }
    Ok(zip.finish().map_err(|e| e.to_string())?.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;
    use violeta_domain::learning::{CourseInfo, ItemDraft, ModuleDraft, QuizSettings};

    fn draft() -> CourseDraft {
        CourseDraft {
            info: CourseInfo { code: "PG-1".into(), title: "Curso".into(), minutes: 120, completion_rule: Some(violeta_domain::learning::CompletionRule::Todo), ..Default::default() },
            version: 1,
            modules: vec![ModuleDraft {
                title: "Uno".into(),
                items: vec![
                    ItemDraft::Lesson { title: "Lección".into(), body: "![foto](archivos/foto.png)".into(), video_url: String::new(), required: true },
                    ItemDraft::Quiz {
                        title: "Q".into(),
                        settings: QuizSettings { pass_percent: 80, attempt_limit: None, draw_count: None },
                        required: true,
                        questions: vec![violeta_domain::learning::QuestionDraft::from_form(violeta_domain::learning::QuestionKind::VerdaderoFalso, "¿Sí?", "verdadero", "").unwrap()],
                    },
                ],
            }],
        }
    }

    #[test]
    fn an_archive_round_trips() {
        let bytes = write_archive(&draft(), &[("foto.png".into(), vec![137, 80])]).unwrap();
        let (back, files) = read_archive(&bytes).unwrap();
        assert_eq!(back, draft());
        assert_eq!(files, vec![("foto.png".to_string(), vec![137, 80])]);
    }

    #[test]
    fn a_broken_archive_says_what_is_wrong() {
        assert!(read_archive(b"no soy un zip").unwrap_err().contains("no es un ZIP"));
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        zip.start_file("curso/curso.json", zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(b"{\"formato\": \"violeta-curso/1\",\n  \"clave\": }").unwrap();
        let bytes = zip.finish().unwrap().into_inner();
        let err = read_archive(&bytes).unwrap_err();
        assert!(err.contains("línea 2"), "{err}");
    }

    #[test]
    fn moodle_dates_are_read_in_mexico_city_time() {
        let d = parse_moodle_date("2026-11-25 12:53:14").unwrap();
        assert_eq!(d.to_rfc3339(), "2026-11-25T18:53:14+00:00");
        assert!(parse_moodle_date("ayer").is_none());
    }
}
