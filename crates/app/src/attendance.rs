//! Attendance lists (the sign-in sheets units keep, in CSV or XLSX) into a training session:
//! a preview first — who is new, who is already in the registry, which rows have problems —
//! then the import, all or nothing, or only the valid rows with the others listed.

use crate::people_import;
use crate::report::{ImportReport, column_name};
use std::collections::HashSet;
use violeta_domain::audit::Actor;
use violeta_domain::person::PersonDraft;
use violeta_domain::territory::StateKey;
use violeta_domain::text::search_key;
use violeta_domain::training::AttendanceStatus;
use violeta_ingest::Table;
use violeta_store::Store;
use violeta_store::people::Progress;
use violeta_store::people::PersonRef;
use violeta_store::training::AttendanceInput;

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

/// A row whose person passed the checks, with what else it says.
struct CheckedRow {
    line: usize,
    draft: PersonDraft,
    /// `None` when the status could not be read (the row is in the report).
    status: Option<AttendanceStatus>,
    pre_score: Option<f64>,
    post_score: Option<f64>,
}

/// Everything read from a list, before it is matched against the registry.
struct Checked {
    rows: Vec<CheckedRow>,
    /// Rows whose person failed the checks: (line, name as written, CURP as written).
    failed: Vec<(usize, String, String)>,
    report: ImportReport,
    skipped: Vec<(usize, String)>,
}

/// Reads and checks a list against the domain rules and the session's dates.
async fn examine(store: &Store, training_id: i64, file_name: &str, bytes: &[u8], default_state: Option<&StateKey>) -> Result<Checked, ImportReport> {
    let (_, days) = store.training(training_id).await?;
    let table: Table = people_import::read(file_name, bytes)?;
    let extra = Extra {
        status: table.column(&["asistencia", "estatus", "estado de asistencia"]),
        date: table.column(&["fecha", "fecha de asistencia"]),
        pre: table.column(&["evaluación inicial", "pre", "pretest", "examen inicial"]),
        post: table.column(&["evaluación final", "post", "postest", "examen final"]),
    };
    let parsed = people_import::parse(store, &table, default_state).await?;
    let mut report = parsed.report;
    let session_days: HashSet<chrono::NaiveDate> = days.iter().map(|d| d.day).collect();
    let mut rows = Vec::with_capacity(parsed.rows.len());
    for row in parsed.rows {
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
            problem(extra.status, format!("«{}» no es un estado de asistencia (asistió, retardo, justificada o faltó)", status_text.trim()), &mut report);
        }
        let date_text = cells.get_opt(extra.date).trim();
        if !date_text.is_empty() {
            match crate::avgm::parse_date(date_text) {
                Some(d) if session_days.contains(&d) => {}
                Some(d) => problem(extra.date, format!("la fecha {} no es una de las fechas de la capacitación", d.format("%d/%m/%Y")), &mut report),
                None => problem(extra.date, format!("«{date_text}» no es una fecha (use DD/MM/AAAA)"), &mut report),
            }
        }
        let pre_score = score(cells.get_opt(extra.pre)).unwrap_or_else(|m| {
            problem(extra.pre, m, &mut report);
            None
        });
        let post_score = score(cells.get_opt(extra.post)).unwrap_or_else(|m| {
            problem(extra.post, m, &mut report);
            None
        });
        rows.push(CheckedRow { line: row.line, draft: row.draft, status, pre_score, post_score });
    }
    if rows.is_empty() && parsed.failed.is_empty() && report.is_empty() {
        return Err(ImportReport::file("el archivo no tiene ninguna persona"));
    }
    Ok(Checked { rows, failed: parsed.failed, report, skipped: parsed.skipped })
}

/// What the import would do, without writing anything: each row matched against the
/// registry (who is new, who is already there) and its problems.
pub async fn preview(store: &Store, training_id: i64, file_name: &str, bytes: &[u8], default_state: Option<&StateKey>) -> Result<Preview, ImportReport> {
    let checked = examine(store, training_id, file_name, bytes, default_state).await?;
    let curps: Vec<&str> = checked.rows.iter().filter_map(|r| r.draft.curp.as_ref().map(|c| c.as_str())).collect();
    let registered = store.registered_curps(&curps).await?;
    let bad = &checked.report.bad_rows;
    let mut rows: Vec<PreviewRow> = checked
        .rows
        .iter()
        .map(|r| PreviewRow {
            line: r.line,
            name: r.draft.full_name(),
            curp: r.draft.curp.as_ref().map(|c| c.to_string()).unwrap_or_default(),
            matched: match &r.draft.curp {
                None => Match::NoCurp,
                Some(c) if registered.contains(c.as_str()) => Match::Registered,
                Some(_) => Match::New,
            },
            status: r.status.map(|s| s.label()).unwrap_or("—"),
            ok: !bad.contains(&r.line),
        })
        .collect();
    for (line, name, curp) in checked.failed {
        rows.push(PreviewRow { line, name, curp, matched: Match::Unchecked, status: "—", ok: false });
    }
    rows.sort_by_key(|r| r.line);
    Ok(Preview { rows, report: checked.report, skipped: checked.skipped })
}

/// Imports the list. With `only_valid`, rows with problems are left out and listed;
/// otherwise any problem refuses the whole file. People are matched by CURP once, by the
/// store, inside the import's transaction.
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
    let checked = examine(store, training_id, file_name, bytes, default_state).await?;
    if !checked.report.is_empty() && !only_valid {
        return Err(checked.report);
    }
    let bad = &checked.report.bad_rows;
    let rows: Vec<AttendanceInput> = checked
        .rows
        .into_iter()
        .filter(|r| !bad.contains(&r.line))
        .filter_map(|r| {
            let status = r.status?;
            Some(AttendanceInput { person: PersonRef::Draft(Box::new(r.draft)), status, pre_score: r.pre_score, post_score: r.post_score })
        })
        .collect();
    if rows.is_empty() {
        return Err(if checked.report.is_empty() { ImportReport::file("no hay filas válidas que importar") } else { checked.report });
    }
    let (created, recorded) = store.record_attendance(actor, training_id, "lista", &rows, progress).await?;
    Ok(Outcome { created, recorded, left_out: bad.iter().copied().collect(), skipped: checked.skipped })
}
