//! Concurrency limits: at most `max_tasks` commands per node (a semaphore per
//! node) and at most `[limits] global_concurrency` overall, plus the running
//! counts that `status` reports and the router sees.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::config::Node;

#[derive(Debug)]
struct NodeSlots {
    sem: Arc<Semaphore>,
    running: AtomicU32,
}

/// Per-node and global semaphores.
#[derive(Debug)]
pub struct TaskLimits {
    global: Arc<Semaphore>,
    nodes: Mutex<HashMap<String, Arc<NodeSlots>>>,
}

/// Held while a command runs; dropping it frees both slots.
#[derive(Debug)]
pub struct TaskPermit {
    _node: OwnedSemaphorePermit,
    _global: OwnedSemaphorePermit,
    slots: Arc<NodeSlots>,
}

impl Drop for TaskPermit {
    fn drop(&mut self) {
        self.slots.running.fetch_sub(1, Ordering::SeqCst);
    }
}

impl TaskLimits {
    pub fn new(global: u32) -> Self {
        Self {
            global: Arc::new(Semaphore::new(global.max(1) as usize)),
            nodes: Mutex::new(HashMap::new()),
        }
    }

    fn slots(&self, node: &Node) -> Arc<NodeSlots> {
        let mut map = match self.nodes.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.entry(node.id.clone())
            .or_insert_with(|| {
                Arc::new(NodeSlots {
                    sem: Arc::new(Semaphore::new(node.max_tasks.max(1) as usize)),
                    running: AtomicU32::new(0),
                })
            })
            .clone()
    }

    /// Waits for a slot on `node`, then for a global one (in that order, so a
    /// busy node does not hold global slots while it waits).
    pub async fn acquire(&self, node: &Node) -> TaskPermit {
        let slots = self.slots(node);
        // The semaphores are never closed, so acquire_owned cannot fail; fall
        // back to an unbounded wait-free path would be wrong, so loop instead.
        let node_permit = loop {
            if let Ok(p) = slots.sem.clone().acquire_owned().await {
                break p;
            }
        };
        let global_permit = loop {
            if let Ok(p) = self.global.clone().acquire_owned().await {
                break p;
            }
        };
        slots.running.fetch_add(1, Ordering::SeqCst);
        TaskPermit {
            _node: node_permit,
            _global: global_permit,
            slots,
        }
    }

    /// Commands running on `node_id` now.
    pub fn running(&self, node_id: &str) -> u32 {
        let map = match self.nodes.lock() {
            Ok(m) => m,
            Err(p) => p.into_inner(),
        };
        map.get(node_id)
            .map_or(0, |s| s.running.load(Ordering::SeqCst))
    }
}
