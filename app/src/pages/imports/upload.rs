//! Choosing, previewing, mapping and uploading one file.

use super::ImportsChanged;
use crate::{
    components::{
        file::{FileHead, Upload, UploadEvent, read_head},
        notice::ErrorNotice,
    },
    domain::{Priority, WorkspaceOverview},
    error::AppError,
    format::{bytes, decimal, int},
    ingest::{Mapping, Role, Router, credits_per_row, detect_roles},
    pages::workspaces::can,
};
use leptos::{prelude::*, task::spawn_local, wasm_bindgen::JsCast};
use send_wrapper::SendWrapper;
use serde::Deserialize;
use std::{collections::BTreeMap, sync::Arc};
use web_sys::File;

/// Rows shown in the preview; the estimate routes every row of the file's head.
const PREVIEW_ROWS: usize = 8;

/// Where the rows go.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Destination {
    Table(i64),
    Rules(i64),
}

/// What the server answers to an upload.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub(super) struct Answer {
    pub id: i64,
    pub state: String,
    pub rows: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub held: u64,
    pub rejected_by_reason: BTreeMap<String, u64>,
    pub estimated_credits: f64,
}

#[derive(Deserialize)]
struct Refusal {
    error: String,
}

#[derive(Clone, Debug, PartialEq)]
enum Phase {
    Idle,
    Sending { sent: f64, total: f64 },
    Done(Answer),
    Failed(String),
    Cancelled,
}

/// The head of the chosen file, as far as the page needs it.
#[derive(Clone, Debug, PartialEq)]
struct Head {
    name: String,
    size: f64,
    encoding: &'static str,
    delimiter: &'static str,
    headers: Vec<String>,
    /// Every complete row of the file's head (256 KB).
    rows: Arc<[Vec<String>]>,
    estimated_rows: u64,
    bytes_per_row: f64,
}

fn mapping_query(mapping: &Mapping) -> String {
    Role::ALL
        .iter()
        .map(|role| format!("{}={}", role.key(), mapping.get(*role).map(|i| format!("#{}", i + 1)).unwrap_or_default()))
        .collect::<Vec<_>>()
        .join(";")
}

#[component]
pub(super) fn UploadPanel(workspaces: Vec<WorkspaceOverview>) -> impl IntoView {
    if !can(crate::domain::Role::Operator) {
        return view! { <div class="card empty"><p>"Your role can see imports but not start them."</p></div> }
            .into_any();
    }
    if workspaces.iter().all(|w| w.tables.is_empty()) {
        return view! {
            <div class="card empty"><p>"No Clay table yet: add a workspace and a table under "<a href="/settings/workspaces">"Settings → Workspaces"</a>" first."</p></div>
        }
        .into_any();
    }
    let workspaces = StoredValue::new(workspaces);
    let file = RwSignal::new(None::<SendWrapper<File>>);
    let head = RwSignal::new(None::<Result<Head, String>>);
    let mapping = RwSignal::new(Mapping::default());
    let first_table = workspaces.with_value(|ws| ws.iter().find_map(|w| w.tables.first().map(|t| t.table.id)));
    let destination = RwSignal::new(first_table.map(Destination::Table));
    let priority = RwSignal::new(Priority::Normal);
    let phase = RwSignal::new(Phase::Idle);
    let upload = StoredValue::new(None::<SendWrapper<Upload>>);
    let dragging = RwSignal::new(false);
    let changed = use_context::<ImportsChanged>();

    let choose = move |chosen: File| {
        phase.set(Phase::Idle);
        head.set(None);
        file.set(Some(SendWrapper::new(chosen.clone())));
        spawn_local(async move {
            let result = read_head(&chosen, usize::MAX).await.and_then(|FileHead { encoding, preview }| {
                let preview = preview.ok_or_else(|| "The file is empty.".to_owned())?;
                let size = chosen.size();
                mapping.set(detect_roles(&preview.headers));
                Ok(Head {
                    name: chosen.name(),
                    size,
                    encoding: encoding.label(),
                    delimiter: preview.delimiter_name(),
                    estimated_rows: preview.estimated_rows(size as u64).max(preview.rows.len() as u64),
                    bytes_per_row: if preview.rows_in_head == 0 {
                        0.0
                    } else {
                        preview.bytes_in_head as f64 / preview.rows_in_head as f64
                    },
                    headers: preview.headers,
                    rows: preview.rows.into(),
                })
            });
            head.set(Some(result));
        });
    };
    let on_pick = move |ev: leptos::ev::Event| {
        let picked = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .and_then(|i| i.files())
            .and_then(|f| f.get(0));
        if let Some(picked) = picked {
            choose(picked);
        }
    };
    let on_drop = move |ev: leptos::ev::DragEvent| {
        ev.prevent_default();
        dragging.set(false);
        if let Some(dropped) = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
            choose(dropped);
        }
    };

    let start = move |_| {
        let (Some(chosen), Some(destination)) = (file.get_untracked(), destination.get_untracked()) else { return };
        let mut query = form_urlencoded::Serializer::new(String::new());
        match destination {
            Destination::Table(id) => query.append_pair("table_id", &id.to_string()),
            Destination::Rules(workspace) => {
                query.append_pair("routing", "rules").append_pair("workspace_id", &workspace.to_string())
            }
        };
        query
            .append_pair("priority", priority.get_untracked().as_str())
            .append_pair("mapping", &mapping_query(&mapping.get_untracked()))
            .append_pair("filename", &chosen.name())
            .append_pair("over_budget", "ask");
        let url = format!("/imports/upload?{}", query.finish());
        phase.set(Phase::Sending { sent: 0.0, total: chosen.size() });
        let started = Upload::start(&url, &chosen, "text/csv", move |event| match event {
            UploadEvent::Progress { sent, total } => phase.set(Phase::Sending { sent, total }),
            UploadEvent::Done { status: 201, body } => {
                phase.set(serde_json::from_str(&body).map_or_else(|e| Phase::Failed(e.to_string()), Phase::Done));
                if let Some(changed) = changed {
                    changed.0.update(|n| *n += 1);
                }
            }
            UploadEvent::Done { status, body } => {
                let message = serde_json::from_str::<Refusal>(&body)
                    .map_or_else(|_| format!("Kiln answered {status}."), |r| r.error);
                phase.set(Phase::Failed(message));
            }
            UploadEvent::Failed(message) => phase.set(Phase::Failed(message)),
            UploadEvent::Aborted => phase.set(Phase::Cancelled),
        });
        match started {
            Ok(handle) => upload.set_value(Some(SendWrapper::new(handle))),
            Err(message) => phase.set(Phase::Failed(message)),
        }
    };
    let cancel = move |_| {
        upload.with_value(|u| {
            if let Some(u) = u {
                u.cancel()
            }
        })
    };

    // By rules, the file's first rows are routed as the server will route them: their tables'
    // estimates, none for a held row.
    let credits_per_lead = move |head: &Head| -> Option<f64> {
        let destination = destination.get()?;
        workspaces.with_value(|ws| match destination {
            Destination::Table(id) => {
                ws.iter().flat_map(|w| w.tables.iter()).find(|t| t.table.id == id).map(|t| t.table.credits_per_lead)
            }
            Destination::Rules(workspace) => {
                let w = ws.iter().find(|w| w.workspace.id == workspace)?;
                let router = Router::new(&w.rules, w.fallback, &head.headers).ok()?;
                let credits = |id| w.tables.iter().find(|t| t.table.id == id).map_or(0.0, |t| t.table.credits_per_lead);
                credits_per_row(&router, &head.rows, credits)
            }
        })
    };
    let budget_remaining = move || -> Option<f64> {
        let workspace_id = match destination.get()? {
            Destination::Rules(w) => w,
            Destination::Table(id) => workspaces.with_value(|ws| {
                ws.iter().find(|w| w.tables.iter().any(|t| t.table.id == id)).map(|w| w.workspace.id)
            })?,
        };
        workspaces
            .with_value(|ws| ws.iter().find(|w| w.workspace.id == workspace_id).and_then(|w| w.budget.remaining()))
    };

    view! {
        <div class="card upload">
            <label class="dropzone" class:dragging=move || dragging.get() data-testid="dropzone"
                on:dragover=move |ev: leptos::ev::DragEvent| { ev.prevent_default(); dragging.set(true); }
                on:dragleave=move |_| dragging.set(false)
                on:drop=on_drop>
                <input type="file" accept=".csv,.tsv,.txt,text/csv" data-testid="file-input" on:change=on_pick />
                <strong>"Drop a CSV file here"</strong>
                <span class="muted">"or click to choose one — it is read in your browser first; nothing is sent until you upload."</span>
            </label>
            {move || head.get().map(|h| match h {
                Err(message) => view! { <p class="notice error" role="alert">{message}</p> }.into_any(),
                Ok(h) => view! { <PreviewTable head=h mapping /> }.into_any(),
            })}
            {move || head.get().and_then(Result::ok).map(|h| {
                let estimated = h.estimated_rows;
                let sampled = h.rows.len();
                view! {
                    <div class="fields upload-options">
                        <label class="field">
                            <span>"Send to"</span>
                            <select data-testid="destination" on:change=move |ev| {
                                let v = event_target_value(&ev);
                                destination.set(match v.split_once(':') {
                                    Some(("table", id)) => id.parse().ok().map(Destination::Table),
                                    Some(("rules", id)) => id.parse().ok().map(Destination::Rules),
                                    _ => None,
                                });
                            }>
                                {workspaces.with_value(|ws| ws.iter().map(|w| {
                                    let label = w.workspace.name.clone();
                                    let rules = (!w.rules.is_empty()).then(|| {
                                        let value = format!("rules:{}", w.workspace.id);
                                        view! { <option value=value>{format!("{label}: by routing rules")}</option> }
                                    });
                                    view! {
                                        <optgroup label=label.clone()>
                                            {w.tables.iter().map(|t| {
                                                let value = format!("table:{}", t.table.id);
                                                let selected = destination.get_untracked() == Some(Destination::Table(t.table.id));
                                                view! { <option value=value selected=selected>{format!("{label} / {}", t.table.name)}</option> }
                                            }).collect_view()}
                                            {rules}
                                        </optgroup>
                                    }
                                }).collect_view())}
                            </select>
                        </label>
                        <label class="field">
                            <span>"Priority"</span>
                            <select data-testid="priority" on:change=move |ev| priority.set(event_target_value(&ev).parse().unwrap_or_default())>
                                {Priority::ALL.iter().map(|p| view! { <option value=p.as_str() selected=*p == Priority::Normal>{p.as_str()}</option> }).collect_view()}
                            </select>
                        </label>
                    </div>
                    <p class="muted" data-testid="budget-estimate">
                        {move || {
                            let credits = credits_per_lead(&h).map(|c| c * estimated as f64);
                            let mut text = format!("About {} rows", int(estimated));
                            if let Some(credits) = credits {
                                text.push_str(&format!(", about {} data credits if all are accepted", int(credits.round() as u64)));
                                if matches!(destination.get(), Some(Destination::Rules(_))) {
                                    text.push_str(&format!(" (as the rules route the first {sampled} rows)"));
                                }
                            }
                            match budget_remaining() {
                                Some(left) => text.push_str(&format!("; {} left in this month's budget", int(left.round() as u64))),
                                None => text.push_str("; the workspace has no credit budget"),
                            }
                            if let (Some(credits), Some(left)) = (credits, budget_remaining())
                                && credits > left
                            {
                                text.push_str(". That is more than the budget: after the upload you choose to queue all or only what fits.");
                            }
                            text
                        }}
                    </p>
                }
            })}
            <div class="inline-form">
                <button type="button" class="primary" data-testid="upload"
                    disabled=move || head.with(|h| !matches!(h, Some(Ok(_)))) || matches!(phase.get(), Phase::Sending { .. })
                    on:click=start>"Upload and import"</button>
                {move || matches!(phase.get(), Phase::Sending { .. }).then(|| view! { <button type="button" on:click=cancel>"Cancel"</button> })}
            </div>
            {move || match phase.get() {
                Phase::Idle => None,
                Phase::Sending { sent, total } => {
                    let percent = if total > 0.0 { (sent / total * 100.0).min(100.0) } else { 0.0 };
                    let rows = head.with(|h| h.as_ref().and_then(|h| h.as_ref().ok()).map(|h| h.bytes_per_row).filter(|b| *b > 0.0).map(|b| (sent / b) as u64));
                    Some(view! {
                        <div class="progress" data-testid="progress">
                            <progress max="100" value=percent></progress>
                            <span>{format!("{}% · {} of {}{}", decimal(percent, 0), bytes(sent as u64), bytes(total as u64),
                                rows.map(|r| format!(" · about {} rows", int(r))).unwrap_or_default())}</span>
                        </div>
                    }.into_any())
                }
                Phase::Done(answer) => Some(view! { <Outcome answer /> }.into_any()),
                Phase::Failed(message) => Some(view! { <ErrorNotice error=AppError::Invalid { field: None, message } /> }.into_any()),
                Phase::Cancelled => Some(view! { <p class="notice warn">"Upload cancelled: nothing of it will be sent to Clay."</p> }.into_any()),
            }}
        </div>
    }
    .into_any()
}

#[component]
fn PreviewTable(head: Head, mapping: RwSignal<Mapping>) -> impl IntoView {
    let headers = head.headers.clone();
    let columns = headers.len();
    view! {
        <p class="muted" data-testid="file-facts">
            {format!("{} · {} · {} · {}-separated · about {} rows", head.name, bytes(head.size as u64), head.encoding, head.delimiter, int(head.estimated_rows))}
        </p>
        <div class="fields mapping" data-testid="mapping">
            {Role::ALL.into_iter().map(|role| {
                let headers = headers.clone();
                view! {
                    <label class="field">
                        <span>{role.label()}</span>
                        <select aria-label=format!("Column for {}", role.label()) on:change=move |ev| {
                            let v = event_target_value(&ev);
                            mapping.update(|m| m.set(role, v.parse().ok()));
                        }>
                            <option value="" selected=move || mapping.with(|m| m.get(role).is_none())>"— none —"</option>
                            {headers.iter().enumerate().map(|(i, h)| view! {
                                <option value=i.to_string() selected=move || mapping.with(|m| m.get(role) == Some(i))>{h.clone()}</option>
                            }).collect_view()}
                        </select>
                    </label>
                }
            }).collect_view()}
        </div>
        <div class="table-scroll">
            <table class="table preview" data-testid="preview">
                <thead><tr>
                    {headers.iter().enumerate().map(|(i, h)| view! {
                        <th class:mapped=move || mapping.with(|m| m.is_mapped(i))>{h.clone()}</th>
                    }).collect_view()}
                </tr></thead>
                <tbody>
                    {head.rows.iter().take(PREVIEW_ROWS).map(|row| view! {
                        <tr>{(0..columns).map(|i| view! { <td>{row.get(i).cloned().unwrap_or_default()}</td> }).collect_view()}</tr>
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
pub(super) fn Outcome(answer: Answer) -> impl IntoView {
    let id = answer.id;
    view! {
        <div class="outcome" data-testid="outcome">
            <dl class="counts">
                <div><dt>"Rows"</dt><dd data-testid="count-rows">{int(answer.rows)}</dd></div>
                <div><dt>"Accepted"</dt><dd data-testid="count-accepted">{int(answer.accepted)}</dd></div>
                <div><dt>"Rejected"</dt><dd data-testid="count-rejected">{int(answer.rejected)}</dd></div>
                <div><dt>"Duplicates"</dt><dd data-testid="count-duplicates">{int(answer.duplicates)}</dd></div>
                {(answer.held > 0).then(|| view! { <div><dt>"Held (no table)"</dt><dd data-testid="count-held">{int(answer.held)}</dd></div> })}
            </dl>
            {(!answer.rejected_by_reason.is_empty()).then(|| view! {
                <ul class="reasons" data-testid="reasons">
                    {answer.rejected_by_reason.iter().map(|(reason, n)| view! { <li>{format!("{reason}: {}", int(*n))}</li> }).collect_view()}
                </ul>
                <a class="button" href=format!("/imports/{id}/rejects.csv") download="" data-testid="download-rejects" rel="external">
                    "Download the rejected rows (CSV)"
                </a>
            })}
            {(answer.state == "awaiting_decision").then(|| view! { <super::recent::Decision id estimated=answer.estimated_credits /> })}
        </div>
    }
}
