//! What the store's test files share.

/// Declares a case that runs once per backend.
#[macro_export]
macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let db = violeta_store::testing::TestStore::sqlite().await.expect("SQLite de prueba");
                super::$case(&db).await;
                db.cleanup().await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let Some(db) = violeta_store::testing::TestStore::postgres().await.expect("PostgreSQL de prueba") else {
                    eprintln!("VIOLETA_TEST_POSTGRES no está definida: caso omitido en PostgreSQL");
                    return;
                };
                super::$case(&db).await;
                db.cleanup().await;
            }
        }
    )*};
}

