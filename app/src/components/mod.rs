pub mod layout;
pub mod notice;
