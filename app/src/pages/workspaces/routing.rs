//! A workspace's routing rules: an ordered list of conditions on a column, each sending matching
//! rows to a table, and what happens to rows none takes. A file picked here previews how many of
//! its rows each rule would take, computed in the browser by the same router the server runs.

use super::{SetRouting, can};
use crate::{
    components::{file::read_head, notice::ErrorNotice},
    domain::Role,
    error::AppError,
    format::int,
    ingest::{Condition, Fallback, Route, Router, Rule},
};
use leptos::{prelude::*, task::spawn_local, wasm_bindgen::JsCast};

/// A rule as the form edits it.
#[derive(Clone, Debug, PartialEq)]
struct Draft {
    column: String,
    op: String,
    value: String,
    table_id: i64,
}

const OPS: [(&str, &str); 5] = [
    ("equals", "equals"),
    ("one_of", "is one of (comma-separated)"),
    ("contains", "contains"),
    ("matches", "matches regex"),
    ("is_empty", "is empty"),
];

impl Draft {
    fn from_rule(rule: &Rule) -> Draft {
        let (op, value) = match &rule.condition {
            Condition::Equals(v) => ("equals", v.clone()),
            Condition::OneOf(vs) => ("one_of", vs.join(", ")),
            Condition::Contains(v) => ("contains", v.clone()),
            Condition::Matches(v) => ("matches", v.clone()),
            Condition::IsEmpty => ("is_empty", String::new()),
        };
        Draft { column: rule.column.clone(), op: op.to_owned(), value, table_id: rule.table_id }
    }

    fn to_rule(&self) -> Rule {
        let value = self.value.trim().to_owned();
        let condition = match self.op.as_str() {
            "one_of" => {
                Condition::OneOf(value.split(',').map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()).collect())
            }
            "contains" => Condition::Contains(value),
            "matches" => Condition::Matches(value),
            "is_empty" => Condition::IsEmpty,
            _ => Condition::Equals(value),
        };
        Rule { column: self.column.trim().to_owned(), condition, table_id: self.table_id }
    }
}

#[component]
pub(super) fn Routing(
    workspace_id: i64,
    rules: Vec<Rule>,
    fallback: Fallback,
    tables: Vec<(i64, String)>,
) -> impl IntoView {
    let drafts = RwSignal::new(rules.iter().map(Draft::from_rule).collect::<Vec<_>>());
    let fallback = RwSignal::new(fallback);
    let revision = RwSignal::new(0u32);
    // Saving does not reload the page's overview: the drafts here are what was saved.
    let save = ServerAction::<SetRouting>::new();
    let editable = can(Role::Operator);
    let tables = StoredValue::new(tables);
    let first_table = tables.with_value(|t| t.first().map(|(id, _)| *id));
    let count = Memo::new(move |_| drafts.with(Vec::len));

    let add = move |_| {
        if let Some(table_id) = first_table {
            drafts.update(|d| {
                d.push(Draft { column: String::new(), op: "equals".into(), value: String::new(), table_id })
            });
            revision.update(|r| *r += 1);
        }
    };
    let on_save = move |_| {
        let rules = drafts.with_untracked(|d| d.iter().map(Draft::to_rule).collect());
        save.dispatch(SetRouting { workspace_id, rules, fallback: fallback.get_untracked() });
    };
    let table_options = move |selected: i64| {
        tables.with_value(|t| {
            t.iter()
                .map(|(id, name)| view! { <option value=id.to_string() selected=*id == selected>{name.clone()}</option> })
                .collect_view()
        })
    };

    view! {
        <h3>"Routing rules"</h3>
        <p class="muted">"Rows imported with “routing rules” go to the table of the first rule they match. Comparisons ignore case."</p>
        <ol class="rules" data-testid="routing-rules">
            {move || {
                revision.track();
                (0..count.get()).map(|index| {
                    let draft = drafts.with_untracked(|d| d[index].clone());
                    let edit = move |change: Box<dyn FnOnce(&mut Draft)>| drafts.update(|d| if let Some(r) = d.get_mut(index) { change(r) });
                    view! {
                        <li class="rule">
                            "If column "
                            <input aria-label=format!("Rule {} column", index + 1) prop:value=draft.column disabled=!editable
                                on:input=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |r| r.column = v)) } />
                            <select aria-label=format!("Rule {} condition", index + 1) disabled=!editable
                                on:change=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |r| r.op = v)) }>
                                {OPS.iter().map(|(op, label)| view! { <option value=*op selected=*op == draft.op>{*label}</option> }).collect_view()}
                            </select>
                            <input aria-label=format!("Rule {} value", index + 1) prop:value=draft.value disabled=!editable
                                on:input=move |ev| { let v = event_target_value(&ev); edit(Box::new(move |r| r.value = v)) } />
                            " → table "
                            <select aria-label=format!("Rule {} table", index + 1) disabled=!editable
                                on:change=move |ev| if let Ok(id) = event_target_value(&ev).parse() { edit(Box::new(move |r| r.table_id = id)) }>
                                {table_options(draft.table_id)}
                            </select>
                            {editable.then(|| view! {
                                <button type="button" class="link" aria-label=format!("Rule {} up", index + 1) disabled=index == 0
                                    on:click=move |_| { drafts.update(|d| d.swap(index - 1, index)); revision.update(|r| *r += 1); }>"↑"</button>
                                <button type="button" class="link" aria-label=format!("Rule {} remove", index + 1)
                                    on:click=move |_| { drafts.update(|d| { d.remove(index); }); revision.update(|r| *r += 1); }>"Remove"</button>
                            })}
                        </li>
                    }
                }).collect_view()
            }}
        </ol>
        <label class="field">
            <span>"Rows no rule takes"</span>
            <select data-testid="routing-fallback" disabled=!editable on:change=move |ev| {
                let v = event_target_value(&ev);
                fallback.set(v.parse().map_or(Fallback::Hold, Fallback::Table));
            }>
                <option value="hold" selected=move || fallback.get() == Fallback::Hold>"hold them (sent only when you choose a table)"</option>
                {move || tables.with_value(|t| t.iter().map(|(id, name)| {
                    let id = *id;
                    view! { <option value=id.to_string() selected=move || fallback.get() == Fallback::Table(id)>{format!("go to {name}")}</option> }
                }).collect_view())}
            </select>
        </label>
        {editable.then(|| view! {
            <div class="inline-form">
                <button type="button" on:click=add disabled=first_table.is_none()>"Add a rule"</button>
                <button type="button" class="primary" on:click=on_save disabled=move || save.pending().get()>"Save routing"</button>
            </div>
            {move || save.value().get().map(|r| match r {
                Ok(()) => view! { <p class="notice ok">"Routing saved."</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        })}
        <RoutingPreview drafts fallback tables />
    }
}

/// How many rows of a chosen file each rule would take.
#[component]
fn RoutingPreview(
    drafts: RwSignal<Vec<Draft>>,
    fallback: RwSignal<Fallback>,
    tables: StoredValue<Vec<(i64, String)>>,
) -> impl IntoView {
    let result = RwSignal::new(None::<Result<String, AppError>>);
    let on_change = move |ev: leptos::ev::Event| {
        let Some(file) = ev
            .target()
            .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            .and_then(|i| i.files())
            .and_then(|f| f.get(0))
        else {
            return;
        };
        spawn_local(async move {
            let outcome = match read_head(&file, usize::MAX).await {
                Err(message) => Err(AppError::Invalid { field: None, message }),
                Ok(head) => match head.preview {
                    None => Err(AppError::Invalid { field: None, message: "the file is empty".into() }),
                    Some(preview) => {
                        let rules: Vec<Rule> = drafts.with_untracked(|d| d.iter().map(Draft::to_rule).collect());
                        match Router::new(&rules, fallback.get_untracked(), &preview.headers) {
                            Err(e) => Err(AppError::Invalid { field: None, message: e.to_string() }),
                            Ok(router) => {
                                let mut per_rule = vec![0u64; rules.len()];
                                let (mut to_fallback, mut held) = (0u64, 0u64);
                                for row in &preview.rows {
                                    let cells: Vec<&str> = row.iter().map(String::as_str).collect();
                                    match router.route(&cells) {
                                        (_, Some(rule)) => per_rule[rule] += 1,
                                        (Route::Hold, None) => held += 1,
                                        (Route::Table(_), None) => to_fallback += 1,
                                    }
                                }
                                let name = |id: i64| {
                                    tables.with_value(|t| {
                                        t.iter().find(|(i, _)| *i == id).map(|(_, n)| n.clone()).unwrap_or_default()
                                    })
                                };
                                let mut lines: Vec<String> = rules
                                    .iter()
                                    .zip(&per_rule)
                                    .enumerate()
                                    .map(|(i, (rule, n))| {
                                        format!("rule {} → {}: {} rows", i + 1, name(rule.table_id), int(*n))
                                    })
                                    .collect();
                                if to_fallback > 0 || held == 0 {
                                    lines.push(format!("no rule, to the fallback table: {} rows", int(to_fallback)));
                                }
                                if held > 0 {
                                    lines.push(format!("no rule, held: {} rows", int(held)));
                                }
                                Ok(format!(
                                    "In the first {} rows of {}: {}.",
                                    int(preview.rows.len() as u64),
                                    file.name(),
                                    lines.join("; ")
                                ))
                            }
                        }
                    }
                },
            };
            result.set(Some(outcome));
        });
    };
    view! {
        <label class="field">
            <span>"Preview the rules on a file (read in your browser, nothing is uploaded)"</span>
            <input type="file" accept=".csv,.tsv,.txt,text/csv" data-testid="routing-preview-file" on:change=on_change />
        </label>
        {move || result.get().map(|r| match r {
            Ok(text) => view! { <p class="notice ok" data-testid="routing-preview">{text}</p> }.into_any(),
            Err(error) => view! { <ErrorNotice error /> }.into_any(),
        })}
    }
}
