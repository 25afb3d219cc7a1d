//! Alerta Rosa dissemination pages: the unit's official accounts (channels, groups, the
//! repeat interval) and, per alert, its deliveries, live.

use super::{Notice, render, render_invalid, see_other};
use crate::AppState;
use crate::auth::Ctx;
use crate::error::{AppError, PageResult};
use crate::layout::{Layout, datetime};
use askama::Template;
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::response::IntoResponse;
use serde::Deserialize;
use violeta_domain::dissemination::{Platform, parse_repeat_hours};
use violeta_domain::secret::Secret;
use violeta_store::dissemination::{AlertDissemination, Channel, ChannelGroup, ChannelInput, DeliveryView, PublicationView};

/// How often the deliveries page reloads itself while something is still on its way.
pub const REFRESH_SECONDS: u32 = 5;

// ----- channels -----

#[derive(Template)]
#[template(path = "canales.html")]
struct ListPage {
    l: Layout,
    channels: Vec<Channel>,
    groups: Vec<ChannelGroup>,
    repeat_hours: String,
    f: ChannelForm,
    platforms: &'static [Platform],
    key_missing: bool,
    error: Option<String>,
}

impl ListPage {
    fn in_group(&self, g: &ChannelGroup, id: &i64) -> bool {
        g.channel_ids.contains(id)
    }
}

/// The channel form. The credential field is never filled back in.
#[derive(Deserialize, Default, Clone)]
pub struct ChannelForm {
    #[serde(default)]
    platform: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    handle: String,
    #[serde(default)]
    api_base: String,
    #[serde(default)]
    remote_id: String,
    #[serde(default, skip_serializing)]
    credential: String,
    #[serde(default)]
    enabled: Option<String>,
}

impl ChannelForm {
    fn input(&self) -> Result<ChannelInput, String> {
        let platform = Platform::parse(&self.platform).ok_or("elija la plataforma del canal")?;
        let credential = self.credential.trim();
        Ok(ChannelInput {
            platform,
            name: self.name.clone(),
            handle: self.handle.clone(),
            api_base: self.api_base.clone(),
            remote_id: self.remote_id.clone(),
            credential: (!credential.is_empty()).then(|| Secret::new(credential)),
            enabled: self.enabled.is_some(),
        })
    }
    /// What the form shows again after an error: everything but the credential.
    fn without_secret(mut self) -> ChannelForm {
        self.credential.clear();
        self
    }
}

async fn list_page(state: &AppState, ctx: &Ctx, f: ChannelForm, error: Option<String>, notice: Option<&str>) -> Result<ListPage, AppError> {
    Ok(ListPage {
        l: Layout::new(ctx, state, "Canales de difusión de Alerta Rosa").with_notice(notice),
        channels: state.store.channels().await?,
        groups: state.store.channel_groups().await?,
        repeat_hours: state.store.repeat_hours().await?.map(|h| h.to_string()).unwrap_or_default(),
        f,
        platforms: Platform::ALL,
        key_missing: state.config.credential_key.is_none(),
        error,
    })
}

pub async fn list(State(state): State<AppState>, ctx: Ctx, Query(n): Query<Notice>) -> PageResult {
    let f = ChannelForm { enabled: Some("on".into()), ..Default::default() };
    render(&list_page(&state, &ctx, f, None, n.aviso.as_deref()).await?)
}

pub async fn create(State(state): State<AppState>, ctx: Ctx, Form(f): Form<ChannelForm>) -> PageResult {
    let outcome = match f.input() {
        Ok(input) => state.store.create_channel(&ctx.actor(), &input, state.config.credential_key.as_ref()).await.map_err(|e| AppError::from(e).to_string()),
        Err(m) => Err(m.to_string()),
    };
    match outcome {
        Ok(_) => see_other("/canales", "creada"),
        Err(message) => render_invalid(&list_page(&state, &ctx, f.without_secret(), Some(message), None).await?),
    }
}

#[derive(Template)]
#[template(path = "canales_editar.html")]
struct EditPage {
    l: Layout,
    id: i64,
    channel: Channel,
    f: ChannelForm,
    platforms: &'static [Platform],
    error: Option<String>,
}

fn form_of(c: &Channel) -> ChannelForm {
    ChannelForm {
        platform: c.platform.clone(),
        name: c.name.clone(),
        handle: c.handle.clone(),
        api_base: c.api_base.clone(),
        remote_id: c.remote_id.clone(),
        credential: String::new(),
        enabled: c.enabled.then(|| "on".into()),
    }
}

pub async fn edit_form(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let channel = state.store.channel(id).await?;
    render(&EditPage { l: Layout::new(&ctx, &state, format!("Canal: {}", channel.name)), id, f: form_of(&channel), channel, platforms: Platform::ALL, error: None })
}

pub async fn update(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<ChannelForm>) -> PageResult {
    let channel = state.store.channel(id).await?;
    let outcome = match f.input() {
        Ok(input) => state.store.update_channel(&ctx.actor(), id, &input, state.config.credential_key.as_ref()).await.map_err(|e| AppError::from(e).to_string()),
        Err(m) => Err(m.to_string()),
    };
    match outcome {
        Ok(()) => see_other("/canales", "guardado"),
        Err(message) => render_invalid(&EditPage {
            l: Layout::new(&ctx, &state, format!("Canal: {}", channel.name)),
            id,
            channel,
            f: f.without_secret(),
            platforms: Platform::ALL,
            error: Some(message),
        }),
    }
}

/// A group form: its name and the ticked channels (`canal` repeated).
fn group_fields(body: &str) -> (String, Vec<i64>) {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(body).unwrap_or_default();
    let name = pairs.iter().find(|(k, _)| k == "name").map(|(_, v)| v.clone()).unwrap_or_default();
    let ids = pairs.iter().filter(|(k, _)| k == "canal").filter_map(|(_, v)| v.parse().ok()).collect();
    (name, ids)
}

pub async fn create_group(State(state): State<AppState>, ctx: Ctx, body: String) -> PageResult {
    let (name, ids) = group_fields(&body);
    match state.store.create_channel_group(&ctx.actor(), &name, &ids).await {
        Ok(_) => see_other("/canales", "creada"),
        Err(e) => render_invalid(&list_page(&state, &ctx, ChannelForm::default(), Some(AppError::from(e).to_string()), None).await?),
    }
}

pub async fn update_group(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, body: String) -> PageResult {
    let (_, ids) = group_fields(&body);
    state.store.set_channel_group(&ctx.actor(), id, &ids).await?;
    see_other("/canales", "guardado")
}

#[derive(Deserialize)]
pub struct RepeatForm {
    #[serde(default)]
    hours: String,
}

pub async fn set_repeat(State(state): State<AppState>, ctx: Ctx, Form(f): Form<RepeatForm>) -> PageResult {
    match parse_repeat_hours(&f.hours) {
        Ok(hours) => {
            state.store.set_repeat_hours(&ctx.actor(), hours).await?;
            see_other("/canales", "guardado")
        }
        Err(message) => render_invalid(&list_page(&state, &ctx, ChannelForm::default(), Some(message), None).await?),
    }
}

// ----- an alert's deliveries, live -----

#[derive(Template)]
#[template(path = "difusion.html")]
struct DeliveriesPage {
    l: Layout,
    alert_id: i64,
    state: Option<AlertDissemination>,
    publications: Vec<PublicationView>,
    deliveries: Vec<DeliveryView>,
    counts: Vec<(&'static str, usize)>,
    open: bool,
    refresh: u32,
}

impl DeliveriesPage {
    fn of(&self, p: &PublicationView) -> Vec<&DeliveryView> {
        self.deliveries.iter().filter(|d| d.publication_id == p.id).collect()
    }
    fn when(&self, t: &chrono::DateTime<chrono::Utc>) -> String {
        datetime(t)
    }
    fn done(&self, d: &DeliveryView) -> String {
        d.done_at.as_ref().map(datetime).unwrap_or_default()
    }
    fn closed(&self) -> String {
        self.state.as_ref().and_then(|s| s.closed_at.as_ref()).map(datetime).unwrap_or_default()
    }
}

/// Counts by status, in a fixed order.
pub fn counts(deliveries: &[DeliveryView]) -> Vec<(&'static str, usize)> {
    use violeta_domain::dissemination::DeliveryStatus;
    DeliveryStatus::ALL.iter().map(|s| (s.label(), deliveries.iter().filter(|d| d.status == s.code()).count())).collect()
}

pub async fn deliveries(State(state): State<AppState>, ctx: Ctx, Path(alert_id): Path<i64>, Query(n): Query<Notice>) -> PageResult {
    let deliveries = state.store.deliveries(alert_id).await?;
    let open = deliveries.iter().any(|d| d.status == "pendiente" || d.status == "enviando");
    let page = DeliveriesPage {
        l: Layout::new(&ctx, &state, format!("Difusión de la alerta {alert_id}")).with_notice(n.aviso.as_deref()),
        alert_id,
        state: state.store.alert_dissemination(alert_id).await?,
        publications: state.store.publications(alert_id).await?,
        counts: counts(&deliveries),
        deliveries,
        open,
        refresh: REFRESH_SECONDS,
    };
    let mut response = render(&page)?;
    if open {
        // Reloads without JavaScript while something is still on its way.
        response.headers_mut().insert("refresh", REFRESH_SECONDS.into());
    }
    Ok(response.into_response())
}

#[derive(Deserialize)]
pub struct ManualForm {
    #[serde(default)]
    url: String,
}

pub async fn record_manual(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>, Form(f): Form<ManualForm>) -> PageResult {
    let d = state.store.delivery(id).await?;
    state.store.record_manual_post(&ctx.actor(), id, &f.url).await?;
    see_other(&format!("/alerta-rosa/{}/difusion", d.alert_id), "guardado")
}

pub async fn retry(State(state): State<AppState>, ctx: Ctx, Path(id): Path<i64>) -> PageResult {
    let d = state.store.delivery(id).await?;
    state.store.retry_delivery(&ctx.actor(), id).await?;
    see_other(&format!("/alerta-rosa/{}/difusion", d.alert_id), "guardado")
}
