pub mod home;
pub mod login;
pub mod not_found;
pub mod placeholder;
pub mod planner;
pub mod settings;
pub mod setup;
pub mod users;
