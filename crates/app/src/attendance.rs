//! Attendance lists (the sign-in sheets units keep, in CSV or XLSX) into a training session:
//! a preview first — who is new, who is already in the registry, which rows have problems —
//! then the import, all or nothing, or only the valid rows with the others listed.

use crate::people_import::{self, ParsedRow};
use crate::report::{ImportReport, column_name};
use std::collections::HashSet;
use violeta_domain::audit::Actor;
use violeta_domain::territory::StateKey;
use violeta_domain::text::search_key;
use violeta_domain::training::AttendanceStatus;
use violeta_ingest::Table;
use violeta_store::Store;
use violeta_store::people::Progress;
use violeta_store::training::{AttendanceInput, PersonRef};

/// How a row's person relates to the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Match {
    /// The CURP is already registered.
    Registered,
    /// A new person, to be created.
    New,
    /// No CURP: created and flagged for a later merge.
    NoCurp,
    /// The row failed its checks: not matched.
    Unchecked,
}

impl Match {
    pub fn label(self) -> &'static str {
        match self {
            Match::Registered => "Ya registrada",
            Match::New => "Nueva",
            Match::NoCurp => "Nueva, sin CURP",
            Match::Unchecked => "Sin verificar",
        }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct PreviewRow {
    pub line: usize,
    pub name: String,
    pub curp: String,
    pub matched: Match,
    pub status: &'static str,
    pub ok: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Preview {
    pub rows: Vec<PreviewRow>,
    pub report: ImportReport,
    pub skipped: Vec<(usize, String)>,
}

impl Preview {
    pub fn valid(&self) -> usize {
        self.rows.iter().filter(|r| r.ok).count()
    }
    pub fn new_people(&self) -> usize {
        self.rows.iter().filter(|r| r.ok && r.matched != Match::Registered).count()
    }
}

#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub created: usize,
    pub recorded: usize,
    /// Rows left out because they had problems (when the user chose to import the valid ones).
    pub left_out: Vec<usize>,
    pub skipped: Vec<(usize, String)>,
}

struct Extra {
    status: Option<usize>,
    date: Option<usize>,
    pre: Option<usize>,
    post: Option<usize>,
}

fn score(s: &str) -> Result<Option<f64>, String> {
    let t = s.trim().replace(',', ".");
    if t.is_empty() {
        return Ok(None);
    }
    match t.parse::<f64>() {
        Ok(v) if (0.0..=100.0).contains(&v) => Ok(Some(v)),
        _ => Err(format!("«{}» no es una calificación entre 0 y 100", s.trim())),
    }
}

/// Reads, checks and matches a list against the registry and the session's dates.
async fn examine(store: &Store, training_id: i64, file_name: &str, bytes: &[u8], default_state: Option<&StateKey>) -> Result<(Preview, Vec<(ParsedRow, AttendanceInput)>), ImportReport> {
    let (_, days) = store.training(training_id).await?;
    let table: Table = people_import::read(file_name, bytes)?;
    let extra = Extra {
        status: table.column(&["asistencia", "estatus", "estado de asistencia"]),
        date: table.column(&["fecha", "fecha de asistencia"]),
        pre: table.column(&["evaluación inicial", "pre", "pretest", "examen inicial"]),
        post: table.column(&["evaluación final", "post", "postest", "examen final"]),
    };
    let mut parsed = people_import::parse(store, &table, default_state).await?;
    let session_days: HashSet<chrono::NaiveDate> = days.iter().map(|d| d.day).collect();
    let curps: Vec<&str> = parsed.rows.iter().filter_map(|r| r.draft.curp.as_ref().map(|c| c.as_str())).collect();
    let registered = store.registered_curps(&curps).await?;
    let mut good = Vec::new();
    let mut preview = Preview::default();
    for row in parsed.rows.drain(..) {
        let cells = &table.rows[row.index];
        let problem = |col: Option<usize>, msg: String, report: &mut ImportReport| {
            report.push(row.line, col.map(|c| column_name(&table, c)).unwrap_or_default(), msg);
        };
        let status_text = cells.get_opt(extra.status);
        let status = if status_text.trim().is_empty() {
            Some(AttendanceStatus::Asistio)
        } else {
            match search_key(status_text).as_str() {
                "si" | "x" | "presente" | "asistio" | "asistencia" => Some(AttendanceStatus::Asistio),
                "no" | "ausente" | "falta" | "falto" => Some(AttendanceStatus::Falto),
                _ => AttendanceStatus::parse(status_text),
            }
        };
        if status.is_none() {
            problem(extra.status, format!("«{}» no es un estado de asistencia (asistió, retardo, justificada o faltó)", status_text.trim()), &mut parsed.report);
        }
        let date_text = cells.get_opt(extra.date).trim();
        if !date_text.is_empty() {
            match crate::avgm::parse_date(date_text) {
                Some(d) if session_days.contains(&d) => {}
                Some(d) => problem(extra.date, format!("la fecha {} no es una de las fechas de la capacitación", d.format("%d/%m/%Y")), &mut parsed.report),
                None => problem(extra.date, format!("«{date_text}» no es una fecha (use DD/MM/AAAA)"), &mut parsed.report),
            }
        }
        let pre = score(cells.get_opt(extra.pre)).unwrap_or_else(|m| {
            problem(extra.pre, m, &mut parsed.report);
            None
        });
        let post = score(cells.get_opt(extra.post)).unwrap_or_else(|m| {
            problem(extra.post, m, &mut parsed.report);
            None
        });
        let matched = match &row.draft.curp {
            None => Match::NoCurp,
            Some(c) if registered.contains(c.as_str()) => Match::Registered,
            Some(_) => Match::New,
        };
        let ok = !parsed.report.bad_rows.contains(&row.line);
        preview.rows.push(PreviewRow {
            line: row.line,
            name: row.draft.full_name(),
            curp: row.draft.curp.as_ref().map(|c| c.to_string()).unwrap_or_default(),
            matched,
            status: status.map(|s| s.label()).unwrap_or("—"),
            ok,
        });
        if let Some(status) = status {
            let input = AttendanceInput { person: PersonRef::Draft(Box::new(row.draft.clone())), status, pre_score: pre, post_score: post };
            good.push((row, input));
        }
    }
    for (line, name, curp) in parsed.failed.drain(..) {
        preview.rows.push(PreviewRow { line, name, curp, matched: Match::Unchecked, status: "—", ok: false });
    }
    preview.rows.sort_by_key(|r| r.line);
    preview.report = parsed.report;
    preview.skipped = parsed.skipped;
    if preview.rows.is_empty() && preview.report.is_empty() {
        return Err(ImportReport::file("el archivo no tiene ninguna persona"));
    }
    Ok((preview, good))
}

/// What the import would do, without writing anything.
pub async fn preview(store: &Store, training_id: i64, file_name: &str, bytes: &[u8], default_state: Option<&StateKey>) -> Result<Preview, ImportReport> {
    Ok(examine(store, training_id, file_name, bytes, default_state).await?.0)
}

/// Imports the list. With `only_valid`, rows with problems are left out and listed;
/// otherwise any problem refuses the whole file.
pub async fn import(
    store: &Store,
    actor: &Actor,
    training_id: i64,
    file_name: &str,
    bytes: &[u8],
    default_state: Option<&StateKey>,
    only_valid: bool,
    progress: Progress<'_>,
) -> Result<Outcome, ImportReport> {
    let (preview, good) = examine(store, training_id, file_name, bytes, default_state).await?;
    if !preview.report.is_empty() && !only_valid {
        return Err(preview.report);
    }
    let bad = &preview.report.bad_rows;
    let rows: Vec<AttendanceInput> = good.into_iter().filter(|(r, _)| !bad.contains(&r.line)).map(|(_, a)| a).collect();
    if rows.is_empty() {
        return Err(if preview.report.is_empty() { ImportReport::file("no hay filas válidas que importar") } else { preview.report });
    }
    let (created, recorded) = store.record_attendance(actor, training_id, "lista", &rows, progress).await?;
    Ok(Outcome { created, recorded, left_out: bad.iter().copied().collect(), skipped: preview.skipped })
}
