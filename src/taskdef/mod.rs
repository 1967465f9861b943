//! Task definitions: the real ECS JSON in, a normalised [`model::TaskDefinition`] out, with
//! ECS's validation rules and the facts the rest of berth derives from a definition.
//!
//! - [`load`] / [`parse_str`]: read a file (register input or describe output) into the model,
//!   or get every problem with file, line, column, path and hint.
//! - [`validate::validate_model`]: the same rules for a definition built in code.
//! - [`derive`]: start order, host demand, Fargate size, Docker create settings.
//! - [`render::describe_json`]: the model back as `describe-task-definition` prints it.
//! - [`Registry`]: families and revisions.
//!
//! See `docs/task-definitions.md` for what is accepted and the rules with their sources.

pub mod derive;
pub mod fargate;
pub mod json;
pub mod model;
pub mod parse;
pub mod registry;
pub mod render;
pub mod schema;
mod schema_table;
pub mod template;
pub mod validate;

pub use parse::{load, parse_document, parse_str, Parsed};
pub use registry::Registry;
