//! berth: runs Amazon ECS task definitions on ECS-style hosts (EC2 mode) or on Fargate-style
//! slots, in a deterministic simulator or for real through Docker, and reports what each mode
//! costs.
//!
//! # Layout
//! The pure core (no I/O, no clock, randomness passed in):
//! - [`taskdef`]: task definition JSON → normalised model, ECS validation, derived facts.
//! - [`cluster`], [`pricing`], [`money`], [`time`]: hosts, the price catalog, exact money, scenario time.
//! - [`placement`]: ECS placement (strategies, constraints, the cluster query language).
//! - [`engine`]: the control plane: one owner of all state, commands in, events out; the task
//!   state machine and the service scheduler.
//! - [`scenario`]: scenario files → a script of engine commands.
//! - [`report`]: cost accounting and the report (text and JSON).
//!
//! The edges:
//! - [`sim`]: drives the engine on a virtual clock.
//! - [`docker`]: drives the engine with real containers through bollard.
//! - [`html`], [`live`]: the HTML report and the terminal live view.
//! - [`cli`]: the `berth` command.
//!
//! See `docs/architecture.md` for who may depend on whom.

pub mod breakeven;
pub mod cli;
pub mod cluster;
pub mod diag;
pub mod docker;
pub mod engine;
pub mod html;
pub mod live;
pub mod money;
pub mod placement;
pub mod pricing;
pub mod report;
pub mod scenario;
pub mod sim;
pub mod taskdef;
pub mod time;
