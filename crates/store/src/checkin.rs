//! QR check-ins, committed in groups.
//!
//! At a venue, dozens of phones check in within the same few seconds. Each check-in is an
//! audited write, and audited writers take turns on the audit chain's head, so with one
//! transaction per check-in the venue waits on one commit after another. Instead, one writer
//! task per store takes every check-in waiting and commits them together, in one
//! transaction: each person matched by CURP or created, counted once per session, and one
//! audit entry per check-in, chained in order. When a group fails, its check-ins are tried
//! again one by one, so a bad check-in only fails itself.

use crate::audit::{Event, append_all};
use crate::people::{PersonRef, resolve_people};
use crate::training::{Mark, open_for_attendance, session_statuses, write_attendance};
use crate::{Result, Store, StoreError, on_pool};
use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, oneshot};
use violeta_domain::audit::Actor;
use violeta_domain::person::PersonDraft;
use violeta_domain::training::AttendanceStatus;

/// A check-in as recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckIn {
    pub person_id: i64,
    /// Whether the person was new to the registry.
    pub created: bool,
}

/// Per store: the way to the writer task, started by the first check-in, and what the
/// check-in pages need of each session.
#[derive(Default)]
pub(crate) struct CheckIns {
    queue: OnceLock<mpsc::Sender<Request>>,
    sessions: Mutex<HashMap<i64, (Instant, (String, String))>>,
}

/// How long a session's title and secret are kept in memory. Neither changes once the
/// session exists; the limit only bounds how long a removed session could be remembered.
const SESSION_KEPT: Duration = Duration::from_secs(60);

pub(crate) struct Request {
    actor: Actor,
    session_id: i64,
    person: PersonRef,
    reply: oneshot::Sender<Result<CheckIn>>,
}

/// Most check-ins committed in one transaction.
const MAX_GROUP: usize = 256;

impl Store {
    /// What the check-in pages need of a session, and nothing more: (title, check-in
    /// secret). Kept in memory for a minute, so a busy venue does not read them on every
    /// check-in; whether the session still takes attendance is checked as each check-in is
    /// committed.
    pub async fn training_checkin(&self, id: i64) -> Result<(String, String)> {
        if let Some((at, found)) = self.checkins.sessions.lock().unwrap_or_else(|e| e.into_inner()).get(&id)
            && at.elapsed() < SESSION_KEPT
        {
            return Ok(found.clone());
        }
        let row: Option<(String, String)> = on_pool!(self, |p| sqlx::query_as("SELECT title, checkin_secret FROM training_sessions WHERE id = $1")
            .bind(id)
            .fetch_optional(p)
            .await?);
        let row = row.ok_or_else(|| StoreError::NotFound("no existe esa capacitación".into()))?;
        let mut sessions = self.checkins.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions.retain(|_, (at, _)| at.elapsed() < SESSION_KEPT);
        sessions.insert(id, (Instant::now(), row.clone()));
        Ok(row)
    }

    /// Records a participant's own check-in at a session (scanning its QR code): the person
    /// is matched by CURP or created, counts once per session, and the check-in has its own
    /// audit entry. Check-ins arriving together are committed together (see the module).
    pub async fn check_in(&self, actor: &Actor, session_id: i64, person: PersonDraft) -> Result<CheckIn> {
        if person.curp.is_none() {
            return Err(StoreError::Invalid("escriba su CURP para registrar su asistencia".into()));
        }
        let queue = self.checkins.queue.get_or_init(|| {
            let (sender, receiver) = mpsc::channel(MAX_GROUP * 4);
            // The writer holds the pool but not the queue, so it ends when the last clone
            // of this store is dropped.
            tokio::spawn(writer(Store { pool: self.pool.clone(), checkins: Arc::default() }, receiver));
            sender
        });
        let (reply, answer) = oneshot::channel();
        let request = Request { actor: actor.clone(), session_id, person: PersonRef::Draft(Box::new(person)), reply };
        let stopped = || StoreError::Invalid("el registro de asistencia se detuvo; inténtelo de nuevo".into());
        queue.send(request).await.map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

/// Takes whatever check-ins are waiting (at least one, at most [`MAX_GROUP`]) and commits
/// them as a group, until the store is dropped.
async fn writer(store: Store, mut queue: mpsc::Receiver<Request>) {
    let mut group = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        let requests: Vec<Request> = std::mem::take(&mut group);
        match store.commit_check_ins(&requests).await {
            Ok(outcomes) => {
                for (r, outcome) in requests.into_iter().zip(outcomes) {
                    let _ = r.reply.send(outcome);
                }
            }
            Err(e) if requests.len() == 1 => {
                let _ = requests.into_iter().next().map(|r| r.reply.send(Err(e)));
            }
            Err(e) => {
                tracing::warn!(check_ins = requests.len(), error = %e, "a group of check-ins failed; committing them one by one");
                for r in requests {
                    let outcome = match store.commit_check_ins(std::slice::from_ref(&r)).await {
                        Ok(mut outcomes) => outcomes.remove(0),
                        Err(e) => Err(e),
                    };
                    let _ = r.reply.send(outcome);
                }
            }
        }
    }
}

impl Store {
    /// Commits a group of check-ins in one transaction. The outer error fails the whole
    /// group; a check-in for a session that is missing or cancelled fails alone.
    async fn commit_check_ins(&self, requests: &[Request]) -> Result<Vec<Result<CheckIn>>> {
        let mut tx = self.begin().await?;
        let mut sessions: Vec<i64> = requests.iter().map(|r| r.session_id).collect();
        sessions.sort_unstable();
        sessions.dedup();
        let statuses = session_statuses(&mut tx, &sessions).await?;
        let open: Vec<&Request> = requests.iter().filter(|r| open_for_attendance(statuses.get(&r.session_id).map(String::as_str)).is_ok()).collect();
        let people: Vec<&PersonRef> = open.iter().map(|r| &r.person).collect();
        let resolved = resolve_people(&mut tx, &people).await?;
        let marks = open
            .iter()
            .zip(&resolved.ids)
            .map(|(r, &person_id)| Mark { session_id: r.session_id, person_id, status: AttendanceStatus::Asistio, pre_score: None, post_score: None })
            .collect();
        write_attendance(&mut tx, "qr", marks, &resolved.created, &|_, _| {}).await?;
        // A person created now is reported as new once, to their first check-in.
        let mut reported = HashSet::new();
        let check_ins: Vec<CheckIn> = resolved
            .ids
            .iter()
            .map(|&person_id| CheckIn { person_id, created: resolved.created.contains(&person_id) && reported.insert(person_id) })
            .collect();
        let events = open
            .iter()
            .zip(&check_ins)
            .map(|(r, c)| {
                let detail = serde_json::json!({"origen": "qr", "filas": 1, "personas_nuevas": c.created as usize, "persona": c.person_id});
                (&r.actor, Event::new("capacitacion.asistencia", "capacitacion", r.session_id).with(detail))
            })
            .collect();
        append_all(&mut tx, events).await?;
        tx.commit().await?;
        let mut check_ins = check_ins.into_iter();
        Ok(requests
            .iter()
            .map(|r| match open_for_attendance(statuses.get(&r.session_id).map(String::as_str)) {
                Ok(()) => Ok(check_ins.next().expect("one check-in per open request")),
                Err(e) => Err(e),
            })
            .collect())
    }
}
