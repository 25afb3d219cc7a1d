//! `violeta`: the server and its administration commands.

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};
use std::path::{Path, PathBuf};
use violeta_app::credentials::random_token;
use violeta_domain::access::Role;
use violeta_domain::audit::Actor;
use violeta_domain::territory::StateKey;
use violeta_store::Store;
use violeta_store::accounts::NewUser;
use violeta_web::{AppState, Config};

/// glibc's allocator spent much of a bulk import's time consolidating the many small
/// blocks freed between statements (a 100,000-row attendance import: 3.3 s of CPU with it,
/// 1.7 s with mimalloc). With `override`, SQLite's own allocations go to mimalloc too.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "violeta", version, about = "Violeta: capacitación, certificación, territorio y Alerta Rosa para las unidades de género")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data lives. `DATABASE_URL` (postgres://… or sqlite://…) wins over `--dir`.
#[derive(Args, Clone)]
struct Data {
    /// Folder for the embedded SQLite database (violeta.db).
    #[arg(long, env = "VIOLETA_DIR", default_value = ".")]
    dir: PathBuf,
    /// Database URL: postgres://USER@HOST/DB for PostgreSQL, sqlite://FILE for SQLite.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
}

impl Data {
    fn url(&self) -> String {
        self.database_url.clone().unwrap_or_else(|| format!("sqlite://{}", self.dir.join("violeta.db").display()))
    }
    async fn open(&self) -> Result<Store> {
        std::fs::create_dir_all(&self.dir).with_context(|| format!("no se pudo crear la carpeta {}", self.dir.display()))?;
        Store::open(&self.url()).await.context("no se pudo abrir la base de datos")
    }
}

#[derive(Subcommand)]
enum Command {
    /// Serves the web UI and the API.
    Serve {
        #[command(flatten)]
        data: Data,
        /// Address to listen on.
        #[arg(long, env = "VIOLETA_ADDR", default_value = "127.0.0.1:8080")]
        addr: String,
        /// Marks cookies Secure (when served behind HTTPS).
        #[arg(long, env = "VIOLETA_SECURE_COOKIES")]
        secure_cookies: bool,
        /// Takes the client address from X-Forwarded-For (only behind a trusted proxy).
        #[arg(long, env = "VIOLETA_TRUST_PROXY")]
        trust_proxy: bool,
        /// Public address that constancias and their QR codes point at.
        #[arg(long = "base-url", env = "VIOLETA_PUBLIC_URL")]
        public_url: Option<String>,
        /// 32 bytes (64 hex characters or base64) that seal the constancias' signing key.
        /// Without it, constancias are not issued.
        #[arg(long, env = "VIOLETA_SECRET_KEY", hide_env_values = true)]
        secret_key: Option<String>,
        #[command(flatten)]
        dissemination: DisseminationArgs,
    },
    /// Creates a fresh demo database (Oaxaca and Estado de México) and serves it.
    Demo {
        /// Folder for the demo database.
        #[arg(long, default_value = "violeta-demo")]
        dir: PathBuf,
        #[arg(long, default_value = "127.0.0.1:8080")]
        addr: String,
        /// Load the demo into this empty PostgreSQL database instead (for trials and benchmarks).
        #[arg(long)]
        database_url: Option<String>,
    },
    /// Applies the database migrations and loads the INEGI territory.
    Migrate {
        #[command(flatten)]
        data: Data,
    },
    /// Accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Imports from CSV or XLSX files, all or nothing.
    #[command(subcommand)]
    Import(ImportCommand),
    /// The audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Courses of the learning centre in their portable form (folder or ZIP).
    #[command(subcommand)]
    Course(CourseCommand),
    /// Constancias, checked offline.
    #[command(subcommand)]
    Credential(CredentialCommand),
    /// Writes a consistent copy of the SQLite database while it is in use.
    Backup {
        #[command(flatten)]
        data: Data,
        /// Destination file (must not exist).
        file: PathBuf,
    },
}

// ----- Alerta Rosa dissemination (branch alerta-difusion) -----

/// The dissemination worker that runs inside `serve` (Alerta Rosa's posts to the official
/// accounts). The defaults suit production.
#[derive(Args, Clone)]
struct DisseminationArgs {
    /// Seconds a worker holds a delivery; a crashed process's deliveries are taken up after it.
    #[arg(long, env = "VIOLETA_DISSEMINATION_LEASE_SECS", default_value_t = 60)]
    dissemination_lease_secs: u64,
    /// Milliseconds a platform may take to answer one request.
    #[arg(long, env = "VIOLETA_DISSEMINATION_TIMEOUT_MS", default_value_t = 15_000)]
    dissemination_timeout_ms: u64,
    /// First retry delay in milliseconds (doubles on each failure, with jitter).
    #[arg(long, env = "VIOLETA_DISSEMINATION_BACKOFF_MS", default_value_t = 5_000)]
    dissemination_backoff_ms: u64,
    /// Longest retry delay in milliseconds.
    #[arg(long, env = "VIOLETA_DISSEMINATION_BACKOFF_MAX_MS", default_value_t = 900_000)]
    dissemination_backoff_max_ms: u64,
    /// Milliseconds between looks for due work when nothing wakes the worker.
    #[arg(long, env = "VIOLETA_DISSEMINATION_POLL_MS", default_value_t = 1_000)]
    dissemination_poll_ms: u64,
}

impl DisseminationArgs {
    fn settings(&self) -> Result<violeta_app::dissemination::Settings> {
        use std::time::Duration;
        let timeout = Duration::from_millis(self.dissemination_timeout_ms.max(1));
        let lease = Duration::from_secs(self.dissemination_lease_secs.max(1));
        if lease <= timeout {
            bail!("el plazo de la difusión (--dissemination-lease-secs) debe ser mayor que el tiempo de espera de una solicitud (--dissemination-timeout-ms)");
        }
        Ok(violeta_app::dissemination::Settings {
            lease,
            poll: Duration::from_millis(self.dissemination_poll_ms.max(10)),
            request_timeout: timeout,
            backoff: violeta_domain::dissemination::Backoff {
                base: Duration::from_millis(self.dissemination_backoff_ms.max(1)),
                cap: Duration::from_millis(self.dissemination_backoff_max_ms.max(self.dissemination_backoff_ms).max(1)),
            },
            ..Default::default()
        })
    }
}

/// Starts the dissemination worker of this process.
fn spawn_dissemination(store: &Store, key: Option<violeta_domain::credential::MasterKey>, settings: violeta_app::dissemination::Settings) -> Result<()> {
    violeta_app::dissemination::Worker::new(store.clone(), key, settings).map_err(anyhow::Error::msg)?.spawn();
    Ok(())
}

// ----- end of Alerta Rosa dissemination -----

#[derive(Subcommand)]
enum UserCommand {
    /// Creates an account and prints a one-time link to set its password.
    Add {
        #[command(flatten)]
        data: Data,
        email: String,
        #[arg(long)]
        name: String,
        /// Role (repeatable): administracion, coordinacion, instruccion, evaluacion,
        /// operacion_alerta_rosa, enlace_institucional, participante.
        #[arg(long = "role", required = true)]
        roles: Vec<String>,
        /// Institution id (required for enlace_institucional).
        #[arg(long)]
        institution: Option<i64>,
        /// Public address of this Violeta, for the printed link.
        #[arg(long, env = "VIOLETA_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
    /// Prints a one-time link to set a new password.
    Reset {
        #[command(flatten)]
        data: Data,
        email: String,
        #[arg(long, env = "VIOLETA_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
    /// Creates an API token for an account and prints it (shown once).
    Token {
        #[command(flatten)]
        data: Data,
        email: String,
        /// What the token is for.
        name: String,
    },
}

#[derive(Subcommand)]
enum ImportCommand {
    /// People (CURP, names, sex, institution, position, municipality, contact).
    People {
        #[command(flatten)]
        data: Data,
        file: PathBuf,
        /// State (INEGI key, e.g. 20) for municipalities given by name without a state column.
        #[arg(long)]
        entidad: Option<String>,
    },
    /// An attendance list into a training session (people matched by CURP, created when new).
    Attendance {
        #[command(flatten)]
        data: Data,
        file: PathBuf,
        /// The training session's id.
        #[arg(long)]
        capacitacion: i64,
        /// State (INEGI key) for municipalities given by name.
        #[arg(long)]
        entidad: Option<String>,
        /// Import the valid rows and list the others, instead of refusing the whole file.
        #[arg(long)]
        solo_validas: bool,
    },
    /// Enrolments into a published course (CURP, names, email, institution, municipality;
    /// people matched by CURP, created when new), all or nothing.
    Enrolments {
        #[command(flatten)]
        data: Data,
        file: PathBuf,
        /// The course's id.
        #[arg(long)]
        curso: i64,
        /// The cohort's id, if the people join one.
        #[arg(long)]
        grupo: Option<i64>,
    },
    /// AVGM declarations: Entidad, Tipo, Fecha, Título, Municipio[, Fuente, Categoría, Medida].
    Avgm {
        #[command(flatten)]
        data: Data,
        file: PathBuf,
    },
    /// Municipality → region assignments for one state.
    Regions {
        #[command(flatten)]
        data: Data,
        file: PathBuf,
        /// State (INEGI key, e.g. 20 for Oaxaca).
        #[arg(long)]
        entidad: String,
        /// Source of the regionalisation (official document).
        #[arg(long, default_value = "")]
        fuente: String,
    },
}

#[derive(Subcommand)]
enum CourseCommand {
    /// Imports a course (a folder with curso.json, or its ZIP) as a draft, all or nothing.
    Import {
        #[command(flatten)]
        data: Data,
        path: PathBuf,
    },
    /// Writes a course as a ZIP (curso.json, lessons in Markdown, files).
    Export {
        #[command(flatten)]
        data: Data,
        /// The course's id.
        id: i64,
        /// Destination file.
        file: PathBuf,
    },
}

#[derive(Subcommand)]
enum CredentialCommand {
    /// Verifies a constancia's JSON without a server, with the issuer's published keys
    /// (`/.well-known/violeta/emisor.json`) and, if given, its revocation list
    /// (`/.well-known/violeta/estado.json`).
    Verify {
        /// The constancia's JSON.
        file: PathBuf,
        /// The issuer's keys (emisor.json).
        #[arg(long = "emisor")]
        issuer: PathBuf,
        /// The revocation list (estado.json).
        #[arg(long = "estado")]
        status: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verifies the hash chain; names the first altered or removed entry.
    Verify {
        #[command(flatten)]
        data: Data,
    },
}

fn init_logs() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("VIOLETA_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let json = std::env::var("VIOLETA_LOG_FORMAT").map(|v| v == "json").unwrap_or(false);
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[tokio::main]
async fn main() {
    init_logs();
    if let Err(e) = run(Cli::parse()).await {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}

async fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve { data, addr, secure_cookies, trust_proxy, public_url, secret_key, dissemination } => {
            let credential_key = match secret_key.as_deref().map(str::trim).filter(|k| !k.is_empty()) {
                Some(k) => Some(violeta_domain::credential::MasterKey::parse(k).map_err(anyhow::Error::msg)?),
                None => {
                    tracing::warn!("VIOLETA_SECRET_KEY no está definida: no se podrán emitir constancias");
                    None
                }
            };
            let store = data.open().await?;
            spawn_dissemination(&store, credential_key.clone(), dissemination.settings()?)?;
            let config = Config { demo: false, secure_cookies, trust_proxy, public_url, credential_key };
            serve(store, &addr, config, None).await
        }
        Command::Demo { dir, addr, database_url } => {
            let where_ = match &database_url {
                Some(_) => "PostgreSQL (DATABASE_URL dada)".to_string(),
                None => dir.join("violeta.db").display().to_string(),
            };
            let store = match database_url {
                Some(url) => {
                    let store = Store::open(&url).await?;
                    println!("Cargando datos de demostración…");
                    violeta_app::demo::load(&store).await?;
                    store
                }
                None => fresh_demo(&dir).await?,
            };
            // Alerta Rosa: 30 official accounts on loopback fakes of the networks, kept up
            // while the demo serves; activating the waiting case posts to each once.
            let fakes = violeta_fakes::spawn("127.0.0.1:0".parse()?).await?;
            let channels = violeta_app::demo::load_channels(&store, |p| fakes.base(p), violeta_fakes::FakePlatforms::x_user).await?;
            println!("Alerta Rosa: {channels} cuentas oficiales simuladas en {}; lo publicado se ve en {}/_fake/posts", fakes.url(), fakes.url());
            // The demo signs constancias with a fixed, public key: never for real data.
            spawn_dissemination(&store, Some(violeta_domain::credential::MasterKey::demo()), Default::default())?;
            let config = Config { demo: true, credential_key: Some(violeta_domain::credential::MasterKey::demo()), ..Default::default() };
            serve(store, &addr, config, Some(&where_)).await
        }
        Command::Migrate { data } => {
            let store = data.open().await?;
            println!("Base de datos al día ({:?}).", store.backend());
            Ok(())
        }
        Command::User(cmd) => user(cmd).await,
        Command::Import(cmd) => import(cmd).await,
        Command::Course(CourseCommand::Import { data, path }) => {
            let (draft, files) = if path.is_dir() {
                violeta_app::learning::read_folder(&path)
            } else {
                let bytes = std::fs::read(&path).with_context(|| format!("no se pudo leer {}", path.display()))?;
                violeta_app::learning::read_archive(&bytes)
            }
            .map_err(|e| anyhow::anyhow!("No se importó el curso: {e}"))?;
            let store = data.open().await?;
            let id = store.import_course(&Actor::command_line(), &draft, &files, None).await?;
            println!("Curso {} «{}» (versión {}) importado como borrador con el número {id}: publíquelo en /cursos/{id}.", draft.info.code, draft.info.title, draft.version);
            Ok(())
        }
        Command::Course(CourseCommand::Export { data, id, file }) => {
            let store = data.open().await?;
            let (_, bytes) = violeta_app::learning::export_archive(&store, id).await?;
            std::fs::write(&file, bytes).with_context(|| format!("no se pudo escribir {}", file.display()))?;
            println!("Curso {id} exportado en {}.", file.display());
            Ok(())
        }
        Command::Credential(CredentialCommand::Verify { file, issuer, status }) => verify_offline(&file, &issuer, status.as_deref()),
        Command::Audit(AuditCommand::Verify { data }) => {
            let store = data.open().await?;
            match store.verify_audit().await? {
                Ok(n) => {
                    println!("La bitácora de auditoría está íntegra: {n} entradas verificadas.");
                    Ok(())
                }
                Err(b) => bail!("la bitácora de auditoría está rota: {b}"),
            }
        }
        Command::Backup { data, file } => {
            let store = data.open().await?;
            store.backup(&file.to_string_lossy()).await?;
            println!("Copia consistente escrita en {}.", file.display());
            Ok(())
        }
    }
}

/// Serves; for the demo, `demo_db` says where its database is and the logins are printed.
async fn serve(store: Store, addr: &str, config: Config, demo_db: Option<&str>) -> Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("no se pudo escuchar en {addr}"))?;
    let local = listener.local_addr()?;
    if let Some(db) = demo_db {
        let issued = violeta_app::demo::issue_constancias(&store, &format!("http://{local}")).await?;
        println!("\nVioleta (demostración) en http://{local}/");
        println!("Constancias de demostración emitidas: {issued} (verifíquelas en http://{local}/verificar)");
        println!("Base de datos: {db}");
        println!("Cuentas de demostración (contraseña: {}):", violeta_app::demo::DEMO_PASSWORD);
        for (email, _, role) in violeta_app::demo::DEMO_ACCOUNTS {
            println!("  {email:<32} {}", role.label());
        }
        println!("Detenga el servidor con Ctrl+C.\n");
    } else {
        tracing::info!(%local, backend = ?store.backend(), "Violeta escuchando");
    }
    violeta_web::serve(AppState::new(store, config), listener).await?;
    Ok(())
}

const DEMO_MARKER: &str = "VIOLETA-DEMO.txt";

/// A fresh demo database. Refuses a folder holding a database that is not a demo one.
async fn fresh_demo(dir: &Path) -> Result<Store> {
    let db = dir.join("violeta.db");
    if db.exists() {
        if !dir.join(DEMO_MARKER).exists() {
            bail!("{} ya tiene una base de datos que no es de demostración; elija otra carpeta con --dir", dir.display());
        }
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
        }
    }
    std::fs::create_dir_all(dir).with_context(|| format!("no se pudo crear {}", dir.display()))?;
    std::fs::write(dir.join(DEMO_MARKER), "Carpeta de demostración de Violeta: los datos se borran al volver a ejecutar `violeta demo`.\n")?;
    let store = Store::open(&format!("sqlite://{}", db.display())).await?;
    println!("Cargando datos de demostración…");
    violeta_app::demo::load(&store).await?;
    Ok(store)
}

async fn user(cmd: UserCommand) -> Result<()> {
    let actor = Actor::command_line();
    match cmd {
        UserCommand::Add { data, email, name, roles, institution, base_url } => {
            let roles = roles
                .iter()
                .map(|r| Role::parse(r).with_context(|| format!("rol desconocido «{r}»")))
                .collect::<Result<Vec<_>>>()?;
            let store = data.open().await?;
            let id = store.create_user(&actor, &NewUser { email, display_name: name, roles, institution_id: institution, person_id: None }).await?;
            print_link(&store, &actor, id, &base_url).await
        }
        UserCommand::Reset { data, email, base_url } => {
            let store = data.open().await?;
            let user = store.user_by_email(&email).await?.with_context(|| format!("no existe la cuenta {email}"))?;
            print_link(&store, &actor, user.id, &base_url).await
        }
        UserCommand::Token { data, email, name } => {
            let store = data.open().await?;
            let user = store.user_by_email(&email).await?.with_context(|| format!("no existe la cuenta {email}"))?;
            let token = format!("vt_{}", random_token());
            store.create_api_token(&actor, user.id, &name, &token).await?;
            println!("{token}");
            eprintln!("Guarde el token: no se volverá a mostrar.");
            Ok(())
        }
    }
}

async fn print_link(store: &Store, actor: &Actor, user_id: i64, base_url: &str) -> Result<()> {
    let token = random_token();
    let hours = violeta_web::pages::users::LINK_HOURS;
    store.create_password_link(actor, user_id, &token, chrono::Duration::hours(hours)).await?;
    println!("{}/contrasena/{token}", base_url.trim_end_matches('/'));
    eprintln!("Enlace de un solo uso, válido {hours} horas, para elegir la contraseña.");
    Ok(())
}

fn progress_bar(message: &'static str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({per_sec}, faltan {eta})")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.set_message(message);
    bar
}

async fn import(cmd: ImportCommand) -> Result<()> {
    let actor = Actor::command_line();
    match cmd {
        ImportCommand::People { data, file, entidad } => {
            let state = entidad.map(|e| StateKey::parse(&e)).transpose()?;
            let bytes = std::fs::read(&file).with_context(|| format!("no se pudo leer {}", file.display()))?;
            let store = data.open().await?;
            let bar = progress_bar("Importando personas");
            let progress = |done: usize, total: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            };
            let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let result = violeta_app::people_import::import(&store, &actor, &name, &bytes, state.as_ref(), &progress).await;
            bar.finish_and_clear();
            match result {
                Ok(s) => {
                    println!("Importación terminada: {} personas nuevas, {} actualizadas.", s.created, s.updated);
                    for (row, text) in s.skipped {
                        println!("  fila {row} omitida (no es una persona): «{text}»");
                    }
                    Ok(())
                }
                Err(report) => bail!("{report}"),
            }
        }
        ImportCommand::Attendance { data, file, capacitacion, entidad, solo_validas } => {
            let state = entidad.map(|e| StateKey::parse(&e)).transpose()?;
            let bytes = std::fs::read(&file).with_context(|| format!("no se pudo leer {}", file.display()))?;
            let store = data.open().await?;
            let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            let bar = progress_bar("Registrando asistencia");
            let progress = |done: usize, total: usize| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
            };
            let result =
                violeta_app::attendance::import(&store, &actor, capacitacion, &name, &bytes, state.as_ref(), solo_validas, &progress).await;
            bar.finish_and_clear();
            match result {
                Ok(o) => {
                    println!("Asistencia registrada: {} asistencias, {} personas nuevas.", o.recorded, o.created);
                    if !o.left_out.is_empty() {
                        println!("Filas dejadas fuera por tener problemas: {:?}", o.left_out);
                    }
                    Ok(())
                }
                Err(report) => bail!("{report}"),
            }
        }
        ImportCommand::Enrolments { data, file, curso, grupo } => {
            let bytes = std::fs::read(&file).with_context(|| format!("no se pudo leer {}", file.display()))?;
            let store = data.open().await?;
            let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            match violeta_app::learning::enrol_file(&store, &actor, curso, grupo, &name, &bytes).await {
                Ok((r, skipped)) => {
                    println!(
                        "Inscripción terminada: {} personas inscritas, {} ya lo estaban, {} personas nuevas en el registro.",
                        r.enrolled, r.already, r.people_created
                    );
                    if !skipped.is_empty() {
                        println!("Filas omitidas (no son personas): {}", skipped.iter().map(|(l, _)| l.to_string()).collect::<Vec<_>>().join(", "));
                    }
                    Ok(())
                }
                Err(report) => bail!("{report}"),
            }
        }
        ImportCommand::Avgm { data, file } => {
            let bytes = std::fs::read(&file).with_context(|| format!("no se pudo leer {}", file.display()))?;
            let store = data.open().await?;
            let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            match violeta_app::avgm::import(&store, &actor, &name, &bytes).await {
                Ok(ids) => {
                    println!("{} declaratorias importadas.", ids.len());
                    Ok(())
                }
                Err(report) => bail!("{report}"),
            }
        }
        ImportCommand::Regions { data, file, entidad, fuente } => {
            let state = StateKey::parse(&entidad)?;
            let bytes = std::fs::read(&file).with_context(|| format!("no se pudo leer {}", file.display()))?;
            let store = data.open().await?;
            let name = file.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
            match violeta_app::regions::import(&store, &actor, &state, &name, &bytes, &fuente).await {
                Ok(n) => {
                    println!("{n} municipios asignados a sus regiones.");
                    Ok(())
                }
                Err(report) => bail!("{report}"),
            }
        }
    }
}

/// Checks a constancia with nothing but files: its JSON, the issuer's keys and, optionally,
/// the revocation list. Exits with an error (and the reason) when it does not stand.
fn verify_offline(file: &Path, issuer: &Path, status: Option<&Path>) -> Result<()> {
    use violeta_domain::credential::{claimed, parse_document, parse_public_multibase, status_list_bit, verify_against};
    let read = |p: &Path| std::fs::read_to_string(p).with_context(|| format!("no se pudo leer {}", p.display()));
    let document = parse_document(&read(file)?).map_err(anyhow::Error::msg)?;
    let keys_doc: serde_json::Value = serde_json::from_str(&read(issuer)?).context("emisor.json no es JSON válido")?;
    let mut keys = Vec::new();
    for m in keys_doc["verificationMethod"].as_array().into_iter().flatten().chain(std::iter::once(&keys_doc)) {
        if let Some(k) = m["publicKeyMultibase"].as_str().and_then(|k| parse_public_multibase(k).ok()) {
            keys.push(k);
        }
    }
    if keys.is_empty() {
        bail!("emisor.json no trae ninguna llave pública (publicKeyMultibase)");
    }
    let what = claimed(&document);
    let revoked = match (status, what.status_index) {
        (Some(path), Some(index)) => {
            let list: serde_json::Value = serde_json::from_str(&read(path)?).context("estado.json no es JSON válido")?;
            let encoded = list["credentialSubject"]["encodedList"].as_str().context("estado.json no trae encodedList")?;
            status_list_bit(encoded, index).context("no se pudo leer la lista de estado")?
        }
        _ => false,
    };
    let folio = what.folio.as_ref().map(|f| f.to_string()).unwrap_or_else(|| "sin folio".into());
    match verify_against(&document, &keys, revoked.then_some("según la lista de estado del emisor"), chrono::Utc::now()) {
        Ok(()) => {
            println!("Constancia {folio}: auténtica{}.", if status.is_some() { " y vigente" } else { " (sin lista de estado: no se revisó si fue revocada)" });
            println!("  Persona: {}\n  Logro: {}\n  Emisor: {}", what.recipient_name, what.title, what.issuer_name);
            Ok(())
        }
        Err(reason) => bail!("la constancia {folio} no es válida: {reason}"),
    }
}
