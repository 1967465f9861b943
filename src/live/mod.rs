//! The live terminal view: hosts filling with tasks, Fargate slots coming and going, cost
//! meters and an event log.

pub mod model;
pub mod sim_source;
pub mod term;
pub mod view;
