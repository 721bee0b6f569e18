//! Renders results for people and programs. Each format is a pure function of the results that returns text.

mod json;
mod text;

pub use json::render as json;
pub use text::render as text;
