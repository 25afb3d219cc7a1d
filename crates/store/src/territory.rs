//! Territory: states and municipalities (INEGI, read-only), regions and AVGM
//! declarations (kept by users).

use crate::audit::{Event, append};
use crate::{Result, Store, StoreError, Tx, now, on_pool, on_tx};
use chrono::NaiveDate;
use serde::Serialize;
use violeta_domain::audit::Actor;
use violeta_domain::territory::{AvgmKind, MunicipalityKey, StateKey};
use violeta_domain::text::search_key;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct State {
    pub cve_ent: String,
    pub name: String,
    pub abbreviation: String,
    pub renapo_code: String,
    pub municipalities: i64,
    pub population_women: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Municipality {
    pub cvegeo: String,
    pub cve_ent: String,
    pub state_name: String,
    pub name: String,
    pub head_town: String,
    pub population_total: i64,
    pub population_women: i64,
    pub population_men: i64,
    pub head_lat: Option<f64>,
    pub head_lon: Option<f64>,
    pub region_id: Option<i64>,
    pub region: Option<String>,
    /// Comma-separated AVGM kinds that cover it (`violencia_feminicida,desaparicion`), or empty.
    pub avgm: String,
}

impl Municipality {
    pub fn avgm_kinds(&self) -> Vec<AvgmKind> {
        self.avgm.split(',').filter_map(AvgmKind::parse).collect()
    }
}

#[derive(Debug, Clone, Default)]
pub struct MunicipalityFilter {
    pub cve_ent: Option<String>,
    pub region_id: Option<i64>,
    /// Only municipalities under some AVGM declaration.
    pub avgm_only: bool,
    /// Accent-insensitive text over the name.
    pub query: Option<String>,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Region {
    pub id: i64,
    pub cve_ent: String,
    pub name: String,
    pub source_note: String,
    pub municipalities: i64,
    /// Aliases separated by " | ".
    pub aliases: String,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Declaration {
    pub id: i64,
    pub cve_ent: String,
    pub state_name: String,
    pub kind: String,
    pub declared_on: NaiveDate,
    pub title: String,
    pub source_note: String,
    pub municipalities: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Measure {
    pub id: i64,
    pub position: i64,
    pub category: String,
    pub text: String,
}

/// A declaration to create, already checked against the domain.
#[derive(Debug, Clone)]
pub struct NewDeclaration {
    pub state: StateKey,
    pub kind: AvgmKind,
    pub declared_on: NaiveDate,
    pub title: String,
    pub source_note: String,
    pub municipalities: Vec<MunicipalityKey>,
    /// (category, text)
    pub measures: Vec<(String, String)>,
}

/// One row of a regions import: a municipality and the region it belongs to.
#[derive(Debug, Clone)]
pub struct RegionAssignment {
    pub municipality: MunicipalityKey,
    pub region: String,
    pub aliases: Vec<String>,
}

const MUNICIPALITY_SELECT: &str = "SELECT m.cvegeo, m.cve_ent, s.name AS state_name, m.name, m.head_town, \
    m.population_total, m.population_women, m.population_men, m.head_lat, m.head_lon, \
    r.id AS region_id, r.name AS region, \
    COALESCE((SELECT STRING_AGG(k.kind, ',') FROM (SELECT DISTINCT d.kind FROM avgm_municipalities am \
              JOIN avgm_declarations d ON d.id = am.declaration_id WHERE am.cvegeo = m.cvegeo) k), '') AS avgm \
    FROM municipalities m JOIN states s ON s.cve_ent = m.cve_ent \
    LEFT JOIN region_municipalities rm ON rm.cvegeo = m.cvegeo \
    LEFT JOIN regions r ON r.id = rm.region_id";

impl Store {
    pub async fn states(&self) -> Result<Vec<State>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT s.cve_ent, s.name, s.abbreviation, s.renapo_code, COUNT(m.cvegeo) AS municipalities, \
             CAST(COALESCE(SUM(m.population_women), 0) AS BIGINT) AS population_women \
             FROM states s LEFT JOIN municipalities m ON m.cve_ent = s.cve_ent \
             GROUP BY s.cve_ent, s.name, s.abbreviation, s.renapo_code ORDER BY s.cve_ent"
        )
        .fetch_all(p)
        .await?))
    }

    pub async fn state(&self, key: &StateKey) -> Result<State> {
        self.states()
            .await?
            .into_iter()
            .find(|s| s.cve_ent == key.as_str())
            .ok_or_else(|| StoreError::NotFound(format!("no existe la entidad {key}")))
    }

    pub async fn municipalities(&self, f: &MunicipalityFilter) -> Result<Vec<Municipality>> {
        // Only the conditions in use go into the SQL, so the planner can use the state index
        // (a "$1 IS NULL OR …" condition would make it scan every municipality).
        let mut conditions: Vec<String> = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        if let Some(state) = &f.cve_ent {
            binds.push(state.clone());
            conditions.push(format!("m.cve_ent = ${}", binds.len()));
        }
        if let Some(q) = &f.query {
            binds.push(format!("%{}%", search_key(q)));
            conditions.push(format!("m.search_key LIKE ${}", binds.len()));
        }
        if let Some(region) = f.region_id {
            conditions.push(format!("r.id = {region}"));
        }
        if f.avgm_only {
            conditions.push("EXISTS (SELECT 1 FROM avgm_municipalities am WHERE am.cvegeo = m.cvegeo)".into());
        }
        let filter = if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!("{MUNICIPALITY_SELECT} {filter} ORDER BY m.cvegeo");
        Ok(on_pool!(self, |p| {
            let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql.clone()));
            for b in &binds {
                q = q.bind(b);
            }
            q.fetch_all(p).await?
        }))
    }

    pub async fn municipality(&self, key: &MunicipalityKey) -> Result<Municipality> {
        let sql = format!("{MUNICIPALITY_SELECT} WHERE m.cvegeo = $1");
        let found: Option<Municipality> =
            on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(key.as_str()).fetch_optional(p).await?);
        found.ok_or_else(|| StoreError::NotFound(format!("no existe el municipio con clave INEGI {key}")))
    }

    /// Finds a municipality of a state in the catalogue, by its key or by its name (accent-
    /// and case-insensitively). A well-formed key the catalogue lacks is not found.
    pub async fn find_municipality(&self, state: &StateKey, name_or_key: &str) -> Result<Option<MunicipalityKey>> {
        let found: Option<String> = on_pool!(self, |p| sqlx::query_scalar(
            "SELECT cvegeo FROM municipalities WHERE cve_ent = $1 AND (cvegeo = $2 OR search_key = $3)"
        )
        .bind(state.as_str())
        .bind(name_or_key.trim())
        .bind(search_key(name_or_key))
        .fetch_optional(p)
        .await?);
        Ok(found.and_then(|k| MunicipalityKey::parse(&k).ok()))
    }

    // ----- regions -----

    pub async fn regions(&self, state: &StateKey) -> Result<Vec<Region>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT r.id, r.cve_ent, r.name, r.source_note, \
             (SELECT COUNT(*) FROM region_municipalities rm WHERE rm.region_id = r.id) AS municipalities, \
             COALESCE((SELECT STRING_AGG(a.alias, ' | ') FROM region_aliases a WHERE a.region_id = r.id), '') AS aliases \
             FROM regions r WHERE r.cve_ent = $1 ORDER BY r.name"
        )
        .bind(state.as_str())
        .fetch_all(p)
        .await?))
    }

    pub async fn create_region(&self, actor: &Actor, state: &StateKey, name: &str, aliases: &[String], source_note: &str) -> Result<i64> {
        let name = violeta_domain::territory::validate_region_name(name).map_err(StoreError::Invalid)?;
        let mut tx = self.begin().await?;
        let id = insert_region(&mut tx, state, &name, aliases, source_note).await?;
        crate::safety::bump_public(&mut tx).await?;
        append(&mut tx, actor, Event::new("region.crear", "region", id).with(serde_json::json!({"estado": state, "nombre": name}))).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Places municipalities in a region (moving them out of any other region).
    pub async fn assign_to_region(&self, actor: &Actor, region_id: i64, municipalities: &[MunicipalityKey]) -> Result<()> {
        let mut tx = self.begin().await?;
        let state: Option<String> = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT cve_ent FROM regions WHERE id = $1")
            .bind(region_id)
            .fetch_optional(c)
            .await?);
        let state = state.ok_or_else(|| StoreError::NotFound("la región no existe".into()))?;
        for m in municipalities {
            if m.state().as_str() != state {
                return Err(StoreError::Invalid(format!("el municipio {m} no pertenece a la entidad de la región")));
            }
            assign(&mut tx, m, region_id).await?;
        }
        crate::safety::bump_public(&mut tx).await?;
        append(
            &mut tx,
            actor,
            Event::new("region.asignar_municipios", "region", region_id)
                .with(serde_json::json!({"municipios": municipalities.iter().map(|m| m.as_str()).collect::<Vec<_>>()})),
        )
        .await?;
        tx.commit().await
    }

    /// Renames a region and replaces its aliases.
    pub async fn update_region(&self, actor: &Actor, region_id: i64, name: &str, aliases: &[String], source_note: &str) -> Result<()> {
        let name = violeta_domain::territory::validate_region_name(name).map_err(StoreError::Invalid)?;
        let mut tx = self.begin().await?;
        let updated: std::result::Result<u64, sqlx::Error> = on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE regions SET name = $1, source_note = $2 WHERE id = $3"
        )
        .bind(&name)
        .bind(source_note.trim())
        .bind(region_id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()));
        match updated.map_err(StoreError::from) {
            Ok(0) => return Err(StoreError::NotFound("la región no existe".into())),
            Ok(_) => {}
            Err(e) if e.is_unique_violation() => return Err(StoreError::Conflict(format!("ya existe la región «{name}» en esta entidad"))),
            Err(e) => return Err(e),
        }
        on_tx!(&mut tx, |c| sqlx::query("DELETE FROM region_aliases WHERE region_id = $1").bind(region_id).execute(c).await?.rows_affected());
        for alias in aliases.iter().map(|a| violeta_domain::text::clean(a)).filter(|a| !a.is_empty()) {
            on_tx!(&mut tx, |c| sqlx::query("INSERT INTO region_aliases (region_id, alias) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                .bind(region_id)
                .bind(&alias)
                .execute(c)
                .await?
                .rows_affected());
        }
        crate::safety::bump_public(&mut tx).await?;
        append(&mut tx, actor, Event::new("region.editar", "region", region_id).with(serde_json::json!({"nombre": name}))).await?;
        tx.commit().await
    }

    /// Takes municipalities out of whatever region they are in.
    pub async fn remove_from_region(&self, actor: &Actor, region_id: i64, municipalities: &[MunicipalityKey]) -> Result<()> {
        let mut tx = self.begin().await?;
        for m in municipalities {
            on_tx!(&mut tx, |c| sqlx::query("DELETE FROM region_municipalities WHERE cvegeo = $1 AND region_id = $2")
                .bind(m.as_str())
                .bind(region_id)
                .execute(c)
                .await?
                .rows_affected());
        }
        crate::safety::bump_public(&mut tx).await?;
        append(
            &mut tx,
            actor,
            Event::new("region.quitar_municipios", "region", region_id)
                .with(serde_json::json!({"municipios": municipalities.iter().map(|m| m.as_str()).collect::<Vec<_>>()})),
        )
        .await?;
        tx.commit().await
    }

    /// Imports municipality → region rows for one state, all or nothing: regions that do
    /// not exist are created (with their aliases), every municipality is placed.
    pub async fn import_regions(&self, actor: &Actor, state: &StateKey, rows: &[RegionAssignment], source_note: &str) -> Result<usize> {
        let mut tx = self.begin().await?;
        let mut ids: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
        for row in rows {
            if row.municipality.state() != *state {
                return Err(StoreError::Invalid(format!("el municipio {} no pertenece a la entidad {state}", row.municipality)));
            }
            let name = violeta_domain::territory::validate_region_name(&row.region).map_err(StoreError::Invalid)?;
            let id = match ids.get(&name) {
                Some(id) => *id,
                None => {
                    let existing: Option<i64> = on_tx!(&mut tx, |c| sqlx::query_scalar(
                        "SELECT id FROM regions WHERE cve_ent = $1 AND name = $2"
                    )
                    .bind(state.as_str())
                    .bind(&name)
                    .fetch_optional(c)
                    .await?);
                    let id = match existing {
                        Some(id) => id,
                        None => insert_region(&mut tx, state, &name, &row.aliases, source_note).await?,
                    };
                    ids.insert(name.clone(), id);
                    id
                }
            };
            assign(&mut tx, &row.municipality, id).await?;
        }
        crate::safety::bump_public(&mut tx).await?;
        append(
            &mut tx,
            actor,
            Event::new("region.importar", "estado", state).with(serde_json::json!({"filas": rows.len(), "regiones": ids.len()})),
        )
        .await?;
        tx.commit().await?;
        Ok(rows.len())
    }

    // ----- AVGM declarations -----

    pub async fn declarations(&self, state: Option<&StateKey>) -> Result<Vec<Declaration>> {
        Ok(on_pool!(self, |p| sqlx::query_as(
            "SELECT d.id, d.cve_ent, s.name AS state_name, d.kind, d.declared_on, d.title, d.source_note, \
             (SELECT COUNT(*) FROM avgm_municipalities am WHERE am.declaration_id = d.id) AS municipalities \
             FROM avgm_declarations d JOIN states s ON s.cve_ent = d.cve_ent \
             WHERE ($1 IS NULL OR d.cve_ent = $1) ORDER BY d.declared_on, d.id"
        )
        .bind(state.map(|s| s.as_str()))
        .fetch_all(p)
        .await?))
    }

    pub async fn declaration(&self, id: i64) -> Result<(Declaration, Vec<Municipality>, Vec<Measure>)> {
        let d = self
            .declarations(None)
            .await?
            .into_iter()
            .find(|d| d.id == id)
            .ok_or_else(|| StoreError::NotFound("no existe esa declaratoria".into()))?;
        let sql = format!(
            "{MUNICIPALITY_SELECT} WHERE m.cvegeo IN (SELECT cvegeo FROM avgm_municipalities WHERE declaration_id = $1) ORDER BY m.name"
        );
        let municipalities: Vec<Municipality> =
            on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_all(p).await?);
        let measures: Vec<Measure> = on_pool!(self, |p| sqlx::query_as(
            "SELECT id, position, category, text FROM avgm_measures WHERE declaration_id = $1 ORDER BY position"
        )
        .bind(id)
        .fetch_all(p)
        .await?);
        Ok((d, municipalities, measures))
    }

    pub async fn create_declaration(&self, actor: &Actor, d: &NewDeclaration) -> Result<i64> {
        let mut tx = self.begin().await?;
        let id = insert_declaration(&mut tx, actor, d).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// Creates several declarations in one transaction: all or none.
    pub async fn import_declarations(&self, actor: &Actor, declarations: &[NewDeclaration]) -> Result<Vec<i64>> {
        let mut tx = self.begin().await?;
        let mut ids = Vec::with_capacity(declarations.len());
        for d in declarations {
            ids.push(insert_declaration(&mut tx, actor, d).await?);
        }
        tx.commit().await?;
        Ok(ids)
    }

    pub async fn add_declaration_municipalities(&self, actor: &Actor, id: i64, municipalities: &[MunicipalityKey]) -> Result<()> {
        let (d, _, _) = self.declaration(id).await?;
        let state = StateKey::parse(&d.cve_ent).map_err(|e| StoreError::Invalid(e.to_string()))?;
        let mut tx = self.begin().await?;
        add_declaration_municipalities(&mut tx, id, &state, municipalities).await?;
        append(
            &mut tx,
            actor,
            Event::new("avgm.agregar_municipios", "declaratoria", id)
                .with(serde_json::json!({"municipios": municipalities.iter().map(|m| m.as_str()).collect::<Vec<_>>()})),
        )
        .await?;
        tx.commit().await
    }

    pub async fn add_measure(&self, actor: &Actor, id: i64, category: &str, text: &str) -> Result<()> {
        if text.trim().is_empty() {
            return Err(StoreError::Invalid("la medida no puede quedar vacía".into()));
        }
        let mut tx = self.begin().await?;
        let next: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "SELECT COALESCE(MAX(position), 0) + 1 FROM avgm_measures WHERE declaration_id = $1"
        )
        .bind(id)
        .fetch_one(c)
        .await?);
        insert_measure(&mut tx, id, next, category, text).await?;
        append(&mut tx, actor, Event::new("avgm.agregar_medida", "declaratoria", id)).await?;
        tx.commit().await
    }
}

async fn insert_declaration(tx: &mut Tx, actor: &Actor, d: &NewDeclaration) -> Result<i64> {
    if d.title.trim().is_empty() {
        return Err(StoreError::Invalid("la declaratoria necesita un título".into()));
    }
    let id: i64 = on_tx!(tx, |c| sqlx::query_scalar(
            "INSERT INTO avgm_declarations (cve_ent, kind, declared_on, title, source_note, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
        )
        .bind(d.state.as_str())
        .bind(d.kind.code())
        .bind(d.declared_on)
        .bind(d.title.trim())
        .bind(d.source_note.trim())
        .bind(now())
        .fetch_one(c)
        .await?);
        add_declaration_municipalities(tx, id, &d.state, &d.municipalities).await?;
        for (i, (category, text)) in d.measures.iter().enumerate() {
            insert_measure(tx, id, i as i64 + 1, category, text).await?;
        }
        append(
            tx,
            actor,
            Event::new("avgm.crear", "declaratoria", id).with(serde_json::json!({
                "estado": d.state, "tipo": d.kind.code(), "fecha": d.declared_on, "municipios": d.municipalities.len(), "medidas": d.measures.len()
            })),
        )
        .await?;
    Ok(id)
}

async fn insert_region(tx: &mut Tx, state: &StateKey, name: &str, aliases: &[String], source_note: &str) -> Result<i64> {
    let id: std::result::Result<i64, sqlx::Error> = on_tx!(tx, |c| sqlx::query_scalar(
        "INSERT INTO regions (cve_ent, name, source_note) VALUES ($1, $2, $3) RETURNING id"
    )
    .bind(state.as_str())
    .bind(name)
    .bind(source_note)
    .fetch_one(c)
    .await);
    let id = id.map_err(|e| match StoreError::from(e) {
        e if e.is_unique_violation() => StoreError::Conflict(format!("ya existe la región «{name}» en esta entidad")),
        e => e,
    })?;
    for alias in aliases.iter().map(|a| violeta_domain::text::clean(a)).filter(|a| !a.is_empty()) {
        on_tx!(tx, |c| sqlx::query("INSERT INTO region_aliases (region_id, alias) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id)
            .bind(&alias)
            .execute(c)
            .await?.rows_affected());
    }
    Ok(id)
}

async fn assign(tx: &mut Tx, m: &MunicipalityKey, region_id: i64) -> Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO region_municipalities (cvegeo, region_id) VALUES ($1, $2) \
         ON CONFLICT (cvegeo) DO UPDATE SET region_id = excluded.region_id"
    )
    .bind(m.as_str())
    .bind(region_id)
    .execute(c)
    .await?.rows_affected());
    Ok(())
}

async fn add_declaration_municipalities(tx: &mut Tx, id: i64, state: &StateKey, municipalities: &[MunicipalityKey]) -> Result<()> {
    for m in municipalities {
        if m.state() != *state {
            return Err(StoreError::Invalid(format!("el municipio {m} no pertenece a la entidad de la declaratoria")));
        }
        on_tx!(tx, |c| sqlx::query(
            "INSERT INTO avgm_municipalities (declaration_id, cvegeo) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(id)
        .bind(m.as_str())
        .execute(c)
        .await?.rows_affected());
    }
    Ok(())
}

async fn insert_measure(tx: &mut Tx, id: i64, position: i64, category: &str, text: &str) -> Result<()> {
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO avgm_measures (declaration_id, position, category, text) VALUES ($1, $2, $3, $4)"
    )
    .bind(id)
    .bind(position)
    .bind(category.trim())
    .bind(text.trim())
    .execute(c)
    .await?.rows_affected());
    Ok(())
}
