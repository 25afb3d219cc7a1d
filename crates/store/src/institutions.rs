//! Institutions (dependencias y entidades).

use crate::audit::{Event, append};
use crate::{Result, Store, StoreError, now, on_pool, on_tx};
use serde::Serialize;
use violeta_domain::audit::Actor;
use violeta_domain::institution::{InstitutionKind, Level, validate};
use violeta_domain::territory::MunicipalityKey;
use violeta_domain::text::search_key;

#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Institution {
    pub id: i64,
    pub name: String,
    pub acronym: String,
    pub kind: String,
    pub level: String,
    pub cvegeo: Option<String>,
    pub municipality: Option<String>,
    pub people: i64,
}

impl Institution {
    pub fn kind_label(&self) -> &'static str {
        InstitutionKind::parse(&self.kind).map(InstitutionKind::label).unwrap_or("")
    }
    pub fn level_label(&self) -> &'static str {
        Level::parse(&self.level).map(Level::label).unwrap_or("")
    }
}

#[derive(Debug, Clone)]
pub struct NewInstitution {
    pub name: String,
    pub acronym: String,
    pub kind: InstitutionKind,
    pub level: Level,
    pub municipality: Option<MunicipalityKey>,
}

const SELECT: &str = "SELECT i.id, i.name, i.acronym, i.kind, i.level, i.cvegeo, m.name AS municipality, \
    (SELECT COUNT(*) FROM people p WHERE p.institution_id = i.id AND p.merged_into IS NULL) AS people \
    FROM institutions i LEFT JOIN municipalities m ON m.cvegeo = i.cvegeo";

impl Store {
    pub async fn institutions(&self, query: Option<&str>) -> Result<Vec<Institution>> {
        let pattern = query.map(|q| format!("%{}%", search_key(q)));
        let sql = format!("{SELECT} WHERE ($1 IS NULL OR i.search_key LIKE $1) ORDER BY i.name");
        Ok(on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(&pattern).fetch_all(p).await?))
    }

    pub async fn institution(&self, id: i64) -> Result<Institution> {
        let sql = format!("{SELECT} WHERE i.id = $1");
        let found: Option<Institution> = on_pool!(self, |p| sqlx::query_as(sqlx::AssertSqlSafe(sql.clone())).bind(id).fetch_optional(p).await?);
        found.ok_or_else(|| StoreError::NotFound("no existe esa institución".into()))
    }

    /// Finds an institution by exact name (accent- and case-insensitive) or acronym.
    /// "H. Ayuntamiento de …" (Honorable) finds "Ayuntamiento de …".
    pub async fn find_institution(&self, name: &str) -> Result<Option<i64>> {
        let key = search_key(name);
        let key = ["h. ", "h ", "honorable "].iter().find_map(|p| key.strip_prefix(p)).map(str::to_string).unwrap_or(key);
        Ok(on_pool!(self, |p| sqlx::query_scalar(
            "SELECT id FROM institutions WHERE search_key = $1 OR LOWER(acronym) = $1 ORDER BY id LIMIT 1"
        )
        .bind(&key)
        .fetch_optional(p)
        .await?))
    }

    /// Corrects an institution's name, acronym, kind, level or municipality.
    pub async fn update_institution(&self, actor: &Actor, id: i64, new: &NewInstitution) -> Result<()> {
        let name = validate(&new.name, new.kind, new.level, new.municipality.is_some()).map_err(StoreError::Invalid)?;
        let mut tx = self.begin().await?;
        let updated: std::result::Result<u64, sqlx::Error> = on_tx!(&mut tx, |c| sqlx::query(
            "UPDATE institutions SET name = $1, acronym = $2, kind = $3, level = $4, cvegeo = $5, search_key = $6 WHERE id = $7"
        )
        .bind(&name)
        .bind(new.acronym.trim())
        .bind(new.kind.code())
        .bind(new.level.code())
        .bind(new.municipality.as_ref().map(|m| m.as_str()))
        .bind(search_key(&name))
        .bind(id)
        .execute(c)
        .await
        .map(|r| r.rows_affected()));
        match updated.map_err(StoreError::from) {
            Ok(0) => return Err(StoreError::NotFound("no existe esa institución".into())),
            Ok(_) => {}
            Err(e) if e.is_unique_violation() => return Err(StoreError::Conflict(format!("ya existe la institución «{name}»"))),
            Err(e) => return Err(e),
        }
        append(&mut tx, actor, Event::new("institucion.editar", "institucion", id).with(serde_json::json!({"nombre": name}))).await?;
        tx.commit().await
    }

    pub async fn create_institution(&self, actor: &Actor, new: &NewInstitution) -> Result<i64> {
        let name = validate(&new.name, new.kind, new.level, new.municipality.is_some()).map_err(StoreError::Invalid)?;
        let mut tx = self.begin().await?;
        let inserted: std::result::Result<i64, sqlx::Error> = on_tx!(&mut tx, |c| sqlx::query_scalar(
            "INSERT INTO institutions (name, acronym, kind, level, cvegeo, search_key, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id"
        )
        .bind(&name)
        .bind(new.acronym.trim())
        .bind(new.kind.code())
        .bind(new.level.code())
        .bind(new.municipality.as_ref().map(|m| m.as_str()))
        .bind(search_key(&name))
        .bind(now())
        .fetch_one(c)
        .await);
        let id = inserted.map_err(|e| match StoreError::from(e) {
            e if e.is_unique_violation() => StoreError::Conflict(format!("ya existe la institución «{name}»")),
            e => e,
        })?;
        append(&mut tx, actor, Event::new("institucion.crear", "institucion", id).with(serde_json::json!({"nombre": name}))).await?;
        tx.commit().await?;
        Ok(id)
    }
}
