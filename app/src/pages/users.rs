//! `/settings/users`: admins manage who can sign in and the API tokens automations use.

use crate::{
    components::notice::ErrorNotice,
    domain::{NewToken, Role, TokenSummary, UserSummary},
    error::AppError,
};
use leptos::prelude::*;
use leptos_meta::Title;

#[server]
pub async fn list_users() -> Result<Vec<UserSummary>, AppError> {
    use crate::services::{authorize, respond};
    let (services, _) = authorize(Role::Admin)?;
    respond(services.accounts.list_users().await)
}

#[server]
pub async fn create_user(
    email: String,
    password: String,
    role: Role,
) -> Result<UserSummary, AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Admin)?;
    respond(
        services
            .accounts
            .create_user(&actor, email, password, role)
            .await,
    )
}

#[server]
pub async fn update_user(id: i64, role: Role, disabled: bool) -> Result<(), AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Admin)?;
    respond(
        services
            .accounts
            .update_user(&actor, id, role, disabled)
            .await,
    )
}

#[server]
pub async fn list_tokens() -> Result<Vec<TokenSummary>, AppError> {
    use crate::services::{authorize, respond};
    let (services, _) = authorize(Role::Admin)?;
    respond(services.accounts.list_tokens().await)
}

#[server]
pub async fn create_token(name: String, role: Role) -> Result<NewToken, AppError> {
    use crate::services::{authorize, respond};
    let (services, actor) = authorize(Role::Admin)?;
    respond(services.accounts.create_token(&actor, name, role).await)
}

#[server]
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

fn format_time(millis: i64) -> String {
    crate::domain::format_utc_minutes(millis)
}

#[component]
fn Users() -> impl IntoView {
    let create = ServerAction::<CreateUser>::new();
    let update = ServerAction::<UpdateUser>::new();
    let users = Resource::new(
        move || (create.version().get(), update.version().get()),
        |_| list_users(),
    );

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
            <ActionForm action=create attr:class="inline-form" attr:data-testid="create-user">
                <label>"Email" <input type="email" name="email" required /></label>
                <label>"Initial password" <input type="password" name="password" minlength="10" autocomplete="new-password" required /></label>
                <label>"Role" <select name="role">{role_options(Role::Operator)}</select></label>
                <button type="submit" class="primary">"Add user"</button>
            </ActionForm>
            {move || create.value().get().map(|result| match result {
                Ok(user) => view! { <p class="notice ok">{format!("{} can now sign in as {}.", user.email, user.role)}</p> }.into_any(),
                Err(error) => view! { <ErrorNotice error /> }.into_any(),
            })}
        </div>
    }
}

#[component]
fn UserRow(user: UserSummary, update: ServerAction<UpdateUser>) -> impl IntoView {
    let (role_form_id, status_form_id) = (user.id.to_string(), user.id.to_string());
    let status = if user.disabled { "disabled" } else { "active" };
    view! {
        <tr data-user=user.email.clone()>
            <td>{user.email.clone()}</td>
            <td>
                <ActionForm action=update attr:class="row-form">
                    <input type="hidden" name="id" value=role_form_id />
                    <input type="hidden" name="disabled" value=user.disabled.to_string() />
                    <select name="role" aria-label="Role">{role_options(user.role)}</select>
                    <button type="submit">"Change role"</button>
                </ActionForm>
            </td>
            <td><span class=format!("badge {status}")>{status}</span></td>
            <td>{format_time(user.created_at)}</td>
            <td>
                <ActionForm action=update attr:class="row-form">
                    <input type="hidden" name="id" value=status_form_id />
                    <input type="hidden" name="role" value=user.role.as_str() />
                    <input type="hidden" name="disabled" value=(!user.disabled).to_string() />
                    <button type="submit">{if user.disabled { "Enable" } else { "Disable" }}</button>
                </ActionForm>
            </td>
        </tr>
    }
}

#[component]
fn Tokens() -> impl IntoView {
    let create = ServerAction::<CreateToken>::new();
    let revoke = ServerAction::<RevokeToken>::new();
    let tokens = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_tokens(),
    );

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
            <ActionForm action=create attr:class="inline-form" attr:data-testid="create-token">
                <label>"Name" <input type="text" name="name" placeholder="e.g. nightly-crm-sync" required /></label>
                <label>"Role" <select name="role">{role_options(Role::Operator)}</select></label>
                <button type="submit" class="primary">"Create token"</button>
            </ActionForm>
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
    let revoked = token.revoked_at.is_some();
    view! {
        <tr class:revoked=revoked>
            <td>{token.name}</td>
            <td>{token.role.as_str()}</td>
            <td>{format_time(token.created_at)}</td>
            <td>{token.last_used_at.map(format_time).unwrap_or_else(|| "never".to_owned())}</td>
            <td>
                {if revoked {
                    view! { <span class="badge disabled">"revoked"</span> }.into_any()
                } else {
                    view! {
                        <ActionForm action=revoke attr:class="row-form">
                            <input type="hidden" name="id" value=token.id.to_string() />
                            <button type="submit" class="danger">"Revoke"</button>
                        </ActionForm>
                    }
                    .into_any()
                }}
            </td>
        </tr>
    }
}
