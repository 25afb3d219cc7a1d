//! Programmes, training sessions and attendance, and the counts computed from them.

use crate::audit::{Event, append};
use crate::people::{PersonRef, Progress, resolve_people};
use crate::{Backend, Result, Store, StoreError, Tx, now, on_pool, on_tx};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use violeta_domain::audit::Actor;
use violeta_domain::territory::MunicipalityKey;
use violeta_domain::training::{AttendanceStatus, Modality, SessionStatus};

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Programme {
    pub id: i64,
    pub name: String,
    pub objective: String,
    pub cve_ent: Option<String>,
}

#[derive(Debug, Clone)]
pub struct TrainingDay {
    pub day: NaiveDate,
    /// "HH:MM"
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(Debug, Clone)]
pub struct NewTraining {
    pub title: String,
    pub topic: String,
    pub protocol: String,
    pub modality: Modality,
    pub programme_id: Option<i64>,
    pub course_key: String,
    pub municipality: Option<MunicipalityKey>,
    pub venue: String,
    pub meeting_link: String,
    pub instructors: String,
    /// Audience codes.
    pub audience: Vec<String>,
    pub capacity: Option<i64>,
    pub status: SessionStatus,
    pub days: Vec<TrainingDay>,
    /// Random secret behind the rotating check-in code.
    pub checkin_secret: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Training {
    pub id: i64,
    pub title: String,
    pub topic: String,
    pub protocol: String,
    pub modality: String,
    pub programme_id: Option<i64>,
    pub programme: Option<String>,
    pub course_key: String,
    pub cvegeo: Option<String>,
    pub municipality: Option<String>,
    pub venue: String,
    pub meeting_link: String,
    pub instructors: String,
    pub audience: String,
    pub capacity: Option<i64>,
    pub status: String,
    #[serde(skip)]
    pub checkin_secret: String,
    pub first_day: Option<NaiveDate>,
    pub last_day: Option<NaiveDate>,
    pub attendees: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Day {
    pub day: NaiveDate,
    pub starts_at: String,
    pub ends_at: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct AttendanceRow {
    pub person_id: i64,
    pub name: String,
    pub curp: Option<String>,
    pub sex: Option<String>,
    pub institution: Option<String>,
    pub status: String,
    pub source: String,
    pub pre_score: Option<f64>,
    pub post_score: Option<f64>,
    pub recorded_at: DateTime<Utc>,
}

/// One attendance to store: who (an existing person or a draft to match by CURP or create)
/// and how.
#[derive(Debug, Clone)]
pub struct AttendanceInput {
    pub person: PersonRef,
    pub status: AttendanceStatus,
    pub pre_score: Option<f64>,
    pub post_score: Option<f64>,
}

#[derive(Debug, Clone, Default)]
pub struct CountFilter {
    pub programme_id: Option<i64>,
    pub cve_ent: Option<String>,
    pub from: Option<NaiveDate>,
    pub to: Option<NaiveDate>,
}

/// The three counts, computed separately.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub personas_capacitadas: i64,
    pub participaciones: i64,
    pub capacitaciones_impartidas: i64,
}

/// Police trained in a protocol, per municipality of residence.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct TrainedPolice {
    pub cvegeo: String,
    pub protocol: String,
    pub people: i64,
}

const SESSION_SELECT: &str = "SELECT s.id, s.title, s.topic, s.protocol, s.modality, s.programme_id, pr.name AS programme, s.course_key, \
    s.cvegeo, m.name AS municipality, s.venue, s.meeting_link, s.instructors, s.audience, s.capacity, s.status, s.checkin_secret, \
    (SELECT MIN(d.day) FROM training_session_days d WHERE d.session_id = s.id) AS first_day, \
    (SELECT MAX(d.day) FROM training_session_days d WHERE d.session_id = s.id) AS last_day, \
    (SELECT COUNT(*) FROM attendance a WHERE a.session_id = s.id AND a.status IN ('asistio', 'retardo')) AS attendees \
    FROM training_sessions s LEFT JOIN programmes pr ON pr.id = s.programme_id LEFT JOIN municipalities m ON m.cvegeo = s.cvegeo";

/// Sessions held within the filter: the base of every count.
const HELD: &str = "s.status = 'realizada' AND ($1 IS NULL OR s.programme_id = $1) \
    AND ($2 IS NULL OR m.cve_ent = $2 OR (s.cvegeo IS NULL AND pr.cve_ent = $2)) \
    AND ($3 IS NULL OR (SELECT MIN(d.day) FROM training_session_days d WHERE d.session_id = s.id) >= $3) \
    AND ($4 IS NULL OR (SELECT MIN(d.day) FROM training_session_days d WHERE d.session_id = s.id) <= $4)";

impl Store {
    pub async fn create_programme(&self, actor: &Actor, name: &str, objective: &str, cve_ent: Option<&str>) -> Result<i64> {
        let name = violeta_domain::text::clean(name);
        if name.is_empty() {
            return Err(StoreError::Invalid("el programa necesita un nombre".into()));
        }
        let mut tx = self.begin().await?;
        let id: std::result::Result<i64, sqlx::Error> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "INSERT INTO programmes (name, objective, cve_ent, created_at) VALUES ($1, $2, $3, $4) RETURNING id"
        )
        .bind(&name)
        .bind(objective.trim())
        .bind(cve_ent)
        .bind(now())
        .fetch_one(c)
        .await);
        let id = id.map_err(|e| match StoreError::from(e) {
            e if e.is_unique_violation() => StoreError::Conflict(format!("ya existe el programa «{name}»")),
            e => e,
        })?;
        append(&mut tx, actor, Event::new("programa.crear", "programa", id).with(serde_json::json!({"nombre": name}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn programmes(&self) -> Result<Vec<Programme>> {
        Ok(on_pool!(self, |p| sqlx::query_as("SELECT id, name, objective, cve_ent FROM programmes ORDER BY name").fetch_all(p).await?))
    }

    pub async fn create_training(&self, actor: &Actor, s: &NewTraining) -> Result<i64> {
        if s.title.trim().is_empty() {
            return Err(StoreError::Invalid("la capacitación necesita un título".into()));
        }
        if s.days.is_empty() {
            return Err(StoreError::Invalid("indique al menos una fecha con su horario".into()));
        }
        for d in &s.days {
            if d.ends_at <= d.starts_at {
                return Err(StoreError::Invalid(format!("el {} la hora de término debe ser posterior a la de inicio", d.day.format("%d/%m/%Y"))));
            }
        }
        if s.modality != Modality::Virtual && s.municipality.is_none() {
            return Err(StoreError::Invalid("una capacitación presencial o híbrida necesita el municipio de la sede".into()));
        }
        let mut tx = self.begin().await?;
        let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "INSERT INTO training_sessions (title, topic, protocol, modality, programme_id, course_key, cvegeo, venue, meeting_link, \
             instructors, audience, capacity, status, checkin_secret, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $15) RETURNING id"
        )
        .bind(s.title.trim())
        .bind(s.topic.trim())
        .bind(s.protocol.trim())
        .bind(s.modality.code())
        .bind(s.programme_id)
        .bind(s.course_key.trim())
        .bind(s.municipality.as_ref().map(|m| m.as_str()))
        .bind(s.venue.trim())
        .bind(s.meeting_link.trim())
        .bind(s.instructors.trim())
        .bind(s.audience.join(","))
        .bind(s.capacity)
        .bind(s.status.code())
        .bind(&s.checkin_secret)
        .bind(now())
        .fetch_one(c)
        .await?);
        for d in &s.days {
            let inserted: std::result::Result<u64, sqlx::Error> = on_tx!(&mut tx, |c| sqlx::query(
                "INSERT INTO training_session_days (session_id, day, starts_at, ends_at) VALUES ($1, $2, $3, $4)"
            )
            .bind(id)
            .bind(d.day)
            .bind(&d.starts_at)
            .bind(&d.ends_at)
            .execute(c)
            .await
            .map(|r| r.rows_affected()));
            inserted.map_err(|e| match StoreError::from(e) {
                e if e.is_unique_violation() => StoreError::Invalid(format!("la fecha {} está repetida", d.day.format("%d/%m/%Y"))),
                e => e,
            })?;
        }
        append(&mut tx, actor, Event::new("capacitacion.crear", "capacitacion", id).with(serde_json::json!({"titulo": s.title.trim()}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn set_training_status(&self, actor: &Actor, id: i64, status: SessionStatus) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, |c| sqlx::query("UPDATE training_sessions SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.code())
            .bind(now())
            .bind(id)
            .execute(c)
            .await?
            .rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound("no existe esa capacitación".into()));
        }
        append(&mut tx, actor, Event::new("capacitacion.estado", "capacitacion", id).with(serde_json::json!({"estado": status.code()}))).await?;
        tx.commit().await
    }

    pub async fn trainings(&self, programme_id: Option<i64>) -> Result<Vec<Training>> {
        let sql = format!("{SESSION_SELECT} WHERE ($1 IS NULL OR s.programme_id = $1) ORDER BY first_day DESC, s.id DESC");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(programme_id).fetch_all(p).await?))
    }

    pub async fn training(&self, id: i64) -> Result<(Training, Vec<Day>)> {
        let sql = format!("{SESSION_SELECT} WHERE s.id = $1");
        let s: Option<Training> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?);
        let s = s.ok_or_else(|| StoreError::NotFound("no existe esa capacitación".into()))?;
        let days: Vec<Day> = on_pool!(self, |p| sqlx::query_as(
            "SELECT day, starts_at, ends_at FROM training_session_days WHERE session_id = $1 ORDER BY day"
        )
        .bind(id)
        .fetch_all(p)
        .await?);
        Ok((s, days))
    }

    pub async fn attendance(&self, session_id: i64) -> Result<Vec<AttendanceRow>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT a.person_id, TRIM(p.given_names || ' ' || p.first_surname || ' ' || p.second_surname) AS name, p.curp, p.sex, \
             i.name AS institution, a.status, a.source, a.pre_score, a.post_score, a.recorded_at \
             FROM attendance a JOIN people p ON p.id = a.person_id LEFT JOIN institutions i ON i.id = p.institution_id \
             WHERE a.session_id = $1 ORDER BY a.recorded_at DESC, p.first_surname"
        )
        .bind(session_id)
        .fetch_all(p)
        .await?))
    }

    /// Records attendances in one transaction, all or nothing: people are matched by CURP
    /// (created when new), and a person counts once per session (a second record for the
    /// same person updates the first). Returns (people created, attendances recorded).
    pub async fn record_attendance(
        &self,
        actor: &Actor,
        session_id: i64,
        source: &str,
        rows: &[AttendanceInput],
        progress: Progress<'_>,
    ) -> Result<(usize, usize)> {
        let mut tx = self.begin().await?;
        let statuses = session_statuses(&mut tx, &[session_id]).await?;
        open_for_attendance(statuses.get(&session_id).map(String::as_str))?;
        let people: Vec<&PersonRef> = rows.iter().map(|r| &r.person).collect();
        let resolved = resolve_people(&mut tx, &people).await?;
        let marks: Vec<Mark> = rows
            .iter()
            .zip(&resolved.ids)
            .map(|(r, &person_id)| Mark { session_id, person_id, status: r.status, pre_score: r.pre_score, post_score: r.post_score })
            .collect();
        let recorded = write_attendance(&mut tx, source, marks, &resolved.created, progress).await?;
        append(
            &mut tx,
            actor,
            Event::new("capacitacion.asistencia", "capacitacion", session_id)
                .with(serde_json::json!({"origen": source, "filas": rows.len(), "personas_nuevas": resolved.created.len()})),
        )
        .await?;
        tx.commit().await?;
        Ok((resolved.created.len(), recorded))
    }

    /// The three counts over sessions held, each computed on its own.
    pub async fn training_counts(&self, f: &CountFilter) -> Result<Counts> {
        let from_sessions = format!("FROM training_sessions s LEFT JOIN programmes pr ON pr.id = s.programme_id LEFT JOIN municipalities m ON m.cvegeo = s.cvegeo WHERE {HELD}");
        let sessions_sql = format!("SELECT COUNT(*) {from_sessions}");
        let participations_sql = format!("SELECT COUNT(*) FROM attendance a WHERE a.status IN ('asistio', 'retardo') AND a.session_id IN (SELECT s.id {from_sessions})");
        let people_sql = format!("SELECT COUNT(DISTINCT a.person_id) FROM attendance a WHERE a.status IN ('asistio', 'retardo') AND a.session_id IN (SELECT s.id {from_sessions})");
        let mut out = [0i64; 3];
        for (i, sql) in [people_sql, participations_sql, sessions_sql].into_iter().enumerate() {
            out[i] = on_pool!(self, |p| sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()))
                .bind(f.programme_id)
                .bind(&f.cve_ent)
                .bind(f.from)
                .bind(f.to)
                .fetch_one(p)
                .await?);
        }
        Ok(Counts { personas_capacitadas: out[0], participaciones: out[1], capacitaciones_impartidas: out[2] })
    }

    /// Police (people with a corps) who attended a held session on each protocol, by the
    /// municipality they are registered in.
    pub async fn trained_police(&self, cvegeos: &[String]) -> Result<Vec<TrainedPolice>> {
        let rows: Vec<TrainedPolice> = on_pool!(self, |p| sqlx::query_as(
            "SELECT p.cvegeo, s.protocol, COUNT(DISTINCT p.id) AS people \
             FROM attendance a JOIN people p ON p.id = a.person_id JOIN training_sessions s ON s.id = a.session_id \
             WHERE a.status IN ('asistio', 'retardo') AND s.status = 'realizada' AND s.protocol <> '' \
             AND p.corps IS NOT NULL AND p.cvegeo IS NOT NULL AND p.merged_into IS NULL \
             GROUP BY p.cvegeo, s.protocol ORDER BY p.cvegeo, s.protocol"
        )
        .fetch_all(p)
        .await?);
        Ok(rows.into_iter().filter(|r| cvegeos.is_empty() || cvegeos.contains(&r.cvegeo)).collect())
    }

    /// The protocols each of these people has been trained in (held sessions they attended).
    pub async fn protocols_of(&self, person_ids: &[i64]) -> Result<Vec<(i64, String)>> {
        let rows: Vec<(i64, String)> = on_pool!(self, |p| sqlx::query_as(
            "SELECT DISTINCT a.person_id, s.protocol FROM attendance a JOIN training_sessions s ON s.id = a.session_id \
             WHERE a.status IN ('asistio', 'retardo') AND s.status = 'realizada' AND s.protocol <> '' ORDER BY a.person_id, s.protocol"
        )
        .fetch_all(p)
        .await?);
        Ok(rows.into_iter().filter(|(id, _)| person_ids.contains(id)).collect())
    }
}


/// The status of each of these sessions that exists.
pub(crate) async fn session_statuses(tx: &mut Tx, ids: &[i64]) -> Result<HashMap<i64, String>> {
    let sql = format!("SELECT id, status FROM training_sessions WHERE id IN ({})", crate::people::in_list(tx.backend(), ids.len()));
    let rows: Vec<(i64, String)> = on_tx!(tx, |c| {
        let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
        for id in ids {
            q = q.bind(*id);
        }
        q.fetch_all(c).await?
    });
    Ok(rows.into_iter().collect())
}

/// Whether a session with this status (`None`: it does not exist) takes attendance.
pub(crate) fn open_for_attendance(status: Option<&str>) -> Result<()> {
    match status {
        None => Err(StoreError::NotFound("no existe esa capacitación".into())),
        Some("cancelada") => Err(StoreError::Invalid("la capacitación está cancelada: no admite asistencia".into())),
        Some(_) => Ok(()),
    }
}

/// One attendance to write.
pub(crate) struct Mark {
    pub(crate) session_id: i64,
    pub(crate) person_id: i64,
    pub(crate) status: AttendanceStatus,
    pub(crate) pre_score: Option<f64>,
    pub(crate) post_score: Option<f64>,
}

/// Upserts attendance: a person counts once per session, and of several marks for the
/// same person and session the last wins (a later one updates an earlier one, keeping
/// scores it does not give). `fresh` are people created in this transaction: they can have
/// no attendance yet, so on PostgreSQL a long list of theirs goes in by `COPY`. Returns the
/// rows written.
pub(crate) async fn write_attendance(tx: &mut Tx, source: &str, marks: Vec<Mark>, fresh: &HashSet<i64>, progress: Progress<'_>) -> Result<usize> {
    let mut last: HashMap<(i64, i64), usize> = HashMap::with_capacity(marks.len());
    for (i, m) in marks.iter().enumerate() {
        last.insert((m.session_id, m.person_id), i);
    }
    let mut marks: Vec<Mark> = marks.into_iter().enumerate().filter(|(i, m)| last[&(m.session_id, m.person_id)] == *i).map(|(_, m)| m).collect();
    // In key order, both of attendance's indexes grow at their end (new people's ids are
    // the highest).
    marks.sort_unstable_by_key(|m| (m.session_id, m.person_id));
    let total = marks.len();
    let t = now();
    match tx {
        Tx::Sqlite(c, _) => {
            // The next statement's values are bound while SQLite runs the current one.
            let source: Arc<str> = source.into();
            let t: Arc<str> = t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false).into();
            fn statement<'a>(chunk: &'a [Mark], source: &Arc<str>, t: &Arc<str>) -> sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
                let sql = format!("{UPSERT_ATTENDANCE} VALUES {} {ON_CONFLICT_ATTENDANCE}", crate::people::placeholders(Backend::Sqlite, chunk.len(), 7));
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
                for m in chunk {
                    q = q.bind(m.session_id).bind(m.person_id).bind(m.status.code()).bind(source.clone()).bind(m.pre_score).bind(m.post_score).bind(t.clone());
                }
                q
            }
            let statement = |chunk| statement(chunk, &source, &t);
            let mut chunks = marks.chunks(crate::people::BULK_ROWS);
            let mut next = chunks.next().map(statement);
            let mut done = 0;
            while let Some(q) = next.take() {
                let (result, following) = tokio::join!(q.execute(&mut **c), async { chunks.next().map(statement) });
                done += result?.rows_affected() as usize;
                progress(done.min(total), total);
                next = following;
            }
        }
        Tx::Postgres(c) => {
            // Small lists skip COPY, for the same reason as new people do (see
            // `insert_people_bulk`).
            let (new, known): (Vec<Mark>, Vec<Mark>) = marks.into_iter().partition(|m| total > crate::people::BULK_ROWS && fresh.contains(&m.person_id));
            if !new.is_empty() {
                let t = t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                let mut copy = c.copy_in_raw(&format!("COPY attendance ({ATTENDANCE_COLUMNS}) FROM STDIN")).await?;
                let mut rows = crate::people::CopyRows::default();
                for m in &new {
                    rows.int(Some(m.session_id));
                    rows.int(Some(m.person_id));
                    rows.text(Some(m.status.code()));
                    rows.text(Some(source));
                    rows.float(m.pre_score);
                    rows.float(m.post_score);
                    rows.text(Some(&t));
                    rows.end_row();
                    if rows.is_full() {
                        copy.send(rows.take()).await?;
                    }
                }
                copy.send(rows.take()).await?;
                copy.finish().await?;
                progress(new.len(), total);
            }
            if !known.is_empty() {
                let sql = format!(
                    "{UPSERT_ATTENDANCE} SELECT s, p, st, $6, pre, post, $7 \
                     FROM UNNEST($1::BIGINT[], $2::BIGINT[], $3::TEXT[], $4::FLOAT8[], $5::FLOAT8[]) AS u (s, p, st, pre, post) \
                     {ON_CONFLICT_ATTENDANCE}"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(known.iter().map(|m| m.session_id).collect::<Vec<_>>())
                    .bind(known.iter().map(|m| m.person_id).collect::<Vec<_>>())
                    .bind(known.iter().map(|m| m.status.code()).collect::<Vec<_>>())
                    .bind(known.iter().map(|m| m.pre_score).collect::<Vec<_>>())
                    .bind(known.iter().map(|m| m.post_score).collect::<Vec<_>>())
                    .bind(source)
                    .bind(t)
                    .execute(&mut **c)
                    .await?;
                progress(total, total);
            }
        }
    }
    Ok(total)
}

const ATTENDANCE_COLUMNS: &str = "session_id, person_id, status, source, pre_score, post_score, recorded_at";
const UPSERT_ATTENDANCE: &str = "INSERT INTO attendance (session_id, person_id, status, source, pre_score, post_score, recorded_at)";
const ON_CONFLICT_ATTENDANCE: &str = "ON CONFLICT (session_id, person_id) DO UPDATE SET status = excluded.status, source = excluded.source, \
    pre_score = COALESCE(excluded.pre_score, attendance.pre_score), post_score = COALESCE(excluded.post_score, attendance.post_score)";

/// A file kept between an import's preview and its confirmation.
#[derive(Debug, Clone)]
pub struct PendingImport {
    pub kind: String,
    pub target_id: Option<i64>,
    pub file_name: String,
    pub bytes: Vec<u8>,
}

impl Store {
    /// Keeps an uploaded file for `user_id` under a token (stored hashed) for up to a day.
    pub async fn keep_pending_import(&self, user_id: i64, raw_token: &str, p: &PendingImport) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| {
            sqlx::query("DELETE FROM pending_imports WHERE created_at < $1")
                .bind(now() - chrono::Duration::days(1))
                .execute(&mut *c)
                .await?;
            sqlx::query(
                "INSERT INTO pending_imports (token_hash, user_id, kind, target_id, file_name, bytes, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(violeta_domain::secret::token_hash(raw_token))
            .bind(user_id)
            .bind(&p.kind)
            .bind(p.target_id)
            .bind(&p.file_name)
            .bind(&p.bytes)
            .bind(now())
            .execute(&mut *c)
            .await?;
        });
        tx.commit().await
    }

    /// The file kept under `raw_token`, if it belongs to `user_id`.
    pub async fn pending_import(&self, user_id: i64, raw_token: &str) -> Result<Option<PendingImport>> {
        let row: Option<(String, Option<i64>, String, Vec<u8>)> = on_pool!(self, |p| sqlx::query_as(
            "SELECT kind, target_id, file_name, bytes FROM pending_imports WHERE token_hash = $1 AND user_id = $2"
        )
        .bind(violeta_domain::secret::token_hash(raw_token))
        .bind(user_id)
        .fetch_optional(p)
        .await?);
        Ok(row.map(|(kind, target_id, file_name, bytes)| PendingImport { kind, target_id, file_name, bytes }))
    }

    pub async fn drop_pending_import(&self, raw_token: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        on_tx!(&mut tx, |c| sqlx::query("DELETE FROM pending_imports WHERE token_hash = $1")
            .bind(violeta_domain::secret::token_hash(raw_token))
            .execute(c)
            .await?
            .rows_affected());
        tx.commit().await
    }
}

/// A file attached to a session as evidence (without its bytes).
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Evidence {
    pub id: i64,
    pub session_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub uploaded_by: String,
    pub uploaded_at: DateTime<Utc>,
}

/// The kinds of evidence accepted, by file extension: (extension, content type).
pub const EVIDENCE_TYPES: [(&str, &str); 8] = [
    ("jpg", "image/jpeg"),
    ("jpeg", "image/jpeg"),
    ("png", "image/png"),
    ("webp", "image/webp"),
    ("pdf", "application/pdf"),
    ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    ("csv", "text/csv"),
    ("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
];

impl Store {
    /// Attaches a file to a session. Only the kinds in [`EVIDENCE_TYPES`] are taken.
    pub async fn add_evidence(&self, actor: &Actor, session_id: i64, file_name: &str, bytes: &[u8]) -> Result<i64> {
        let name = std::path::Path::new(file_name).file_name().and_then(|n| n.to_str()).unwrap_or("").trim().to_string();
        let ext = name.rsplit_once('.').map(|(_, e)| e.to_lowercase()).unwrap_or_default();
        let content_type = EVIDENCE_TYPES.iter().find(|(e, _)| *e == ext).map(|(_, t)| *t).ok_or_else(|| {
            StoreError::Invalid("solo se aceptan fotos (JPG, PNG, WEBP), PDF, Excel (XLSX), CSV o Word (DOCX) como evidencia".into())
        })?;
        if bytes.is_empty() {
            return Err(StoreError::Invalid("el archivo está vacío".into()));
        }
        let mut tx = self.begin().await?;
        let id: std::result::Result<i64, sqlx::Error> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "INSERT INTO training_evidence (session_id, file_name, content_type, size, bytes, uploaded_by, uploaded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
        )
        .bind(session_id)
        .bind(&name)
        .bind(content_type)
        .bind(bytes.len() as i64)
        .bind(bytes)
        .bind(&actor.label)
        .bind(now())
        .fetch_one(c)
        .await);
        let id = id.map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_foreign_key_violation() => StoreError::NotFound("no existe esa capacitación".into()),
            e => e.into(),
        })?;
        append(&mut tx, actor, Event::new("capacitacion.evidencia", "capacitacion", session_id).with(serde_json::json!({"archivo": name, "evidencia": id}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn evidence_list(&self, session_id: i64) -> Result<Vec<Evidence>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT id, session_id, file_name, content_type, size, uploaded_by, uploaded_at FROM training_evidence WHERE session_id = $1 ORDER BY id"
        )
        .bind(session_id)
        .fetch_all(p)
        .await?))
    }

    /// One evidence file with its bytes, if it belongs to the session.
    pub async fn evidence(&self, session_id: i64, id: i64) -> Result<(Evidence, Vec<u8>)> {
        let meta: Option<Evidence> = on_pool!(self, |p| sqlx::query_as(
            "SELECT id, session_id, file_name, content_type, size, uploaded_by, uploaded_at FROM training_evidence WHERE id = $1 AND session_id = $2"
        )
        .bind(id)
        .bind(session_id)
        .fetch_optional(p)
        .await?);
        let meta = meta.ok_or_else(|| StoreError::NotFound("no existe esa evidencia".into()))?;
        let bytes: Vec<u8> = on_pool!(self, |p| sqlx::query_scalar("SELECT bytes FROM training_evidence WHERE id = $1").bind(id).fetch_one(p).await?);
        Ok((meta, bytes))
    }
}
