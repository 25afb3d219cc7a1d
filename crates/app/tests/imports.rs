//! Imports through the application services, on a real (SQLite) store.

use violeta_domain::audit::Actor;
use violeta_store::testing::TestStore;

fn actor() -> Actor {
    Actor { user_id: None, label: "prueba".into(), origin: "127.0.0.1".into() }
}

const HEADER: &str = "Nombre,Tipo,Domicilio,Entidad,Municipio,Latitud,Longitud,Horario,Contacto,Confirmado\n";

#[tokio::test]
async fn safe_spaces_import_refuses_bad_places_with_row_and_column() {
    let db = TestStore::sqlite().await.unwrap();
    let s = &db.store;
    let bad = format!(
        "{HEADER}\
         Farmacia Centro,Comercio,Calle 1,Oaxaca,Oaxaca de Juárez,17.0610,-96.7260,lun-vie 09:00-18:00,Ana,\n\
         Tienda Sur,Comercio,Calle 2,Oaxaca,Oaxaca de Juárez,-96.7260,17.0610,lun-vie 09:00-18:00,Ana,\n\
         Sitio Lejano,Transporte,Calle 3,Oaxaca,Oaxaca de Juárez,15.8361,-96.3220,24 horas,Ana,\n\
         Escuela,Escuela,Calle 4,Oaxaca,Toluca,17.06,-96.72,24 horas,Ana,\n\
         Centro,Parque,Calle 5,Oaxaca,20067,17.06,-96.72,a veces,Ana,\n"
    );
    let report = violeta_app::safe_spaces::import(s, &actor(), "espacios.csv", bad.as_bytes()).await.unwrap_err();
    let text = report.to_string();
    assert!(text.contains("fila 3, columna F (Latitud)") && text.contains("fuera de México"), "{text}");
    assert!(text.contains("fila 4, columna F (Latitud)") && text.contains("km de la cabecera"), "{text}");
    assert!(text.contains("fila 5, columna E (Municipio)") && text.contains("no existe el municipio «Toluca»"), "{text}");
    assert!(text.contains("fila 6, columna B (Tipo)") && text.contains("fila 6, columna H (Horario)"), "{text}");
    assert!(s.safe_spaces(&Default::default()).await.unwrap().is_empty(), "nothing half-written");

    // Far coordinates confirmed by the user are accepted.
    let good = format!(
        "{HEADER}\
         Farmacia Centro,Comercio,Calle 1,Oaxaca,Oaxaca de Juárez,17.0610,-96.7260,lun-vie 09:00-18:00,Ana,\n\
         Sitio Lejano,Transporte,Calle 3,Oaxaca,Oaxaca de Juárez,16.5,-96.7,24 horas,Ana,sí\n"
    );
    assert_eq!(violeta_app::safe_spaces::import(s, &actor(), "espacios.csv", good.as_bytes()).await.unwrap(), 2);
    assert_eq!(s.public_safe_spaces(&Default::default()).await.unwrap().len(), 2);
    db.cleanup().await;
}

#[tokio::test]
async fn avgm_import_groups_rows_into_declarations() {
    let db = TestStore::sqlite().await.unwrap();
    let s = &db.store;
    let csv = "Entidad,Tipo,Fecha,Título,Municipio,Categoría,Medida\n\
               México,Violencia feminicida,31/07/2015,AVGM Edomex,Ecatepec de Morelos,Seguridad,Patrullajes\n\
               México,Violencia feminicida,31/07/2015,AVGM Edomex,Toluca,,\n\
               15,Desaparición,20/09/2019,AVG desaparición,Toluca,,\n";
    let ids = violeta_app::avgm::import(s, &actor(), "avgm.csv", csv.as_bytes()).await.unwrap();
    assert_eq!(ids.len(), 2);
    let (d, munis, measures) = s.declaration(ids[0]).await.unwrap();
    assert_eq!((d.municipalities, munis.len(), measures.len()), (2, 2, 1));
    let bad = "Entidad,Tipo,Fecha,Título,Municipio\nMéxico,Otra cosa,31/02/2015,X,Atlantis\n";
    let text = violeta_app::avgm::import(s, &actor(), "avgm.csv", bad.as_bytes()).await.unwrap_err().to_string();
    assert!(text.contains("fila 2, columna B (Tipo)"), "{text}");
    assert_eq!(s.declarations(None).await.unwrap().len(), 2);
    db.cleanup().await;
}
