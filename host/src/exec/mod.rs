//! Running commands on nodes.
