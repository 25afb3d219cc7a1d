//! Loopback fakes of the platforms Alerta Rosa posts to: Mastodon, the Telegram Bot API,
//! Facebook Pages (Graph API), X (API v2) and a webhook receiver, in one HTTP server.
//! They answer the requests Violeta's adapters make, shaped like the real APIs, record
//! every post (so a test counts posts per channel), and can be told to misbehave: answer
//! slowly, hang, answer 429 with `Retry-After`, fail with a 5xx (before or after
//! posting), or be down for a while.
//!
//! ```ignore
//! let fakes = violeta_fakes::spawn("127.0.0.1:0".parse()?).await?;
//! // channel api_base: fakes.base("telegram"), fakes.base("mastodon"), … fakes.base("webhook/NAME")
//! fakes.set(Rule::all().delay_ms(50));
//! let posts = fakes.posts();          // or GET {fakes.url()}/_fake/posts
//! ```
//!
//! Paths (under `http://ADDR`): `/mastodon/api/…`, `/telegram/bot{token}/{method}`,
//! `/facebook/{version}/…`, `/x/2/…`, `/webhook/{name}`; and `/_fake/posts` (GET: every
//! post as JSON), `/_fake/rules` (POST a [`Rule`] as JSON; DELETE: clear),
//! `/_fake/webhook-secrets` (POST `{"name": "...", "secret": "..."}`).
//!
//! A channel is identified as real platforms do: Mastodon and X by the bearer token's
//! account, Telegram by `chat_id`, Facebook by page id, the webhook by its path name.

use axum::Router;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// One post as a platform holds it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Post {
    pub platform: String,
    /// Which channel: Mastodon/X token account, Telegram chat id, Facebook page id, webhook name.
    pub account: String,
    pub id: String,
    pub text: String,
    pub image_bytes: usize,
    pub image_alt: String,
    pub idempotency_key: String,
    pub deleted: bool,
    /// Texts it was edited to, in order.
    pub edits: Vec<String>,
    /// The webhook's signature checked against a registered secret (`None`: no secret registered).
    pub signature_ok: Option<bool>,
    /// Milliseconds since the Unix epoch.
    pub at_ms: u128,
}

/// What to do wrong, for which requests.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Rule {
    /// `mastodon`, `telegram`, `facebook`, `x`, `webhook`; `None`: every platform.
    pub platform: Option<String>,
    /// One channel (see [`Post::account`]); `None`: every channel.
    pub account: Option<String>,
    /// Answer this much later (the post is made first, as when a reply is slow).
    pub delay_ms: u64,
    pub fault: Fault,
    /// The rule holds this long, then ends ("down for an hour", shortened).
    pub for_ms: Option<u64>,
    /// The rule holds for this many requests, then ends.
    pub times: Option<u32>,
}

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", tag = "tipo")]
pub enum Fault {
    #[default]
    None,
    /// 503 at once, nothing done.
    Down,
    /// 429 with `Retry-After`, nothing done.
    RateLimited { retry_after_secs: u64 },
    /// 500, nothing done.
    ServerError,
    /// The post is made, then 500: the caller cannot know it went out.
    ServerErrorAfterPosting,
    /// The post is made, then no answer at all (the caller times out).
    Hang,
}

impl Rule {
    pub fn all() -> Rule {
        Rule::default()
    }
    pub fn platform(mut self, p: &str) -> Rule {
        self.platform = Some(p.into());
        self
    }
    pub fn account(mut self, a: &str) -> Rule {
        self.account = Some(a.into());
        self
    }
    pub fn delay_ms(mut self, ms: u64) -> Rule {
        self.delay_ms = ms;
        self
    }
    pub fn fault(mut self, f: Fault) -> Rule {
        self.fault = f;
        self
    }
    pub fn for_ms(mut self, ms: u64) -> Rule {
        self.for_ms = Some(ms);
        self
    }
    pub fn times(mut self, n: u32) -> Rule {
        self.times = Some(n);
        self
    }
}

struct ActiveRule {
    rule: Rule,
    until: Option<Instant>,
    remaining: Option<u32>,
}

#[derive(Default)]
struct Inner {
    posts: Vec<Post>,
    next_id: u64,
    rules: Vec<ActiveRule>,
    /// (platform, account, key) → index in `posts`.
    idempotency: HashMap<(String, String, String), usize>,
    /// Uploaded media: id → (bytes, alt text).
    media: HashMap<String, (usize, String)>,
    webhook_secrets: HashMap<String, String>,
    /// Mastodon media still "processing": id → GETs left answering 206.
    processing: HashMap<String, i32>,
    /// Telegram: updates per bot token (channel posts), as getUpdates returns them.
    updates: HashMap<String, Vec<Value>>,
    next_update: u64,
}

#[derive(Clone, Default)]
struct Fakes(Arc<Mutex<Inner>>);

/// What a request gets, decided by the rules.
#[derive(Default)]
struct Plan {
    reject: Option<Response>,
    delay: Duration,
    fail_after: bool,
    hang: bool,
}

impl Fakes {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `posting`: the request makes a post (faults that happen "after posting" apply
    /// only to those; the others to every request of the channel).
    fn plan(&self, platform: &str, account: &str, posting: bool) -> Plan {
        let mut inner = self.lock();
        let now = Instant::now();
        inner.rules.retain(|r| r.until.is_none_or(|u| u > now) && r.remaining.is_none_or(|n| n > 0));
        let mut plan = Plan::default();
        for r in inner.rules.iter_mut().rev() {
            let applies = r.rule.platform.as_deref().is_none_or(|p| p == platform) && r.rule.account.as_deref().is_none_or(|a| a == account);
            let after_posting = matches!(r.rule.fault, Fault::Hang | Fault::ServerErrorAfterPosting);
            if !applies || (after_posting && !posting) {
                continue;
            }
            if let Some(n) = r.remaining.as_mut() {
                *n -= 1;
            }
            plan.delay = Duration::from_millis(r.rule.delay_ms);
            match r.rule.fault {
                Fault::None => {}
                Fault::Down => plan.reject = Some(error(platform, StatusCode::SERVICE_UNAVAILABLE, "servicio no disponible", None)),
                Fault::RateLimited { retry_after_secs } => {
                    plan.reject = Some(error(platform, StatusCode::TOO_MANY_REQUESTS, "Too Many Requests", Some(retry_after_secs)))
                }
                Fault::ServerError => plan.reject = Some(error(platform, StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", None)),
                Fault::ServerErrorAfterPosting => plan.fail_after = true,
                Fault::Hang => plan.hang = true,
            }
            break;
        }
        plan
    }

    fn next_id(&self) -> u64 {
        let mut inner = self.lock();
        inner.next_id += 1;
        inner.next_id
    }

    /// Records a post, or returns the one already made with this idempotency key.
    fn record(&self, mut post: Post) -> (Post, bool) {
        let mut inner = self.lock();
        if !post.idempotency_key.is_empty() {
            let k = (post.platform.clone(), post.account.clone(), post.idempotency_key.clone());
            if let Some(i) = inner.idempotency.get(&k) {
                return (inner.posts[*i].clone(), false);
            }
            let index = inner.posts.len();
            inner.idempotency.insert(k, index);
        }
        post.at_ms = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0);
        inner.posts.push(post.clone());
        (post, true)
    }

    fn find(&self, platform: &str, id: &str) -> Option<Post> {
        self.lock().posts.iter().find(|p| p.platform == platform && p.id == id).cloned()
    }

    fn update(&self, platform: &str, id: &str, change: impl FnOnce(&mut Post)) -> Option<Post> {
        let mut inner = self.lock();
        let post = inner.posts.iter_mut().find(|p| p.platform == platform && p.id == id)?;
        change(post);
        Some(post.clone())
    }

    fn recent(&self, platform: &str, account: &str) -> Vec<Post> {
        let inner = self.lock();
        inner.posts.iter().rev().filter(|p| p.platform == platform && p.account == account && !p.deleted).take(100).cloned().collect()
    }
}

fn error(platform: &str, status: StatusCode, message: &str, retry_after: Option<u64>) -> Response {
    let body = match platform {
        "telegram" => {
            let mut b = json!({"ok": false, "error_code": status.as_u16(), "description": message});
            if let Some(s) = retry_after {
                b["description"] = json!(format!("Too Many Requests: retry after {s}"));
                b["parameters"] = json!({"retry_after": s});
            }
            b
        }
        "facebook" => json!({"error": {"message": message, "type": "OAuthException", "code": if retry_after.is_some() { 4 } else { 2 }}}),
        "x" => json!({"title": message, "detail": message, "status": status.as_u16(), "type": "about:blank"}),
        _ => json!({"error": message}),
    };
    let mut r = (status, axum::Json(body)).into_response();
    if let Some(s) = retry_after {
        r.headers_mut().insert(header::RETRY_AFTER, s.into());
        if platform == "x" {
            let reset = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0) + s;
            r.headers_mut().insert("x-rate-limit-reset", reset.into());
        }
    }
    r
}

/// Carries out `plan` around the work that makes the post.
async fn answer(plan: Plan, platform: &str, make: impl FnOnce() -> Response) -> Response {
    if let Some(r) = plan.reject {
        tokio::time::sleep(plan.delay).await;
        return r;
    }
    let response = make();
    if plan.hang {
        tokio::time::sleep(Duration::from_secs(3600)).await;
    }
    tokio::time::sleep(plan.delay).await;
    if plan.fail_after {
        return error(platform, StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error", None);
    }
    response
}

/// A request's fields, whatever its encoding (JSON, urlencoded, multipart), and its file.
#[derive(Default)]
struct Fields {
    values: HashMap<String, Value>,
    file: Option<Vec<u8>>,
}

impl Fields {
    async fn read(req: Request) -> Result<Fields, Response> {
        let bad = |m: String| (StatusCode::BAD_REQUEST, axum::Json(json!({"error": m}))).into_response();
        let query: HashMap<String, String> = req.uri().query().map(|q| parse_urlencoded(q.as_bytes())).unwrap_or_default();
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
        let mut fields = Fields::default();
        for (k, v) in query {
            fields.values.insert(k, Value::String(v));
        }
        if content_type.starts_with("multipart/form-data") {
            let mut mp = axum::extract::Multipart::from_request(req, &()).await.map_err(|e| bad(e.to_string()))?;
            while let Some(field) = mp.next_field().await.map_err(|e| bad(e.to_string()))? {
                let name = field.name().unwrap_or("").to_string();
                if field.file_name().is_some() {
                    fields.file = Some(field.bytes().await.map_err(|e| bad(e.to_string()))?.to_vec());
                } else {
                    let text = field.text().await.map_err(|e| bad(e.to_string()))?;
                    fields.values.insert(name, Value::String(text));
                }
            }
        } else {
            let bytes = axum::body::to_bytes(req.into_body(), 20 * 1024 * 1024).await.map_err(|e| bad(e.to_string()))?;
            if content_type.starts_with("application/json") {
                let v: Value = serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?;
                if let Value::Object(m) = v {
                    fields.values.extend(m);
                }
            } else if !bytes.is_empty() {
                for (k, v) in parse_urlencoded(&bytes) {
                    fields.values.insert(k, Value::String(v));
                }
            }
        }
        Ok(fields)
    }

    fn text(&self, name: &str) -> String {
        match self.values.get(name) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    }
}

fn parse_urlencoded(bytes: &[u8]) -> HashMap<String, String> {
    let decode = |s: &str| -> String {
        let s = s.replace('+', " ");
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == b'%'
                && i + 2 < b.len()
                && let Ok(v) = u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
            {
                out.push(v);
                i += 3;
            } else {
                out.push(b[i]);
                i += 1;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    String::from_utf8_lossy(bytes)
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    headers.get(header::AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(|t| t.trim().to_string())
}

fn unauthorized(platform: &str) -> Response {
    error(platform, StatusCode::UNAUTHORIZED, "falta el token o no es válido", None)
}

fn new_post(platform: &str, account: &str, id: String, text: String) -> Post {
    Post {
        platform: platform.into(),
        account: account.into(),
        id,
        text,
        image_bytes: 0,
        image_alt: String::new(),
        idempotency_key: String::new(),
        deleted: false,
        edits: Vec::new(),
        signature_ok: None,
        at_ms: 0,
    }
}

// ----- Mastodon -----

/// A token's account id: stable, derived from the token.
fn mastodon_account(token: &str) -> String {
    format!("{}", token.bytes().fold(7u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64)) % 1_000_000_007)
}

fn mastodon_status(base: &str, p: &Post) -> Value {
    let text = p.edits.last().unwrap_or(&p.text);
    json!({
        "id": p.id, "uri": format!("{base}/users/cuenta/statuses/{}", p.id), "url": format!("{base}/@cuenta/{}", p.id),
        "content": format!("<p>{}</p>", text.replace('&', "&amp;").replace('<', "&lt;").replace('\n', "<br>")),
        "visibility": "public", "account": {"id": p.account},
        "media_attachments": if p.image_bytes > 0 { json!([{"type": "image", "description": p.image_alt}]) } else { json!([]) },
    })
}

async fn mastodon_media(State(f): State<Fakes>, req: Request) -> Response {
    let Some(token) = bearer(req.headers()) else { return unauthorized("mastodon") };
    let headers = req.headers().clone();
    let account = mastodon_account(&token);
    let plan = f.plan("mastodon", &account, false);
    let fields = match Fields::read(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(file) = fields.file.as_ref() else {
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({"error": "Validation failed: File can't be blank"}))).into_response();
    };
    let id = f.next_id().to_string();
    f.lock().media.insert(id.clone(), (file.len(), fields.text("description")));
    // Like Mastodon, a large file is processed after the upload answers: 202 and no URL
    // yet; GET /api/v1/media/:id answers 206 once, then 200.
    if file.len() > LARGE_MEDIA_BYTES {
        f.lock().processing.insert(id.clone(), 1);
        let body = json!({"id": id, "type": "image", "url": null, "description": fields.text("description")});
        return answer(plan, "mastodon", || (StatusCode::ACCEPTED, axum::Json(body)).into_response()).await;
    }
    let url = format!("{}/media/{id}.png", base_of(&headers, "mastodon"));
    answer(plan, "mastodon", || axum::Json(json!({"id": id, "type": "image", "url": url, "description": fields.text("description")})).into_response()).await
}

/// Files larger than this are "processed asynchronously" by the Mastodon fake.
pub const LARGE_MEDIA_BYTES: usize = 1024 * 1024;

async fn mastodon_media_status(State(f): State<Fakes>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    if bearer(&headers).is_none() {
        return unauthorized("mastodon");
    }
    let mut inner = f.lock();
    if !inner.media.contains_key(&id) {
        return (StatusCode::NOT_FOUND, axum::Json(json!({"error": "Record not found"}))).into_response();
    }
    let still = inner.processing.get_mut(&id).map(|n| {
        *n -= 1;
        *n >= 0
    });
    let url = format!("{}/media/{id}.png", base_of(&headers, "mastodon"));
    match still {
        Some(true) => (StatusCode::PARTIAL_CONTENT, axum::Json(json!({"id": id, "url": null}))).into_response(),
        _ => axum::Json(json!({"id": id, "url": url})).into_response(),
    }
}

async fn mastodon_post_status(State(f): State<Fakes>, req: Request) -> Response {
    let Some(token) = bearer(req.headers()) else { return unauthorized("mastodon") };
    let account = mastodon_account(&token);
    let key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let base = base_of(req.headers(), "mastodon");
    let plan = f.plan("mastodon", &account, true);
    let fields = match Fields::read(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let text = fields.text("status");
    if text.is_empty() {
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({"error": "Validation failed: Text can't be blank"}))).into_response();
    }
    let unprocessed = fields.values.get("media_ids").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).any(|id| {
        f.lock().processing.get(id).is_some_and(|n| *n >= 0)
    });
    if unprocessed {
        return (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({"error": "Cannot attach files that have not finished processing. Try again in a moment!"})))
            .into_response();
    }
    answer(plan, "mastodon", || {
        let mut post = new_post("mastodon", &account, f.next_id().to_string(), text);
        post.idempotency_key = key;
        if let Some(Value::Array(ids)) = fields.values.get("media_ids")
            && let Some(id) = ids.first().and_then(|v| v.as_str())
            && let Some((bytes, alt)) = f.lock().media.get(id).cloned()
        {
            post.image_bytes = bytes;
            post.image_alt = alt;
        }
        let (post, _) = f.record(post);
        axum::Json(mastodon_status(&base, &post)).into_response()
    })
    .await
}

async fn mastodon_change_status(State(f): State<Fakes>, Path(id): Path<String>, req: Request) -> Response {
    let Some(token) = bearer(req.headers()) else { return unauthorized("mastodon") };
    let account = mastodon_account(&token);
    let base = base_of(req.headers(), "mastodon");
    let deleting = req.method() == axum::http::Method::DELETE;
    let plan = f.plan("mastodon", &account, false);
    let fields = match Fields::read(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    match f.find("mastodon", &id) {
        Some(p) if p.account == account && !p.deleted => {}
        _ => return (StatusCode::NOT_FOUND, axum::Json(json!({"error": "Record not found"}))).into_response(),
    }
    answer(plan, "mastodon", || {
        let post = f.update("mastodon", &id, |p| if deleting { p.deleted = true } else { p.edits.push(fields.text("status")) });
        axum::Json(post.map(|p| mastodon_status(&base, &p)).unwrap_or(Value::Null)).into_response()
    })
    .await
}

async fn mastodon_verify(State(f): State<Fakes>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else { return unauthorized("mastodon") };
    let account = mastodon_account(&token);
    answer(f.plan("mastodon", &account, false), "mastodon", || axum::Json(json!({"id": account, "username": "cuenta", "acct": "cuenta"})).into_response()).await
}

async fn mastodon_statuses(State(f): State<Fakes>, Path(account): Path<String>, headers: HeaderMap) -> Response {
    if bearer(&headers).is_none() {
        return unauthorized("mastodon");
    }
    let base = base_of(&headers, "mastodon");
    answer(f.plan("mastodon", &account, false), "mastodon", || {
        let list: Vec<Value> = f.recent("mastodon", &account).iter().take(40).map(|p| mastodon_status(&base, p)).collect();
        axum::Json(Value::Array(list)).into_response()
    })
    .await
}

fn base_of(headers: &HeaderMap, platform: &str) -> String {
    let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("127.0.0.1");
    format!("http://{host}/{platform}")
}

// ----- Telegram Bot API -----

fn telegram_message(p: &Post, chat_id: &str) -> Value {
    let text = p.edits.last().unwrap_or(&p.text);
    let mut m = json!({"message_id": p.id.parse::<i64>().unwrap_or(0), "date": p.at_ms / 1000, "chat": {"id": chat_id, "type": "channel"}});
    if p.image_bytes > 0 {
        m["caption"] = json!(text);
        m["photo"] = json!([{"file_id": format!("foto-{}", p.id), "width": 800, "height": 1000}]);
    } else {
        m["text"] = json!(text);
    }
    m
}

async fn telegram(State(f): State<Fakes>, Path((bot, method)): Path<(String, String)>, req: Request) -> Response {
    let Some(token) = bot.strip_prefix("bot").filter(|t| !t.is_empty()).map(str::to_string) else {
        return error("telegram", StatusCode::NOT_FOUND, "Not Found", None);
    };
    let fields = match Fields::read(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let chat_id = fields.text("chat_id");
    let account = if chat_id.is_empty() { token.clone() } else { chat_id.clone() };
    let plan = f.plan("telegram", &account, matches!(method.as_str(), "sendMessage" | "sendPhoto"));
    let ok = |result: Value| axum::Json(json!({"ok": true, "result": result})).into_response();
    let missing = || error("telegram", StatusCode::BAD_REQUEST, "Bad Request: message to edit not found", None);
    match method.as_str() {
        "sendMessage" | "sendPhoto" => {
            let photo = method == "sendPhoto";
            let text = if photo { fields.text("caption") } else { fields.text("text") };
            if chat_id.is_empty() || (!photo && text.is_empty()) || (photo && fields.file.is_none()) {
                return error("telegram", StatusCode::BAD_REQUEST, "Bad Request: message text is empty", None);
            }
            answer(plan, "telegram", || {
                let mut post = new_post("telegram", &chat_id, f.next_id().to_string(), text);
                post.image_bytes = fields.file.as_ref().map(Vec::len).unwrap_or(0);
                let (post, _) = f.record(post);
                let message = telegram_message(&post, &chat_id);
                let mut inner = f.lock();
                inner.next_update += 1;
                let update = json!({"update_id": inner.next_update, "channel_post": message});
                inner.updates.entry(token.clone()).or_default().push(update);
                drop(inner);
                ok(message)
            })
            .await
        }
        "editMessageText" | "editMessageCaption" => {
            let id = fields.text("message_id");
            match f.find("telegram", &id) {
                Some(p) if p.account == chat_id && !p.deleted => {}
                _ => return missing(),
            }
            let text = if method == "editMessageText" { fields.text("text") } else { fields.text("caption") };
            answer(plan, "telegram", || {
                let post = f.update("telegram", &id, |p| p.edits.push(text));
                ok(post.map(|p| telegram_message(&p, &chat_id)).unwrap_or(Value::Null))
            })
            .await
        }
        "deleteMessage" => {
            let id = fields.text("message_id");
            match f.find("telegram", &id) {
                Some(p) if p.account == chat_id && !p.deleted => {}
                _ => return error("telegram", StatusCode::BAD_REQUEST, "Bad Request: message to delete not found", None),
            }
            answer(plan, "telegram", || {
                f.update("telegram", &id, |p| p.deleted = true);
                ok(json!(true))
            })
            .await
        }
        "getUpdates" => {
            let offset: i64 = fields.text("offset").parse().unwrap_or(0);
            answer(plan, "telegram", || {
                let inner = f.lock();
                let all = inner.updates.get(&token).cloned().unwrap_or_default();
                let list: Vec<Value> = if offset < 0 {
                    let n = (-offset) as usize;
                    all[all.len().saturating_sub(n)..].to_vec()
                } else {
                    all.into_iter().filter(|u| u["update_id"].as_i64().unwrap_or(0) >= offset).take(100).collect()
                };
                ok(Value::Array(list))
            })
            .await
        }
        "getMe" => answer(plan, "telegram", || ok(json!({"id": 1, "is_bot": true, "username": "violeta_bot"}))).await,
        _ => error("telegram", StatusCode::NOT_FOUND, "Not Found: method not found", None),
    }
}

// ----- Facebook Pages (Graph API) -----

fn facebook_auth(headers: &HeaderMap, fields: &Fields) -> bool {
    bearer(headers).is_some() || !fields.text("access_token").is_empty()
}

async fn facebook_page_edge(State(f): State<Fakes>, Path((_version, page, edge)): Path<(String, String, String)>, req: Request) -> Response {
    let headers = req.headers().clone();
    let getting = req.method() == axum::http::Method::GET;
    let fields = match Fields::read(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !facebook_auth(&headers, &fields) {
        return unauthorized("facebook");
    }
    let plan = f.plan("facebook", &page, !getting);
    match (getting, edge.as_str()) {
        (true, "published_posts" | "feed" | "posts") => answer(plan, "facebook", || {
            let data: Vec<Value> = f
                .recent("facebook", &page)
                .iter()
                .map(|p| json!({"id": p.id, "message": p.edits.last().unwrap_or(&p.text), "permalink_url": format!("https://www.facebook.com/{}", p.id)}))
                .collect();
            axum::Json(json!({"data": data})).into_response()
        })
        .await,
        (false, "photos" | "feed") => {
            let photo = edge == "photos";
            let text = match fields.text("message") {
                m if m.is_empty() && photo => fields.text("caption"),
                m => m,
            };
            if text.is_empty() && !photo {
                return error("facebook", StatusCode::BAD_REQUEST, "(#100) The message is empty", None);
            }
            if photo && fields.file.is_none() && fields.text("url").is_empty() {
                return error("facebook", StatusCode::BAD_REQUEST, "(#324) Requires upload file", None);
            }
            answer(plan, "facebook", || {
                let n = f.next_id();
                let mut post = new_post("facebook", &page, format!("{page}_{n}"), text);
                post.image_bytes = fields.file.as_ref().map(Vec::len).unwrap_or(0);
                post.image_alt = fields.text("alt_text_custom");
                let (post, _) = f.record(post);
                if photo {
                    axum::Json(json!({"id": n.to_string(), "post_id": post.id})).into_response()
                } else {
                    axum::Json(json!({"id": post.id})).into_response()
                }
            })
            .await
        }
        _ => error("facebook", StatusCode::BAD_REQUEST, "Unsupported request", None),
    }
}

async fn facebook_object(State(f): State<Fakes>, Path((_version, id)): Path<(String, String)>, req: Request) -> Response {
    let headers = req.headers().clone();
    let deleting = req.method() == axum::http::Method::DELETE;
    let fields = match Fields::read(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    if !facebook_auth(&headers, &fields) {
        return unauthorized("facebook");
    }
    let page = id.split('_').next().unwrap_or("").to_string();
    let plan = f.plan("facebook", &page, false);
    match f.find("facebook", &id) {
        Some(p) if !p.deleted => {}
        _ => return error("facebook", StatusCode::BAD_REQUEST, "Unsupported post request. Object does not exist", None),
    }
    answer(plan, "facebook", || {
        let message = fields.text("message");
        f.update("facebook", &id, |p| if deleting { p.deleted = true } else { p.edits.push(message) });
        axum::Json(json!({"success": true})).into_response()
    })
    .await
}

// ----- X (API v2) -----

fn x_user(token: &str) -> String {
    format!("{}", token.bytes().fold(11u64, |h, b| h.wrapping_mul(131).wrapping_add(b as u64)) % 1_000_000_000_000)
}

async fn x_media(State(f): State<Fakes>, req: Request) -> Response {
    let Some(token) = bearer(req.headers()) else { return unauthorized("x") };
    let user = x_user(&token);
    let plan = f.plan("x", &user, false);
    let fields = match Fields::read(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let Some(file) = fields.file.as_ref() else { return error("x", StatusCode::BAD_REQUEST, "media is required", None) };
    let id = format!("{}", 1_000_000 + f.next_id());
    f.lock().media.insert(id.clone(), (file.len(), String::new()));
    answer(plan, "x", || axum::Json(json!({"data": {"id": id, "media_key": format!("3_{id}")}})).into_response()).await
}

async fn x_media_metadata(State(f): State<Fakes>, req: Request) -> Response {
    let Some(token) = bearer(req.headers()) else { return unauthorized("x") };
    let plan = f.plan("x", &x_user(&token), false);
    let fields = match Fields::read(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let id = fields.text("id");
    let alt = fields.values.get("metadata").and_then(|m| m["alt_text"]["text"].as_str()).unwrap_or("").to_string();
    if let Some(m) = f.lock().media.get_mut(&id) {
        m.1 = alt;
    }
    answer(plan, "x", || axum::Json(json!({"data": {"id": id}})).into_response()).await
}

async fn x_post_tweet(State(f): State<Fakes>, req: Request) -> Response {
    let Some(token) = bearer(req.headers()) else { return unauthorized("x") };
    let user = x_user(&token);
    let plan = f.plan("x", &user, true);
    let fields = match Fields::read(req).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let text = fields.text("text");
    if text.chars().count() > 400 {
        return error("x", StatusCode::BAD_REQUEST, "Your Tweet text is too long.", None);
    }
    answer(plan, "x", || {
        let mut post = new_post("x", &user, format!("{}", 1_800_000_000_000_000_000u64 + f.next_id()), text);
        if let Some(id) = fields.values.get("media").and_then(|m| m["media_ids"][0].as_str())
            && let Some((bytes, alt)) = f.lock().media.get(id).cloned()
        {
            post.image_bytes = bytes;
            post.image_alt = alt;
        }
        let (post, _) = f.record(post);
        (StatusCode::CREATED, axum::Json(json!({"data": {"id": post.id, "text": post.text, "edit_history_tweet_ids": [post.id]}}))).into_response()
    })
    .await
}

async fn x_delete_tweet(State(f): State<Fakes>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else { return unauthorized("x") };
    let user = x_user(&token);
    let plan = f.plan("x", &user, false);
    let deleted = matches!(f.find("x", &id), Some(p) if p.account == user && !p.deleted);
    answer(plan, "x", || {
        f.update("x", &id, |p| p.deleted = true);
        axum::Json(json!({"data": {"deleted": deleted}})).into_response()
    })
    .await
}

async fn x_user_tweets(State(f): State<Fakes>, Path(user): Path<String>, headers: HeaderMap) -> Response {
    if bearer(&headers).is_none() {
        return unauthorized("x");
    }
    answer(f.plan("x", &user, false), "x", || {
        let data: Vec<Value> = f.recent("x", &user).iter().take(100).map(|p| json!({"id": p.id, "text": p.text})).collect();
        let count = data.len();
        axum::Json(json!({"data": data, "meta": {"result_count": count}})).into_response()
    })
    .await
}

async fn x_me(State(f): State<Fakes>, headers: HeaderMap) -> Response {
    let Some(token) = bearer(&headers) else { return unauthorized("x") };
    let user = x_user(&token);
    answer(f.plan("x", &user, false), "x", || axum::Json(json!({"data": {"id": user, "name": "Cuenta", "username": "cuenta"}})).into_response()).await
}

// ----- webhook receiver -----

async fn webhook(State(f): State<Fakes>, Path(name): Path<String>, req: Request) -> Response {
    let headers = req.headers().clone();
    let plan = f.plan("webhook", &name, true);
    let bytes = match axum::body::to_bytes(req.into_body(), 20 * 1024 * 1024).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    };
    let Ok(body) = serde_json::from_slice::<Value>(&bytes) else {
        return (StatusCode::BAD_REQUEST, axum::Json(json!({"error": "JSON inválido"}))).into_response();
    };
    let header_text = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let key = header_text("idempotency-key");
    let timestamp: i64 = header_text("x-violeta-timestamp").parse().unwrap_or(0);
    let signature = header_text("x-violeta-signature");
    let secret = f.lock().webhook_secrets.get(&name).cloned();
    let signature_ok = secret.map(|s| violeta_domain::dissemination::verify_webhook_signature(s.as_bytes(), timestamp, &bytes, &signature));
    if signature_ok == Some(false) {
        return (StatusCode::UNAUTHORIZED, axum::Json(json!({"error": "firma inválida"}))).into_response();
    }
    let action = body["accion"].as_str().unwrap_or("publicar").to_string();
    answer(plan, "webhook", || {
        if action == "publicar" {
            let mut post = new_post("webhook", &name, format!("w{}", f.next_id()), body["texto"].as_str().unwrap_or("").to_string());
            post.idempotency_key = key;
            post.image_bytes = body["imagen_png_base64"].as_str().map(|s| s.len() * 3 / 4).unwrap_or(0);
            post.image_alt = body["imagen_alt"].as_str().unwrap_or("").to_string();
            post.signature_ok = signature_ok;
            let (post, _) = f.record(post);
            axum::Json(json!({"id": post.id, "url": format!("https://receptor.example/{name}/{}", post.id)})).into_response()
        } else {
            let target = body["objetivo"].as_str().unwrap_or("").to_string();
            let text = body["texto"].as_str().unwrap_or("").to_string();
            let found = f.update("webhook", &target, |p| if action == "borrar" { p.deleted = true } else { p.edits.push(text) });
            axum::Json(json!({"id": target, "hecho": found.is_some()})).into_response()
        }
    })
    .await
}

// ----- control -----

async fn list_posts(State(f): State<Fakes>) -> Response {
    axum::Json(f.lock().posts.clone()).into_response()
}

async fn add_rule(State(f): State<Fakes>, axum::Json(rule): axum::Json<Rule>) -> Response {
    FakePlatforms::add(&f, rule);
    StatusCode::NO_CONTENT.into_response()
}

async fn clear_rules(State(f): State<Fakes>) -> Response {
    f.lock().rules.clear();
    StatusCode::NO_CONTENT.into_response()
}

#[derive(Deserialize)]
struct WebhookSecret {
    name: String,
    secret: String,
}

async fn webhook_secret(State(f): State<Fakes>, axum::Json(s): axum::Json<WebhookSecret>) -> Response {
    f.lock().webhook_secrets.insert(s.name, s.secret);
    StatusCode::NO_CONTENT.into_response()
}

fn router(f: Fakes) -> Router {
    Router::new()
        .route("/mastodon/api/v1/media", post(mastodon_media))
        .route("/mastodon/api/v2/media", post(mastodon_media))
        .route("/mastodon/api/v1/media/{id}", get(mastodon_media_status))
        .route("/mastodon/api/v1/statuses", post(mastodon_post_status))
        .route("/mastodon/api/v1/statuses/{id}", delete(mastodon_change_status).put(mastodon_change_status))
        .route("/mastodon/api/v1/accounts/verify_credentials", get(mastodon_verify))
        .route("/mastodon/api/v1/accounts/{id}/statuses", get(mastodon_statuses))
        .route("/telegram/{bot}/{method}", get(telegram).post(telegram))
        .route("/facebook/{version}/{page}/{edge}", get(facebook_page_edge).post(facebook_page_edge))
        .route("/facebook/{version}/{id}", delete(facebook_object).post(facebook_object))
        .route("/x/2/media/upload", post(x_media))
        .route("/x/2/media/metadata", post(x_media_metadata))
        .route("/x/2/tweets", post(x_post_tweet))
        .route("/x/2/tweets/{id}", delete(x_delete_tweet))
        .route("/x/2/users/me", get(x_me))
        .route("/x/2/users/{id}/tweets", get(x_user_tweets))
        .route("/webhook/{name}", post(webhook))
        .route("/_fake/posts", get(list_posts))
        .route("/_fake/rules", post(add_rule).delete(clear_rules))
        .route("/_fake/webhook-secrets", post(webhook_secret))
        .layer(axum::extract::DefaultBodyLimit::max(20 * 1024 * 1024))
        .with_state(f)
}

/// A running set of fakes. Stops when dropped.
pub struct FakePlatforms {
    addr: SocketAddr,
    state: Fakes,
    task: tokio::task::JoinHandle<()>,
}

/// Starts the fakes on `addr` (`127.0.0.1:0` for any free port).
pub async fn spawn(addr: SocketAddr) -> std::io::Result<FakePlatforms> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let state = Fakes::default();
    let app = router(state.clone());
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(FakePlatforms { addr, state, task })
}

impl FakePlatforms {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The API base a channel uses: `base("telegram")`, `base("webhook/ventanilla")`.
    pub fn base(&self, platform: &str) -> String {
        format!("{}/{platform}", self.url())
    }

    /// Adds a rule; the newest matching rule wins.
    pub fn set(&self, rule: Rule) {
        Self::add(&self.state, rule);
    }

    fn add(f: &Fakes, rule: Rule) {
        let until = rule.for_ms.map(|ms| Instant::now() + Duration::from_millis(ms));
        let remaining = rule.times;
        f.lock().rules.push(ActiveRule { rule, until, remaining });
    }

    /// Back to answering at once, without faults.
    pub fn clear_rules(&self) {
        self.state.lock().rules.clear();
    }

    /// Registers the shared secret the webhook `name` verifies signatures with.
    pub fn webhook_secret(&self, name: &str, secret: &str) {
        self.state.lock().webhook_secrets.insert(name.into(), secret.into());
    }

    /// Every post made so far (deleted ones too, marked).
    pub fn posts(&self) -> Vec<Post> {
        self.state.lock().posts.clone()
    }

    /// Posts per channel (platform and account).
    pub fn count_by_channel(&self) -> HashMap<(String, String), usize> {
        let mut counts = HashMap::new();
        for p in self.posts() {
            *counts.entry((p.platform, p.account)).or_insert(0) += 1;
        }
        counts
    }

    /// The Mastodon account id of a token, as the fake reports it.
    pub fn mastodon_account(token: &str) -> String {
        mastodon_account(token)
    }

    /// The X user id of a token, as the fake reports it.
    pub fn x_user(token: &str) -> String {
        x_user(token)
    }
}

impl Drop for FakePlatforms {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Reads `/_fake/posts` of fakes running elsewhere (another process), through a blocking
/// loopback request: for tests that drive `violeta serve` and the demo.
pub fn fetch_posts(addr: SocketAddr) -> std::io::Result<Vec<Post>> {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(stream, "GET /_fake/posts HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let end = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or_else(|| std::io::Error::other("respuesta sin cuerpo"))?;
    let head = String::from_utf8_lossy(&raw[..end]).to_ascii_lowercase();
    let body = &raw[end + 4..];
    let body = if head.contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_vec() };
    serde_json::from_slice(&body).map_err(std::io::Error::other)
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") {
        let n = usize::from_str_radix(String::from_utf8_lossy(&data[..line_end]).trim(), 16).unwrap_or(0);
        data = &data[line_end + 2..];
        if n == 0 || data.len() < n {
            break;
        }
        out.extend_from_slice(&data[..n]);
        data = data[n..].strip_prefix(b"\r\n").unwrap_or(&data[n..]);
    }
    out
}
