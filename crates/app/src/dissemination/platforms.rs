//! The adapters: one set of calls per platform, shaped after the real HTTP APIs.
//!
//! | Platform | Post | Delete / edit | Find an uncertain post again |
//! | --- | --- | --- | --- |
//! | Mastodon | `POST /api/v2/media` (the ficha, with its description), `POST /api/v1/statuses` with `Idempotency-Key` | `DELETE` / `PUT /api/v1/statuses/:id` | `GET /api/v1/accounts/:id/statuses` (keys last one hour on the server) |
//! | Telegram Bot API | `sendPhoto` (multipart, caption) or `sendMessage` | `deleteMessage`, `editMessageCaption` / `editMessageText` | `getUpdates?offset=-100`: the bot, admin of the channel, receives its own posts as `channel_post` updates (needs no webhook set on the bot) |
//! | Facebook Pages (Graph API) | `POST /{page-id}/photos` (multipart `source`, `message`, `alt_text_custom`) or `POST /{page-id}/feed` | `DELETE /{post-id}`, `POST /{post-id}` (`message`) | `GET /{page-id}/published_posts` |
//! | X API v2 | `POST /2/media/upload`, `POST /2/media/metadata` (alt text), `POST /2/tweets` | `DELETE /2/tweets/:id` (no edit in the API: closing deletes) | `GET /2/users/:id/tweets` |
//! | Webhook | `POST` JSON with `Idempotency-Key`, `X-Violeta-Timestamp`, `X-Violeta-Signature: sha256=HMAC(secret, timestamp.body)`; the receiver dedupes by key | the same `POST` with `accion: borrar / editar` | none needed (the key) |
//!
//! Every error is told in Spanish and never carries a URL (Telegram's holds the bot
//! token) or the credential.

use base64::Engine;
use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use std::time::Duration;
use violeta_domain::dissemination::{Platform, webhook_signature};
use violeta_domain::secret::Secret;
use violeta_store::dissemination::Receipt;

/// The Graph API version Violeta speaks.
pub const GRAPH_VERSION: &str = "v23.0";

/// Why a call did not do its work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallError {
    /// Nothing reached the platform (it could not be reached): retry later.
    Unsent(String),
    /// The platform asked to wait: retry after this long, if it said.
    RateLimited(String, Option<Duration>),
    /// It may have been done (no answer in time, a 5xx after sending): find out before
    /// doing it again.
    Uncertain(String),
    /// The platform refused it (credential, content): retrying as it is will not help.
    Refused(String),
}

impl CallError {
    pub fn message(&self) -> &str {
        match self {
            CallError::Unsent(m) | CallError::RateLimited(m, _) | CallError::Uncertain(m) | CallError::Refused(m) => m,
        }
    }
}

/// What one platform call needs: the channel, opened.
pub struct Channel<'a> {
    pub client: &'a Client,
    pub platform: Platform,
    pub api_base: &'a str,
    pub remote_id: &'a str,
    pub handle: &'a str,
    pub credential: Option<&'a Secret>,
}

/// One post to make.
pub struct PostContent<'a> {
    pub text: &'a str,
    pub image_png: Option<&'a [u8]>,
    pub image_alt: &'a str,
    pub idempotency_key: &'a str,
    /// For the webhook: what it is about.
    pub alert_id: i64,
    pub kind: &'a str,
    pub link: &'a str,
    pub marker: &'a str,
}

/// A post acted on (delete, edit).
pub struct Target<'a> {
    pub remote_id: &'a str,
    pub remote_url: &'a str,
    pub has_image: bool,
}

impl Channel<'_> {
    fn token(&self) -> Result<&str, CallError> {
        self.credential.map(|c| c.expose()).ok_or_else(|| CallError::Refused("el canal no tiene credencial guardada".into()))
    }

    fn name(&self) -> &'static str {
        self.platform.label()
    }

    /// Removes the credential from any text that could be shown or stored.
    fn scrub(&self, text: &str) -> String {
        match self.credential.map(|c| c.expose()).filter(|c| c.len() >= 4) {
            Some(secret) => text.replace(secret, "***"),
            None => text.to_string(),
        }
    }

    /// Sends a request. `last`: it is the call that makes the post, so an answer that
    /// never came leaves the post uncertain; an earlier step (a media upload) failing
    /// leaves nothing posted.
    async fn send(&self, req: RequestBuilder, last: bool) -> Result<Value, CallError> {
        let name = self.name();
        let response = req.send().await.map_err(|e| {
            if e.is_connect() {
                CallError::Unsent(format!("no se pudo conectar con {name}"))
            } else if e.is_timeout() {
                let m = format!("{name} no respondió a tiempo");
                if last { CallError::Uncertain(m) } else { CallError::Unsent(m) }
            } else {
                let m = format!("se cortó la comunicación con {name}");
                if last { CallError::Uncertain(m) } else { CallError::Unsent(m) }
            }
        })?;
        let status = response.status();
        let retry_after = retry_after(response.headers());
        let body = match response.bytes().await {
            Ok(b) => b.to_vec(),
            Err(_) if status.is_success() && last => return Err(CallError::Uncertain(format!("se cortó la respuesta de {name}"))),
            Err(_) => Vec::new(),
        };
        let value: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        if status.is_success() {
            // Telegram answers 200 with ok: false for some refusals.
            if self.platform == Platform::Telegram && value["ok"] == Value::Bool(false) {
                return Err(CallError::Refused(self.describe(status, &value)));
            }
            return Ok(value);
        }
        let described = self.describe(status, &value);
        Err(match status {
            StatusCode::TOO_MANY_REQUESTS => {
                let asked = value["parameters"]["retry_after"].as_u64().map(Duration::from_secs).or(retry_after);
                CallError::RateLimited(described, asked)
            }
            StatusCode::REQUEST_TIMEOUT => CallError::Unsent(described),
            s if s.is_server_error() && last => CallError::Uncertain(described),
            s if s.is_server_error() => CallError::Unsent(described),
            _ => CallError::Refused(described),
        })
    }

    /// "Telegram respondió 400: Bad Request: chat not found", from the platform's own error fields.
    fn describe(&self, status: StatusCode, v: &Value) -> String {
        let detail = [&v["description"], &v["error"]["message"], &v["detail"], &v["title"], &v["error"], &v["errors"][0]["message"]]
            .into_iter()
            .find_map(|x| x.as_str())
            .unwrap_or("");
        let detail: String = self.scrub(detail).chars().take(200).collect();
        let what = match status.as_u16() {
            401 | 403 => " (revise la credencial y los permisos de la cuenta)",
            429 => " (demasiadas solicitudes)",
            _ => "",
        };
        if detail.is_empty() {
            format!("{} respondió {}{what}", self.name(), status.as_u16())
        } else {
            format!("{} respondió {}{what}: {detail}", self.name(), status.as_u16())
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_base.trim_end_matches('/'))
    }

    fn bearer(&self, req: RequestBuilder) -> Result<RequestBuilder, CallError> {
        Ok(req.bearer_auth(self.token()?))
    }

    fn telegram(&self, method: &str) -> Result<String, CallError> {
        Ok(format!("{}/bot{}/{method}", self.api_base.trim_end_matches('/'), self.token()?))
    }

    fn receipt(&self, remote_id: String, remote_url: String, answer: &Value) -> Receipt {
        Receipt { remote_id, remote_url, proof: self.scrub(&answer.to_string()) }
    }

    /// The public link of a Telegram message.
    fn telegram_link(&self, message_id: &str) -> String {
        let chat = self.remote_id.trim();
        if let Some(user) = chat.strip_prefix('@').or_else(|| self.handle.trim().strip_prefix('@')) {
            format!("https://t.me/{user}/{message_id}")
        } else if let Some(internal) = chat.strip_prefix("-100") {
            format!("https://t.me/c/{internal}/{message_id}")
        } else {
            String::new()
        }
    }

    fn x_link(&self, id: &str) -> String {
        let user = self.handle.trim().trim_start_matches('@');
        let user = if user.is_empty() || user.contains(char::is_whitespace) { "i" } else { user };
        format!("https://x.com/{user}/status/{id}")
    }
}

fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    if let Some(secs) = headers.get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(secs));
    }
    // X: the moment (Unix seconds) the window resets.
    let reset = headers.get("x-rate-limit-reset").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok())?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    Some(Duration::from_secs(reset.saturating_sub(now).max(1)))
}

fn png_part(bytes: &[u8], field_file_name: &str) -> reqwest::multipart::Part {
    reqwest::multipart::Part::bytes(bytes.to_vec()).file_name(field_file_name.to_string()).mime_str("image/png").expect("image/png es un tipo MIME válido")
}

fn text_of(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

fn id_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

// ----- publish -----

pub async fn publish(ch: &Channel<'_>, post: &PostContent<'_>) -> Result<Receipt, CallError> {
    match ch.platform {
        Platform::Mastodon => mastodon_publish(ch, post).await,
        Platform::Telegram => telegram_publish(ch, post).await,
        Platform::Facebook => facebook_publish(ch, post).await,
        Platform::X => x_publish(ch, post).await,
        Platform::Webhook => webhook_send(ch, post, "publicar", None).await,
        Platform::Manual => Err(CallError::Refused("un canal manual se publica a mano".into())),
    }
}

async fn mastodon_publish(ch: &Channel<'_>, post: &PostContent<'_>) -> Result<Receipt, CallError> {
    let mut media_ids = Vec::new();
    if let Some(png) = post.image_png {
        let form = reqwest::multipart::Form::new().part("file", png_part(png, "ficha.png")).text("description", post.image_alt.to_string());
        let media = ch.send(ch.bearer(ch.client.post(ch.url("/api/v2/media")))?.multipart(form), false).await?;
        let id = id_of(&media["id"]);
        // A 202 (no `url` yet) means the server is still processing the file: a status
        // naming it would be refused, so wait for it (GET answers 206 until it is ready).
        if media["url"].is_null() {
            let mut ready = false;
            for _ in 0..20 {
                tokio::time::sleep(Duration::from_millis(250)).await;
                let status = ch.bearer(ch.client.get(ch.url(&format!("/api/v1/media/{id}"))))?.send().await.map(|r| r.status());
                if status.is_ok_and(|s| s == StatusCode::OK) {
                    ready = true;
                    break;
                }
            }
            if !ready {
                return Err(CallError::Unsent("Mastodon no terminó de procesar la imagen; se reintentará".into()));
            }
        }
        media_ids.push(id);
    }
    let body = json!({"status": post.text, "media_ids": media_ids, "visibility": "public", "language": "es"});
    let req = ch.bearer(ch.client.post(ch.url("/api/v1/statuses")))?.header("Idempotency-Key", post.idempotency_key).json(&body);
    let status = ch.send(req, true).await?;
    Ok(ch.receipt(id_of(&status["id"]), text_of(&status["url"]).to_string(), &status))
}

async fn telegram_publish(ch: &Channel<'_>, post: &PostContent<'_>) -> Result<Receipt, CallError> {
    let answer = match post.image_png {
        Some(png) => {
            let form = reqwest::multipart::Form::new()
                .text("chat_id", ch.remote_id.to_string())
                .text("caption", post.text.to_string())
                .part("photo", png_part(png, "ficha.png"));
            ch.send(ch.client.post(ch.telegram("sendPhoto")?).multipart(form), true).await?
        }
        None => {
            let body = json!({"chat_id": ch.remote_id, "text": post.text});
            ch.send(ch.client.post(ch.telegram("sendMessage")?).json(&body), true).await?
        }
    };
    let id = id_of(&answer["result"]["message_id"]);
    Ok(ch.receipt(id.clone(), ch.telegram_link(&id), &answer))
}

async fn facebook_publish(ch: &Channel<'_>, post: &PostContent<'_>) -> Result<Receipt, CallError> {
    let page = ch.remote_id;
    let answer = match post.image_png {
        Some(png) => {
            let form = reqwest::multipart::Form::new()
                .text("message", post.text.to_string())
                .text("alt_text_custom", post.image_alt.to_string())
                .text("published", "true")
                .part("source", png_part(png, "ficha.png"));
            ch.send(ch.bearer(ch.client.post(ch.url(&format!("/{GRAPH_VERSION}/{page}/photos"))))?.multipart(form), true).await?
        }
        None => {
            let form = reqwest::multipart::Form::new().text("message", post.text.to_string());
            ch.send(ch.bearer(ch.client.post(ch.url(&format!("/{GRAPH_VERSION}/{page}/feed"))))?.multipart(form), true).await?
        }
    };
    let post_id = match id_of(&answer["post_id"]) {
        s if s.is_empty() => id_of(&answer["id"]),
        s => s,
    };
    Ok(ch.receipt(post_id.clone(), format!("https://www.facebook.com/{post_id}"), &answer))
}

async fn x_publish(ch: &Channel<'_>, post: &PostContent<'_>) -> Result<Receipt, CallError> {
    let mut body = json!({"text": post.text});
    if let Some(png) = post.image_png {
        let form = reqwest::multipart::Form::new().text("media_category", "tweet_image").part("media", png_part(png, "ficha.png"));
        let media = ch.send(ch.bearer(ch.client.post(ch.url("/2/media/upload")))?.multipart(form), false).await?;
        let media_id = id_of(&media["data"]["id"]);
        if !post.image_alt.is_empty() {
            let meta = json!({"id": media_id, "metadata": {"alt_text": {"text": post.image_alt.chars().take(1000).collect::<String>()}}});
            ch.send(ch.bearer(ch.client.post(ch.url("/2/media/metadata")))?.json(&meta), false).await?;
        }
        body["media"] = json!({"media_ids": [media_id]});
    }
    let answer = ch.send(ch.bearer(ch.client.post(ch.url("/2/tweets")))?.json(&body), true).await?;
    let id = id_of(&answer["data"]["id"]);
    Ok(ch.receipt(id.clone(), ch.x_link(&id), &answer))
}

async fn webhook_send(ch: &Channel<'_>, post: &PostContent<'_>, action: &str, target: Option<&Target<'_>>) -> Result<Receipt, CallError> {
    let secret = ch.token()?;
    let body = json!({
        "evento": "violeta.alerta_rosa",
        "accion": action,
        "alerta_id": post.alert_id,
        "tipo": post.kind,
        "texto": post.text,
        "enlace": post.link,
        "marca": post.marker,
        "imagen_png_base64": post.image_png.map(|b| base64::engine::general_purpose::STANDARD.encode(b)),
        "imagen_alt": post.image_alt,
        "objetivo": target.map(|t| t.remote_id),
    });
    let bytes = serde_json::to_vec(&body).expect("JSON serializable");
    let timestamp = chrono::Utc::now().timestamp();
    let req = ch
        .client
        .post(ch.api_base)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", post.idempotency_key)
        .header("X-Violeta-Timestamp", timestamp.to_string())
        .header("X-Violeta-Signature", webhook_signature(secret.as_bytes(), timestamp, &bytes))
        .body(bytes);
    let answer = ch.send(req, true).await?;
    let id = match id_of(&answer["id"]) {
        s if s.is_empty() => post.idempotency_key.to_string(),
        s => s,
    };
    Ok(ch.receipt(id, text_of(&answer["url"]).to_string(), &answer))
}

// ----- delete and edit -----

/// Deletes a post. A post that is already gone counts as deleted.
pub async fn delete(ch: &Channel<'_>, target: &Target<'_>, post: &PostContent<'_>) -> Result<Receipt, CallError> {
    let id = target.remote_id;
    if id.is_empty() {
        return Err(CallError::Refused("no se conoce el identificador de la publicación original".into()));
    }
    let result = match ch.platform {
        Platform::Mastodon => ch.send(ch.bearer(ch.client.delete(ch.url(&format!("/api/v1/statuses/{id}"))))?, true).await,
        Platform::Telegram => {
            ch.send(ch.client.post(ch.telegram("deleteMessage")?).json(&json!({"chat_id": ch.remote_id, "message_id": id.parse::<i64>().unwrap_or(0)})), true).await
        }
        Platform::Facebook => ch.send(ch.bearer(ch.client.delete(ch.url(&format!("/{GRAPH_VERSION}/{id}"))))?, true).await,
        Platform::X => ch.send(ch.bearer(ch.client.delete(ch.url(&format!("/2/tweets/{id}"))))?, true).await,
        Platform::Webhook => return webhook_send(ch, post, "borrar", Some(target)).await,
        Platform::Manual => return Err(CallError::Refused("un canal manual se atiende a mano".into())),
    };
    match result {
        Ok(answer) => Ok(ch.receipt(id.to_string(), target.remote_url.to_string(), &answer)),
        // Gone already (deleted by hand on the platform): the goal is met.
        Err(CallError::Refused(m)) if m.contains(" 404") || m.contains("not found") || m.contains("does not exist") => {
            Ok(Receipt { remote_id: id.to_string(), remote_url: target.remote_url.to_string(), proof: format!("ya no existía: {m}") })
        }
        Err(e) => Err(e),
    }
}

/// Replaces a post's text (the image stays on Telegram and Facebook; Mastodon drops it).
pub async fn edit(ch: &Channel<'_>, target: &Target<'_>, post: &PostContent<'_>) -> Result<Receipt, CallError> {
    let id = target.remote_id;
    if id.is_empty() {
        return Err(CallError::Refused("no se conoce el identificador de la publicación original".into()));
    }
    let answer = match ch.platform {
        Platform::Mastodon => {
            ch.send(ch.bearer(ch.client.put(ch.url(&format!("/api/v1/statuses/{id}"))))?.json(&json!({"status": post.text, "media_ids": []})), true).await?
        }
        Platform::Telegram => {
            let message_id = id.parse::<i64>().unwrap_or(0);
            let (method, body) = if target.has_image {
                ("editMessageCaption", json!({"chat_id": ch.remote_id, "message_id": message_id, "caption": post.text}))
            } else {
                ("editMessageText", json!({"chat_id": ch.remote_id, "message_id": message_id, "text": post.text}))
            };
            ch.send(ch.client.post(ch.telegram(method)?).json(&body), true).await?
        }
        Platform::Facebook => {
            let form = reqwest::multipart::Form::new().text("message", post.text.to_string());
            ch.send(ch.bearer(ch.client.post(ch.url(&format!("/{GRAPH_VERSION}/{id}"))))?.multipart(form), true).await?
        }
        Platform::Webhook => return webhook_send(ch, post, "editar", Some(target)).await,
        Platform::X | Platform::Manual => return Err(CallError::Refused(format!("{} no permite editar publicaciones", ch.name()))),
    };
    Ok(ch.receipt(id.to_string(), target.remote_url.to_string(), &answer))
}

// ----- reconciliation -----

/// Looks for the post carrying `marker` among the channel's recent posts: after an
/// uncertain attempt, it tells whether the post went out. `Ok(None)`: it did not (the
/// webhook is never looked up: its receiver dedupes by the idempotency key).
pub async fn find(ch: &Channel<'_>, marker: &str) -> Result<Option<Receipt>, CallError> {
    match ch.platform {
        Platform::Mastodon => {
            let account = if ch.remote_id.is_empty() {
                let me = ch.send(ch.bearer(ch.client.get(ch.url("/api/v1/accounts/verify_credentials")))?, false).await?;
                id_of(&me["id"])
            } else {
                ch.remote_id.to_string()
            };
            let list = ch.send(ch.bearer(ch.client.get(ch.url(&format!("/api/v1/accounts/{account}/statuses?limit=40"))))?, false).await?;
            Ok(list.as_array().into_iter().flatten().find(|s| text_of(&s["content"]).contains(marker)).map(|s| {
                ch.receipt(id_of(&s["id"]), text_of(&s["url"]).to_string(), &json!({"conciliada": true, "id": s["id"], "url": s["url"]}))
            }))
        }
        Platform::Telegram => {
            let body = json!({"offset": -100, "limit": 100, "timeout": 0, "allowed_updates": ["channel_post"]});
            let updates = ch.send(ch.client.post(ch.telegram("getUpdates")?).json(&body), false).await?;
            let same_chat = |chat: &Value| {
                let want = ch.remote_id.trim();
                id_of(&chat["id"]) == want || chat["username"].as_str().is_some_and(|u| format!("@{u}") == want)
            };
            Ok(updates["result"].as_array().into_iter().flatten().map(|u| &u["channel_post"]).find(|m| {
                same_chat(&m["chat"]) && (text_of(&m["text"]).contains(marker) || text_of(&m["caption"]).contains(marker))
            })
            .map(|m| {
                let id = id_of(&m["message_id"]);
                ch.receipt(id.clone(), ch.telegram_link(&id), &json!({"conciliada": true, "message_id": m["message_id"]}))
            }))
        }
        Platform::Facebook => {
            let path = format!("/{GRAPH_VERSION}/{}/published_posts?fields=id,message,permalink_url&limit=25", ch.remote_id);
            let list = ch.send(ch.bearer(ch.client.get(ch.url(&path)))?, false).await?;
            Ok(list["data"].as_array().into_iter().flatten().find(|p| text_of(&p["message"]).contains(marker)).map(|p| {
                let id = id_of(&p["id"]);
                let url = match text_of(&p["permalink_url"]) {
                    "" => format!("https://www.facebook.com/{id}"),
                    u => u.to_string(),
                };
                ch.receipt(id, url, &json!({"conciliada": true, "id": p["id"]}))
            }))
        }
        Platform::X => {
            let list = ch.send(ch.bearer(ch.client.get(ch.url(&format!("/2/users/{}/tweets?max_results=20", ch.remote_id))))?, false).await?;
            Ok(list["data"].as_array().into_iter().flatten().find(|t| text_of(&t["text"]).contains(marker)).map(|t| {
                let id = id_of(&t["id"]);
                ch.receipt(id.clone(), ch.x_link(&id), &json!({"conciliada": true, "id": t["id"]}))
            }))
        }
        Platform::Webhook | Platform::Manual => Ok(None),
    }
}
