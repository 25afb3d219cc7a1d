//! Competency certification in CONOCER standards: the standards catalogue (seeded from
//! `data/conocer/estandares.csv`), cohorts, candidates' processes with their history, the
//! renewals due and the counts. Violeta records official certificates; it never issues one.
//!
//! Processes are about people, so every read of them is narrowed by [`PeopleScope`] in SQL
//! (an enlace sees only its institution's candidates; anyone else is "not found").
//! The rules for each step are the domain's (`violeta_domain::certification`).

use crate::audit::{Event, append};
use crate::people::{SCOPE_SQL, scope_bind};
use crate::{Result, Store, StoreError, Tx, now, on_pool, on_tx};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use violeta_domain::access::PeopleScope;
use violeta_domain::audit::Actor;
use violeta_domain::certification::{Certificate, Evaluation, Outcome, Stage, StandardDraft, StandardInput, expires_on, renewal_horizon};

/// The catalogue shipped with Violeta: only standards whose official title was confirmed
/// from a public source (see `data/conocer/SOURCE.md`).
const STANDARDS_CSV: &str = include_str!("../../../data/conocer/estandares.csv");

// ----- types -----

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Standard {
    pub id: i64,
    pub code: String,
    pub title: String,
    pub level: Option<i64>,
    pub valid_years: Option<i64>,
    pub source: String,
    pub active: bool,
}

#[derive(Debug, Clone)]
pub struct NewCohort {
    pub standard_id: i64,
    pub name: String,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub institution_ids: Vec<i64>,
    pub notes: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Cohort {
    pub id: i64,
    pub standard_id: i64,
    pub standard_code: String,
    pub name: String,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
    pub notes: String,
    /// The institutions' names, separated by commas.
    pub institutions: String,
    /// Candidates within the reader's scope.
    pub candidates: i64,
}

#[derive(Debug, Clone)]
pub struct NewProcess {
    pub person_id: i64,
    pub standard_id: i64,
    pub cohort_id: Option<i64>,
    pub diagnosis_on: Option<NaiveDate>,
    pub note: String,
}

/// A step to alineación or evaluación (the evaluation and the certificate have their own).
#[derive(Debug, Clone, Default)]
pub struct Step {
    /// The alignment training, as a session in Violeta…
    pub alignment_session_id: Option<i64>,
    /// …or described.
    pub alignment_note: String,
    pub note: String,
}

/// A process with its person, standard and cohort.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Process {
    pub id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub curp: Option<String>,
    pub institution_id: Option<i64>,
    pub institution: Option<String>,
    pub standard_id: i64,
    pub standard_code: String,
    pub standard_title: String,
    pub valid_years: Option<i64>,
    pub cohort_id: Option<i64>,
    pub cohort: Option<String>,
    pub stage: String,
    pub attempt: i64,
    pub diagnosis_on: Option<NaiveDate>,
    pub alignment_session_id: Option<i64>,
    pub alignment_session: Option<String>,
    pub alignment_note: String,
    pub evaluator_user_id: Option<i64>,
    pub evaluator_name: String,
    pub evaluated_on: Option<NaiveDate>,
    pub portfolio: String,
    pub result: Option<String>,
    pub certificate_folio: Option<String>,
    pub certified_on: Option<NaiveDate>,
    pub certifying_entity: String,
    pub expires_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Process {
    pub fn stage(&self) -> Option<Stage> {
        Stage::parse(&self.stage)
    }
    pub fn stage_label(&self) -> &'static str {
        self.stage().map(|s| s.label()).unwrap_or("")
    }
    pub fn outcome(&self) -> Option<Outcome> {
        self.result.as_deref().and_then(Outcome::parse)
    }
    pub fn result_label(&self) -> &'static str {
        self.outcome().map(|o| o.label()).unwrap_or("—")
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct ProcessEvent {
    pub stage: String,
    pub at: DateTime<Utc>,
    pub by_label: String,
    pub note: String,
}

impl ProcessEvent {
    pub fn stage_label(&self) -> &'static str {
        Stage::parse(&self.stage).map(|s| s.label()).unwrap_or("")
    }
}

#[derive(Debug, Clone, Default)]
pub struct ProcessFilter {
    pub standard_id: Option<i64>,
    pub cohort_id: Option<i64>,
    pub stage: Option<Stage>,
    pub institution_id: Option<i64>,
}

/// A certificate that is due for renewal (expires within the window) or expired, with no
/// later certificate in the same standard.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Renewal {
    pub process_id: i64,
    pub person_id: i64,
    pub person_name: String,
    pub institution: Option<String>,
    pub standard_id: i64,
    pub standard_code: String,
    pub certificate_folio: Option<String>,
    pub certified_on: Option<NaiveDate>,
    pub expires_on: NaiveDate,
    /// Open processes of the same person in the same standard: a renewal under way.
    pub renewals_open: i64,
}

/// A period of certification dates (either end open).
#[derive(Debug, Clone, Copy, Default)]
pub struct Period {
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// Per standard: people certified in the period, and open processes now.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct StandardCount {
    pub standard_id: i64,
    pub code: String,
    pub title: String,
    pub active: bool,
    /// Distinct people with a certificate dated in the period.
    pub certified_people: i64,
    /// Processes not yet certified.
    pub open_processes: i64,
}

/// People certified per institution (of the person), in the period.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct InstitutionCount {
    pub institution_id: Option<i64>,
    pub institution: Option<String>,
    pub certified_people: i64,
}

const PROCESS_SELECT: &str = "SELECT cp.id, cp.person_id, TRIM(p.given_names || ' ' || p.first_surname || ' ' || p.second_surname) AS person_name, \
    p.curp, p.institution_id, i.name AS institution, cp.standard_id, s.code AS standard_code, s.title AS standard_title, s.valid_years, \
    cp.cohort_id, c.name AS cohort, cp.stage, cp.attempt, cp.diagnosis_on, cp.alignment_session_id, ts.title AS alignment_session, \
    cp.alignment_note, cp.evaluator_user_id, cp.evaluator_name, cp.evaluated_on, cp.portfolio, cp.result, cp.certificate_folio, \
    cp.certified_on, cp.certifying_entity, cp.expires_on, cp.created_at, cp.updated_at \
    FROM certification_processes cp JOIN people p ON p.id = cp.person_id LEFT JOIN institutions i ON i.id = p.institution_id \
    JOIN competency_standards s ON s.id = cp.standard_id LEFT JOIN certification_cohorts c ON c.id = cp.cohort_id \
    LEFT JOIN training_sessions ts ON ts.id = cp.alignment_session_id";

const STANDARD_SELECT: &str = "SELECT id, code, title, level, valid_years, source, active FROM competency_standards";

fn not_found() -> StoreError {
    StoreError::NotFound("no existe ese proceso de certificación".into())
}

// ----- seed -----

/// Loads the shipped catalogue when the table is empty (first migration). Several processes
/// may start on a fresh PostgreSQL database at once: the table lock makes one load and the
/// others find it loaded; SQLite's `BEGIN IMMEDIATE` already serialises them.
pub(crate) async fn seed_standards(store: &Store) -> Result<()> {
    let loaded: i64 = on_pool!(store, |p| sqlx::query_scalar("SELECT COUNT(*) FROM competency_standards").fetch_one(p).await?);
    if loaded > 0 {
        return Ok(());
    }
    let drafts = shipped_standards()?;
    let mut tx = store.begin().await?;
    if store.backend() == crate::Backend::Postgres {
        on_tx!(&mut tx, |c| sqlx::query("LOCK TABLE competency_standards IN EXCLUSIVE MODE").execute(c).await?.rows_affected());
    }
    let loaded: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM competency_standards").fetch_one(c).await?);
    if loaded > 0 {
        return Ok(());
    }
    for d in &drafts {
        upsert_standard(&mut tx, d).await?;
    }
    tx.commit().await
}

/// The catalogue embedded from `data/conocer/estandares.csv`, checked like any import.
pub fn shipped_standards() -> Result<Vec<StandardDraft>> {
    let bad = |m: String| StoreError::Invalid(format!("catálogo de estándares CONOCER dañado: {m}"));
    let mut reader = csv::Reader::from_reader(STANDARDS_CSV.as_bytes());
    let mut out = Vec::new();
    for record in reader.records() {
        let r = record.map_err(|e| bad(e.to_string()))?;
        let field = |i: usize| r.get(i).unwrap_or("").to_string();
        let input = StandardInput { code: field(0), title: field(1), level: field(2), valid_years: field(3), source: field(4), active: String::new() };
        let draft = input.validate().map_err(|errors| bad(errors.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join("; ")))?;
        out.push(draft);
    }
    Ok(out)
}

/// Inserts or updates a standard by its code. Returns (id, created).
async fn upsert_standard(tx: &mut Tx, d: &StandardDraft) -> Result<(i64, bool)> {
    if d.title.trim().is_empty() || d.source.trim().is_empty() {
        return Err(StoreError::Invalid(format!("el estándar {} necesita su título oficial y la fuente donde se confirmó", d.code)));
    }
    let existing: Option<(i64, Option<i64>)> = on_tx!(tx, |c| sqlx::query_as("SELECT id, valid_years FROM competency_standards WHERE code = $1")
        .bind(d.code.as_str())
        .fetch_optional(c)
        .await?);
    match existing {
        Some((id, old_years)) => {
            on_tx!(tx, |c| sqlx::query(
                "UPDATE competency_standards SET title = $1, level = $2, valid_years = $3, source = $4, active = $5, updated_at = $6 WHERE id = $7"
            )
            .bind(&d.title)
            .bind(d.level)
            .bind(d.valid_years)
            .bind(&d.source)
            .bind(d.active)
            .bind(now())
            .bind(id)
            .execute(c)
            .await?
            .rows_affected());
            if old_years != d.valid_years {
                recompute_expiry(tx, id, d.valid_years).await?;
            }
            Ok((id, false))
        }
        None => {
            let id: i64 = on_tx!(tx, |c| sqlx::query_scalar(
                "INSERT INTO competency_standards (code, title, level, valid_years, source, active, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id"
            )
            .bind(d.code.as_str())
            .bind(&d.title)
            .bind(d.level)
            .bind(d.valid_years)
            .bind(&d.source)
            .bind(d.active)
            .bind(now())
            .fetch_one(c)
            .await?);
            Ok((id, true))
        }
    }
}

/// A corrected validity applies to the certificates already recorded in the standard.
async fn recompute_expiry(tx: &mut Tx, standard_id: i64, valid_years: Option<i64>) -> Result<()> {
    let certified: Vec<(i64, NaiveDate)> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT id, certified_on FROM certification_processes WHERE standard_id = $1 AND stage = 'certificado' AND certified_on IS NOT NULL"
    )
    .bind(standard_id)
    .fetch_all(c)
    .await?);
    for (id, on) in certified {
        on_tx!(tx, |c| sqlx::query("UPDATE certification_processes SET expires_on = $1 WHERE id = $2")
            .bind(expires_on(on, valid_years))
            .bind(id)
            .execute(c)
            .await?
            .rows_affected());
    }
    Ok(())
}

async fn insert_event(tx: &mut Tx, process_id: i64, stage: Stage, actor: &Actor, note: &str) -> Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO certification_events (process_id, stage, at, by_user_id, by_label, note) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(process_id)
    .bind(stage.code())
    .bind(now())
    .bind(actor.user_id)
    .bind(&actor.label)
    .bind(note.trim())
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

/// The state of a process a step is checked against, read inside the step's transaction.
#[derive(sqlx::FromRow)]
struct Current {
    stage: String,
    attempt: i64,
    diagnosis_on: Option<NaiveDate>,
    evaluated_on: Option<NaiveDate>,
    evaluator_name: String,
    result: Option<String>,
    standard_id: i64,
    code: String,
    valid_years: Option<i64>,
}

async fn current(tx: &mut Tx, id: i64) -> Result<Current> {
    let row: Option<Current> = on_tx!(tx, |c| sqlx::query_as(
        "SELECT cp.stage, cp.attempt, cp.diagnosis_on, cp.evaluated_on, cp.evaluator_name, cp.result, cp.standard_id, s.code, s.valid_years \
         FROM certification_processes cp JOIN competency_standards s ON s.id = cp.standard_id WHERE cp.id = $1"
    )
    .bind(id)
    .fetch_optional(c)
    .await?);
    row.ok_or_else(not_found)
}

fn stage_of(code: &str) -> Result<Stage> {
    Stage::parse(code).ok_or_else(|| StoreError::Invalid(format!("etapa desconocida «{code}»")))
}

fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

fn with_note(auto: String, note: &str) -> String {
    match note.trim() {
        "" => auto,
        n => format!("{auto}. {n}"),
    }
}

impl Store {
    // ----- standards -----

    pub async fn standards(&self) -> Result<Vec<Standard>> {
        let sql = format!("{STANDARD_SELECT} ORDER BY code");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).fetch_all(p).await?))
    }

    pub async fn standard(&self, id: i64) -> Result<Standard> {
        let sql = format!("{STANDARD_SELECT} WHERE id = $1");
        let s: Option<Standard> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?);
        s.ok_or_else(|| StoreError::NotFound("no existe ese estándar de competencia".into()))
    }

    pub async fn standard_by_code(&self, code: &str) -> Result<Option<Standard>> {
        let sql = format!("{STANDARD_SELECT} WHERE code = $1");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(code).fetch_optional(p).await?))
    }

    pub async fn create_standard(&self, actor: &Actor, d: &StandardDraft) -> Result<i64> {
        let mut tx = self.begin().await?;
        let exists: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT id FROM competency_standards WHERE code = $1")
            .bind(d.code.as_str())
            .fetch_optional(c)
            .await?);
        if exists.is_some() {
            return Err(StoreError::Conflict(format!("el estándar {} ya está en el catálogo", d.code)));
        }
        let (id, _) = upsert_standard(&mut tx, d).await?;
        append(&mut tx, actor, Event::new("certificacion.estandar.crear", "estandar_competencia", id).with(serde_json::json!({"clave": d.code}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Updates a standard's title, level, validity, source and state (the code stays). A
    /// changed validity moves the expiry of the certificates already recorded.
    pub async fn update_standard(&self, actor: &Actor, id: i64, d: &StandardDraft) -> Result<()> {
        let mut tx = self.begin().await?;
        let code: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT code FROM competency_standards WHERE id = $1")
            .bind(id)
            .fetch_optional(c)
            .await?);
        let code = code.ok_or_else(|| StoreError::NotFound("no existe ese estándar de competencia".into()))?;
        if code != d.code.as_str() {
            return Err(StoreError::Invalid(format!("la clave de un estándar no cambia: este es {code}; registre {} como otro estándar", d.code)));
        }
        upsert_standard(&mut tx, d).await?;
        append(&mut tx, actor, Event::new("certificacion.estandar.editar", "estandar_competencia", id).with(serde_json::json!({"clave": code}))).await?;
        tx.commit().await
    }

    /// Removes a standard nobody uses yet (no cohort, no process); otherwise mark it inactive.
    pub async fn delete_standard(&self, actor: &Actor, id: i64) -> Result<()> {
        let mut tx = self.begin().await?;
        let used: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT (SELECT COUNT(*) FROM certification_processes WHERE standard_id = $1) + (SELECT COUNT(*) FROM certification_cohorts WHERE standard_id = $1)"
        )
        .bind(id)
        .fetch_one(c)
        .await?);
        if used > 0 {
            return Err(StoreError::Conflict("el estándar ya tiene grupos o procesos: márquelo como inactivo en lugar de eliminarlo".into()));
        }
        let code: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar("DELETE FROM competency_standards WHERE id = $1 RETURNING code")
            .bind(id)
            .fetch_optional(c)
            .await?);
        let code = code.ok_or_else(|| StoreError::NotFound("no existe ese estándar de competencia".into()))?;
        append(&mut tx, actor, Event::new("certificacion.estandar.eliminar", "estandar_competencia", id).with(serde_json::json!({"clave": code}))).await?;
        tx.commit().await
    }

    /// Imports standards all or nothing: new codes are created, known codes updated.
    /// Returns (created, updated).
    pub async fn import_standards(&self, actor: &Actor, drafts: &[StandardDraft]) -> Result<(usize, usize)> {
        let mut tx = self.begin().await?;
        let (mut created, mut updated) = (0, 0);
        for d in drafts {
            match upsert_standard(&mut tx, d).await? {
                (_, true) => created += 1,
                (_, false) => updated += 1,
            }
        }
        append(
            &mut tx,
            actor,
            Event::new("certificacion.estandar.importar", "estandar_competencia", "*").with(serde_json::json!({"creados": created, "actualizados": updated})),
        )
        .await?;
        tx.commit().await?;
        Ok((created, updated))
    }

    // ----- cohorts -----

    pub async fn create_cohort(&self, actor: &Actor, c: &NewCohort) -> Result<i64> {
        let name = violeta_domain::text::clean(&c.name);
        if name.is_empty() {
            return Err(StoreError::Invalid("el grupo necesita un nombre".into()));
        }
        if let (Some(s), Some(e)) = (c.starts_on, c.ends_on)
            && e < s
        {
            return Err(StoreError::Invalid("la fecha de término del grupo es anterior a la de inicio".into()));
        }
        let mut tx = self.begin().await?;
        let active: Option<bool> = on_tx!(&mut tx, |conn| sqlx::query_scalar("SELECT active FROM competency_standards WHERE id = $1")
            .bind(c.standard_id)
            .fetch_optional(conn)
            .await?);
        match active {
            None => return Err(StoreError::NotFound("no existe ese estándar de competencia".into())),
            Some(false) => return Err(StoreError::Invalid("el estándar está inactivo: no admite grupos nuevos".into())),
            Some(true) => {}
        }
        let inserted: std::result::Result<i64, sqlx::Error> = on_tx!(&mut tx, |conn| sqlx::query_scalar(
            "INSERT INTO certification_cohorts (standard_id, name, starts_on, ends_on, notes, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
        )
        .bind(c.standard_id)
        .bind(&name)
        .bind(c.starts_on)
        .bind(c.ends_on)
        .bind(c.notes.trim())
        .bind(now())
        .fetch_one(conn)
        .await);
        let id = inserted.map_err(|e| match StoreError::from(e) {
            e if e.is_unique_violation() => StoreError::Conflict(format!("ya existe el grupo «{name}» en este estándar")),
            e => e,
        })?;
        let mut institutions = c.institution_ids.clone();
        institutions.sort_unstable();
        institutions.dedup();
        for inst in &institutions {
            let found: Option<i64> = on_tx!(&mut tx, |conn| sqlx::query_scalar("SELECT id FROM institutions WHERE id = $1")
                .bind(inst)
                .fetch_optional(conn)
                .await?);
            if found.is_none() {
                return Err(StoreError::Invalid(format!("no existe la institución {inst}")));
            }
            on_tx!(&mut tx, |conn| sqlx::query("INSERT INTO certification_cohort_institutions (cohort_id, institution_id) VALUES ($1, $2)")
                .bind(id)
                .bind(inst)
                .execute(conn)
                .await?
                .rows_affected());
        }
        append(
            &mut tx,
            actor,
            Event::new("certificacion.grupo.crear", "grupo_certificacion", id).with(serde_json::json!({"estandar": c.standard_id, "instituciones": institutions})),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Cohorts (of one standard, or all), with their candidates within `scope`.
    pub async fn cohorts(&self, scope: PeopleScope, standard_id: Option<i64>) -> Result<Vec<Cohort>> {
        let (mode, inst) = scope_bind(scope);
        let sql = format!(
            "SELECT c.id, c.standard_id, s.code AS standard_code, c.name, c.starts_on, c.ends_on, c.notes, \
             COALESCE((SELECT STRING_AGG(i.name, ', ') FROM certification_cohort_institutions ci JOIN institutions i ON i.id = ci.institution_id \
                       WHERE ci.cohort_id = c.id), '') AS institutions, \
             (SELECT COUNT(*) FROM certification_processes cp JOIN people p ON p.id = cp.person_id WHERE cp.cohort_id = c.id AND {SCOPE_SQL}) AS candidates \
             FROM certification_cohorts c JOIN competency_standards s ON s.id = c.standard_id \
             WHERE ($3 IS NULL OR c.standard_id = $3) ORDER BY c.starts_on DESC, c.name"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(mode).bind(inst).bind(standard_id).fetch_all(p).await?))
    }

    // ----- processes -----

    /// Opens a process at diagnóstico. A person has at most one open process per standard.
    pub async fn open_process(&self, actor: &Actor, n: &NewProcess) -> Result<i64> {
        let mut tx = self.begin().await?;
        let person: Option<Option<i64>> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT merged_into FROM people WHERE id = $1")
            .bind(n.person_id)
            .fetch_optional(c)
            .await?);
        match person {
            None => return Err(StoreError::NotFound("no existe esa persona".into())),
            Some(Some(_)) => return Err(StoreError::Invalid("ese registro se fusionó con otro: abra el proceso en el registro vigente".into())),
            Some(None) => {}
        }
        let standard: Option<(String, bool)> = on_tx!(&mut tx, |c| sqlx::query_as("SELECT code, active FROM competency_standards WHERE id = $1")
            .bind(n.standard_id)
            .fetch_optional(c)
            .await?);
        let code = match standard {
            None => return Err(StoreError::NotFound("no existe ese estándar de competencia".into())),
            Some((code, false)) => return Err(StoreError::Invalid(format!("el estándar {code} está inactivo: no admite procesos nuevos"))),
            Some((code, true)) => code,
        };
        if let Some(cohort) = n.cohort_id {
            let of: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT standard_id FROM certification_cohorts WHERE id = $1")
                .bind(cohort)
                .fetch_optional(c)
                .await?);
            match of {
                None => return Err(StoreError::NotFound("no existe ese grupo".into())),
                Some(s) if s != n.standard_id => return Err(StoreError::Invalid(format!("el grupo elegido no es del estándar {code}"))),
                Some(_) => {}
            }
        }
        let open: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT stage FROM certification_processes WHERE person_id = $1 AND standard_id = $2 AND stage <> 'certificado'"
        )
        .bind(n.person_id)
        .bind(n.standard_id)
        .fetch_optional(c)
        .await?);
        let already = |stage: &str| {
            StoreError::Conflict(format!(
                "la persona ya tiene un proceso abierto en {code} (en «{}»); continúe ese proceso",
                Stage::parse(stage).map(|s| s.label()).unwrap_or(stage)
            ))
        };
        if let Some(stage) = open {
            return Err(already(&stage));
        }
        let t = now();
        let inserted: std::result::Result<i64, sqlx::Error> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "INSERT INTO certification_processes (person_id, standard_id, cohort_id, stage, diagnosis_on, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id"
        )
        .bind(n.person_id)
        .bind(n.standard_id)
        .bind(n.cohort_id)
        .bind(Stage::Diagnostico.code())
        .bind(n.diagnosis_on)
        .bind(t)
        .fetch_one(c)
        .await);
        let id = inserted.map_err(|e| match StoreError::from(e) {
            e if e.is_unique_violation() => already(Stage::Diagnostico.code()),
            e => e,
        })?;
        let auto = match n.diagnosis_on {
            Some(d) => format!("Proceso abierto; diagnóstico del {}", date(d)),
            None => "Proceso abierto".to_string(),
        };
        insert_event(&mut tx, id, Stage::Diagnostico, actor, &with_note(auto, &n.note)).await?;
        append(
            &mut tx,
            actor,
            Event::new("certificacion.proceso.abrir", "proceso_certificacion", id).with(serde_json::json!({"persona": n.person_id, "estandar": code})),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Moves a process to alineación or evaluación, in order. From "todavía no competente",
    /// alineación starts a new attempt (the last evaluation stays in the history).
    pub async fn advance_process(&self, actor: &Actor, id: i64, to: Stage, step: &Step) -> Result<()> {
        let mut tx = self.begin().await?;
        let cur = current(&mut tx, id).await?;
        let from = stage_of(&cur.stage)?;
        match to {
            Stage::Certificado => {
                return Err(StoreError::Invalid(match from.check_move(to) {
                    Err(m) => m,
                    Ok(()) => "el certificado se registra con su folio, fecha y entidad certificadora".into(),
                }));
            }
            Stage::TodaviaNoCompetente => {
                return Err(StoreError::Invalid(match from.check_move(to) {
                    Err(m) => m,
                    Ok(()) => "el resultado «Todavía no competente» se registra con la evaluación".into(),
                }));
            }
            _ => from.check_move(to).map_err(StoreError::Invalid)?,
        }
        if let Some(session) = step.alignment_session_id {
            let found: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT id FROM training_sessions WHERE id = $1")
                .bind(session)
                .fetch_optional(c)
                .await?);
            if found.is_none() {
                return Err(StoreError::Invalid(format!("no existe la capacitación {session}")));
            }
        }
        let new_attempt = from == Stage::TodaviaNoCompetente && to == Stage::Alineacion;
        let attempt = if new_attempt { cur.attempt + 1 } else { cur.attempt };
        let set_alignment = to == Stage::Alineacion;
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE certification_processes SET stage = $1, attempt = $2, updated_at = $3, \
             alignment_session_id = CASE WHEN $4 THEN $5 ELSE alignment_session_id END, \
             alignment_note = CASE WHEN $4 THEN $6 ELSE alignment_note END, \
             evaluator_user_id = CASE WHEN $7 THEN NULL ELSE evaluator_user_id END, \
             evaluator_name = CASE WHEN $7 THEN '' ELSE evaluator_name END, \
             evaluated_on = CASE WHEN $7 THEN NULL ELSE evaluated_on END, \
             result = CASE WHEN $7 THEN NULL ELSE result END, \
             portfolio = CASE WHEN $7 THEN '' ELSE portfolio END \
             WHERE id = $8"
        )
        .bind(to.code())
        .bind(attempt)
        .bind(now())
        .bind(set_alignment)
        .bind(step.alignment_session_id)
        .bind(step.alignment_note.trim())
        .bind(new_attempt)
        .bind(id)
        .execute(c)
        .await?
        .rows_affected());
        let auto = if new_attempt {
            format!("Nuevo intento (número {attempt}); la evaluación anterior de {} del {} queda en este historial", cur.evaluator_name, cur.evaluated_on.map(date).unwrap_or_default())
        } else {
            format!("Pasa a {}", to.label().to_lowercase())
        };
        insert_event(&mut tx, id, to, actor, &with_note(auto, &step.note)).await?;
        append(
            &mut tx,
            actor,
            Event::new("certificacion.proceso.avanzar", "proceso_certificacion", id)
                .with(serde_json::json!({"de": from.code(), "a": to.code(), "intento": attempt, "estandar": cur.code})),
        )
        .await?;
        tx.commit().await
    }

    /// Records the evaluation of a process in evaluación. "Todavía no competente" closes the
    /// attempt; "competente" waits for the certificate.
    pub async fn record_evaluation(&self, actor: &Actor, id: i64, e: &Evaluation, note: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let cur = current(&mut tx, id).await?;
        let from = stage_of(&cur.stage)?;
        e.check(from, cur.diagnosis_on).map_err(StoreError::Invalid)?;
        if cur.result.is_some() {
            return Err(StoreError::Conflict(format!(
                "la evaluación de este intento ya está registrada ({}); no se registra dos veces",
                cur.result.as_deref().and_then(Outcome::parse).map(|o| o.label()).unwrap_or("")
            )));
        }
        if let Some(user) = e.evaluator_user_id {
            let found: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT id FROM users WHERE id = $1").bind(user).fetch_optional(c).await?);
            if found.is_none() {
                return Err(StoreError::Invalid("no existe la cuenta de la persona evaluadora".into()));
            }
        }
        let next = e.next_stage();
        let outcome = e.outcome.expect("checked");
        on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE certification_processes SET evaluator_user_id = $1, evaluator_name = $2, evaluated_on = $3, result = $4, portfolio = $5, \
             stage = $6, updated_at = $7 WHERE id = $8"
        )
        .bind(e.evaluator_user_id)
        .bind(violeta_domain::text::clean(&e.evaluator_name))
        .bind(e.evaluated_on)
        .bind(outcome.code())
        .bind(e.portfolio.trim())
        .bind(next.code())
        .bind(now())
        .bind(id)
        .execute(c)
        .await?
        .rows_affected());
        let auto = format!(
            "Evaluación del {}: {} (evaluó {})",
            e.evaluated_on.map(date).unwrap_or_default(),
            outcome.label(),
            violeta_domain::text::clean(&e.evaluator_name)
        );
        insert_event(&mut tx, id, next, actor, &with_note(auto, note)).await?;
        append(
            &mut tx,
            actor,
            Event::new("certificacion.proceso.evaluacion", "proceso_certificacion", id)
                .with(serde_json::json!({"resultado": outcome.code(), "evaluador": e.evaluator_user_id, "estandar": cur.code})),
        )
        .await?;
        tx.commit().await
    }

    /// Records the official certificate: folio (unique), date and certifying entity, on a
    /// process whose evaluation is "competente". Its expiry follows the standard's validity.
    pub async fn record_certificate(&self, actor: &Actor, id: i64, cert: &Certificate, note: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let cur = current(&mut tx, id).await?;
        let from = stage_of(&cur.stage)?;
        let outcome = cur.result.as_deref().and_then(Outcome::parse);
        cert.check(from, outcome, cur.evaluated_on).map_err(StoreError::Invalid)?;
        if cur.evaluator_name.trim().is_empty() {
            return Err(StoreError::Invalid("falta la persona evaluadora en la evaluación registrada".into()));
        }
        let folio = cert.normalized_folio();
        let duplicate = || StoreError::Conflict(format!("el folio {folio} ya está registrado en otro certificado; revise el número"));
        let taken: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT id FROM certification_processes WHERE certificate_folio = $1")
            .bind(&folio)
            .fetch_optional(c)
            .await?);
        if taken.is_some() {
            return Err(duplicate());
        }
        let certified_on = cert.certified_on.expect("checked");
        let expires = expires_on(certified_on, cur.valid_years);
        let updated: std::result::Result<u64, sqlx::Error> = on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE certification_processes SET stage = $1, certificate_folio = $2, certified_on = $3, certifying_entity = $4, \
             expires_on = $5, updated_at = $6 WHERE id = $7"
        )
        .bind(Stage::Certificado.code())
        .bind(&folio)
        .bind(certified_on)
        .bind(violeta_domain::text::clean(&cert.certifying_entity))
        .bind(expires)
        .bind(now())
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()));
        updated.map_err(|e| match StoreError::from(e) {
            e if e.is_unique_violation() => duplicate(),
            e => e,
        })?;
        let auto = format!(
            "Certificado con folio {folio} del {}, emitido por {}{}",
            date(certified_on),
            violeta_domain::text::clean(&cert.certifying_entity),
            expires.map(|d| format!("; vence el {}", date(d))).unwrap_or_default()
        );
        insert_event(&mut tx, id, Stage::Certificado, actor, &with_note(auto, note)).await?;
        append(
            &mut tx,
            actor,
            Event::new("certificacion.proceso.certificado", "proceso_certificacion", id)
                .with(serde_json::json!({"folio": folio, "estandar": cur.code, "estandar_id": cur.standard_id})),
        )
        .await?;
        tx.commit().await
    }

    /// One process, if its person is within `scope` (otherwise "not found").
    pub async fn process(&self, scope: PeopleScope, id: i64) -> Result<Process> {
        let (mode, inst) = scope_bind(scope);
        let sql = format!("{PROCESS_SELECT} WHERE {SCOPE_SQL} AND cp.id = $3");
        let found: Option<Process> =
            on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(mode).bind(inst).bind(id).fetch_optional(p).await?);
        found.ok_or_else(not_found)
    }

    /// The history of a process, oldest first, if its person is within `scope`.
    pub async fn process_events(&self, scope: PeopleScope, id: i64) -> Result<Vec<ProcessEvent>> {
        self.process(scope, id).await?;
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT stage, at, by_label, note FROM certification_events WHERE process_id = $1 ORDER BY at, id"
        )
        .bind(id)
        .fetch_all(p)
        .await?))
    }

    /// Processes within `scope`, by standard, cohort, stage and institution.
    pub async fn processes(&self, scope: PeopleScope, f: &ProcessFilter) -> Result<Vec<Process>> {
        let (mode, inst) = scope_bind(scope);
        let sql = format!(
            "{PROCESS_SELECT} WHERE {SCOPE_SQL} AND ($3 IS NULL OR cp.standard_id = $3) AND ($4 IS NULL OR cp.cohort_id = $4) \
             AND ($5 IS NULL OR cp.stage = $5) AND ($6 IS NULL OR p.institution_id = $6) \
             ORDER BY s.code, p.first_surname, p.second_surname, p.given_names, cp.id"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(mode)
            .bind(inst)
            .bind(f.standard_id)
            .bind(f.cohort_id)
            .bind(f.stage.map(|s| s.code()))
            .bind(f.institution_id)
            .fetch_all(p)
            .await?))
    }

    /// Certificates within `scope` that expire within the renewal window of `today` or have
    /// expired, with no later certificate of the same person in the same standard.
    pub async fn renewals_due(&self, scope: PeopleScope, today: NaiveDate) -> Result<Vec<Renewal>> {
        let (mode, inst) = scope_bind(scope);
        let sql = format!(
            "SELECT cp.id AS process_id, cp.person_id, TRIM(p.given_names || ' ' || p.first_surname || ' ' || p.second_surname) AS person_name, \
             i.name AS institution, cp.standard_id, s.code AS standard_code, cp.certificate_folio, cp.certified_on, cp.expires_on, \
             (SELECT COUNT(*) FROM certification_processes r WHERE r.person_id = cp.person_id AND r.standard_id = cp.standard_id \
              AND r.stage <> 'certificado') AS renewals_open \
             FROM certification_processes cp JOIN people p ON p.id = cp.person_id LEFT JOIN institutions i ON i.id = p.institution_id \
             JOIN competency_standards s ON s.id = cp.standard_id \
             WHERE {SCOPE_SQL} AND cp.stage = 'certificado' AND cp.expires_on IS NOT NULL AND cp.expires_on <= $3 \
             AND NOT EXISTS (SELECT 1 FROM certification_processes n WHERE n.person_id = cp.person_id AND n.standard_id = cp.standard_id \
                             AND n.stage = 'certificado' AND n.certified_on > cp.certified_on) \
             ORDER BY cp.expires_on, cp.id"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(mode)
            .bind(inst)
            .bind(renewal_horizon(today))
            .fetch_all(p)
            .await?))
    }

    // ----- counts -----

    /// Per standard: distinct people certified in the period and open processes, within `scope`.
    pub async fn certification_counts(&self, scope: PeopleScope, period: Period) -> Result<Vec<StandardCount>> {
        let (mode, inst) = scope_bind(scope);
        let sql = format!(
            "SELECT s.id AS standard_id, s.code, s.title, s.active, \
             (SELECT COUNT(DISTINCT cp.person_id) FROM certification_processes cp JOIN people p ON p.id = cp.person_id \
              WHERE cp.standard_id = s.id AND cp.stage = 'certificado' AND {SCOPE_SQL} \
              AND ($3 IS NULL OR cp.certified_on >= $3) AND ($4 IS NULL OR cp.certified_on <= $4)) AS certified_people, \
             (SELECT COUNT(*) FROM certification_processes cp JOIN people p ON p.id = cp.person_id \
              WHERE cp.standard_id = s.id AND cp.stage <> 'certificado' AND {SCOPE_SQL}) AS open_processes \
             FROM competency_standards s ORDER BY s.code"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(mode)
            .bind(inst)
            .bind(period.from)
            .bind(period.to)
            .fetch_all(p)
            .await?))
    }

    /// Distinct people certified in the period per institution (of the person), within
    /// `scope`, for one standard or all.
    pub async fn certified_by_institution(&self, scope: PeopleScope, standard_id: Option<i64>, period: Period) -> Result<Vec<InstitutionCount>> {
        let (mode, inst) = scope_bind(scope);
        let sql = format!(
            "SELECT p.institution_id, i.name AS institution, COUNT(DISTINCT cp.person_id) AS certified_people \
             FROM certification_processes cp JOIN people p ON p.id = cp.person_id LEFT JOIN institutions i ON i.id = p.institution_id \
             WHERE cp.stage = 'certificado' AND {SCOPE_SQL} AND ($3 IS NULL OR cp.standard_id = $3) \
             AND ($4 IS NULL OR cp.certified_on >= $4) AND ($5 IS NULL OR cp.certified_on <= $5) \
             GROUP BY p.institution_id, i.name ORDER BY certified_people DESC, institution"
        );
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()))
            .bind(mode)
            .bind(inst)
            .bind(standard_id)
            .bind(period.from)
            .bind(period.to)
            .fetch_all(p)
            .await?))
    }
}
