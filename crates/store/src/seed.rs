//! Reference data shipped with Violeta: INEGI's states and municipalities with the 2020
//! Census population (see `data/inegi/SOURCE.md` at the repository root). Loaded once,
//! on the first migration; never typed by hand.

use crate::{Result, Store, StoreError, Tx, on_pool, on_tx};
use violeta_domain::text::search_key;

const STATES_CSV: &str = include_str!("../../../data/inegi/entidades.csv");
const MUNICIPALITIES_CSV: &str = include_str!("../../../data/inegi/municipios.csv");

/// Rows per multi-row INSERT: well under SQLite's and PostgreSQL's parameter limits.
const BATCH: usize = 200;

pub(crate) async fn load_territory(store: &Store) -> Result<()> {
    let loaded: i64 = on_pool!(store, |p| sqlx::query_scalar("SELECT COUNT(*) FROM states").fetch_one(p).await?);
    if loaded > 0 {
        return Ok(());
    }
    let bad = |e: csv::Error| StoreError::Invalid(format!("catálogo INEGI dañado: {e}"));
    let mut tx = store.begin().await?;
    // Several processes may start on a fresh database at once (two `violeta serve` on
    // one PostgreSQL): only one loads, the others find it loaded. SQLite's `BEGIN
    // IMMEDIATE` already serialises writers; PostgreSQL needs a lock, taken before the
    // check is repeated inside the transaction.
    if store.backend() == crate::Backend::Postgres {
        on_tx!(&mut tx, |c| sqlx::query("LOCK TABLE states IN EXCLUSIVE MODE").execute(c).await?.rows_affected());
    }
    let loaded: i64 = on_tx!(&mut tx, |c| sqlx::query_scalar("SELECT COUNT(*) FROM states").fetch_one(c).await?);
    if loaded > 0 {
        return Ok(());
    }
    for record in csv::Reader::from_reader(STATES_CSV.as_bytes()).records() {
        let r = record.map_err(bad)?;
        on_tx!(&mut tx, |c| sqlx::query(
            "INSERT INTO states (cve_ent, name, abbreviation, renapo_code) VALUES ($1, $2, $3, $4)"
        )
        .bind(r[0].to_string())
        .bind(r[1].to_string())
        .bind(r[2].to_string())
        .bind(r[3].to_string())
        .execute(c)
        .await?.rows_affected());
    }
    let mut rows = Vec::with_capacity(2_500);
    for record in csv::Reader::from_reader(MUNICIPALITIES_CSV.as_bytes()).records() {
        rows.push(record.map_err(bad)?);
    }
    for chunk in rows.chunks(BATCH) {
        insert_municipalities(&mut tx, chunk).await?;
    }
    tx.commit().await
}

async fn insert_municipalities(tx: &mut Tx, chunk: &[csv::StringRecord]) -> Result<()> {
    // cvegeo,cve_ent,cve_mun,entidad,municipio,cabecera,poblacion_total,poblacion_femenina,poblacion_masculina,cabecera_lat,cabecera_lon
    let mut sql = String::from(
        "INSERT INTO municipalities (cvegeo, cve_ent, cve_mun, name, head_town, population_total, \
         population_women, population_men, head_lat, head_lon, search_key) VALUES ",
    );
    for i in 0..chunk.len() {
        let b = i * 11;
        if i > 0 {
            sql.push(',');
        }
        sql.push_str(&format!(
            "(${},${},${},${},${},${},${},${},${},${},${})",
            b + 1, b + 2, b + 3, b + 4, b + 5, b + 6, b + 7, b + 8, b + 9, b + 10, b + 11
        ));
    }
    let int = |s: &str| s.parse::<i64>().map_err(|_| StoreError::Invalid(format!("población no numérica: {s}")));
    let coord = |s: &str| if s.is_empty() { Ok(None) } else { s.parse::<f64>().map(Some).map_err(|_| StoreError::Invalid(format!("coordenada no numérica: {s}"))) };
    on_tx!(tx, |c| {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for r in chunk {
            q = q
                .bind(r[0].to_string())
                .bind(r[1].to_string())
                .bind(r[2].to_string())
                .bind(r[4].to_string())
                .bind(r[5].to_string())
                .bind(int(&r[6])?)
                .bind(int(&r[7])?)
                .bind(int(&r[8])?)
                .bind(coord(&r[9])?)
                .bind(coord(&r[10])?)
                .bind(search_key(&r[4]));
        }
        q.execute(c).await?;
    });
    Ok(())
}
