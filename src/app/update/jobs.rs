//! Long operations: registered as jobs, shown with a spinner, their result in the status
//! line.

use crate::app::effect::{Effect, Op};
use crate::app::forms::NewForm;
use crate::app::state::{Job, Mode, State};
use crate::app::tabs::Tab;
use crate::image::BuildProgress;

pub(super) fn start(state: &mut State, session: &str, what: &str, op: Op, fx: &mut Vec<Effect>) {
    if state.refuse_conflict(session) {
        return;
    }
    let job = register(state, session, what, None);
    fx.push(Effect::Run {
        job,
        session: session.to_string(),
        op,
    });
}

/// Creating from the dialog: the form comes back as it was if the job fails, and at once,
/// saying why, when another engine has a session of that name (a name must say which
/// session it is, on every engine).
pub(super) fn start_create(
    state: &mut State,
    mut form: NewForm,
    fx: &mut Vec<Effect>,
) -> Option<NewForm> {
    let request = form.request(&state.settings.home);
    let session = request.label();
    let engine = request
        .engine
        .clone()
        .unwrap_or_else(|| state.engines[0].name.clone());
    let elsewhere = state
        .rows
        .iter()
        .find(|r| r.name() == session && r.engine != engine);
    if let Some(row) = elsewhere {
        form.error = Some(format!(
            "{session} already exists on the engine {}: choose another name",
            row.engine
        ));
        return Some(form);
    }
    let job = register(state, &session, "creating", Some(form));
    if let Some(j) = state.jobs.get_mut(&job) {
        j.engine = engine;
    }
    fx.push(Effect::Run {
        job,
        session,
        op: Op::Create(request),
    });
    None
}

/// Registers a job, so that its result lands in the status line.
pub(super) fn register(state: &mut State, session: &str, what: &str, form: Option<NewForm>) -> u64 {
    let job = state.next_job;
    state.next_job += 1;
    let engine = match state.row(session) {
        Some(r) => r.engine.clone(),
        None => state.engines[0].name.clone(),
    };
    state.jobs.insert(
        job,
        Job {
            session: session.to_string(),
            engine,
            what: what.to_string(),
            progress: None,
            fraction: None,
            form,
        },
    );
    if let Some(row) = state.row_mut(session) {
        row.busy = Some(what.to_string());
        row.error = None;
    }
    state.status = None;
    job
}

pub(super) fn on_progress(state: &mut State, job: u64, progress: BuildProgress) {
    let Some(j) = state.jobs.get_mut(&job) else {
        return;
    };
    match progress {
        BuildProgress::Step {
            layer,
            index,
            total,
            text,
        } => {
            j.progress = Some(format!("[{layer}] {index}/{total} {text}"));
            j.fraction = Some(index as f64 / total.max(1) as f64);
        }
        BuildProgress::Started { layer, .. } => {
            j.progress = Some(format!("[{layer}] building"));
            j.fraction = Some(0.0);
        }
        BuildProgress::Cached { .. }
        | BuildProgress::Finished { .. }
        | BuildProgress::Output { .. } => {}
    }
}

/// Ends a job; returns its session, for what else follows a job (the queue's reload).
pub(super) fn on_done(
    state: &mut State,
    job: u64,
    result: Result<String, String>,
    fx: &mut Vec<Effect>,
) -> Option<String> {
    let j = state.jobs.remove(&job)?;
    fx.push(Effect::Refresh(j.engine.clone()));
    if let Some(row) = state.row_mut(&j.session) {
        row.busy = None;
        row.error = result.as_ref().err().cloned();
    }
    match (result, j.form) {
        // A failed create reopens the dialog with what was typed, and says why inside it.
        (Err(e), Some(mut form)) if state.mode == Mode::Normal => {
            form.error = Some(e);
            state.mode = Mode::New(form);
        }
        (Err(e), _) => state.set_status(format!("{} {}: {e}", j.what, j.session), true),
        (Ok(msg), form) => {
            if form.is_some() {
                state.select_when_listed = Some(j.session.clone());
            }
            state.set_status(msg, false);
        }
    }
    // The session's work may have moved (import, merge, apply): show it anew.
    if state.tab == Tab::Changes && state.is_selected(&j.session) {
        fx.push(Effect::LoadChanges(j.session.clone()));
    }
    Some(j.session)
}
