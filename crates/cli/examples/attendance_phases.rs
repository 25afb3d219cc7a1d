//! Benchmark helper (bench/run): times an attendance import's two halves inside one
//! process: reading and checking the file, and the store call that writes it
//! (`Store::record_attendance`), with the same allocator as the `violeta` binary.
//!
//!   cargo run --release -p violeta --example attendance_phases -- DATABASE_URL FILE SESSION_ID

use violeta_domain::training::AttendanceStatus;
use violeta_store::people::PersonRef;
use violeta_store::training::AttendanceInput;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, file, session] = args.as_slice() else { panic!("usage: attendance_phases DATABASE_URL FILE SESSION_ID") };
    let session: i64 = session.parse().expect("session id");
    let bytes = std::fs::read(file).expect("file");
    let store = violeta_store::Store::open(url).await.expect("store");
    let start = std::time::Instant::now();
    let table = violeta_app::people_import::read(file, &bytes).expect("readable file");
    let parsed = violeta_app::people_import::parse(&store, &table, None).await.unwrap_or_else(|r| panic!("{r}"));
    assert!(parsed.report.is_empty(), "{}", parsed.report);
    let rows: Vec<AttendanceInput> = parsed
        .rows
        .into_iter()
        .map(|r| AttendanceInput { person: PersonRef::Draft(Box::new(r.draft)), status: AttendanceStatus::Asistio, pre_score: None, post_score: None })
        .collect();
    let checked = start.elapsed().as_secs_f64();
    let actor = violeta_domain::audit::Actor::command_line();
    let (_, recorded) = store.record_attendance(&actor, session, "lista", &rows, &|_, _| {}).await.expect("import");
    let total = start.elapsed().as_secs_f64();
    let rate = |secs: f64| recorded as f64 / secs;
    println!("{recorded} {:.0} {:.0} {:.0}", rate(checked), rate(total - checked), rate(total));
}
