//! Task definitions: the real ECS JSON in, a normalised [`model::TaskDefinition`] out, with
//! ECS's validation rules and the facts the rest of berth derives from a definition.

pub mod fargate;
pub mod model;
