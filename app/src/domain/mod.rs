//! Types shared by the browser and the server. Pure: no I/O, no feature flags.

mod account;
mod time;

pub use account::{CurrentUser, NewToken, ParseRoleError, Role, TokenSummary, UserSummary};
pub use time::format_utc_minutes;
