//! The people registry. Reads are scoped by [`PeopleScope`]; private contact data is
//! read only through [`Store::personal_data`], which audits every read.

use crate::audit::{Event, append};
use crate::{Backend, Result, Store, StoreError, Tx, now, on_pool, on_tx};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::sync::Arc;
use serde::Serialize;
use violeta_domain::access::PeopleScope;
use violeta_domain::audit::Actor;
use violeta_domain::person::PersonDraft;

/// A person without private contact data: what lists and most pages show.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Person {
    pub id: i64,
    pub curp: Option<String>,
    pub given_names: String,
    pub first_surname: String,
    pub second_surname: String,
    pub sex: Option<String>,
    pub birth_date: Option<NaiveDate>,
    pub institution_id: Option<i64>,
    pub institution: Option<String>,
    pub position: String,
    pub corps: Option<String>,
    pub cvegeo: Option<String>,
    pub municipality: Option<String>,
    pub merged_into: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Person {
    pub fn full_name(&self) -> String {
        violeta_domain::person::full_name(&self.given_names, &self.first_surname, &self.second_surname)
    }
    pub fn sex_label(&self) -> &'static str {
        self.sex.as_deref().and_then(violeta_domain::person::Sex::from_code).map(|s| s.label()).unwrap_or("Sin dato")
    }
    pub fn corps_label(&self) -> &'static str {
        self.corps.as_deref().and_then(violeta_domain::person::Corps::parse).map(|c| c.label()).unwrap_or("")
    }
}

/// Private contact data (LGPDPPSO): shown only to roles allowed, and every read audited.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PersonalData {
    pub email: String,
    pub phone: String,
}

#[derive(Debug, Clone, Default)]
pub struct PeopleFilter {
    pub query: Option<String>,
    pub institution_id: Option<i64>,
    pub cvegeo: Option<String>,
    pub without_curp: bool,
}

const SELECT: &str = "SELECT p.id, p.curp, p.given_names, p.first_surname, p.second_surname, p.sex, p.birth_date, \
    p.institution_id, i.name AS institution, p.position, p.corps, p.cvegeo, m.name AS municipality, p.merged_into, \
    p.created_at, p.updated_at \
    FROM people p LEFT JOIN institutions i ON i.id = p.institution_id LEFT JOIN municipalities m ON m.cvegeo = p.cvegeo";

/// The SQL condition and bind value that restrict rows to a scope.
pub(crate) fn scope_bind(scope: PeopleScope) -> (i64, i64) {
    // ($mode, $institution): mode 0 = all, 1 = one institution, 2 = nobody.
    match scope {
        PeopleScope::All => (0, 0),
        PeopleScope::Institution(id) => (1, id),
        PeopleScope::Nobody => (2, 0),
    }
}

pub(crate) const SCOPE_SQL: &str = "($1 = 0 OR ($1 = 1 AND p.institution_id = $2))";

/// Progress of a long operation, for a progress bar: (done, total).
pub type Progress<'a> = &'a (dyn Fn(usize, usize) + Send + Sync);

impl Store {
    pub async fn people(&self, scope: PeopleScope, f: &PeopleFilter, limit: i64, offset: i64) -> Result<(Vec<Person>, i64)> {
        let (mode, inst) = scope_bind(scope);
        let pattern = f.query.as_deref().map(|q| format!("%{}%", violeta_domain::text::search_key(q)));
        let cond = format!(
            "WHERE p.merged_into IS NULL AND {SCOPE_SQL} AND ($3 IS NULL OR p.search_key LIKE $3) \
             AND ($4 IS NULL OR p.institution_id = $4) AND ($5 IS NULL OR p.cvegeo = $5) AND ($6 = 0 OR p.curp IS NULL)"
        );
        let list_sql = format!("{SELECT} {cond} ORDER BY p.first_surname, p.second_surname, p.given_names, p.id LIMIT $7 OFFSET $8");
        let count_sql = format!("SELECT COUNT(*) FROM people p {cond}");
        on_pool!(self, |p| {
            let rows: Vec<Person> = sqlx::query_as(sqlx::AssertSqlSafe(list_sql.clone()))
                .bind(mode)
                .bind(inst)
                .bind(&pattern)
                .bind(f.institution_id)
                .bind(&f.cvegeo)
                .bind(f.without_curp as i64)
                .bind(limit)
                .bind(offset)
                .fetch_all(p)
                .await?;
            let total: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(count_sql.clone()))
                .bind(mode)
                .bind(inst)
                .bind(&pattern)
                .bind(f.institution_id)
                .bind(&f.cvegeo)
                .bind(f.without_curp as i64)
                .fetch_one(p)
                .await?;
            Ok((rows, total))
        })
    }

    /// One person, if within scope (a person outside it is "not found", never "forbidden",
    /// so existence does not leak).
    pub async fn person(&self, scope: PeopleScope, id: i64) -> Result<Person> {
        let (mode, inst) = scope_bind(scope);
        let sql = format!("{SELECT} WHERE {SCOPE_SQL} AND p.id = $3");
        let found: Option<Person> =
            on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(mode).bind(inst).bind(id).fetch_optional(p).await?);
        found.ok_or_else(|| StoreError::NotFound("no existe esa persona".into()))
    }

    pub async fn person_by_curp(&self, scope: PeopleScope, curp: &str) -> Result<Option<Person>> {
        let (mode, inst) = scope_bind(scope);
        let sql = format!("{SELECT} WHERE {SCOPE_SQL} AND p.curp = $3");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(mode).bind(inst).bind(curp).fetch_optional(p).await?))
    }

    /// Reads a person's private contact data and records the read in the audit trail,
    /// in one transaction: no read without its entry.
    pub async fn personal_data(&self, actor: &Actor, scope: PeopleScope, id: i64) -> Result<PersonalData> {
        self.person(scope, id).await?;
        let mut tx = self.begin().await?;
        let data: PersonalData = on_tx!(&mut tx, |c| sqlx::query_as("SELECT email, phone FROM people WHERE id = $1")
            .bind(id)
            .fetch_one(c)
            .await?);
        append(&mut tx, actor, Event::new("persona.leer_datos_personales", "persona", id)).await?;
        tx.commit().await?;
        Ok(data)
    }

    pub async fn create_person(&self, actor: &Actor, draft: &PersonDraft) -> Result<i64> {
        let mut tx = self.begin().await?;
        check_references(&mut tx, draft).await?;
        let id = insert_person(&mut tx, draft).await?;
        append(
            &mut tx,
            actor,
            Event::new("persona.crear", "persona", id).with(serde_json::json!({"con_curp": draft.curp.is_some()})),
        )
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Updates a person. With `keep_contact`, the stored email and phone stay as they are
    /// (the editor was not allowed to see them, so the form did not carry them).
    pub async fn update_person(&self, actor: &Actor, scope: PeopleScope, id: i64, draft: &PersonDraft, keep_contact: bool) -> Result<()> {
        self.person(scope, id).await?;
        let mut tx = self.begin().await?;
        check_references(&mut tx, draft).await?;
        let result: std::result::Result<_, sqlx::Error> = on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE people SET curp = $1, given_names = $2, first_surname = $3, second_surname = $4, sex = $5, \
             birth_date = $6, institution_id = $7, position = $8, corps = $9, cvegeo = $10, \
             email = CASE WHEN $16 THEN email ELSE $11 END, phone = CASE WHEN $16 THEN phone ELSE $12 END, \
             search_key = $13, updated_at = $14 WHERE id = $15"
        )
        .bind(draft.curp.as_ref().map(|c| c.as_str()))
        .bind(&draft.given_names)
        .bind(&draft.first_surname)
        .bind(&draft.second_surname)
        .bind(draft.sex.map(|s| s.code()))
        .bind(draft.curp.as_ref().and_then(|c| c.birth_date()))
        .bind(draft.institution_id)
        .bind(&draft.position)
        .bind(draft.corps.map(|c| c.code()))
        .bind(draft.municipality.as_ref().map(|m| m.as_str()))
        .bind(&draft.email)
        .bind(&draft.phone)
        .bind(draft.search_key())
        .bind(now())
        .bind(id)
        .bind(keep_contact)
        .execute(c)
        .await.map(|r| r.rows_affected()));
        result.map_err(|e| duplicate_curp(e.into(), draft))?;
        append(&mut tx, actor, Event::new("persona.editar", "persona", id)).await?;
        tx.commit().await
    }

    /// Merges `from` (typically a record without CURP) into `into`: references move to
    /// `into`, and `from` stays as a tombstone pointing at it.
    pub async fn merge_people(&self, actor: &Actor, from: i64, into: i64) -> Result<()> {
        if from == into {
            return Err(StoreError::Invalid("no se puede fusionar a una persona consigo misma".into()));
        }
        let mut tx = self.begin().await?;
        let live: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT COUNT(*) FROM people WHERE id IN ($1, $2) AND merged_into IS NULL"
        )
        .bind(from)
        .bind(into)
        .fetch_one(c)
        .await?);
        if live != 2 {
            return Err(StoreError::NotFound("alguna de las dos personas no existe o ya fue fusionada".into()));
        }
        // Certification processes follow the person; two open processes in one standard
        // cannot be merged into one person.
        let moved: std::result::Result<u64, sqlx::Error> = on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE certification_processes SET person_id = $1 WHERE person_id = $2"
        )
        .bind(into)
        .bind(from)
        .execute(c)
        .await
        .map(|r| r.rows_affected()));
        moved.map_err(|e| match StoreError::from(e) {
            e if e.is_unique_violation() => StoreError::Conflict(
                "las dos personas tienen un proceso de certificación abierto en el mismo estándar; concluya uno antes de fusionarlas".into(),
            ),
            e => e,
        })?;
        on_tx!(&mut tx, |c| {
            // Tables that point at people are re-pointed here, in this one place. Where both
            // records share a session or a unit, the kept record's row stays.
            sqlx::query("UPDATE users SET person_id = $1 WHERE person_id = $2").bind(into).bind(from).execute(&mut *c).await?;
            sqlx::query("DELETE FROM attendance WHERE person_id = $2 AND session_id IN (SELECT session_id FROM attendance WHERE person_id = $1)")
                .bind(into)
                .bind(from)
                .execute(&mut *c)
                .await?;
            sqlx::query("UPDATE attendance SET person_id = $1 WHERE person_id = $2").bind(into).bind(from).execute(&mut *c).await?;
            sqlx::query("DELETE FROM reaction_unit_members WHERE person_id = $2 AND unit_id IN (SELECT unit_id FROM reaction_unit_members WHERE person_id = $1)")
                .bind(into)
                .bind(from)
                .execute(&mut *c)
                .await?;
            sqlx::query("UPDATE reaction_unit_members SET person_id = $1 WHERE person_id = $2").bind(into).bind(from).execute(&mut *c).await?;
            sqlx::query("UPDATE people SET merged_into = $1, curp = NULL, updated_at = $2 WHERE id = $3")
                .bind(into)
                .bind(now())
                .bind(from)
                .execute(&mut *c)
                .await?;
        });
        append(&mut tx, actor, Event::new("persona.fusionar", "persona", into).with(serde_json::json!({"fusionada": from}))).await?;
        tx.commit().await
    }

    /// Imports people all or nothing: either every draft is stored (new CURPs created,
    /// known CURPs updated) or none is. Returns (created, updated).
    pub async fn import_people(&self, actor: &Actor, drafts: &[PersonDraft], progress: Progress<'_>) -> Result<(usize, usize)> {
        let mut tx = self.begin().await?;
        let (mut created, mut updated) = (0, 0);
        for (i, d) in drafts.iter().enumerate() {
            let existing: Option<i64> = match &d.curp {
                Some(c) => on_tx!(&mut tx, |conn| sqlx::query_scalar("SELECT id FROM people WHERE curp = $1")
                    .bind(c.as_str())
                    .fetch_optional(conn)
                    .await?),
                None => None,
            };
            match existing {
                Some(id) => {
                    on_tx!(&mut tx, |c| sqlx::query(
                        "UPDATE people SET given_names = $1, first_surname = $2, second_surname = $3, \
                         sex = COALESCE($4, sex), institution_id = COALESCE($5, institution_id), \
                         position = CASE WHEN $6 = '' THEN position ELSE $6 END, corps = COALESCE($7, corps), \
                         cvegeo = COALESCE($8, cvegeo), email = CASE WHEN $9 = '' THEN email ELSE $9 END, \
                         phone = CASE WHEN $10 = '' THEN phone ELSE $10 END, search_key = $11, updated_at = $12 WHERE id = $13"
                    )
                    .bind(&d.given_names)
                    .bind(&d.first_surname)
                    .bind(&d.second_surname)
                    .bind(d.sex.map(|s| s.code()))
                    .bind(d.institution_id)
                    .bind(&d.position)
                    .bind(d.corps.map(|c| c.code()))
                    .bind(d.municipality.as_ref().map(|m| m.as_str()))
                    .bind(&d.email)
                    .bind(&d.phone)
                    .bind(d.search_key())
                    .bind(now())
                    .bind(id)
                    .execute(c)
                    .await?.rows_affected());
                    updated += 1;
                }
                None => {
                    insert_person(&mut tx, d).await?;
                    created += 1;
                }
            }
            if i % 500 == 0 || i + 1 == drafts.len() {
                progress(i + 1, drafts.len());
            }
        }
        append(
            &mut tx,
            actor,
            Event::new("persona.importar", "persona", "*").with(serde_json::json!({"creadas": created, "actualizadas": updated})),
        )
        .await?;
        tx.commit().await?;
        Ok((created, updated))
    }

    /// Which of these CURPs are already registered (in bulk, for previews).
    pub async fn registered_curps(&self, curps: &[&str]) -> Result<std::collections::HashSet<String>> {
        let mut out = std::collections::HashSet::new();
        for chunk in curps.chunks(BULK_ROWS) {
            let sql = format!("SELECT curp FROM people WHERE curp IN ({})", in_list(self.backend(), chunk.len()));
            let found: Vec<String> = on_pool!(self, |p| {
                let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone()));
                for c in chunk {
                    q = q.bind(*c);
                }
                q.fetch_all(p).await?
            });
            out.extend(found);
        }
        Ok(out)
    }

    pub async fn count_people(&self) -> Result<i64> {
        Ok(on_pool!(self, |p| sqlx::query_scalar("SELECT COUNT(*) FROM people WHERE merged_into IS NULL").fetch_one(p).await?))
    }
}

/// A person a row refers to: one already in the registry, or a draft.
#[derive(Debug, Clone)]
pub enum PersonRef {
    Existing(i64),
    /// Matched by CURP when it has one; created when new.
    Draft(Box<PersonDraft>),
}

/// People behind a list of rows (attendance, enrolments), found or created.
pub(crate) struct Resolved {
    /// The person of each row, in order.
    pub(crate) ids: Vec<i64>,
    /// Those created now.
    pub(crate) created: HashSet<i64>,
}

/// Finds each person by id or CURP, creating the new ones: one lookup of every CURP and
/// one bulk insert of the new people (a CURP given twice is one person).
pub(crate) async fn resolve_people(tx: &mut Tx, people: &[&PersonRef]) -> Result<Resolved> {
    let curps: Vec<&str> = people
        .iter()
        .filter_map(|p| match p {
            PersonRef::Draft(d) => d.curp.as_ref().map(|c| c.as_str()),
            PersonRef::Existing(_) => None,
        })
        .collect();
    let found = ids_by_curp(tx, &curps).await?;
    let mut ids: HashMap<&str, i64> = found.iter().map(|(c, id)| (c.as_str(), *id)).collect();
    let mut new_people: Vec<&PersonDraft> = Vec::new();
    let mut seen = HashSet::new();
    for p in people {
        if let PersonRef::Draft(d) = p
            && let Some(c) = &d.curp
            && !ids.contains_key(c.as_str())
            && seen.insert(c.as_str())
        {
            new_people.push(d);
        }
    }
    // In CURP order, the CURP index grows at its end instead of splitting pages all over
    // (a fifth of SQLite's time for a 100,000-row import; PostgreSQL's B-tree has a fast
    // path for it too). Ids are handed out in that order.
    new_people.sort_unstable_by(|a, b| a.curp.as_ref().map(|c| c.as_str()).cmp(&b.curp.as_ref().map(|c| c.as_str())));
    let inserted = insert_people_bulk(tx, &new_people).await?;
    let mut created: HashSet<i64> = inserted.iter().copied().collect();
    for (d, id) in new_people.iter().zip(inserted) {
        if let Some(c) = &d.curp {
            ids.insert(c.as_str(), id);
        }
    }
    let mut out = Vec::with_capacity(people.len());
    for p in people {
        out.push(match p {
            PersonRef::Existing(id) => *id,
            PersonRef::Draft(d) => match &d.curp {
                Some(c) => ids[c.as_str()],
                None => {
                    let id = insert_person(tx, d).await?;
                    created.insert(id);
                    id
                }
            },
        });
    }
    Ok(Resolved { ids: out, created })
}

/// The columns of a new person, in the order [`bind_person!`] binds them.
const PERSON_COLUMNS: &str = "curp, given_names, first_surname, second_surname, sex, birth_date, institution_id, \
    position, corps, cvegeo, email, phone, search_key, created_at, updated_at";
const PERSON_COLUMN_COUNT: usize = 15;

/// Binds a draft's values for [`PERSON_COLUMNS`], with `$t` as both timestamps.
macro_rules! bind_person {
    ($q:expr, $d:expr, $t:expr) => {
        $q.bind($d.curp.as_ref().map(|c| c.as_str()))
            .bind(&$d.given_names)
            .bind(&$d.first_surname)
            .bind(&$d.second_surname)
            .bind($d.sex.map(|s| s.code()))
            .bind($d.curp.as_ref().and_then(|c| c.birth_date()))
            .bind($d.institution_id)
            .bind(&$d.position)
            .bind($d.corps.map(|c| c.code()))
            .bind($d.municipality.as_ref().map(|m| m.as_str()))
            .bind(&$d.email)
            .bind(&$d.phone)
            .bind($d.search_key())
            .bind($t)
            .bind($t)
    };
}

/// Writes a draft's values for [`PERSON_COLUMNS`] as one `COPY` row's columns, in the same
/// order as [`bind_person!`], with `$t` (text) as both timestamps.
macro_rules! copy_person {
    ($rows:expr, $d:expr, $t:expr) => {{
        let birth_date = $d.curp.as_ref().and_then(|c| c.birth_date()).map(|b| b.format("%Y-%m-%d").to_string());
        $rows.text($d.curp.as_ref().map(|c| c.as_str()));
        $rows.text(Some(&$d.given_names));
        $rows.text(Some(&$d.first_surname));
        $rows.text(Some(&$d.second_surname));
        $rows.text($d.sex.map(|s| s.code()));
        $rows.text(birth_date.as_deref());
        $rows.int($d.institution_id);
        $rows.text(Some(&$d.position));
        $rows.text($d.corps.map(|c| c.code()));
        $rows.text($d.municipality.as_ref().map(|m| m.as_str()));
        $rows.text(Some(&$d.email));
        $rows.text(Some(&$d.phone));
        $rows.text(Some(&$d.search_key()));
        $rows.text(Some($t));
        $rows.text(Some($t));
    }};
}

/// A person's municipality and institution must exist: said in the user's words, before the
/// database's foreign keys would refuse the write. (Imports check their rows themselves.)
async fn check_references(tx: &mut Tx, d: &PersonDraft) -> Result<()> {
    if let Some(m) = &d.municipality {
        let n: i64 = on_tx!(tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM municipalities WHERE cvegeo = $1").bind(m.as_str()).fetch_one(&mut *c).await?);
        if n == 0 {
            return Err(StoreError::Invalid(format!("no existe el municipio con clave INEGI {m}")));
        }
    }
    if let Some(id) = d.institution_id {
        let n: i64 = on_tx!(tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM institutions WHERE id = $1").bind(id).fetch_one(&mut *c).await?);
        if n == 0 {
            return Err(StoreError::Invalid("no existe la institución elegida".into()));
        }
    }
    Ok(())
}

pub(crate) async fn insert_person(tx: &mut Tx, d: &PersonDraft) -> Result<i64> {
    let t = now();
    let sql = format!(
        "INSERT INTO people ({PERSON_COLUMNS}) VALUES {} RETURNING id",
        placeholders(tx.backend(), 1, PERSON_COLUMN_COUNT)
    );
    let result: std::result::Result<i64, sqlx::Error> =
        on_tx!(tx, |c| bind_person!(sqlx::query_scalar(sqlx::AssertSqlSafe(sql.clone())), d, t).fetch_one(c).await);
    result.map_err(|e| duplicate_curp(e.into(), d))
}

fn duplicate_curp(e: StoreError, d: &PersonDraft) -> StoreError {
    if e.is_unique_violation() {
        StoreError::Conflict(format!(
            "ya existe una persona con la CURP {}",
            d.curp.as_ref().map(|c| c.as_str()).unwrap_or("")
        ))
    } else {
        e
    }
}

/// Rows per multi-row statement in bulk paths: well under both engines' parameter limits
/// (SQLite 32,766; PostgreSQL 65,535) at 14 parameters a row.
pub(crate) const BULK_ROWS: usize = 500;

/// "($1, $2, …), (…)" for `rows` rows of `cols` parameters. SQLite gets anonymous `?`
/// parameters: binding a numbered one makes it search the statement's parameter names, which
/// turns a statement with thousands of parameters quadratic.
pub(crate) fn placeholders(backend: Backend, rows: usize, cols: usize) -> String {
    let mut s = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            s.push(',');
        }
        s.push('(');
        for c in 0..cols {
            if c > 0 {
                s.push(',');
            }
            match backend {
                Backend::Sqlite => s.push('?'),
                Backend::Postgres => {
                    s.push('$');
                    s.push_str(&(r * cols + c + 1).to_string());
                }
            }
        }
        s.push(')');
    }
    s
}

/// "$1,$2,…,$n" (PostgreSQL) or "?,?,…" (SQLite) for an `IN (…)` list.
pub(crate) fn in_list(backend: Backend, n: usize) -> String {
    match backend {
        Backend::Sqlite => vec!["?"; n].join(","),
        Backend::Postgres => (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(","),
    }
}

/// The ids of the people with these CURPs, in bulk: one array query on PostgreSQL,
/// `IN` lists of [`BULK_ROWS`] on SQLite.
pub(crate) async fn ids_by_curp(tx: &mut Tx, curps: &[&str]) -> Result<HashMap<String, i64>> {
    let mut out = HashMap::with_capacity(curps.len());
    if curps.is_empty() {
        return Ok(out);
    }
    // Looked up in index order.
    let mut curps = curps.to_vec();
    curps.sort_unstable();
    curps.dedup();
    let curps = curps.as_slice();
    match tx {
        Tx::Postgres(c) => {
            let rows: Vec<(String, i64)> =
                sqlx::query_as("SELECT curp, id FROM people WHERE curp = ANY($1)").bind(curps).fetch_all(&mut **c).await?;
            out.extend(rows);
        }
        Tx::Sqlite(c, _) => {
            for chunk in curps.chunks(BULK_ROWS) {
                let sql = format!("SELECT curp, id FROM people WHERE curp IN ({})", in_list(Backend::Sqlite, chunk.len()));
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql));
                for curp in chunk {
                    q = q.bind(*curp);
                }
                let rows: Vec<(String, i64)> = q.fetch_all(&mut **c).await?;
                out.extend(rows);
            }
        }
    }
    Ok(out)
}

/// Inserts new people in bulk; returns their ids, in order. PostgreSQL takes more than a
/// statement's worth through `COPY`, SQLite through multi-row statements. (A few go in one
/// multi-row statement on PostgreSQL too: `COPY` ends with a small message that waits out a
/// delayed acknowledgement, about 40 ms, as the driver leaves Nagle's algorithm on; a QR
/// check-in cannot afford that.)
pub(crate) async fn insert_people_bulk(tx: &mut Tx, drafts: &[&PersonDraft]) -> Result<Vec<i64>> {
    if drafts.is_empty() {
        return Ok(Vec::new());
    }
    let t = now();
    let inserted = match tx {
        Tx::Postgres(c) if drafts.len() > BULK_ROWS => copy_people(c, drafts, t).await,
        Tx::Postgres(c) => insert_people_postgres(c, drafts, t).await,
        Tx::Sqlite(c, _) => insert_people_sqlite(c, drafts, t).await,
    };
    inserted.map_err(|e| match StoreError::from(e) {
        e if e.is_unique_violation() => StoreError::Conflict("una de las CURP ya está registrada o se repite en el archivo".into()),
        e => e,
    })
}

/// Multi-row `INSERT`s of [`BULK_ROWS`] people each, with their ids given: the next after
/// the highest, which is what SQLite would choose (the transaction began with `BEGIN
/// IMMEDIATE`, so no other writer can take them meanwhile), without reading every row
/// back through `RETURNING`. The next statement's values are bound while SQLite runs the
/// current one, on its own thread.
async fn insert_people_sqlite(c: &mut sqlx::SqliteConnection, drafts: &[&PersonDraft], t: DateTime<Utc>) -> std::result::Result<Vec<i64>, sqlx::Error> {
    let last: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) FROM people").fetch_one(&mut *c).await?;
    let ids: Vec<i64> = (last + 1..).take(drafts.len()).collect();
    // One shared text for both timestamps of every row, as the driver would write it.
    let t: Arc<str> = t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, false).into();
    fn statement<'a>(chunk: &'a [&'a PersonDraft], ids: &'a [i64], t: &Arc<str>) -> sqlx::query::Query<'a, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
        let sql = format!("INSERT INTO people (id, {PERSON_COLUMNS}) VALUES {}", placeholders(Backend::Sqlite, chunk.len(), PERSON_COLUMN_COUNT + 1));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for (d, id) in chunk.iter().zip(ids) {
            q = bind_person!(q.bind(*id), d, t.clone());
        }
        q
    }
    let statement = |(chunk, ids)| statement(chunk, ids, &t);
    let mut chunks = drafts.chunks(BULK_ROWS).zip(ids.chunks(BULK_ROWS));
    let mut next = chunks.next().map(statement);
    while let Some(q) = next.take() {
        let (done, following) = tokio::join!(q.execute(&mut *c), async { chunks.next().map(statement) });
        done?;
        next = following;
    }
    Ok(ids)
}

/// One multi-row `INSERT … RETURNING` (at most [`BULK_ROWS`] people, each with a CURP).
async fn insert_people_postgres(c: &mut sqlx::PgConnection, drafts: &[&PersonDraft], t: DateTime<Utc>) -> std::result::Result<Vec<i64>, sqlx::Error> {
    let sql = format!("INSERT INTO people ({PERSON_COLUMNS}) VALUES {} RETURNING curp, id", placeholders(Backend::Postgres, drafts.len(), PERSON_COLUMN_COUNT));
    let mut q = sqlx::query_as::<_, (Option<String>, i64)>(sqlx::AssertSqlSafe(sql));
    for d in drafts {
        q = bind_person!(q, d, t);
    }
    let rows: HashMap<Option<String>, i64> = q.fetch_all(c).await?.into_iter().collect();
    Ok(drafts.iter().map(|d| rows[&d.curp.as_ref().map(|c| c.to_string())]).collect())
}

/// `COPY` of new people, with ids drawn from the table's identity sequence first so the
/// caller learns each person's id without reading them back.
async fn copy_people(c: &mut sqlx::PgConnection, drafts: &[&PersonDraft], t: DateTime<Utc>) -> std::result::Result<Vec<i64>, sqlx::Error> {
    // The sequence is looked up once (`MATERIALIZED`): called on every row, the lookup took
    // nine tenths of this statement's time (0.5 s for 100,000 ids).
    let ids: Vec<i64> = sqlx::query_scalar(
        "WITH s AS MATERIALIZED (SELECT pg_get_serial_sequence('people', 'id')::regclass AS seq) \
         SELECT nextval(s.seq) FROM s, generate_series(1, $1)",
    )
        .bind(drafts.len() as i64)
        .fetch_all(&mut *c)
        .await?;
    let t = t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let mut copy = c.copy_in_raw(&format!("COPY people (id, {PERSON_COLUMNS}) FROM STDIN")).await?;
    let mut rows = CopyRows::default();
    for (d, id) in drafts.iter().zip(&ids) {
        rows.int(Some(*id));
        copy_person!(rows, d, &t);
        rows.end_row();
        if rows.is_full() {
            copy.send(rows.take()).await?;
        }
    }
    copy.send(rows.take()).await?;
    copy.finish().await?;
    Ok(ids)
}

/// Rows in `COPY`'s text format: tab between columns, `\N` for NULL, backslash escapes.
#[derive(Default)]
pub(crate) struct CopyRows {
    buf: Vec<u8>,
    /// Columns written so far in the current row.
    columns: usize,
}

impl CopyRows {
    /// How much is sent to the server at a time.
    const SEND_BYTES: usize = 1 << 20;

    fn separator(&mut self) {
        if self.columns > 0 {
            self.buf.push(b'\t');
        }
        self.columns += 1;
    }

    pub(crate) fn text(&mut self, value: Option<&str>) {
        self.separator();
        let Some(v) = value else {
            self.buf.extend_from_slice(b"\\N");
            return;
        };
        if !v.bytes().any(|b| matches!(b, b'\\' | b'\t' | b'\n' | b'\r')) {
            self.buf.extend_from_slice(v.as_bytes());
            return;
        }
        for b in v.bytes() {
            match b {
                b'\\' => self.buf.extend_from_slice(b"\\\\"),
                b'\t' => self.buf.extend_from_slice(b"\\t"),
                b'\n' => self.buf.extend_from_slice(b"\\n"),
                b'\r' => self.buf.extend_from_slice(b"\\r"),
                _ => self.buf.push(b),
            }
        }
    }

    pub(crate) fn int(&mut self, value: Option<i64>) {
        self.separator();
        match value {
            Some(v) => {
                let _ = write!(self.buf, "{v}");
            }
            None => self.buf.extend_from_slice(b"\\N"),
        }
    }

    pub(crate) fn float(&mut self, value: Option<f64>) {
        self.separator();
        match value {
            // Rust prints the shortest text that reads back as the same f64.
            Some(v) => {
                let _ = write!(self.buf, "{v}");
            }
            None => self.buf.extend_from_slice(b"\\N"),
        }
    }

    pub(crate) fn end_row(&mut self) {
        self.buf.push(b'\n');
        self.columns = 0;
    }

    pub(crate) fn is_full(&self) -> bool {
        self.buf.len() >= Self::SEND_BYTES
    }

    pub(crate) fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }
}
