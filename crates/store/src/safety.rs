//! Rapid-reaction units and espacios seguros, their verification visits, the public view of
//! them, and AVGM coverage. Public reads select only public columns: private ones (contact
//! person, internal notes) cannot reach a public page by mistake.

use crate::audit::{Event, append};
use crate::{Result, Store, StoreError, Tx, now, on_pool, on_tx};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use violeta_domain::audit::Actor;
use violeta_domain::geo::Point;
use violeta_domain::hours::OpeningHours;
use violeta_domain::safety::{SafeSpaceKind, SafeSpaceStatus, UnitStatus, VisitResult};
use violeta_domain::territory::{MunicipalityKey, StateKey};

// ----- reaction units -----

#[derive(Debug, Clone)]
pub struct NewUnit {
    /// The state the unit works for: its municipality must be in it.
    pub state: StateKey,
    pub name: String,
    pub municipality: MunicipalityKey,
    pub status: UnitStatus,
    pub activated_on: Option<NaiveDate>,
    pub agreement: String,
    pub contact_line: String,
    pub notes: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Unit {
    pub id: i64,
    pub name: String,
    pub cvegeo: String,
    pub municipality: String,
    pub cve_ent: String,
    pub region: Option<String>,
    pub status: String,
    pub activated_on: Option<NaiveDate>,
    pub agreement: String,
    pub contact_line: String,
    pub notes: String,
    pub members: i64,
}

impl Unit {
    pub fn status_label(&self) -> &'static str {
        UnitStatus::parse(&self.status).map(|s| s.label()).unwrap_or("")
    }
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct UnitChange {
    pub status: String,
    pub changed_on: NaiveDate,
    pub changed_at: DateTime<Utc>,
    pub changed_by: String,
    pub note: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct UnitMember {
    pub person_id: i64,
    pub name: String,
    pub corps: Option<String>,
    pub rank: String,
    pub joined_on: Option<NaiveDate>,
}

const UNIT_SELECT: &str = "SELECT u.id, u.name, u.cvegeo, m.name AS municipality, m.cve_ent, r.name AS region, u.status, \
    u.activated_on, u.agreement, u.contact_line, u.notes, \
    (SELECT COUNT(*) FROM reaction_unit_members um WHERE um.unit_id = u.id) AS members \
    FROM reaction_units u JOIN municipalities m ON m.cvegeo = u.cvegeo \
    LEFT JOIN region_municipalities rm ON rm.cvegeo = u.cvegeo LEFT JOIN regions r ON r.id = rm.region_id";

// ----- espacios seguros -----

#[derive(Debug, Clone)]
pub struct NewSafeSpace {
    pub name: String,
    pub kind: SafeSpaceKind,
    pub address: String,
    pub municipality: MunicipalityKey,
    pub point: Point,
    pub hours: OpeningHours,
    pub contact_name: String,
    pub contact_phone: String,
    pub notes: String,
    pub installed_on: Option<NaiveDate>,
    pub status: SafeSpaceStatus,
}

/// An espacio seguro with everything, for staff.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct SafeSpace {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub address: String,
    pub cvegeo: String,
    pub municipality: String,
    pub cve_ent: String,
    pub region: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub opening_hours: String,
    pub contact_name: String,
    pub contact_phone: String,
    pub notes: String,
    pub installed_on: Option<NaiveDate>,
    pub status: String,
    pub next_visit: Option<NaiveDate>,
}

/// What the public may see of an active espacio seguro. No contact person, no notes.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PublicSafeSpace {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub address: String,
    pub cvegeo: String,
    pub municipality: String,
    pub cve_ent: String,
    pub state: String,
    pub region_id: Option<i64>,
    pub region: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub opening_hours: String,
}

/// What the public may see of an active unit: name, place and its public line.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct PublicUnit {
    pub id: i64,
    pub name: String,
    pub cvegeo: String,
    pub municipality: String,
    pub cve_ent: String,
    pub state: String,
    pub region_id: Option<i64>,
    pub region: Option<String>,
    pub head_lat: Option<f64>,
    pub head_lon: Option<f64>,
    pub contact_line: String,
}

#[derive(Debug, Clone, Default)]
pub struct PlaceFilter {
    pub cve_ent: Option<String>,
    pub region_id: Option<i64>,
    pub cvegeo: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Visit {
    pub id: i64,
    pub safe_space_id: i64,
    pub safe_space: String,
    pub municipality: String,
    pub scheduled_on: NaiveDate,
    pub visited_on: Option<NaiveDate>,
    pub result: Option<String>,
    pub notes: String,
    pub next_due: Option<NaiveDate>,
}

/// One municipality of a declaration, with what is in place there.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct CoverageRow {
    pub cvegeo: String,
    pub municipality: String,
    pub region: Option<String>,
    pub population_women: i64,
    pub head_lat: Option<f64>,
    pub head_lon: Option<f64>,
    pub units_active: i64,
    /// Statuses of its units, comma-separated.
    pub unit_statuses: String,
    pub safe_spaces: i64,
}

const SPACE_SELECT: &str = "SELECT s.id, s.name, s.kind, s.address, s.cvegeo, m.name AS municipality, m.cve_ent, r.name AS region, \
    s.lat, s.lon, s.opening_hours, s.contact_name, s.contact_phone, s.notes, s.installed_on, s.status, \
    (SELECT MIN(v.scheduled_on) FROM safe_space_visits v WHERE v.safe_space_id = s.id AND v.visited_on IS NULL) AS next_visit \
    FROM safe_spaces s JOIN municipalities m ON m.cvegeo = s.cvegeo \
    LEFT JOIN region_municipalities rm ON rm.cvegeo = s.cvegeo LEFT JOIN regions r ON r.id = rm.region_id";

/// The public columns only; this is the one query behind every public surface.
const PUBLIC_SPACE_SELECT: &str = "SELECT s.id, s.name, s.kind, s.address, s.cvegeo, m.name AS municipality, m.cve_ent, \
    st.name AS state, r.id AS region_id, r.name AS region, s.lat, s.lon, s.opening_hours \
    FROM safe_spaces s JOIN municipalities m ON m.cvegeo = s.cvegeo JOIN states st ON st.cve_ent = m.cve_ent \
    LEFT JOIN region_municipalities rm ON rm.cvegeo = s.cvegeo LEFT JOIN regions r ON r.id = rm.region_id \
    WHERE s.status = 'activo'";

const PUBLIC_UNIT_SELECT: &str = "SELECT u.id, u.name, u.cvegeo, m.name AS municipality, m.cve_ent, st.name AS state, \
    r.id AS region_id, r.name AS region, m.head_lat, m.head_lon, u.contact_line \
    FROM reaction_units u JOIN municipalities m ON m.cvegeo = u.cvegeo JOIN states st ON st.cve_ent = m.cve_ent \
    LEFT JOIN region_municipalities rm ON rm.cvegeo = u.cvegeo LEFT JOIN regions r ON r.id = rm.region_id \
    WHERE u.status = 'activa'";

const PLACE_FILTER: &str = "($1 IS NULL OR m.cve_ent = $1) AND ($2 IS NULL OR r.id = $2) AND ($3 IS NULL OR m.cvegeo = $3)";

/// Marks the public map data as changed (in the caller's transaction).
pub(crate) async fn bump_public(tx: &mut Tx) -> Result<()> {
    on_tx!(tx, |c| sqlx::query("UPDATE public_versions SET version = version + 1 WHERE name = 'mapa'").execute(c).await?.rows_affected());
    if let Tx::Postgres(t) = tx {
        // Delivered at commit to every process listening (see `Store::public_changes`).
        sqlx::query("SELECT pg_notify('violeta_mapa', '')").execute(&mut **t).await?;
    }
    Ok(())
}

/// PostgreSQL's word that public map data changed, from any server process.
pub struct ChangeFeed(sqlx::postgres::PgListener);

impl ChangeFeed {
    /// Waits for the next change. `Ok(true)`: a change; `Ok(false)`: the connection was
    /// lost and made again, so changes may have been missed meanwhile.
    pub async fn next(&mut self) -> Result<bool> {
        Ok(self.0.try_recv().await?.is_some())
    }
}

impl Store {
    /// The version of the public map data: it changes with every change to it, so a cache
    /// in any server process knows when to rebuild.
    /// On PostgreSQL, a feed of changes to public map data (LISTEN/NOTIFY), so a process can
    /// keep its cache without asking on every request. `None` on SQLite.
    pub async fn public_changes(&self) -> Result<Option<ChangeFeed>> {
        match &self.pool {
            crate::Pool::Postgres(p) => {
                let mut listener = sqlx::postgres::PgListener::connect_with(p).await?;
                listener.listen("violeta_mapa").await?;
                Ok(Some(ChangeFeed(listener)))
            }
            crate::Pool::Sqlite(..) => Ok(None),
        }
    }

    pub async fn public_map_version(&self) -> Result<i64> {
        Ok(on_pool!(self, |p| sqlx::query_scalar("SELECT version FROM public_versions WHERE name = 'mapa'").fetch_one(p).await?))
    }

    // ----- units -----

    pub async fn create_unit(&self, actor: &Actor, u: &NewUnit) -> Result<i64> {
        if u.municipality.state() != u.state {
            return Err(StoreError::Invalid(format!(
                "el municipio {} no pertenece a la entidad {}; una unidad solo puede estar en un municipio de su entidad",
                u.municipality, u.state
            )));
        }
        if u.name.trim().is_empty() {
            return Err(StoreError::Invalid("la unidad necesita un nombre".into()));
        }
        if u.status == UnitStatus::Activa && u.activated_on.is_none() {
            return Err(StoreError::Invalid("una unidad activa necesita su fecha de activación".into()));
        }
        let mut tx = self.begin().await?;
        let id: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "INSERT INTO reaction_units (name, cvegeo, status, activated_on, agreement, contact_line, notes, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING id"
        )
        .bind(u.name.trim())
        .bind(u.municipality.as_str())
        .bind(u.status.code())
        .bind(u.activated_on)
        .bind(u.agreement.trim())
        .bind(u.contact_line.trim())
        .bind(u.notes.trim())
        .bind(now())
        .fetch_one(c)
        .await?);
        let on = u.activated_on.unwrap_or_else(|| now().date_naive());
        insert_change(&mut tx, id, u.status, on, &actor.label, "Alta de la unidad").await?;
        bump_public(&mut tx).await?;
        append(&mut tx, actor, Event::new("unidad.crear", "unidad", id).with(serde_json::json!({"municipio": u.municipality, "estado": u.status.code()}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn units(&self, f: &PlaceFilter) -> Result<Vec<Unit>> {
        let sql = format!("{UNIT_SELECT} WHERE {PLACE_FILTER} ORDER BY m.name, u.name");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(&f.cve_ent).bind(f.region_id).bind(&f.cvegeo).fetch_all(p).await?))
    }

    pub async fn unit(&self, id: i64) -> Result<(Unit, Vec<UnitChange>, Vec<UnitMember>)> {
        let sql = format!("{UNIT_SELECT} WHERE u.id = $1");
        let unit: Option<Unit> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?);
        let unit = unit.ok_or_else(|| StoreError::NotFound("no existe esa unidad".into()))?;
        let changes: Vec<UnitChange> = on_pool!(self, |p| sqlx::query_as(
            "SELECT status, changed_on, changed_at, changed_by, note FROM reaction_unit_changes WHERE unit_id = $1 ORDER BY changed_at, id"
        )
        .bind(id)
        .fetch_all(p)
        .await?);
        let members: Vec<UnitMember> = on_pool!(self, |p| sqlx::query_as(
            "SELECT p.id AS person_id, TRIM(p.given_names || ' ' || p.first_surname || ' ' || p.second_surname) AS name, p.corps, \
             um.rank, um.joined_on FROM reaction_unit_members um JOIN people p ON p.id = um.person_id \
             WHERE um.unit_id = $1 ORDER BY p.first_surname, p.given_names"
        )
        .bind(id)
        .fetch_all(p)
        .await?);
        Ok((unit, changes, members))
    }

    /// Changes a unit's status, keeping the history.
    pub async fn change_unit_status(&self, actor: &Actor, id: i64, status: UnitStatus, on: NaiveDate, note: &str) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE reaction_units SET status = $1, updated_at = $2, \
             activated_on = CASE WHEN $1 = 'activa' AND activated_on IS NULL THEN $3 ELSE activated_on END WHERE id = $4"
        )
        .bind(status.code())
        .bind(now())
        .bind(on)
        .bind(id)
        .execute(c)
        .await?
        .rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound("no existe esa unidad".into()));
        }
        insert_change(&mut tx, id, status, on, &actor.label, note).await?;
        bump_public(&mut tx).await?;
        append(&mut tx, actor, Event::new("unidad.cambiar_estado", "unidad", id).with(serde_json::json!({"estado": status.code(), "fecha": on}))).await?;
        tx.commit().await
    }

    /// Adds a police officer from the registry to a unit.
    pub async fn add_unit_member(&self, actor: &Actor, unit_id: i64, person_id: i64, rank: &str, joined_on: Option<NaiveDate>) -> Result<()> {
        let mut tx = self.begin().await?;
        let corps: Option<Option<String>> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT corps FROM people WHERE id = $1 AND merged_into IS NULL")
            .bind(person_id)
            .fetch_optional(c)
            .await?);
        match corps {
            None => return Err(StoreError::NotFound("no existe esa persona".into())),
            Some(None) => {
                return Err(StoreError::Invalid(
                    "la persona no tiene corporación policial registrada; indíquela en su ficha antes de sumarla a la unidad".into(),
                ));
            }
            Some(Some(_)) => {}
        }
        let inserted: std::result::Result<u64, sqlx::Error> = on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO reaction_unit_members (unit_id, person_id, rank, joined_on) VALUES ($1, $2, $3, $4)"
        )
        .bind(unit_id)
        .bind(person_id)
        .bind(rank.trim())
        .bind(joined_on)
        .execute(c)
        .await
        .map(|r| r.rows_affected()));
        inserted.map_err(|e| match StoreError::from(e) {
            e if e.is_unique_violation() => StoreError::Conflict("la persona ya es integrante de la unidad".into()),
            e => e,
        })?;
        append(&mut tx, actor, Event::new("unidad.agregar_integrante", "unidad", unit_id).with(serde_json::json!({"persona": person_id}))).await?;
        tx.commit().await
    }

    // ----- espacios seguros -----

    pub async fn create_safe_space(&self, actor: &Actor, s: &NewSafeSpace) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = insert_safe_space(&mut tx, s).await?;
        bump_public(&mut tx).await?;
        append(&mut tx, actor, Event::new("espacio.crear", "espacio_seguro", id).with(serde_json::json!({"municipio": s.municipality}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Creates many espacios seguros in one transaction: all or none.
    pub async fn import_safe_spaces(&self, actor: &Actor, spaces: &[NewSafeSpace]) -> Result<usize> {
        let mut tx = self.begin().await?;
        for s in spaces {
            insert_safe_space(&mut tx, s).await?;
        }
        bump_public(&mut tx).await?;
        append(&mut tx, actor, Event::new("espacio.importar", "espacio_seguro", "*").with(serde_json::json!({"filas": spaces.len()}))).await?;
        tx.commit().await?;
        Ok(spaces.len())
    }

    pub async fn set_safe_space_status(&self, actor: &Actor, id: i64, status: SafeSpaceStatus) -> Result<()> {
        let mut tx = self.begin().await?;
        let n = on_tx!(&mut tx, |c| sqlx::query("UPDATE safe_spaces SET status = $1, updated_at = $2 WHERE id = $3")
            .bind(status.code())
            .bind(now())
            .bind(id)
            .execute(c)
            .await?
            .rows_affected());
        if n == 0 {
            return Err(StoreError::NotFound("no existe ese espacio seguro".into()));
        }
        bump_public(&mut tx).await?;
        append(&mut tx, actor, Event::new("espacio.cambiar_estado", "espacio_seguro", id).with(serde_json::json!({"estado": status.code()}))).await?;
        tx.commit().await
    }

    /// Every espacio seguro, with private fields: staff only.
    pub async fn safe_spaces(&self, f: &PlaceFilter) -> Result<Vec<SafeSpace>> {
        let sql = format!("{SPACE_SELECT} WHERE {PLACE_FILTER} ORDER BY m.name, s.name");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(&f.cve_ent).bind(f.region_id).bind(&f.cvegeo).fetch_all(p).await?))
    }

    pub async fn safe_space(&self, id: i64) -> Result<SafeSpace> {
        let sql = format!("{SPACE_SELECT} WHERE s.id = $1");
        let found: Option<SafeSpace> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?);
        found.ok_or_else(|| StoreError::NotFound("no existe ese espacio seguro".into()))
    }

    /// Active espacios seguros, public columns only.
    pub async fn public_safe_spaces(&self, f: &PlaceFilter) -> Result<Vec<PublicSafeSpace>> {
        let sql = format!("{PUBLIC_SPACE_SELECT} AND {PLACE_FILTER} ORDER BY st.name, m.name, s.name");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(&f.cve_ent).bind(f.region_id).bind(&f.cvegeo).fetch_all(p).await?))
    }

    /// Active units, public columns only.
    pub async fn public_units(&self, f: &PlaceFilter) -> Result<Vec<PublicUnit>> {
        let sql = format!("{PUBLIC_UNIT_SELECT} AND {PLACE_FILTER} ORDER BY st.name, m.name, u.name");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(&f.cve_ent).bind(f.region_id).bind(&f.cvegeo).fetch_all(p).await?))
    }

    // ----- verification visits -----

    pub async fn schedule_visit(&self, actor: &Actor, safe_space_id: i64, on: NaiveDate) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = insert_visit(&mut tx, safe_space_id, on).await?;
        append(&mut tx, actor, Event::new("espacio.programar_visita", "espacio_seguro", safe_space_id).with(serde_json::json!({"fecha": on}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Records a visit's outcome; a `next_due` date schedules the next visit. A place that
    /// no longer works as an espacio seguro is suspended (and leaves the public map).
    pub async fn record_visit(&self, actor: &Actor, visit_id: i64, visited_on: NaiveDate, result: VisitResult, notes: &str, next_due: Option<NaiveDate>) -> Result<()> {
        if next_due.is_some_and(|d| d <= visited_on) {
            return Err(StoreError::Invalid("la próxima visita debe ser posterior a la visita registrada".into()));
        }
        let mut tx = self.begin().await?;
        let space: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "UPDATE safe_space_visits SET visited_on = $1, result = $2, notes = $3, next_due = $4 \
             WHERE id = $5 AND visited_on IS NULL RETURNING safe_space_id"
        )
        .bind(visited_on)
        .bind(result.code())
        .bind(notes.trim())
        .bind(next_due)
        .bind(visit_id)
        .fetch_optional(c)
        .await?);
        let space = space.ok_or_else(|| StoreError::NotFound("no existe esa visita pendiente".into()))?;
        if let Some(next) = next_due {
            insert_visit(&mut tx, space, next).await?;
        }
        if result == VisitResult::NoOpera {
            on_tx!(&mut tx, |c| sqlx::query("UPDATE safe_spaces SET status = 'suspendido', updated_at = $1 WHERE id = $2")
                .bind(now())
                .bind(space)
                .execute(c)
                .await?
                .rows_affected());
            bump_public(&mut tx).await?;
        }
        append(&mut tx, actor, Event::new("espacio.registrar_visita", "espacio_seguro", space).with(serde_json::json!({"resultado": result.code()}))).await?;
        tx.commit().await
    }

    pub async fn visits(&self, safe_space_id: i64) -> Result<Vec<Visit>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT v.id, v.safe_space_id, s.name AS safe_space, m.name AS municipality, v.scheduled_on, v.visited_on, v.result, v.notes, v.next_due \
             FROM safe_space_visits v JOIN safe_spaces s ON s.id = v.safe_space_id JOIN municipalities m ON m.cvegeo = s.cvegeo \
             WHERE v.safe_space_id = $1 ORDER BY v.scheduled_on DESC, v.id DESC"
        )
        .bind(safe_space_id)
        .fetch_all(p)
        .await?))
    }

    /// Pending visits scheduled before `today`, oldest first.
    pub async fn overdue_visits(&self, today: NaiveDate) -> Result<Vec<Visit>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT v.id, v.safe_space_id, s.name AS safe_space, m.name AS municipality, v.scheduled_on, v.visited_on, v.result, v.notes, v.next_due \
             FROM safe_space_visits v JOIN safe_spaces s ON s.id = v.safe_space_id JOIN municipalities m ON m.cvegeo = s.cvegeo \
             WHERE v.visited_on IS NULL AND v.scheduled_on < $1 AND s.status <> 'retirado' ORDER BY v.scheduled_on, v.id"
        )
        .bind(today)
        .fetch_all(p)
        .await?))
    }

    // ----- coverage -----

    /// The municipalities of a declaration with their units and active espacios seguros.
    pub async fn coverage(&self, declaration_id: i64) -> Result<Vec<CoverageRow>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT m.cvegeo, m.name AS municipality, r.name AS region, m.population_women, m.head_lat, m.head_lon, \
             (SELECT COUNT(*) FROM reaction_units u WHERE u.cvegeo = m.cvegeo AND u.status = 'activa') AS units_active, \
             COALESCE((SELECT STRING_AGG(u.status, ',') FROM reaction_units u WHERE u.cvegeo = m.cvegeo), '') AS unit_statuses, \
             (SELECT COUNT(*) FROM safe_spaces s WHERE s.cvegeo = m.cvegeo AND s.status = 'activo') AS safe_spaces \
             FROM avgm_municipalities am JOIN municipalities m ON m.cvegeo = am.cvegeo \
             LEFT JOIN region_municipalities rm ON rm.cvegeo = m.cvegeo LEFT JOIN regions r ON r.id = rm.region_id \
             WHERE am.declaration_id = $1 ORDER BY m.name"
        )
        .bind(declaration_id)
        .fetch_all(p)
        .await?))
    }
}

async fn insert_change(tx: &mut Tx, unit_id: i64, status: UnitStatus, on: NaiveDate, by: &str, note: &str) -> Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO reaction_unit_changes (unit_id, status, changed_on, changed_at, changed_by, note) VALUES ($1, $2, $3, $4, $5, $6)"
    )
    .bind(unit_id)
    .bind(status.code())
    .bind(on)
    .bind(now())
    .bind(by)
    .bind(note.trim())
    .execute(c)
    .await?
    .rows_affected());
    Ok(())
}

async fn insert_safe_space(tx: &mut Tx, s: &NewSafeSpace) -> Result<i64> {
    if s.name.trim().is_empty() || s.address.trim().is_empty() {
        return Err(StoreError::Invalid("el espacio seguro necesita nombre y domicilio".into()));
    }
    Ok(on_tx!(tx, |c| sqlx::query_scalar(
        "INSERT INTO safe_spaces (name, kind, address, cvegeo, lat, lon, opening_hours, contact_name, contact_phone, notes, \
         installed_on, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) RETURNING id"
    )
    .bind(s.name.trim())
    .bind(s.kind.code())
    .bind(s.address.trim())
    .bind(s.municipality.as_str())
    .bind(s.point.lat)
    .bind(s.point.lon)
    .bind(s.hours.as_str())
    .bind(s.contact_name.trim())
    .bind(s.contact_phone.trim())
    .bind(s.notes.trim())
    .bind(s.installed_on)
    .bind(s.status.code())
    .bind(now())
    .fetch_one(c)
    .await?))
}

async fn insert_visit(tx: &mut Tx, safe_space_id: i64, on: NaiveDate) -> Result<i64> {
    Ok(on_tx!(tx, |c| sqlx::query_scalar("INSERT INTO safe_space_visits (safe_space_id, scheduled_on) VALUES ($1, $2) RETURNING id")
        .bind(safe_space_id)
        .bind(on)
        .fetch_one(c)
        .await?))
}
