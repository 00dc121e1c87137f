//! `/settings/users`: admins manage who can sign in and the API tokens automations use.

use crate::{
    components::{
        form::{Submitted, reset_on_success},
        notice::ErrorNotice,
    },
    domain::{NewToken, Role, TokenSummary, UserSummary, format_utc_minutes},
    error::AppError,
};
use leptos::{prelude::*, server_fn::codec::Json};
use leptos_meta::Title;

#[server(input = Json)]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    use crate::services::{authorize, respond};
    let (services, _) = authorize(Role::Admin)?;
    respond(services.accounts.list_users().await)
}

#[server(input = Json)]
pub async fn create_user(email: String, password: String, role: Role) -> Result<UserSummary, AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Admin)?;
    respond(services.accounts.create_user(&actor, email, password, role).await)
}

#[server(input = Json)]
pub async fn update_user(id: i64, role: Role, disabled: bool) -> Result<(), AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Admin)?;
    respond(services.accounts.update_user(&actor, id, role, disabled).await)
}

#[server(input = Json)]
pub async fn list_tokens() -> Result<Vec<TokenSummary>, AppError> {
    use crate::services::{authorize, respond};
    let (services, _) = authorize(Role::Admin)?;
    respond(services.accounts.list_tokens().await)
}

#[server(input = Json)]
pub async fn create_token(name: String, role: Role) -> Result<NewToken, AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Admin)?;
    respond(services.accounts.create_token(&actor, name, role).await)
}

#[server(input = Json)]
pub async fn revoke_token(id: i64) -> Result<(), AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Admin)?;
    respond(services.accounts.revoke_token(&actor, id).await)
}

#[component]
pub fn UsersPage() -> impl IntoView {
    view! {
        <Title text="Users and tokens" />
        <section class="page">
            <h1>"Users and API tokens"</h1>
            <Users />
            <Tokens />
        </section>
    }
}

fn role_options(selected: Role) -> impl IntoView {
    Role::ALL
        .into_iter()
        .map(|role| view! { <option value=role.as_str() selected=role == selected>{role.as_str()}</option> })
        .collect_view()
}

fn role_of(submitted: &Submitted) -> Role {
    submitted.text("role").parse().unwrap_or(Role::Viewer)
}

#[component]
fn Users() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let users = Resource::new(move || (create.version().get(), update.version().get()), |_| list_users());
    let form = NodeRef::new();
    reset_on_success(form, create);
    let on_submit = move |ev| {
        if let Some(f) = Submitted::from_event(&ev) {
            create.dispatch(CreateUser { email: f.text("email"), password: f.text("password"), role: role_of(&f) });
        }
    };

    view! {
        <div class="card">
            <h2>"Users"</h2>
            {move || update.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match users.await {
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        Ok(users) => view! {
                            <table class="table" data-testid="users">
                                <thead>
                                    <tr><th>"Email"</th><th>"Role"</th><th>"Status"</th><th>"Since"</th><th></th></tr>
                                </thead>
                                <tbody>
                                    {users.into_iter().map(|user| view! { <UserRow user update /> }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
        </div>
        <div class="card">
            <h2>"Add a user"</h2>
            <form class="inline-form" data-testid="create-user" node_ref=form on:submit=on_submit>
                <label>"Email" <input type="email" name="email" required /></label>
                <label>"Initial password" <input type="password" name="password" minlength="10" autocomplete="new-password" required /></label>
                <label>"Role" <select name="role">{role_options(Role::Operator)}</select></label>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Add user"</button>
            </form>
            {move || create.value().get().map(|result| match result {
                Ok(user) => view! { <p class="notice ok">{format!("{} can now sign in as {}.", user.email, user.role)}</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </div>
    }
}

#[component]
fn UserRow(user: UserSummary, update: ServerAction<UpdateUser>) -> impl IntoView {
    let UserSummary { id, email, role, disabled, created_at } = user;
    let role_select = NodeRef::<leptos::html::Select>::new();
    let change_role = move |_| {
        let role = role_select.get().and_then(|s| s.value().parse().ok()).unwrap_or(role);
        update.dispatch(UpdateUser { id, role, disabled });
    };
    let status = if disabled { "disabled" } else { "active" };
    let row_key = email.clone();
    view! {
        <tr data-user=row_key>
            <td>{email}</td>
            <td class="row-form">
                <select aria-label="Role" node_ref=role_select>{role_options(role)}</select>
                <button type="button" on:click=change_role>"Change role"</button>
            </td>
            <td><span class=format!("badge {status}")>{status}</span></td>
            <td>{format_utc_minutes(created_at)}</td>
            <td>
                <button type="button" on:click=move |_| { update.dispatch(UpdateUser { id, role, disabled: !disabled }); }>
                    {if disabled { "Enable" } else { "Disable" }}
                </button>
            </td>
        </tr>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(move || (create.version().get(), revoke.version().get()), |_| list_tokens());
    let form = NodeRef::new();
    reset_on_success(form, create);
    let on_submit = move |ev| {
        if let Some(f) = Submitted::from_event(&ev) {
            create.dispatch(CreateToken { name: f.text("name"), role: role_of(&f) });
        }
    };

    view! {
        <div class="card">
            <h2>"API tokens"</h2>
            <p class="muted">
                "Automations call /api/v1 with " <code>"Authorization: Bearer <token>"</code>
                ". A token acts with the role it was given."
            </p>
            {move || revoke.value().get().and_then(Result::err).map(|error| view! { <ErrorNotice error /> })}
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match tokens.await {
                        Err(error) => view! { <ErrorNotice error /> }.into_any(),
                        Ok(tokens) if tokens.is_empty() => view! { <p class="muted">"No tokens yet."</p> }.into_any(),
                        Ok(tokens) => view! {
                            <table class="table" data-testid="tokens">
                                <thead>
                                    <tr><th>"Name"</th><th>"Role"</th><th>"Created"</th><th>"Last used"</th><th></th></tr>
                                </thead>
                                <tbody>
                                    {tokens.into_iter().map(|token| view! { <TokenRow token revoke /> }).collect_view()}
                                </tbody>
                            </table>
                        }.into_any(),
                    }
                })}
            </Transition>
            <h3>"Create a token"</h3>
            <form class="inline-form" data-testid="create-token" node_ref=form on:submit=on_submit>
                <label>"Name" <input type="text" name="name" placeholder="e.g. nightly-crm-sync" required /></label>
                <label>"Role" <select name="role">{role_options(Role::Operator)}</select></label>
                <button type="submit" class="primary" disabled=move || create.pending().get()>"Create token"</button>
            </form>
            {move || create.value().get().map(|result| match result {
                Ok(NewToken { token, secret }) => view! {
                    <div class="notice ok" data-testid="new-token">
                        <p>{format!("Token “{}” created. Copy it now: it is not shown again.", token.name)}</p>
                        <code class="secret">{secret}</code>
                    </div>
                }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </div>
    }
}

#[component]
fn TokenRow(token: TokenSummary, revoke: ServerAction<RevokeToken>) -> impl IntoView {
    let id = token.id;
    let revoked = token.revoked_at.is_some();
    view! {
        <tr class:revoked=revoked>
            <td>{token.name}</td>
            <td>{token.role.as_str()}</td>
            <td>{format_utc_minutes(token.created_at)}</td>
            <td>{token.last_used_at.map(format_utc_minutes).unwrap_or_else(|| "never".to_owned())}</td>
            <td>
                {if revoked {
                    view! { <span class="badge disabled">"revoked"</span> }.into_any()
                } else {
                    view! { <button type="button" class="danger" on:click=move |_| { revoke.dispatch(RevokeToken { id }); }>"Revoke"</button> }.into_any()
                }}
            </td>
        </tr>
    }
}
