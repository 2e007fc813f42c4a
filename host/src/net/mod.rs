//! Where commands may go: the address guard (deny and allow lists checked on
//! the literal address and again on what a name resolves to) and the strict
//! character sets for everything that ends up on `ssh`'s command line.
pub mod guard;
pub mod names;

pub use guard::{Guard, GuardError, Target};
pub use names::{NameError, check_alias, check_host, check_node_id, check_user};
