//! Shared helpers of the integration tests. Each test binary includes this
//! with `#[path = "common/mod.rs"] mod common;`.
#![allow(dead_code)]

pub mod testbed;

pub use testbed::TestBed;
